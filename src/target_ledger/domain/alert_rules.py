"""Alert rules: built-in defaults, refined per metric and org subtree."""

import uuid
from datetime import datetime
from decimal import Decimal

import msgspec
from eventsourcing.domain import Aggregate

from target_ledger.domain.alert import RULES
from target_ledger.domain.errors import DomainError

ALERT_RULES_ID = uuid.uuid5(uuid.UUID("3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c08"), "alert-rules")


class Settings(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A rule's parameters; a refinement gives only those it changes."""

    enabled: bool | None = None
    threshold: Decimal | None = None  # %: completion or pace below it breaches
    weeks: int | None = None  # consecutive weeks below the threshold
    share: Decimal | None = None  # %: a week's gap above this share of its target breaches
    margin: Decimal | None = None  # % points beyond the threshold before a breach counts as over
    days: int | None = None  # working days without an actual


DEFAULTS = {
    "weekly_completion": Settings(enabled=True, threshold=Decimal(80), weeks=2, margin=Decimal(5)),
    "week_gap": Settings(enabled=True, share=Decimal(20), margin=Decimal(5)),
    "pace": Settings(enabled=True, threshold=Decimal(80), margin=Decimal(5)),
    "action_overdue": Settings(enabled=True),
    "no_actuals": Settings(enabled=True, days=3),
    "follow_up_missed": Settings(enabled=True),
    "forecast": Settings(enabled=True, threshold=Decimal(90), margin=Decimal(5)),  # % of the target
}


def _merge(base: Settings, over: Settings) -> Settings:
    changes = {k: v for k, v in msgspec.structs.asdict(over).items() if v is not None}
    return msgspec.structs.replace(base, **changes)


class AlertRules(Aggregate):
    TOPIC = "AlertRules"

    class Created(Aggregate.Created):
        TOPIC = "AlertRules.Created"

    class AlertRuleConfigured(Aggregate.Event):
        TOPIC = "AlertRuleConfigured"
        rule: str
        node: str | None  # the subtree it applies to; None: everywhere
        metric: str | None  # None: every metric
        settings: Settings

        def apply(self, rules: "AlertRules") -> None:
            rules.refinements[(self.rule, self.node, self.metric)] = self.settings

    def __init__(self) -> None:
        self.refinements: dict[tuple[str, str | None, str | None], Settings] = {}

    @classmethod
    def start(cls, at: datetime) -> "AlertRules":
        return cls._create(cls.Created, id=ALERT_RULES_ID, timestamp=at)

    def configure(self, rule: str, node: str | None, metric: str | None, settings: Settings, at: datetime) -> None:
        if rule not in RULES:
            raise DomainError(f"rule is one of {', '.join(RULES)}", field="rule")
        for name in ("threshold", "share", "margin"):
            value = getattr(settings, name)
            if value is not None and not 0 <= value <= 1000:
                raise DomainError(f"{name} is a percentage between 0 and 1000", field=name)
        for name in ("weeks", "days"):
            value = getattr(settings, name)
            if value is not None and not 1 <= value <= 52:
                raise DomainError(f"{name} is between 1 and 52", field=name)
        self.trigger_event(
            self.AlertRuleConfigured, rule=rule, node=node, metric=metric, settings=settings, timestamp=at
        )

    def settings(self, rule: str, metric: str, chain: list[str]) -> Settings:
        """The defaults, refined everywhere, then down the chain (the node and the units above
        it, nearest last applied): the most specific refinement wins, a metric's over any."""
        result = DEFAULTS[rule]
        for node in [None, *reversed(chain)]:
            for key in ((rule, node, None), (rule, node, metric)):
                if key in self.refinements:
                    result = _merge(result, self.refinements[key])
        return result
