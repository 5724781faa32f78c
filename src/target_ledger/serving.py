"""How `target-ledger serve` runs uvicorn: request heads bounded in time and size, shutdown bounded in time."""

import asyncio
import functools
import re
from http import HTTPStatus
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from target_ledger.api.edge import problem_body
from target_ledger.config import Settings

# Key of an asyncio.Event in the ASGI lifespan state (each request's `scope["state"]`), set once
# the server begins to shut down: long-lived responses (the event stream) end themselves then.
DRAINING = "target_ledger.draining"
_HEAD_END = re.compile(rb"\n\r?\n")  # the blank line after a request's headers


class HeadTooLarge(Exception):
    """Raised from a parser callback to stop parsing a connection answered 431."""


class RequestGuardProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol (its default), bounding each request in time and size,
    which uvicorn does not: a client that trickles its headers or its body, or sends nothing,
    would hold a connection (and a handler) forever (slowloris), and one long header would
    grow the parser's buffer without end. A head (line and headers) not complete
    `header_timeout` seconds after the connection opened or the request's first byte came,
    or a body not complete `body_timeout` seconds after its head, gets 408 (if no answer was
    begun); a head over `max_head` bytes gets 431; each a problem+json naming "headers" or
    "body", and each closes the connection. Shutting down sets the DRAINING event."""

    def __init__(self, *args: Any, header_timeout: float, body_timeout: float, max_head: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout, self.body_timeout, self.max_head = header_timeout, body_timeout, max_head
        self.awaiting_head = True  # from the connection's start, and after each complete request
        self.deadline: asyncio.TimerHandle | None = None  # of the head, then of the body
        self.head_size, self.head_tail = 0, b""  # bytes of the head read so far (before the parser)
        self.head_parsed = 0  # bytes of the head's URL and headers the parser gave (after it)
        self.draining: asyncio.Event = self.app_state.setdefault(DRAINING, asyncio.Event())

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_clock(self.header_timeout)

    def data_received(self, data: bytes) -> None:
        # Counted before the parser sees the bytes: its buffer never holds more than one read past the bound.
        if self.awaiting_head:
            self._start_clock(self.header_timeout)
            if not self._head_fits(data):
                self._refuse(431, "headers", f"a request's line and headers may take at most {self.max_head} bytes")
                return
        super().data_received(data)

    # A read may hold the end of one request and the start of the next (pipelined, or sent after
    # an early answer): that head's clock and size start in the parser's callbacks, not in a read.
    def on_message_begin(self) -> None:
        self._start_clock(self.header_timeout)
        self.head_parsed = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self.head_parsed += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_parsed += len(name) + len(value) + 4  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self.head_parsed > self.max_head:
            self._refuse(431, "headers", f"a request's line and headers may take at most {self.max_head} bytes")
            raise HeadTooLarge  # no handler for it, and no parsing of what follows
        self.awaiting_head = False
        self._stop_clock()
        self._start_clock(self.body_timeout)  # stopped at once when there is no body
        self.head_size, self.head_tail = 0, b""
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._stop_clock()
        self.awaiting_head = True

    def send_400_response(self, msg: str) -> None:
        if not self.transport.is_closing():  # else already refused (HeadTooLarge ends the parse as an error)
            super().send_400_response(msg)

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
        if self.awaiting_head:
            self._refuse(408, "headers", f"a request's line and headers must come within {self.header_timeout} s")
        else:
            self._refuse(408, "body", f"a request's body must come within {self.body_timeout} s of its headers")

    def _answer_pending(self) -> bool:
        """Whether an answer is, or will be, written on this connection: a refusal would garble it."""
        cycle = self.cycle  # the request being answered, or the last one answered
        if self.pipeline or cycle is None:
            return bool(self.pipeline)
        # Refusing a head: the request before it is not answered yet. Refusing a body: its
        # request's answer is under way, or was given before the body came.
        return not cycle.response_complete if self.awaiting_head else cycle.response_started

    def _refuse(self, status: int, field: str, message: str) -> None:
        """Answer a problem+json naming `field` (unless another answer is pending) and close the connection."""
        self._stop_clock()
        if self.transport.is_closing():
            return
        if not self._answer_pending():
            body = problem_body(status, field, message)
            head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\ncontent-type: application/problem+json\r\n"
            head += f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
            self.transport.write(head.encode() + body)
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
        # Logging is target_ledger.logs' (JSON, with request ids); the access line is the API's own.
        "log_config": None,
        "access_log": False,
    }
