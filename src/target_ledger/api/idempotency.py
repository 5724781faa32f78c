"""Idempotency-Key: a retried mutation gets the first answer again, not a 409 from its own effect.

The events of a keyed request already have ids derived from the key, so nothing is stored
twice; this keeps the answer too. The first answer below 500 to each (caller, key) is kept
for a day; the same key on another method, path or body is a 422 naming the header (and so is
a key too long to keep: api/edge.py).
"""

import hashlib
from datetime import timedelta
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from target_ledger.api.edge import MAX_BODY, refuse

MUTATIONS = {"POST", "PUT", "PATCH", "DELETE"}
KEEP = timedelta(hours=24)  # how long an answer is kept for retries


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", [])) if scope["type"] == "http" else {}
        key = headers.get(b"idempotency-key", b"").decode("latin-1")
        user, method = scope.get("user"), scope.get("method")
        if not key or method not in MUTATIONS or user is None:
            await self.app(scope, receive, send)
            return
        body, replay = await _read_body(receive)
        if body is None:
            await refuse(send, 413, "body", f"a request body may hold at most {MAX_BODY} bytes")
            return
        request = f"{method} {scope['path']} {hashlib.sha256(body).hexdigest()}"
        pool = scope["app"].state.pool
        kept = await pool.fetchrow(
            """SELECT request, status, content_type, body FROM idempotent_responses
                 WHERE subject = $1 AND key = $2 AND created_at > now() - $3::interval""",
            user.subject,
            key,
            KEEP,
        )
        if kept is not None:
            if kept["request"] != request:
                await refuse(send, 422, "Idempotency-Key", "this Idempotency-Key was used for another request")
            else:
                await _answer(send, kept["status"], kept["content_type"], bytes(kept["body"]), replayed=True)
            return
        answer: dict[str, Any] = {"body": b""}

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["content_type"] = dict(message.get("headers", [])).get(b"content-type", b"").decode()
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"")
            await send(message)

        await self.app(scope, replay, keep)
        if answer.get("status", 500) < 500:
            await pool.execute(
                """INSERT INTO idempotent_responses (subject, key, request, status, content_type, body)
                   VALUES ($1, $2, $3, $4, $5, $6)
                   ON CONFLICT (subject, key) DO UPDATE SET request = $3, status = $4, content_type = $5,
                          body = $6, created_at = now()
                    WHERE idempotent_responses.created_at <= now() - $7::interval""",
                user.subject,
                key,
                request,
                answer["status"],
                answer["content_type"],
                answer["body"],
                KEEP,
            )


async def _read_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole request body (None past MAX_BODY bytes: it is not read on), and a `receive`
    that hands it to the app again."""
    chunks: list[bytes] = []
    more, size = True, 0
    while more:
        message: Any = await receive()
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > MAX_BODY:
            return None, receive
        more = bool(message.get("more_body", False))
    body = b"".join(chunks)
    sent = False

    async def replay() -> Any:
        nonlocal sent
        if sent:
            return await receive()  # after the body: wait for the disconnect, as the app would
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


async def _answer(send: Send, status: int, content_type: str, body: bytes, *, replayed: bool) -> None:
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    start: Any = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})
