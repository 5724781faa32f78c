"""How `target-ledger serve` runs uvicorn: request heads bounded in time and size, shutdown bounded in time."""

import asyncio
import functools
import re
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from target_ledger.config import Settings

# Key of an asyncio.Event in the ASGI lifespan state (each request's `scope["state"]`), set once
# the server begins to shut down: long-lived responses (the event stream) end themselves then.
DRAINING = "target_ledger.draining"
_HEAD_END = re.compile(rb"\n\r?\n")  # the blank line after a request's headers


class RequestGuardProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol (its default), bounding each request in time and size,
    which uvicorn does not: a client that trickles its headers or its body, or sends nothing,
    would hold a connection (and a handler) forever (slowloris), and one long header would
    grow the parser's buffer without end. A head (line and headers) not complete
    `header_timeout` seconds after the connection opened or the request's first byte came,
    or a body not complete `body_timeout` seconds after its head, gets 408 (if no answer was
    begun); a head over `max_head` bytes gets 431; each closes the connection. Shutting down
    sets the DRAINING event."""

    def __init__(self, *args: Any, header_timeout: float, body_timeout: float, max_head: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout, self.body_timeout, self.max_head = header_timeout, body_timeout, max_head
        self.awaiting_head = True  # from the connection's start, and after each complete request
        self.deadline: asyncio.TimerHandle | None = None  # of the head, then of the body
        self.head_size, self.head_tail = 0, b""
        self.draining: asyncio.Event = self.app_state.setdefault(DRAINING, asyncio.Event())

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_clock(self.header_timeout)

    def data_received(self, data: bytes) -> None:
        # Counted before the parser sees the bytes: its buffer never holds more than one read past the bound.
        if self.awaiting_head:
            self._start_clock(self.header_timeout)
            if not self._head_fits(data):
                self._refuse(b"431 Request Header Fields Too Large")
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self.awaiting_head = False
        self._stop_clock()
        self._start_clock(self.body_timeout)  # stopped at once when there is no body
        self.head_size, self.head_tail = 0, b""
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._stop_clock()
        self.awaiting_head = True

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_clock()
        super().connection_lost(exc)

    def shutdown(self) -> None:
        self.draining.set()
        super().shutdown()

    def _start_clock(self, seconds: float) -> None:
        if self.deadline is None:
            self.deadline = self.loop.call_later(seconds, self._too_slow)

    def _stop_clock(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _head_fits(self, data: bytes) -> bool:
        """Count the bytes of the head in `data`: up to its blank line, which may straddle reads."""
        window = self.head_tail + data
        end = _HEAD_END.search(window)
        self.head_size += max(end.end() - len(self.head_tail), 0) if end else len(data)
        self.head_tail = window[-2:]
        return self.head_size <= self.max_head

    def _too_slow(self) -> None:
        self.deadline = None
        cycle = self.cycle  # the request being answered (or the last one answered)
        if cycle is not None and cycle.response_started and not (self.awaiting_head and cycle.response_complete):
            self.transport.close()  # an answer is under way, or given before the body came: a 408 would garble it
        else:
            self._refuse(b"408 Request Timeout")

    def _refuse(self, status: bytes) -> None:
        self._stop_clock()
        if not self.transport.is_closing():
            self.transport.write(b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The options `serve` passes to uvicorn (also to uvicorn.Config) for these settings."""
    guard = functools.partial(
        RequestGuardProtocol,
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
        max_head=settings.max_header_bytes,
    )
    return {
        # uvicorn calls `http` as a factory of protocols; a partial of a module-level class
        # also survives being sent to worker processes.
        "http": guard,
        # Requests still running this long after SIGTERM are cancelled; streams end sooner (DRAINING).
        "timeout_graceful_shutdown": settings.shutdown_timeout,
    }
