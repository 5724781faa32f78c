"""/v1/feed: the public integration events as pages, as a server-sent event stream, and their schemas."""

# mypy reads msgspec's inherited frozen=True as a dataclass mismatch; msgspec applies it.
# mypy: disable-error-code="misc"

from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from projections import public_events
from target_ledger.api.attainment import MinPosition, wait_for
from target_ledger.api.schemas import MAX_POSITION, NodeId, Struct
from target_ledger.application import Command
from target_ledger.application.reads import known_node
from target_ledger.domain.access import Principal
from target_ledger.integration import contract, feed
from target_ledger.serving import DRAINING

After = Annotated[
    int, QueryParameter(ge=0, le=MAX_POSITION, description="the `next` cursor of the last page (0: from the start)")
]
Types = Annotated[
    str | None, QueryParameter(max_length=1000, description="comma-separated event types, e.g. `target.set.v1`")
]
Node = Annotated[NodeId | None, QueryParameter(description="only events of this node and the nodes below it")]


class FeedPage(Struct):
    events: list[dict[str, Any]]
    next: int  # pass as `after` to read on


class FeedController(Controller):
    path = "/v1/feed"
    tags = ["integration events"]

    @get(summary="Public events (CloudEvents) after a cursor, in order, with the next cursor")
    async def read(
        self,
        request: Request[Principal, Any, State],
        state: State,
        command: NamedDependency[Command],
        after: After = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        types: Types = None,
        node: Node = None,
        min_position: MinPosition = None,
    ) -> FeedPage:
        filters = feed.Filters.parse(request.user, types, node)
        await known_nodes(command, request.user, node)
        await wait_for(state, public_events.NAME, min_position)
        events, cursor = await feed.page(state.pool, after, limit, filters)
        return FeedPage(events=[msgspec.json.decode(e) for _, e in events], next=cursor)

    @get("/stream", summary="Server-sent events: catch up from Last-Event-ID (or `after`), then live")
    async def stream(
        self,
        request: Request[Principal, Any, State],
        state: State,
        command: NamedDependency[Command],
        after: After = 0,
        types: Types = None,
        node: Node = None,
        last_event_id: Annotated[int | None, HeaderParameter(name="last-event-id", ge=0, le=MAX_POSITION)] = None,
    ) -> ServerSentEvent:
        filters = feed.Filters.parse(request.user, types, node)
        await known_nodes(command, request.user, node)
        since = after if last_event_id is None else last_event_id
        # When the server shuts down the stream ends, whole: the client reconnects (to another
        # process) with Last-Event-ID and misses nothing.
        draining = request.state.get(DRAINING)
        heartbeat = state.settings.sse_heartbeat
        live = feed.follow(state.pool, state.feed_signal, since, filters, heartbeat=heartbeat, stop=draining)
        return ServerSentEvent(_messages(live), headers={"X-Accel-Buffering": "no"})

    @get("/schemas", summary="The JSON Schema of each public event type (envelope and data)")
    async def schemas(self, request: Request[Principal, Any, State]) -> dict[str, Any]:
        feed.Filters.parse(request.user, None, None)
        return contract.schemas()


async def _messages(live: AsyncIterator[feed.Event | None]) -> AsyncIterator[ServerSentEventMessage]:
    async for event in live:
        if event is None:
            yield ServerSentEventMessage(data=None, comment="heartbeat")
        else:
            yield ServerSentEventMessage(id=event[0], data=event[1])


async def known_nodes(command: Command, user: Principal, node: str | None) -> None:
    """The nodes a feed is filtered by exist: the query's `node`, and the subtree the token is
    limited to (a token scoped to a node that never was would read an empty feed for ever)."""
    await known_node(command, node)
    await known_node(command, user.scope_node, field="scope_node")
