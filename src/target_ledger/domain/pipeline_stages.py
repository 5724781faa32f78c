"""The organisation's pipeline stages, in order, each with its default probability of winning."""

import re
import uuid
from datetime import datetime
from decimal import Decimal

import msgspec
from eventsourcing.domain import Aggregate

from target_ledger.domain.errors import DomainError

PIPELINE_STAGES_ID = uuid.uuid5(uuid.UUID("3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c08"), "pipeline-stages")
STAGE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
CLOSED = ("won", "lost")  # outcomes, never stages


class Stage(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    probability: Decimal  # a fraction in [0, 1]


DEFAULT_STAGES = [
    Stage(name="prospecting", probability=Decimal("0.1")),
    Stage(name="qualification", probability=Decimal("0.2")),
    Stage(name="proposal", probability=Decimal("0.5")),
    Stage(name="negotiation", probability=Decimal("0.8")),
]


def check_probability(probability: Decimal, field: str) -> None:
    """A probability is a fraction from 0 to 1 (0.25, not 25)."""
    if not 0 <= probability <= 1:
        raise DomainError(f"a probability is a fraction from 0 to 1, not {probability}", field=field)


class PipelineStages(Aggregate):
    TOPIC = "PipelineStages"

    class Created(Aggregate.Created):
        TOPIC = "PipelineStages.Created"

    class PipelineStagesConfigured(Aggregate.Event):
        TOPIC = "PipelineStagesConfigured"
        stages: list[Stage]

        def apply(self, settings: "PipelineStages") -> None:
            settings.stages = list(self.stages)

    def __init__(self) -> None:
        self.stages: list[Stage] = list(DEFAULT_STAGES)

    @classmethod
    def start(cls, at: datetime) -> "PipelineStages":
        return cls._create(cls.Created, id=PIPELINE_STAGES_ID, timestamp=at)

    def configure(self, stages: list[Stage], at: datetime) -> None:
        """Replace the stages (their order is the funnel's): 1-20 distinct names, probabilities in [0, 1]."""
        if not 1 <= len(stages) <= 20:
            raise DomainError("the pipeline has 1 to 20 stages", field="stages")
        seen: set[str] = set()
        for i, stage in enumerate(stages):
            if not STAGE_NAME.fullmatch(stage.name) or stage.name in CLOSED:
                raise DomainError(
                    "a stage is named in lower case letters, digits and _ (won and lost are outcomes)",
                    field=f"stages[{i}].name",
                )
            if stage.name in seen:
                raise DomainError(f"stage {stage.name!r} is named twice", field=f"stages[{i}].name")
            seen.add(stage.name)
            check_probability(stage.probability, f"stages[{i}].probability")
        self.trigger_event(self.PipelineStagesConfigured, stages=stages, timestamp=at)

    def stage(self, name: str, field: str = "stage") -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise DomainError(f"stage is one of {', '.join(s.name for s in self.stages)}", field=field)

    def order(self) -> list[str]:
        return [s.name for s in self.stages]
