"""The funnel: opportunities per stage, conversion between stages, age in a stage, and those slipping."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from target_ledger.domain.attainment import CENT, RATE, shown


@dataclass(frozen=True)
class Deal:
    """An opportunity as the funnel counts it."""

    status: str  # open, won, lost
    stage: str  # where it stands (or stood when it closed)
    amount: Decimal  # expected, or won
    close_on: date  # expected close date
    stage_since: date  # the day it entered its stage
    stages: list[str]  # every stage it entered, in order


@dataclass(frozen=True)
class StageRow:
    stage: str
    count: int
    value: Decimal
    average_age_days: Decimal | None  # open ones in the stage, days since they entered it
    conversion: Decimal | None  # of those that reached this stage, the share that reached the next (or won)
    configured: bool = True  # False: a stage no longer configured, where open deals still stand


@dataclass(frozen=True)
class Funnel:
    stages: list[StageRow]
    won_count: int
    won_value: Decimal
    lost_count: int
    lost_value: Decimal


def _furthest(deal: Deal, order: list[str]) -> int:
    """How far a deal got: the index of the furthest configured stage it entered; a win passed them all."""
    if deal.status == "won":
        return len(order)
    reached = [order.index(s) for s in deal.stages if s in order]
    return max(reached, default=-1)


def funnel(deals: list[Deal], order: list[str], today: date) -> Funnel:
    """Count and value of the open deals per stage (in the configured order), their average age
    in it, and the conversion from each stage to the next: of the deals that reached a stage
    (entered it or one further on, or won), the share that reached the next one (from the last
    stage: the share won). Rates are fractions, to 0.0001, rounded down; ages to 0.01 day, down.
    Open deals standing in a stage no longer configured (removed from the stages since) still
    count: after the configured stages, a row per such stage (by name), `configured` false, no
    conversion; so every open deal is in one row, as the forecast counts them."""
    furthest = [_furthest(d, order) for d in deals]
    rows = []
    for i, stage in enumerate(order):
        reached = sum(1 for f in furthest if f >= i)
        onward = sum(1 for f in furthest if f >= i + 1)
        rows.append(_row(deals, stage, today, shown(Fraction(onward, reached), RATE) if reached else None))
    removed = sorted({d.stage for d in deals if d.status == "open"} - set(order))
    rows += [_row(deals, stage, today, None, configured=False) for stage in removed]
    won = [d for d in deals if d.status == "won"]
    lost = [d for d in deals if d.status == "lost"]
    return Funnel(
        stages=rows,
        won_count=len(won),
        won_value=sum((d.amount for d in won), Decimal(0)),
        lost_count=len(lost),
        lost_value=sum((d.amount for d in lost), Decimal(0)),
    )


def _row(deals: list[Deal], stage: str, today: date, conversion: Decimal | None, configured: bool = True) -> StageRow:
    """The open deals standing in a stage: how many, their value and average age in it."""
    here = [d for d in deals if d.status == "open" and d.stage == stage]
    ages = [(today - d.stage_since).days for d in here]
    return StageRow(
        stage=stage,
        count=len(here),
        value=sum((d.amount for d in here), Decimal(0)),
        average_age_days=shown(Fraction(sum(ages), len(ages)), CENT) if ages else None,
        conversion=conversion,
        configured=configured,
    )


def slipping(deal: Deal, today: date) -> bool:
    """Still open, and its expected close date has passed."""
    return deal.status == "open" and deal.close_on < today
