"""Opportunities: open for a person, move through the stages, revise, and win (recording the actual) or lose."""

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from target_ledger.application import Command
from target_ledger.application.actuals import ActualInput, BatchInvalidError, check_actuals
from target_ledger.application.reads import authorize_member
from target_ledger.domain.access import check_can_read_record, check_can_record_actual
from target_ledger.domain.catalog import Metric
from target_ledger.domain.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from target_ledger.domain.opportunity import Opportunity, OpportunityClosedError
from target_ledger.domain.pipeline_stages import PIPELINE_STAGES_ID, PipelineStages, Stage

SOURCE = "pipeline"  # the source of the actual a win records; its external_ref is the opportunity's id
WIN_FIELDS = {"value": "amount"}  # an actual's field as the win's body names it


@dataclass(frozen=True)
class Opening:
    """What the opener knows: whose deal, how much by when, and how far along."""

    person: str
    name: str
    amount: Decimal
    close_on: date
    metric: str = "revenue"
    scope: dict[str, str] = field(default_factory=dict)
    stage: str | None = None  # None: the first stage
    probability: Decimal | None = None  # None: the stage's default


@dataclass(frozen=True)
class Won:
    opportunity: Opportunity
    actual_id: uuid.UUID
    position: int
    duplicate: bool


def check_pipeline_metric(metric: Metric) -> None:
    """The pipeline's one metric rule (opening a deal, the funnel, the forecast): a sum where more
    is better (revenue, orders...), else a 422 naming `metric`."""
    if not metric.additive or metric.direction != "higher":
        raise DomainError(
            f"the pipeline adds opportunities to a sum where more is better (revenue, orders...); {metric.name!r}"
            " is not one",
            field="metric",
        )


async def stages(cmd: Command) -> PipelineStages:
    """The organisation's stages: configured, or the defaults."""
    found: PipelineStages | None = await cmd.store.get(PIPELINE_STAGES_ID)
    return found if found is not None else PipelineStages.start(cmd.clock())


async def read_stages(cmd: Command) -> PipelineStages:
    """The stages, for any member: settings, not figures; an outsider is refused."""
    await authorize_member(cmd)
    return await stages(cmd)


async def configure_stages(cmd: Command, configured: list[Stage]) -> int:
    """Admins set the stages and their default probabilities, for opportunities entering them from now on."""
    if not cmd.actor.is_admin:
        raise ForbiddenError("configuring the pipeline's stages needs the admin role")
    settings = await stages(cmd)
    settings.configure(configured, at=cmd.clock())
    return (await cmd.append(settings.collect_events())).last


async def _append(cmd: Command, opportunity: Opportunity) -> tuple[Opportunity, int]:
    return opportunity, (await cmd.append(opportunity.collect_events())).last


async def open_opportunity(cmd: Command, opening: Opening) -> tuple[Opportunity, int]:
    """A person opens their own, a manager one for a person below them, admin and integration anyone's
    (as for actuals). The metric is a sum where more is better (revenue by default); the amount fits it."""
    org = await cmd.org()
    check_can_record_actual(cmd.actor, org, opening.person, cmd.today(), "opening an opportunity")
    if not org.is_person(opening.person):
        raise DomainError(f"{opening.person!r} is not a person of the organisation", field="person")
    org.check_active_person(opening.person, field="person")
    catalog = await cmd.catalog()
    metric = catalog.metric(opening.metric)
    check_pipeline_metric(metric)
    catalog.check_scope(opening.scope)
    metric.check_value(opening.amount, field="amount")
    settings = await stages(cmd)
    stage = settings.stage(opening.stage) if opening.stage else settings.stages[0]
    opportunity = Opportunity.open(
        person=opening.person,
        name=opening.name,
        metric=opening.metric,
        scope=opening.scope,
        amount=opening.amount,
        close_on=opening.close_on,
        stage=stage.name,
        probability=stage.probability if opening.probability is None else opening.probability,
        opened_by=cmd.actor.subject,
        at=cmd.clock(),
    )
    return await _append(cmd, opportunity)


async def get_opportunity(cmd: Command, opportunity_id: uuid.UUID) -> Opportunity:
    opportunity = await cmd.store.get(opportunity_id)
    if not isinstance(opportunity, Opportunity):
        raise NotFoundError(f"no opportunity {opportunity_id}", field="path")
    return opportunity


async def read_opportunity(cmd: Command, opportunity_id: uuid.UUID) -> Opportunity:
    """For whoever may read its person, and whoever opened it; an outsider is refused before the lookup."""
    org = await authorize_member(cmd)
    opportunity = await get_opportunity(cmd, opportunity_id)
    named = (opportunity.opened_by,)
    check_can_read_record(cmd.actor, org, opportunity.person, cmd.today(), "an opportunity", named)
    return opportunity


async def _changeable(cmd: Command, opportunity_id: uuid.UUID) -> Opportunity:
    """The opportunity, if the actor may change it (as they may record its person's actuals)."""
    opportunity = await get_opportunity(cmd, opportunity_id)
    check_can_record_actual(cmd.actor, await cmd.org(), opportunity.person, cmd.today(), "changing an opportunity")
    return opportunity


async def change_stage(
    cmd: Command, opportunity_id: uuid.UUID, stage: str, probability: Decimal | None
) -> tuple[Opportunity, int]:
    opportunity = await _changeable(cmd, opportunity_id)
    opportunity.check_open()
    chosen = (await stages(cmd)).stage(stage)
    given = chosen.probability if probability is None else probability
    opportunity.change_stage(chosen.name, given, person=cmd.actor.subject, at=cmd.clock())
    return await _append(cmd, opportunity)


async def revise(
    cmd: Command, opportunity_id: uuid.UUID, amount: Decimal | None, close_on: date | None, reason: str
) -> tuple[Opportunity, int]:
    opportunity = await _changeable(cmd, opportunity_id)
    if amount is not None:
        (await cmd.catalog()).metric(opportunity.metric).check_value(amount, field="amount")
    opportunity.revise(amount, close_on, reason, person=cmd.actor.subject, at=cmd.clock())
    return await _append(cmd, opportunity)


async def lose(cmd: Command, opportunity_id: uuid.UUID, reason: str, note: str) -> tuple[Opportunity, int]:
    opportunity = await _changeable(cmd, opportunity_id)
    opportunity.lose(reason, note, person=cmd.actor.subject, at=cmd.clock())
    return await _append(cmd, opportunity)


async def win(cmd: Command, opportunity_id: uuid.UUID, amount: Decimal | None, won_on: date | None) -> Won:
    """Win it: the actual (source `pipeline`, external_ref the opportunity's id; the amount
    expected unless given, dated today unless given) meets every rule of POST /v1/actuals and
    is appended with the win, in one append. The same win again changes nothing (a duplicate;
    an amount or date it leaves out is taken as recorded); another, or a win after a loss, is a 409."""
    opportunity = await _changeable(cmd, opportunity_id)
    if opportunity.status == "won" and opportunity.actual_id is not None:
        if not opportunity.same_win(amount, won_on):
            raise OpportunityClosedError(
                f"opportunity {opportunity.id} was won already: {opportunity.won_amount} on {opportunity.closed_on}"
                f" (actual {opportunity.actual_id}); correct that actual instead"
            )
        first, *_ = await cmd.store.records([opportunity.actual_id])
        return Won(opportunity, opportunity.actual_id, first["position"], duplicate=True)
    opportunity.check_open()
    amount = opportunity.amount if amount is None else amount
    won_on = won_on or cmd.today()
    item = ActualInput(
        person=opportunity.person,
        metric=opportunity.metric,
        occurred_on=won_on,
        value=amount,
        source=SOURCE,
        external_ref=str(opportunity.id),
        scope=opportunity.scope,
    )
    catalog, org, periods = await cmd.catalog(), await cmd.org(), await cmd.periods()
    try:
        [actual] = check_actuals(cmd, catalog, org, periods, [item])
    except BatchInvalidError as invalid:
        [error] = invalid.errors
        raise DomainError(error.message, field=WIN_FIELDS.get(error.field or "", error.field)) from None
    stored = await cmd.store.get(actual.id)
    if stored is not None and stored.differences(actual):
        raise ConflictError(
            f"actual {stored.id} holds {SOURCE} {item.external_ref!r} already, with other content", field="amount"
        )
    opportunity.win(amount, won_on, actual.id, person=cmd.actor.subject, at=cmd.clock())
    events = [*opportunity.collect_events(), *actual.collect_events()]
    # The ids name the win's content: the same win sent twice at once is one append (a replay);
    # another amount or date racing it takes the same versions under other ids, a 409.
    won = f"{amount.normalize():f}|{won_on.isoformat()}"
    ids = [uuid.uuid5(opportunity.id, f"won|{won}"), uuid.uuid5(actual.id, f"recorded|{won}")]
    appended = await cmd.append(events, event_ids=ids, closures_checked=True)
    return Won(opportunity, actual.id, appended.last, duplicate=not any(appended.new))
