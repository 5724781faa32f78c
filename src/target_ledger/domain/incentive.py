"""Incentive plans: tiers by attainment, a cap and a team award, changed only by an approved request.

The scheme comes from the third source document (seeds/003_6f33e4f073880623.txt, §06 激励与惩罚
机制): "实行阶梯式提成制度,鼓励销售人员挑战更高目标" (tiered commission so reps beat their
targets), "设立团队奖励" (a team award) and, for a shortfall, "扣除部分奖金、降低提成比例"
(part of the bonus deducted, a lower rate): the penalty tier below. A deduction is of a bonus, so
a negative multiplier goes with a `base_amount` only; under a `rate_of_actual` the shortfall is a
lower rate (a multiplier from 0 up), so selling more never costs a rep more.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

import msgspec
from eventsourcing.domain import Aggregate

from target_ledger.domain.adjustment import check_approver, check_rejecter
from target_ledger.domain.errors import ConflictError, DomainError, ForbiddenError
from target_ledger.domain.values import MAX_DIGITS, check_amount

PLANS = uuid.UUID("2b8f6d0e-1c7a-4e3b-9f58-6a2d4c9e7b22")
PENALTY_FLOOR = Decimal(-1)  # a penalty deducts at most the whole base
MAX_MULTIPLIER = Decimal(100)  # a tier pays at most 100 times the base
MAX_PAYOUT = Decimal(10) ** MAX_DIGITS  # every money figure stays below the project's limit
Status = Literal["pending", "approved", "rejected", "withdrawn"]


def plan_id(node: str, metric: str, period: str) -> uuid.UUID:
    """One plan per node, metric and period: asking for a second one is a change of the first."""
    return uuid.uuid5(PLANS, f"{node}|{metric}|{period}")


class Tier(msgspec.Struct, frozen=True, kw_only=True):
    """Attainment (a fraction of the target: 1 is 100 %) from `from_` (inclusive) up to `to`
    (exclusive; None: no end) earns `multiplier` times the base."""

    from_: Decimal = msgspec.field(name="from")
    to: Decimal | None = None
    multiplier: Decimal


class Terms(msgspec.Struct, frozen=True, kw_only=True):
    """What a plan pays: one of `base_amount` (money per person) or `rate_of_actual` (a fraction
    of the person's actual), times the tier's multiplier; then at most `cap`; plus `team_award`
    (money per person) when the plan's unit reaches its own target."""

    tiers: list[Tier]
    base_amount: Decimal | None = None
    rate_of_actual: Decimal | None = None
    cap: Decimal | None = None
    team_award: Decimal | None = None


def check_money(value: Decimal, field: str) -> None:
    check_amount(value, negative_allowed=False, field=field)
    if value % Decimal("0.01"):
        raise DomainError(f"{field} is money: whole cents, e.g. 1200.50", field=field)


def check_terms(terms: Terms) -> None:
    """Exactly one basis; tiers from 0, contiguous, none overlapping, the last without an end;
    multipliers from 0 to 100, but the first tier's from -1 (the penalty) when the basis is a
    base_amount (a rate's shortfall is a lower rate, not a negative one); money in cents, and a
    base_amount's best pay (base * the highest multiplier + team_award) below 10^15."""
    if (terms.base_amount is None) == (terms.rate_of_actual is None):
        raise DomainError("give exactly one of base_amount and rate_of_actual", field="base_amount")
    if terms.base_amount is not None:
        check_money(terms.base_amount, "base_amount")
    if terms.rate_of_actual is not None and not 0 < terms.rate_of_actual <= 1:
        raise DomainError("rate_of_actual is a fraction: more than 0, at most 1 (0.05 is 5 %)", field="rate_of_actual")
    for name in ("cap", "team_award"):
        value = getattr(terms, name)
        if value is not None:
            check_money(value, name)
    if not terms.tiers:
        raise DomainError("a plan has at least one tier", field="tiers")
    if len(terms.tiers) > 20:
        raise DomainError("a plan has at most 20 tiers", field="tiers")
    expected_from = Decimal(0)
    for i, tier in enumerate(terms.tiers):
        at = f"tiers[{i}]"
        check_amount(tier.from_, negative_allowed=False, field=f"{at}.from")
        check_amount(tier.multiplier, negative_allowed=True, field=f"{at}.multiplier")
        if tier.from_ != expected_from:
            where = "the first tier starts at 0" if i == 0 else f"it starts where tiers[{i - 1}] ends ({expected_from})"
            raise DomainError(f"tiers are contiguous and do not overlap: {where}", field=f"{at}.from")
        _check_multiplier(terms, i)
        last = i == len(terms.tiers) - 1
        if tier.to is None:
            if not last:
                raise DomainError("only the last tier has no end", field=f"{at}.to")
            continue
        check_amount(tier.to, negative_allowed=False, field=f"{at}.to")
        if last:
            raise DomainError("the last tier has no end (to: null): every attainment has a tier", field=f"{at}.to")
        if tier.to <= tier.from_:
            raise DomainError(f"{at}.to lies above its from ({tier.from_})", field=f"{at}.to")
        expected_from = tier.to
    _check_best_pay(terms)


def _check_multiplier(terms: Terms, i: int) -> None:
    at, multiplier = f"tiers[{i}].multiplier", terms.tiers[i].multiplier
    if multiplier > MAX_MULTIPLIER:
        raise DomainError(f"{at} is at most {MAX_MULTIPLIER}", field=at)
    if i == 0 and terms.rate_of_actual is not None and multiplier < 0:
        raise DomainError(
            f"{at} is at least 0 with a rate_of_actual: a shortfall lowers the rate (e.g. 0.5), it does "
            "not deduct a share of what the rep sold (a penalty needs a base_amount)",
            field=at,
        )
    if multiplier < (PENALTY_FLOOR if i == 0 else 0):
        rule = "at least -1 (a penalty)" if i == 0 else "at least 0 (only the first tier is a penalty)"
        raise DomainError(f"{at} is {rule}", field=at)


def _check_best_pay(terms: Terms) -> None:
    if terms.base_amount is None:
        return
    best = terms.base_amount * max(t.multiplier for t in terms.tiers) + (terms.team_award or 0)
    if best >= MAX_PAYOUT:
        raise DomainError(
            f"base_amount * the highest multiplier + team_award is {best}: a payout stays below 10^{MAX_DIGITS}",
            field="base_amount",
        )


class PersonPayout(msgspec.Struct, frozen=True, kw_only=True):
    """One person's payout as finalised (figures as shown; `amount` is what payroll pays)."""

    person: str
    target_id: uuid.UUID
    target: Decimal
    actual: Decimal
    attainment_pct: Decimal | None  # None: a target of 0, attainment undefined (no tier, nothing earned)
    tier: int | None
    multiplier: Decimal | None
    earned: Decimal
    cap_applied: bool
    team_award: Decimal
    amount: Decimal
    computation: str  # the steps, to the cent: "tier 1 (from 0.8): base 1000.00 * 1.0 = 1000.00; ..."


class IncentivePlan(Aggregate):
    TOPIC = "IncentivePlan"

    class Created(Aggregate.Created):
        TOPIC = "IncentivePlan.Created"  # the library's base; never stored itself

    class IncentivePlanRequested(Created):
        TOPIC = "IncentivePlanRequested"
        node: str
        metric: str
        period: str
        starts_on: date
        ends_on: date
        terms: Terms
        requester: str
        justification: str

    class IncentivePlanChangeRequested(Aggregate.Event):
        TOPIC = "IncentivePlanChangeRequested"
        terms: Terms
        requester: str
        justification: str

        def apply(self, plan: "IncentivePlan") -> None:
            plan.pending, plan.requester, plan.request_status = self.terms, self.requester, "pending"

    class IncentivePlanApproved(Aggregate.Event):
        TOPIC = "IncentivePlanApproved"
        approver: str
        plan_version: int  # the terms in force from now: 1 for the first approved, then 2...

        def apply(self, plan: "IncentivePlan") -> None:
            plan.terms, plan.pending, plan.request_status = plan.pending, None, "approved"
            plan.plan_version = self.plan_version

    class IncentivePlanRejected(Aggregate.Event):
        TOPIC = "IncentivePlanRejected"
        approver: str
        reason: str

        def apply(self, plan: "IncentivePlan") -> None:
            plan.pending, plan.request_status = None, "rejected"

    class IncentivePlanRequestWithdrawn(Aggregate.Event):
        TOPIC = "IncentivePlanRequestWithdrawn"
        person: str
        reason: str

        def apply(self, plan: "IncentivePlan") -> None:
            plan.pending, plan.request_status = None, "withdrawn"

    class IncentiveFinalised(Aggregate.Event):
        """At a period's close: what each person earns under the terms in force."""

        TOPIC = "IncentiveFinalised"
        node: str
        metric: str
        period: str
        closed_for: str
        plan_version: int
        team_attainment_pct: Decimal | None
        team_reached: bool
        payouts: list[PersonPayout]

        def apply(self, plan: "IncentivePlan") -> None:
            plan.finalised = list(self.payouts)

    def __init__(
        self,
        node: str,
        metric: str,
        period: str,
        starts_on: date,
        ends_on: date,
        terms: Terms,
        requester: str,
        justification: str,
    ):
        self.node, self.metric, self.period, self.starts_on, self.ends_on = node, metric, period, starts_on, ends_on
        self.requester, self.justification = requester, justification
        self.pending: Terms | None = terms
        self.terms: Terms | None = None  # none in force until approved
        self.plan_version = 0
        self.request_status: Status = "pending"  # of the latest request
        self.finalised: list[PersonPayout] = []  # as the latest close froze them

    @property
    def status(self) -> Status:
        """`approved` while terms are in force (a later change rejected or withdrawn leaves them
        so); before any approval, the state of the latest request."""
        return "approved" if self.plan_version > 0 else self.request_status

    @classmethod
    def request(
        cls,
        *,
        node: str,
        metric: str,
        period: str,
        starts_on: date,
        ends_on: date,
        terms: Terms,
        requester: str,
        justification: str,
        at: datetime,
    ) -> "IncentivePlan":
        if not justification.strip():
            raise DomainError("a plan needs a justification", field="justification")
        check_terms(terms)
        return cls._create(
            cls.IncentivePlanRequested,
            id=plan_id(node, metric, period),
            node=node,
            metric=metric,
            period=period,
            starts_on=starts_on,
            ends_on=ends_on,
            terms=terms,
            requester=requester,
            justification=justification,
            timestamp=at,
        )

    def check_pending(self) -> None:
        if self.pending is None:
            raise ConflictError(f"incentive plan {self.id} has no change waiting for a decision")

    def request_change(self, terms: Terms, requester: str, justification: str, at: datetime) -> None:
        if self.pending is not None:
            raise ConflictError(f"a change of incentive plan {self.id} already waits for a decision")
        if not justification.strip():
            raise DomainError("a change of a plan needs a justification", field="justification")
        check_terms(terms)
        self.trigger_event(
            self.IncentivePlanChangeRequested,
            terms=terms,
            requester=requester,
            justification=justification,
            timestamp=at,
        )

    def approve(self, approver: str, at: datetime) -> None:
        """The caller has checked that the approver manages a unit above the plan's node."""
        self.check_pending()
        check_approver(self.requester, [], approver)
        self.trigger_event(
            self.IncentivePlanApproved, approver=approver, plan_version=self.plan_version + 1, timestamp=at
        )

    def reject(self, approver: str, reason: str, at: datetime) -> None:
        self.check_pending()
        check_rejecter(self.requester, approver, reason)
        self.trigger_event(self.IncentivePlanRejected, approver=approver, reason=reason, timestamp=at)

    def withdraw(self, person: str, reason: str, at: datetime) -> None:
        """The requester takes back the request waiting for a decision; the terms in force stay."""
        self.check_pending()
        if person != self.requester:
            raise ForbiddenError("only the requester withdraws a request")
        self.trigger_event(self.IncentivePlanRequestWithdrawn, person=person, reason=reason, timestamp=at)

    def finalise(
        self,
        closed_for: str,
        team_attainment_pct: Decimal | None,
        team_reached: bool,
        payouts: list[PersonPayout],
        at: datetime,
    ) -> None:
        """The payouts as the close froze them; a reopen and the next close finalise again."""
        self.trigger_event(
            self.IncentiveFinalised,
            node=self.node,
            metric=self.metric,
            period=self.period,
            closed_for=closed_for,
            plan_version=self.plan_version,
            team_attainment_pct=team_attainment_pct,
            team_reached=team_reached,
            payouts=payouts,
            timestamp=at,
        )
