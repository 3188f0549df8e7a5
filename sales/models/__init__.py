"""The sales app's models, one module per part: deals.py (pipelines, stages, deals, their
lines and stage history) and pool.py (the shared pool's rules and history)."""

from sales.models.deals import (
    Deal,
    DealChangeKind,
    DealLine,
    DealStageChange,
    Pipeline,
    Stage,
    StageKind,
)
from sales.models.pool import OwnershipChange, OwnershipChangeKind, PoolRules

__all__ = [
    "Deal",
    "DealChangeKind",
    "DealLine",
    "DealStageChange",
    "OwnershipChange",
    "OwnershipChangeKind",
    "Pipeline",
    "PoolRules",
    "Stage",
    "StageKind",
]
