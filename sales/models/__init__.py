"""The sales app's models, one module per part: deals.py (pipelines, stages, deals and their
lines) and pool.py (the shared pool's rules and history)."""

from sales.models.deals import Deal, DealLine, Pipeline, Stage, StageKind
from sales.models.pool import OwnershipChange, OwnershipChangeKind, PoolRules

__all__ = [
    "Deal",
    "DealLine",
    "OwnershipChange",
    "OwnershipChangeKind",
    "Pipeline",
    "PoolRules",
    "Stage",
    "StageKind",
]
