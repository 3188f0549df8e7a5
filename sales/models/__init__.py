"""The sales app's models, one module per part: deals.py (pipelines, stages, deals and their
lines) and pool.py (the shared pool's rules and history)."""

from sales.models.pool import OwnershipChange, OwnershipChangeKind, PoolRules

__all__ = ["OwnershipChange", "OwnershipChangeKind", "PoolRules"]
