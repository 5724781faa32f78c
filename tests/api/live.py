"""Real servers on loopback ports, for stories a test client cannot tell (streams, webhooks)."""

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import httpx
import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def serving(app) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn in this event loop; yield its base URL."""
    port = free_port()
    # A request still running at the end is cancelled after 5 s: a test that failed half-way
    # fails, instead of waiting forever for its server to stop.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # it failed to start: say why
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str | None, str | None]]:
    """(id, data) per server-sent event, (None, None) per comment line (a heartbeat)."""
    event_id, data = None, None
    async for line in response.aiter_lines():
        if line.startswith(":"):
            yield None, None
        elif line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: "):
            data = line[6:]
        elif not line and data is not None:
            yield event_id, data
            event_id, data = None, None


@contextlib.asynccontextmanager
async def live_api(settings, clock, **overrides) -> AsyncIterator[httpx.AsyncClient]:
    """The service on a real port with these settings changed, and a client for it."""
    import msgspec

    from target_ledger.app import create_app

    app = create_app(msgspec.structs.replace(settings, **overrides), clock=clock)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


async def until(check, what: str, limit: float = 30.0) -> None:
    """Wait for check() to hold; fail naming `what` if it never does (a bound, not a timing)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not await check():
        assert loop.time() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.05)


class Receiver:
    """A webhook receiver (raw ASGI): answers 500 to the first `failing` calls and while down."""

    def __init__(self, failing: int = 0) -> None:
        self.failing, self.down = failing, False
        self.calls: list[tuple[dict[str, str], bytes, int]] = []

    def delivered(self) -> list[tuple[dict[str, str], bytes]]:
        return [(h, b) for h, b, status in self.calls if status == 204]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        status = 500 if self.down or len(self.calls) < self.failing else 204
        self.calls.append((headers, body, status))
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})
