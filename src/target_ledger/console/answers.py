"""Every answer under /console is the console's: its security headers, and its error page in place of a JSON problem."""

import json
from typing import Any

from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from target_ledger.console.web import PROBLEM, Page, error_page

PREFIX = "/console"
# Nothing from another origin, ever (the pace bars' widths are style attributes); no framing of the console.
HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class ConsoleAnswers:
    """Around the whole app, as litestar's own answers (a path no route takes, the edge's refusals,
    an exception before a page's handlers) skip the router's headers and handlers: a console path gets
    the headers on every answer, and a problem+json answer is shown as the console's error page instead."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path != PREFIX and not path.startswith(PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        problem: dict[str, Any] = {}
        body = bytearray()

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in dict(HEADERS)]
                message = {**message, "headers": [*headers, *HEADERS]}  # type: ignore[typeddict-item]
                if PROBLEM not in scope and b"application/problem+json" in dict(headers).get(b"content-type", b""):
                    problem["status"] = message["status"]
                    return
            elif problem and message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if not message.get("more_body"):
                    await self._page(scope, problem["status"], bytes(body), send)
                return
            await send(message)

        await self.app(scope, receive, answer)

    async def _page(self, scope: Scope, status: int, body: bytes, send: Send) -> None:
        """The error page, rendered by the console's own route for it (a clean GET carrying the problem)."""
        try:
            details = json.loads(body)
        except ValueError:
            details = {}
        headers = [(k, v) for k, v in scope.get("headers", []) if k in (b"cookie", b"accept-language", b"host")]
        shown = {"status": status, "title": str(details.get("title", "")), "detail": str(details.get("detail", ""))}
        shown["path"] = scope["path"]  # the language links stay on the address asked for
        clean: Any = {**scope, "method": "GET", "path": f"{PREFIX}/problem", "raw_path": f"{PREFIX}/problem".encode()}
        clean.update(query_string=b"", headers=headers, **{PROBLEM: shown})

        async def nothing() -> ReceiveMessage:
            return {"type": "http.request", "body": b"", "more_body": False}

        await self(clean, nothing, send)


@get("/problem", sync_to_thread=False, name="console:problem")
def problem_page(request: Request) -> Page:
    """Only reached from ConsoleAnswers (the problem is in the request's scope, not its query)."""
    shown = request.scope.get(PROBLEM)  # type: ignore[call-overload]
    if not isinstance(shown, dict):
        raise NotFoundException("no console page at /console/problem")
    return error_page(shown["status"], shown["title"], shown["detail"])
