"""Forecasts: a manager's commit and best case for a node, metric and period, and how they compare."""

import uuid
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

import msgspec
from eventsourcing.domain import Aggregate

from target_ledger.domain.errors import DomainError

FORECASTS = uuid.UUID("6f1d2c3b-4a59-4e8d-9b7a-0c1d2e3f4a21")


def forecast_id(node: str, metric: str, period: str) -> uuid.UUID:
    """One stream of submissions per node, metric and period."""
    return uuid.uuid5(FORECASTS, f"{node}|{metric}|{period}")


def weighted(amount: Decimal, probability: Decimal) -> Fraction:
    """An open opportunity's weight in a forecast: its amount times its probability, exactly."""
    return Fraction(amount) * Fraction(probability)


def accuracy(actual: Decimal, commit: Decimal) -> Fraction | None:
    """How a closed period compared with its commit: actual ÷ commit (1 is spot on; None for a 0 commit)."""
    return Fraction(actual) / Fraction(commit) if commit else None


class Submission(msgspec.Struct, frozen=True, kw_only=True):
    commit: Decimal
    best_case: Decimal
    note: str
    submitted_by: str
    submitted_at: datetime


class Forecast(Aggregate):
    TOPIC = "Forecast"

    class Created(Aggregate.Created):
        TOPIC = "Forecast.Created"  # the library's base; never stored itself

    class ForecastStarted(Created):
        TOPIC = "ForecastStarted"
        node: str
        metric: str
        period: str

    class ForecastSubmitted(Aggregate.Event):
        TOPIC = "ForecastSubmitted"
        commit: Decimal  # what the manager commits to
        best_case: Decimal  # what could come in if the open deals go well
        note: str
        submitted_by: str

        def apply(self, forecast: "Forecast") -> None:
            submission = Submission(
                commit=self.commit,
                best_case=self.best_case,
                note=self.note,
                submitted_by=self.submitted_by,
                submitted_at=self.timestamp,
            )
            forecast.submissions.append(submission)

    def __init__(self, node: str, metric: str, period: str) -> None:
        self.node, self.metric, self.period = node, metric, period
        self.submissions: list[Submission] = []

    @classmethod
    def start(cls, node: str, metric: str, period: str, at: datetime) -> "Forecast":
        return cls._create(
            cls.ForecastStarted,
            id=forecast_id(node, metric, period),
            node=node,
            metric=metric,
            period=period,
            timestamp=at,
        )

    def submit(self, commit: Decimal, best_case: Decimal, note: str, *, person: str, at: datetime) -> None:
        """A new submission; the earlier ones stay, so the forecast can be read as known on any day."""
        if commit < 0:
            raise DomainError("a commit is not negative", field="commit")
        if best_case < commit:
            raise DomainError(f"the best case is at least the commit ({commit})", field="best_case")
        self.trigger_event(
            self.ForecastSubmitted, commit=commit, best_case=best_case, note=note, submitted_by=person, timestamp=at
        )

    def known_by(self, instant: datetime) -> list[Submission]:
        """The submissions recorded by that instant, oldest first."""
        return [s for s in self.submissions if s.submitted_at <= instant]
