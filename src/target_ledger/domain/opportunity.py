"""Opportunities: a person's expected deal moving through the stages of the pipeline, won or lost."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from eventsourcing.domain import Aggregate

from target_ledger.domain.errors import ConflictError, DomainError
from target_ledger.domain.pipeline_stages import check_probability

LOSS_REASONS = ("price", "competitor", "timing", "no_budget", "other")
Status = Literal["open", "won", "lost"]


class OpportunityClosedError(ConflictError):
    """Won and lost are final: nothing changes an opportunity afterwards."""


def check_amount_expected(amount: Decimal, field: str = "amount") -> None:
    if amount <= 0:
        raise DomainError("an opportunity's expected amount is more than 0", field=field)


class Opportunity(Aggregate):
    TOPIC = "Opportunity"

    class Created(Aggregate.Created):
        TOPIC = "Opportunity.Created"  # the library's base; never stored itself

    class OpportunityOpened(Created):
        TOPIC = "OpportunityOpened"
        person: str
        name: str
        metric: str
        scope: dict[str, str]
        amount: Decimal
        close_on: date  # the expected close date
        stage: str
        probability: Decimal  # a fraction in [0, 1]: the stage's default unless given
        opened_by: str

    class OpportunityStageChanged(Aggregate.Event):
        TOPIC = "OpportunityStageChanged"
        from_stage: str
        stage: str
        probability: Decimal
        person: str  # who moved it

        def apply(self, opportunity: "Opportunity") -> None:
            opportunity.stage, opportunity.probability = self.stage, self.probability

    class OpportunityRevised(Aggregate.Event):
        TOPIC = "OpportunityRevised"
        amount: Decimal
        close_on: date
        reason: str
        person: str

        def apply(self, opportunity: "Opportunity") -> None:
            opportunity.amount, opportunity.close_on = self.amount, self.close_on

    class OpportunityWon(Aggregate.Event):
        TOPIC = "OpportunityWon"
        amount: Decimal  # the actual recorded
        won_on: date  # the actual's date
        actual_id: uuid.UUID
        person: str

        def apply(self, opportunity: "Opportunity") -> None:
            opportunity.status, opportunity.won_amount, opportunity.closed_on = "won", self.amount, self.won_on
            opportunity.actual_id = self.actual_id

    class OpportunityLost(Aggregate.Event):
        TOPIC = "OpportunityLost"
        reason: str  # one of LOSS_REASONS
        note: str
        lost_on: date
        person: str

        def apply(self, opportunity: "Opportunity") -> None:
            opportunity.status, opportunity.loss_reason, opportunity.closed_on = "lost", self.reason, self.lost_on
            opportunity.loss_note = self.note

    def __init__(
        self,
        person: str,
        name: str,
        metric: str,
        scope: dict[str, str],
        amount: Decimal,
        close_on: date,
        stage: str,
        probability: Decimal,
        opened_by: str,
    ):
        self.person, self.name, self.metric, self.scope = person, name, metric, scope
        self.amount, self.close_on, self.stage, self.probability = amount, close_on, stage, probability
        self.opened_by = opened_by
        self.status: Status = "open"
        self.won_amount: Decimal | None = None
        self.actual_id: uuid.UUID | None = None
        self.closed_on: date | None = None
        self.loss_reason = ""
        self.loss_note = ""

    @classmethod
    def open(
        cls,
        *,
        person: str,
        name: str,
        metric: str,
        scope: dict[str, str],
        amount: Decimal,
        close_on: date,
        stage: str,
        probability: Decimal,
        opened_by: str,
        at: datetime,
    ) -> "Opportunity":
        check_amount_expected(amount)
        check_probability(probability, "probability")
        if not name.strip():
            raise DomainError("an opportunity has a name (the customer or the deal)", field="name")
        return cls._create(
            cls.OpportunityOpened,
            id=uuid.uuid4(),
            person=person,
            name=name,
            metric=metric,
            scope=scope,
            amount=amount,
            close_on=close_on,
            stage=stage,
            probability=probability,
            opened_by=opened_by,
            timestamp=at,
        )

    def check_open(self) -> None:
        if self.status != "open":
            raise OpportunityClosedError(f"opportunity {self.id} is {self.status} already: won and lost are final")

    def change_stage(self, stage: str, probability: Decimal, *, person: str, at: datetime) -> None:
        """Move to a configured stage (`stage` checked by the caller against the settings)."""
        self.check_open()
        check_probability(probability, "probability")
        if stage == self.stage and probability == self.probability:
            raise DomainError(f"the opportunity is in {stage!r} at {probability} already", field="stage")
        self.trigger_event(
            self.OpportunityStageChanged,
            from_stage=self.stage,
            stage=stage,
            probability=probability,
            person=person,
            timestamp=at,
        )

    def revise(self, amount: Decimal | None, close_on: date | None, reason: str, *, person: str, at: datetime) -> None:
        """A new expected amount and/or close date, saying why."""
        self.check_open()
        if amount is None and close_on is None:
            raise DomainError("a revision gives a new amount or close_on", field="amount")
        if amount is not None:
            check_amount_expected(amount)
        if not reason.strip():
            raise DomainError("a revision says why the amount or date changed", field="reason")
        self.trigger_event(
            self.OpportunityRevised,
            amount=self.amount if amount is None else amount,
            close_on=close_on or self.close_on,
            reason=reason,
            person=person,
            timestamp=at,
        )

    def same_win(self, amount: Decimal | None, won_on: date | None) -> bool:
        """Whether a win sent again says what the recorded one says (a re-send changes nothing);
        what it leaves out (the amount, the date) is taken as recorded."""
        return (
            self.status == "won"
            and (amount is None or self.won_amount == amount)
            and (won_on is None or self.closed_on == won_on)
        )

    def win(self, amount: Decimal, won_on: date, actual_id: uuid.UUID, *, person: str, at: datetime) -> None:
        self.check_open()
        self.trigger_event(
            self.OpportunityWon, amount=amount, won_on=won_on, actual_id=actual_id, person=person, timestamp=at
        )

    def lose(self, reason: str, note: str, *, person: str, at: datetime) -> None:
        self.check_open()
        if reason not in LOSS_REASONS:
            raise DomainError(f"reason is one of {', '.join(LOSS_REASONS)}", field="reason")
        self.trigger_event(
            self.OpportunityLost, reason=reason, note=note, lost_on=at.date(), person=person, timestamp=at
        )
