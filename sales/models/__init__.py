"""The sales app's models, one module per part: deals.py (pipelines, stages, deals and their
lines) and pool.py (the shared pool's rules and history)."""

from sales.models.deals import Deal, DealLine, Pipeline, Stage, StageKind

__all__ = ["Deal", "DealLine", "Pipeline", "Stage", "StageKind"]
