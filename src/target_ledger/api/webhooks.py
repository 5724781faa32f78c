"""/v1/webhooks: register a URL for public events, see its deliveries, replay, resume, delete."""

# mypy reads msgspec's inherited frozen=True as a dataclass mismatch; msgspec applies it.
# mypy: disable-error-code="misc"

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from target_ledger.api.schemas import MAX_POSITION, Input, NodeId, Struct
from target_ledger.application import Command
from target_ledger.domain.access import Principal, check_can_subscribe
from target_ledger.domain.errors import DomainError
from target_ledger.integration import webhooks
from target_ledger.integration.contract import TYPES

Url = Annotated[
    str, msgspec.Meta(max_length=2000, pattern=r"^https?://[^\s]+$", examples=["https://crm.example/hooks"])
]
EventType = Annotated[str, msgspec.Meta(max_length=64, description=f"one of: {', '.join(TYPES)}")]


class NewWebhook(Input):
    url: Url
    types: Annotated[list[EventType], msgspec.Meta(max_length=len(TYPES))] = []  # empty: every type
    node: NodeId | None = None  # only events of this node and below
    # start after this sequence (default: the newest now)
    after: Annotated[int, msgspec.Meta(ge=0, le=MAX_POSITION)] | None = None


class Webhook(Struct):
    id: UUID
    url: str
    types: list[str] | None
    nodes: list[str]  # every event delivered concerns each of these (the node filter and the token's scope)
    owner: str
    created_at: datetime
    status: str
    delivered: int  # the sequence delivered up to
    failures: int
    next_attempt: datetime


class CreatedWebhook(Webhook):
    secret: str  # whsec_...: shown only now; verify the webhook-signature header with it


class Delivery(Struct):
    seq: int
    event_id: UUID
    attempt: int
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    delivered: bool


Request_ = Request[Principal, Any, State]


class WebhookController(Controller):
    path = "/v1/webhooks"
    tags = ["integration events"]

    @post(summary="Register a URL for public events; the answer carries the signing secret, once")
    async def register(
        self, data: JSONBody[NewWebhook], request: Request_, state: State, command: NamedDependency[Command]
    ) -> CreatedWebhook:
        types = ",".join(data.types) or None
        check_can_subscribe(request.user)  # before the node is looked up: outsiders learn nothing
        if data.node is not None and not (await command.org()).exists(data.node):
            raise DomainError(f"no org node {data.node!r}: a filter by it would deliver nothing", field="node")
        await webhooks.check_url(data.url, state.settings.webhook_allow_private)
        row = await webhooks.register(state.pool, request.user, data.url, types, data.node, data.after)
        state.feed_signal.wake()
        return CreatedWebhook(**row)

    @get(summary="Your webhook subscriptions (an admin sees all)")
    async def listed(self, request: Request_, state: State) -> list[Webhook]:
        return [Webhook(**row) for row in await webhooks.listed(state.pool, request.user)]

    @get("/{webhook_id:uuid}", summary="A webhook subscription: status, cursor, failures in a row")
    async def read(self, webhook_id: FromPath[UUID], request: Request_, state: State) -> Webhook:
        return Webhook(**await webhooks.get(state.pool, request.user, webhook_id))

    @delete("/{webhook_id:uuid}", status_code=HTTP_204_NO_CONTENT, summary="Stop and forget a subscription")
    async def remove(self, webhook_id: FromPath[UUID], request: Request_, state: State) -> None:
        await webhooks.delete(state.pool, request.user, webhook_id)

    @post("/{webhook_id:uuid}/replay", status_code=200, summary="Deliver again from a sequence number on")
    async def replay(
        self,
        webhook_id: FromPath[UUID],
        request: Request_,
        state: State,
        start: Annotated[
            int, QueryParameter(name="from", ge=1, le=MAX_POSITION, description="the first sequence to deliver")
        ],
    ) -> Webhook:
        row = await webhooks.resume(state.pool, request.user, webhook_id, start)
        state.feed_signal.wake()
        return Webhook(**row)

    @post("/{webhook_id:uuid}/resume", status_code=200, summary="Resume a paused subscription where it stopped")
    async def resume(self, webhook_id: FromPath[UUID], request: Request_, state: State) -> Webhook:
        row = await webhooks.resume(state.pool, request.user, webhook_id)
        state.feed_signal.wake()
        return Webhook(**row)

    @get("/{webhook_id:uuid}/deliveries", summary="Delivery attempts, newest first")
    async def deliveries(
        self,
        webhook_id: FromPath[UUID],
        request: Request_,
        state: State,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> list[Delivery]:
        return [Delivery(**row) for row in await webhooks.deliveries(state.pool, request.user, webhook_id, limit)]
