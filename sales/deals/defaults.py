"""The pipeline a new installation starts with, its stages named in both languages."""

from collections.abc import Sequence

from django.db import transaction

from sales.models import Pipeline, Stage, StageKind

DEFAULT_STAGES = [
    # (English, Chinese, win probability, kind)
    ("Lead", "线索", 10, StageKind.OPEN),
    ("Qualified", "已确认需求", 25, StageKind.OPEN),
    ("Proposal", "方案报价", 50, StageKind.OPEN),
    ("Negotiation", "商务谈判", 75, StageKind.OPEN),
    ("Won", "赢单", 100, StageKind.WON),
    ("Lost", "输单", 0, StageKind.LOST),
]
# What a pipeline an administrator adds starts with, to rename and add to.
NEW_PIPELINE_STAGES = [
    ("New", "新建", 10, StageKind.OPEN),
    ("Won", "赢单", 100, StageKind.WON),
    ("Lost", "输单", 0, StageKind.LOST),
]


def add_stages(pipeline: Pipeline, stages: Sequence[tuple[str, str, int, str]]) -> None:
    """Give `pipeline` these stages (English name, Chinese name, win probability, kind), in
    this order."""
    Stage.objects.bulk_create(
        Stage(
            pipeline=pipeline,
            name=name,
            name_zh=name_zh,
            order=index * 10,
            win_probability=probability,
            kind=kind,
        )
        for index, (name, name_zh, probability, kind) in enumerate(stages, start=1)
    )


def ensure_default_pipeline() -> Pipeline | None:
    """Create the default pipeline and its stages when no pipeline exists (after migrate, and
    after a test database is flushed); returns it, or None when pipelines exist already, so
    administrators' own configuration is never touched."""
    with transaction.atomic():
        if Pipeline.objects.exists():
            return None
        pipeline = Pipeline.objects.create(name="Sales", name_zh="销售", is_default=True)
        add_stages(pipeline, DEFAULT_STAGES)
    return pipeline
