"""Idempotency-Key: a retried mutation gets the first answer again, not a 409 from its own effect.

The events of a keyed request already have ids derived from the key, so nothing is stored
twice; this keeps the answer too, with its ETag. The first answer to each (caller, key) is
kept for a day, unless it tells the state of the moment and asks for a retry: a 409 (a conflict,
a period closed meanwhile), a 412 (another version: read again, then send the corrected If-Match)
or a 5xx. Those stored nothing, so the key stays free and the retry is decided again against
the state then (its events' ids still come from the key: nothing is stored twice). The same key
on another method, path, body or If-Match is a 422 naming the header (and so is a key too long
to keep: api/edge.py).
"""

import hashlib
from datetime import timedelta
from typing import Any, cast

from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from target_ledger.api.edge import MAX_BODY, refuse

MUTATIONS = {"POST", "PUT", "PATCH", "DELETE"}
KEEP = timedelta(hours=24)  # how long an answer is kept for retries
MOMENTARY = {409, 412}  # answers about the state of the moment, not the request: never kept
_KEYED = "idempotent_request"  # the scope state's entry for keyed_request()


def keyed_request(scope: Scope) -> str | None:
    """What a keyed mutation's event ids derive from (application Command.event_ids): its key
    and its fingerprint (method, path, body, If-Match). A retry has the same ids, so nothing is
    stored twice; another request under the same key sent while the first still runs has
    others, so it is never answered as a replay of events that hold something else."""
    state: dict[str, Any] = scope.get("state", {})
    return state.get(_KEYED)


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
        request = _fingerprint(cast(HTTPScope, scope), body)
        scope.setdefault("state", {})[_KEYED] = f"{key}|{request}"
        pool = scope["app"].state.pool
        kept = await pool.fetchrow(
            """SELECT request, status, content_type, etag, body FROM idempotent_responses
                 WHERE subject = $1 AND key = $2 AND created_at > now() - $3::interval""",
            user.subject,
            key,
            KEEP,
        )
        if kept is not None:
            if kept["request"] != request:
                await refuse(send, 422, "Idempotency-Key", "this Idempotency-Key was used for another request")
            else:
                await _answer(send, kept["status"], kept["content_type"], kept["etag"], bytes(kept["body"]))
            return
        answer: dict[str, Any] = {"body": b"", "etag": None}

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                headers = dict(message.get("headers", []))
                answer["content_type"] = headers.get(b"content-type", b"").decode("latin-1")
                etag = headers.get(b"etag")
                answer["etag"] = etag.decode("latin-1") if etag is not None else None
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"")
            await send(message)

        await self.app(scope, replay, keep)
        status = answer.get("status", 500)
        if status < 500 and status not in MOMENTARY:
            await pool.execute(
                """INSERT INTO idempotent_responses (subject, key, request, status, content_type, etag, body)
                   VALUES ($1, $2, $3, $4, $5, $6, $7)
                   ON CONFLICT (subject, key) DO UPDATE SET request = $3, status = $4, content_type = $5,
                          etag = $6, body = $7, created_at = now()
                    WHERE idempotent_responses.created_at <= now() - $8::interval""",
                user.subject,
                key,
                request,
                status,
                answer["content_type"],
                answer["etag"],
                answer["body"],
                KEEP,
            )


def _fingerprint(scope: HTTPScope, body: bytes) -> str:
    """What makes two requests under one key the same: method, path, body and If-Match (its
    lines joined, as the handlers read them). Without If-Match it is as before that header
    counted, so answers kept then still replay."""
    conditions = [v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"if-match"]
    request = f"{scope['method']} {scope['path']} {hashlib.sha256(body).hexdigest()}"
    return f"{request} If-Match: {', '.join(conditions)}" if conditions else request


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


async def _answer(send: Send, status: int, content_type: str, etag: str | None, body: bytes) -> None:
    """The kept answer again, marked as a replay, with the ETag it had."""
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", content_type.encode("latin-1")),
        (b"content-length", str(len(body)).encode()),
        (b"idempotent-replayed", b"true"),
    ]
    if etag is not None:
        headers.append((b"etag", etag.encode("latin-1")))
    start: Any = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})
