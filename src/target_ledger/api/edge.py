"""What every request must be before a handler sees it: a body within the size limit that
decodes as JSON, a path and query of valid UTF-8 without NUL. Refused here, once, as a 4xx
problem naming the part at fault, so that no handler (and no SQL statement) ever meets them."""

import uuid
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import parse_qsl, unquote_to_bytes

import msgspec
from litestar import Request
from litestar.exceptions import ClientException, SerializationException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

PROBLEM = b"application/problem+json"
MAX_BODY = 10 * 1024 * 1024  # bytes; litestar's own limit, enforced before anything reads a body
# Headers whose values the ledger keeps (in every event's metadata, or as the key of a kept
# answer), and the most characters each may have: the index on kept answers holds no more.
KEPT_HEADERS = {b"idempotency-key": ("Idempotency-Key", 255), b"x-request-id": ("X-Request-Id", 200)}
KEPT_HEADERS[b"x-correlation-id"] = ("X-Correlation-Id", 200)
REQUEST_ID = "target_ledger.request_id"  # the scope's key for the request's id (see decide_request_id)


class LedgerRequest(Request):  # type: ignore[type-arg]
    """A body that is not JSON is a 400 naming `body`, whatever is wrong with it: malformed,
    nested beyond the decoder's depth, or bytes that are not UTF-8 (msgspec raises the last two
    as RecursionError and UnicodeDecodeError, which litestar would answer with a 500)."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except SerializationException as e:
            raise _bad_body(f"the body is not JSON: {e}") from None
        except RecursionError:
            raise _bad_body("the body is nested too deeply to be a request of this API") from None
        except UnicodeDecodeError as e:
            raise _bad_body(f"the body is not valid UTF-8 JSON: {e.reason} at byte {e.start}") from None


def _bad_body(message: str) -> ClientException:
    return ClientException(message, extra=[{"key": "body", "message": message}])


class EdgeMiddleware:
    """Refuse what no handler should see: NUL or invalid UTF-8 in the path or the query (400,
    naming the parameter), a declared body over MAX_BODY (413) before anyone reads it, and a
    kept header's value that is too long (422, naming the header)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = _refusal(scope)
            if refusal is not None:
                await refuse(send, *refusal)
                return
        await self.app(scope, receive, send)


def _refusal(scope: Scope) -> tuple[int, str, str] | None:
    """(status, field, message) of what is wrong with the request's head, or None."""
    path = (scope.get("raw_path") or scope["path"].encode()).partition(b"?")[0]  # some clients send the query too
    if not _clean(unquote_to_bytes(path)):
        return 400, "path", "the path must be UTF-8 text without NUL characters"
    query = scope.get("query_string", b"")
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True, encoding="latin-1"):
        if not (_clean(name.encode("latin-1")) and _clean(value.encode("latin-1"))):
            field = name.encode("latin-1").decode("utf-8", "replace").replace("\x00", "")
            return 400, field, f"query parameter {field!r} must be UTF-8 text without NUL characters"
    for key, header in scope.get("headers", []):
        if key == b"content-length" and (not header.isdigit() or int(header) > MAX_BODY):
            return 413, "body", f"a request body may hold at most {MAX_BODY} bytes"
        name, longest = KEPT_HEADERS.get(key, ("", 0))
        if name and len(header) > longest:
            return 422, name, f"{name} has at most {longest} characters"
    return None


def _clean(raw: bytes) -> bool:
    if b"\x00" in raw:
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def problem_body(status: int, field: str, message: str) -> bytes:
    """A problem+json body naming `field`, for answers given where litestar does not map errors."""
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": message}
    return msgspec.json.encode({**body, "errors": [{"field": field, "message": message}]})


async def refuse(send: Send, status: int, field: str, message: str) -> None:
    """Answer a problem naming `field`, from ASGI middleware (before litestar's handlers map errors)."""
    encoded = problem_body(status, field, message)
    headers = [(b"content-type", PROBLEM), (b"content-length", str(len(encoded)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": encoded, "more_body": False})


def decide_request_id(scope: Scope) -> str:
    """The request's id, decided once for its log lines, its events' metadata and its answer:
    the client's X-Request-Id when the ledger can keep it (visible ASCII within its bound; a
    longer one is refused 422 anyway), else a new one (uuid4 hex)."""
    for key, value in scope.get("headers", []):
        if key == b"x-request-id" and 0 < len(value) <= KEPT_HEADERS[key][1] and all(0x21 <= b <= 0x7E for b in value):
            chosen = value.decode("ascii")
            break
    else:
        chosen = uuid.uuid4().hex
    cast(dict[str, Any], scope)[REQUEST_ID] = chosen
    return chosen


def request_id(scope: Scope) -> str:
    """The id decide_request_id gave this request (decided now if nothing did yet)."""
    return str(cast(dict[str, Any], scope).get(REQUEST_ID) or decide_request_id(scope))


def echo_request_id(send: Send, chosen: str) -> Send:
    """`send`, with X-Request-Id on the answer's head: on every answer, refusals and errors included."""
    header = (b"x-request-id", chosen.encode("ascii"))

    async def echoing(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
            message = {**message, "headers": [*headers, header]}  # type: ignore[typeddict-item]
        await send(message)

    return echoing
