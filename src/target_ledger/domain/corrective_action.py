"""Corrective actions: a cause analysis and a plan against a drifting target, and its outcome."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

import msgspec
from eventsourcing.domain import Aggregate

from target_ledger.domain.errors import ConflictError, DomainError, ForbiddenError

FACTORS = ("product", "customer", "team", "market", "competitor", "policy", "other")
Status = Literal["open", "completed", "cancelled"]


class Cause(msgspec.Struct, frozen=True, kw_only=True):
    """One cause of the shortfall: subjective (skill, effort) or objective (the world)."""

    kind: Literal["subjective", "objective"]
    factor: str
    description: str


class Measure(msgspec.Struct, frozen=True, kw_only=True):
    """The target's attainment and pace at a moment, as the attainment read model had them."""

    attainment_pct: Decimal | None
    pace_pct: Decimal | None
    actual: Decimal | None


class Note(msgspec.Struct, frozen=True, kw_only=True):
    """A progress note: who wrote what, when."""

    person: str
    note: str
    at: datetime


class Effect(msgspec.Struct, frozen=True, kw_only=True):
    """How far the target moved between opening and completion: percentage points and actual."""

    attainment_pts: Decimal | None
    pace_pts: Decimal | None
    actual: Decimal | None


def effect(before: Measure, after: Measure) -> Effect:
    """The measured effect of an action; unknown where either side was unknown."""

    def change(then: Decimal | None, now: Decimal | None) -> Decimal | None:
        return None if then is None or now is None else now - then

    return Effect(
        attainment_pts=change(before.attainment_pct, after.attainment_pct),
        pace_pts=change(before.pace_pct, after.pace_pct),
        actual=change(before.actual, after.actual),
    )


class CorrectiveAction(Aggregate):
    TOPIC = "CorrectiveAction"

    class Created(Aggregate.Created):
        TOPIC = "CorrectiveAction.Created"  # the library's base; never stored itself

    class CorrectiveActionOpened(Created):
        TOPIC = "CorrectiveActionOpened"
        target_id: uuid.UUID
        alert_id: uuid.UUID | None
        node: str
        causes: list[Cause]
        plan: str
        owner: str
        due: date
        resources: str
        expected_effect: str
        opened_by: str
        before: Measure

    class CorrectiveActionProgressed(Aggregate.Event):
        TOPIC = "CorrectiveActionProgressed"
        person: str
        note: str

        def apply(self, action: "CorrectiveAction") -> None:
            action.notes.append(Note(person=self.person, note=self.note, at=self.timestamp))

    class CorrectiveActionCompleted(Aggregate.Event):
        TOPIC = "CorrectiveActionCompleted"
        person: str
        outcome: str
        after: Measure

        def apply(self, action: "CorrectiveAction") -> None:
            action.status, action.outcome, action.after = "completed", self.outcome, self.after

    class CorrectiveActionCancelled(Aggregate.Event):
        TOPIC = "CorrectiveActionCancelled"
        person: str
        reason: str

        def apply(self, action: "CorrectiveAction") -> None:
            action.status, action.outcome = "cancelled", self.reason

    def __init__(
        self,
        target_id: uuid.UUID,
        alert_id: uuid.UUID | None,
        node: str,
        causes: list[Cause],
        plan: str,
        owner: str,
        due: date,
        resources: str,
        expected_effect: str,
        opened_by: str,
        before: Measure,
    ):
        self.target_id, self.alert_id, self.node = target_id, alert_id, node
        self.causes, self.plan, self.owner, self.due = causes, plan, owner, due
        self.resources, self.expected_effect, self.opened_by, self.before = (
            resources,
            expected_effect,
            opened_by,
            before,
        )
        self.status: Status = "open"
        self.notes: list[Note] = []
        self.outcome = ""
        self.after: Measure | None = None

    @classmethod
    def open(
        cls,
        *,
        target_id: uuid.UUID,
        alert_id: uuid.UUID | None,
        node: str,
        causes: list[Cause],
        plan: str,
        owner: str,
        due: date,
        resources: str,
        expected_effect: str,
        opened_by: str,
        before: Measure,
        at: datetime,
    ) -> "CorrectiveAction":
        if not causes:
            raise DomainError("a corrective action starts from at least one cause", field="causes")
        for i, cause in enumerate(causes):
            if cause.factor not in FACTORS:
                raise DomainError(f"factor is one of {', '.join(FACTORS)}", field=f"causes[{i}].factor")
        if not plan.strip():
            raise DomainError("a corrective action needs a plan", field="plan")
        if due < at.date():
            raise DomainError(f"due is today ({at.date()}) or later", field="due")
        return cls._create(
            cls.CorrectiveActionOpened,
            id=uuid.uuid4(),
            target_id=target_id,
            alert_id=alert_id,
            node=node,
            causes=causes,
            plan=plan,
            owner=owner,
            due=due,
            resources=resources,
            expected_effect=expected_effect,
            opened_by=opened_by,
            before=before,
            timestamp=at,
        )

    def is_overdue(self, today: date) -> bool:
        return self.status == "open" and today > self.due

    def check_open(self) -> None:
        if self.status != "open":
            raise ConflictError(f"corrective action {self.id} is already {self.status}")

    def check_may_change(self, person: str, may_manage: bool) -> None:
        if person not in (self.owner, self.opened_by) and not may_manage:
            raise ForbiddenError(
                f"corrective action {self.id} is changed by its owner {self.owner!r}, whoever opened it, "
                "a manager above its node, or an admin"
            )

    def progress(self, person: str, note: str, *, may_manage: bool, at: datetime) -> None:
        self.check_open()
        self.check_may_change(person, may_manage)
        if not note.strip():
            raise DomainError("a progress note says what happened", field="note")
        self.trigger_event(self.CorrectiveActionProgressed, person=person, note=note, timestamp=at)

    def complete(self, person: str, outcome: str, after: Measure, *, may_manage: bool, at: datetime) -> None:
        self.check_open()
        self.check_may_change(person, may_manage)
        if not outcome.strip():
            raise DomainError("completing an action records its outcome", field="outcome")
        self.trigger_event(self.CorrectiveActionCompleted, person=person, outcome=outcome, after=after, timestamp=at)

    def cancel(self, person: str, reason: str, *, may_manage: bool, at: datetime) -> None:
        self.check_open()
        self.check_may_change(person, may_manage)
        if not reason.strip():
            raise DomainError("cancelling an action needs a reason", field="reason")
        self.trigger_event(self.CorrectiveActionCancelled, person=person, reason=reason, timestamp=at)
