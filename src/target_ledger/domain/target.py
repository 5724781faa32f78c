"""The Target aggregate: a value to reach for (node, metric, period, scope)."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

import msgspec
from eventsourcing.domain import Aggregate

from target_ledger.domain.errors import AlreadyExistsError, DomainError, ForbiddenError
from target_ledger.domain.values import check_amount

TARGETS = uuid.UUID("6f1d2a3c-8e0b-4c55-9a57-0c1e7c1f7a01")
Scope = dict[str, str]
Acknowledgement = Literal["pending", "acknowledged", "disputed"]


def target_id(node: str, metric: str, period: str, scope: Scope | None = None) -> uuid.UUID:
    """The natural key makes the id: a second target for the same key is a conflict."""
    key = f"{node}|{metric}|{period}"
    if scope:
        key += "|" + msgspec.json.encode(scope, order="sorted").decode()
    return uuid.uuid5(TARGETS, key)


class Part(msgspec.Struct, frozen=True, kw_only=True):
    """One child of a decomposition: what it is along the axis, and its value."""

    target_id: uuid.UUID
    node: str
    period: str
    scope: Scope
    value: Decimal


class Growth(msgspec.Struct, frozen=True, kw_only=True):
    """Where a growth target's value came from: "Q3 revenue +20 % over Q2" (环比, over the
    previous period) or "over Q3 last year" (同比), kept in the event for the audit trail."""

    over: Literal["previous_period", "same_period_last_year"]
    rate: Decimal  # 0.20 is +20 %
    base_period: str
    base_actual: Decimal  # the base period's actual when the target was set
    exact_value: Decimal  # base_actual * (1 + rate), before rounding to the metric's step
    rounding: str  # how exact_value became the value, e.g. "half up to 0.01"


class FollowUp(msgspec.Struct, frozen=True, kw_only=True):
    cadence: str
    reporter: str
    supervisor: str


class AlreadyDecomposedError(AlreadyExistsError):
    pass


class Target(Aggregate):
    TOPIC = "Target"

    class Created(Aggregate.Created):
        TOPIC = "Target.Created"  # the library's base; never stored itself

    class TargetSet(Created):
        TOPIC = "TargetSet"
        class_version = 2
        node: str
        metric: str
        period: str
        starts_on: date
        ends_on: date
        scope: Scope
        value: Decimal
        stretch: Decimal | None
        rationale: str
        parent_id: uuid.UUID | None
        growth: Growth | None

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["growth"] = None  # version 1 targets were all set by value

    class TargetAcknowledged(Aggregate.Event):
        TOPIC = "TargetAcknowledged"
        comment: str

        def apply(self, target: "Target") -> None:
            target.acknowledgement, target.comment = "acknowledged", self.comment

    class TargetDisputed(Aggregate.Event):
        TOPIC = "TargetDisputed"
        comment: str

        def apply(self, target: "Target") -> None:
            target.acknowledgement, target.comment = "disputed", self.comment

    class TargetDecomposed(Aggregate.Event):
        TOPIC = "TargetDecomposed"
        axis: str
        method: str
        parts: list[Part]

        def apply(self, target: "Target") -> None:
            target.axis, target.method, target.parts = self.axis, self.method, list(self.parts)

    class TargetCrossDecomposed(Aggregate.Event):
        """A split along a second axis: its parts are the matrix's other margin (each product's
        Q1 target beside each month's); the cells are the parts of both margins' targets."""

        TOPIC = "TargetCrossDecomposed"
        axis: str
        method: str
        parts: list[Part]

        def apply(self, target: "Target") -> None:
            target.cross_axis, target.cross_method = self.axis, self.method
            target.cross_parts = list(self.parts)

    class TargetAdjusted(Aggregate.Event):
        TOPIC = "TargetAdjusted"
        previous_value: Decimal
        value: Decimal
        parts: list[Part]  # the children's new values, for a decomposed target (of both axes of a matrix)
        adjustment_id: uuid.UUID

        def apply(self, target: "Target") -> None:
            crossing = {p.target_id for p in target.cross_parts}
            target.value, target.parts = self.value, [p for p in self.parts if p.target_id not in crossing]
            target.cross_parts = [p for p in self.parts if p.target_id in crossing]

    class FollowUpPlanned(Aggregate.Event):
        """Who reports on the target how often, and who supervises: a missed report is an alert."""

        TOPIC = "FollowUpPlanned"
        node: str
        metric: str
        period: str
        cadence: str
        reporter: str
        supervisor: str

        def apply(self, target: "Target") -> None:
            target.follow_up = FollowUp(cadence=self.cadence, reporter=self.reporter, supervisor=self.supervisor)

    class FollowUpReported(Aggregate.Event):
        TOPIC = "FollowUpReported"
        reporter: str
        note: str

        def apply(self, target: "Target") -> None:
            pass

    def __init__(
        self,
        node: str,
        metric: str,
        period: str,
        starts_on: date,
        ends_on: date,
        scope: Scope,
        value: Decimal,
        stretch: Decimal | None,
        rationale: str,
        parent_id: uuid.UUID | None,
        growth: Growth | None = None,
    ):
        self.node, self.metric, self.period, self.scope = node, metric, period, scope
        self.starts_on, self.ends_on = starts_on, ends_on
        self.value, self.stretch, self.rationale = value, stretch, rationale
        self.parent_id, self.growth = parent_id, growth
        self.acknowledgement: Acknowledgement = "pending"
        self.comment = ""
        self.axis: str | None = None
        self.method: str | None = None
        self.parts: list[Part] = []
        self.cross_axis: str | None = None  # a matrix: the second axis and its margins
        self.cross_method: str | None = None
        self.cross_parts: list[Part] = []
        self.follow_up: FollowUp | None = None

    @classmethod
    def set(
        cls,
        *,
        node: str,
        metric: str,
        period: str,
        starts_on: date,
        ends_on: date,
        value: Decimal,
        at: datetime,
        scope: Scope | None = None,
        stretch: Decimal | None = None,
        rationale: str = "",
        parent_id: uuid.UUID | None = None,
        lower_is_better: bool = False,
        growth: Growth | None = None,
    ) -> "Target":
        check_amount(value, negative_allowed=False)
        if stretch is not None:
            check_amount(stretch, negative_allowed=False, field="stretch")
            if (stretch < value) != lower_is_better and stretch != value:
                beyond = "below" if lower_is_better else "above"
                raise DomainError(f"a stretch value lies {beyond} the target value", field="stretch")
        scope = dict(sorted((scope or {}).items()))
        return cls._create(
            cls.TargetSet,
            id=target_id(node, metric, period, scope),
            node=node,
            metric=metric,
            period=period,
            starts_on=starts_on,
            ends_on=ends_on,
            scope=scope,
            value=value,
            stretch=stretch,
            rationale=rationale,
            parent_id=parent_id,
            growth=growth,
            timestamp=at,
        )

    def check_assignee(self, person: str, assignee: str | None) -> None:
        """The assignee is the person whose target it is, or the manager of its unit."""
        if person != assignee:
            raise ForbiddenError(
                f"only the assignee of this target ({assignee or 'nobody yet'}) acknowledges or disputes it"
            )

    def acknowledge(self, person: str, assignee: str | None, comment: str, at: datetime) -> None:
        self.check_assignee(person, assignee)
        self.trigger_event(self.TargetAcknowledged, comment=comment, timestamp=at)

    def dispute(self, person: str, assignee: str | None, comment: str, at: datetime) -> None:
        self.check_assignee(person, assignee)
        if not comment.strip():
            raise DomainError("a dispute needs a comment saying why", field="comment")
        self.trigger_event(self.TargetDisputed, comment=comment, timestamp=at)

    def decompose(self, axis: str, method: str, parts: list[Part], at: datetime) -> None:
        if self.parts:
            raise AlreadyDecomposedError(
                f"target {self.id} is already decomposed by {self.axis}; changing it is an adjustment request",
            )
        self.trigger_event(self.TargetDecomposed, axis=axis, method=method, parts=parts, timestamp=at)

    def cross_decompose(self, axis: str, method: str, parts: list[Part], at: datetime) -> None:
        """Split a target already split along one axis along a second one: a matrix."""
        self.check_can_cross(axis)
        self.trigger_event(self.TargetCrossDecomposed, axis=axis, method=method, parts=parts, timestamp=at)

    def check_can_cross(self, axis: str) -> None:
        if not self.parts:
            raise DomainError("a target not yet decomposed is split along one axis first", field="axis")
        if self.method == "matrix":  # a margin or a row: its parts are cells, an adjustment would not re-split them
            raise AlreadyDecomposedError(
                f"target {self.id} is a margin of a decomposition matrix, its parts its cells: a matrix is split "
                "along two axes at most; split a cell further instead",
            )
        if self.cross_parts:
            raise AlreadyDecomposedError(
                f"target {self.id} is already decomposed by {self.axis} and {self.cross_axis}; "
                "changing it is an adjustment request",
            )
        if axis == self.axis:
            raise DomainError(
                f"target {self.id} is already decomposed by {axis}: split its parts further instead", field="axis"
            )

    def adjust(self, value: Decimal, parts: list[Part], adjustment_id: uuid.UUID, at: datetime) -> None:
        """Apply an approved adjustment; the caller checked the version it was asked against."""
        check_amount(value, negative_allowed=False)
        self.trigger_event(
            self.TargetAdjusted,
            previous_value=self.value,
            value=value,
            parts=parts,
            adjustment_id=adjustment_id,
            timestamp=at,
        )

    def plan_follow_up(self, cadence: str, reporter: str, supervisor: str, at: datetime) -> None:
        if cadence not in ("daily", "weekly", "monthly"):
            raise DomainError("cadence is one of daily, weekly, monthly", field="cadence")
        if reporter == supervisor:
            raise DomainError("the supervisor is someone other than the reporter", field="supervisor")
        self.trigger_event(
            self.FollowUpPlanned,
            node=self.node,
            metric=self.metric,
            period=self.period,
            cadence=cadence,
            reporter=reporter,
            supervisor=supervisor,
            timestamp=at,
        )

    def report_follow_up(self, person: str, note: str, at: datetime) -> None:
        if self.follow_up is None:
            raise DomainError(f"target {self.id} has no follow-up plan", field="note")
        if person != self.follow_up.reporter:
            raise ForbiddenError(f"follow-up reports on this target come from {self.follow_up.reporter!r}")
        if not note.strip():
            raise DomainError("a follow-up report says where things stand", field="note")
        self.trigger_event(self.FollowUpReported, reporter=person, note=note, timestamp=at)
