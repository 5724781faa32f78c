"""Cursor pagination shared by the lists: the `limit` and `cursor` parameters, and the cursor itself.

A cursor is the sort key of a page's last item (base64url of its JSON) and an HMAC-SHA256 tag
over the list's name, its filters and that key, under a key derived from the service's JWT
secret: every process sharing TL_JWT_SECRET takes every other's cursors, and a cursor nobody
gave (made up, edited, or from another list or other filters) is a 422 naming `cursor`."""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import msgspec
from litestar.datastructures import State
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter

T = TypeVar("T")

Limit = Annotated[int, QueryParameter(ge=1, le=500, description="how many items a page holds at most (1-500)")]
CursorParam = Annotated[
    str | None,
    QueryParameter(
        name="cursor",
        max_length=1000,
        description="where the previous page ended: its `next`, as given (opaque), with the same filters;"
        " left out for the first page",
    ),
]
TAG_BYTES = 16  # of the HMAC-SHA256 tag: 128 bits, beyond guessing
_PURPOSE = b"target-ledger list cursor v1"  # the derived key signs cursors and nothing else
_REFUSED = "not a cursor this list gave for these filters: pass a page's `next` as it came, or leave `cursor` out"


def cursor_key(secret: str) -> bytes:
    """The key cursors are signed with, derived from the JWT secret (never the secret itself)."""
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


@dataclass(frozen=True)
class Walk:
    """The cursors of one list under one set of filters."""

    key: bytes
    scope: bytes  # the list's name and its filters, as the tag covers them

    def after(self, cursor: str | None, key_type: Any) -> Any:
        """The sort key a cursor stands for (None without one); a 422 naming `cursor` for one this
        list did not give under these filters, or holding a key of another shape."""
        if cursor is None:
            return None
        payload, _, tag = cursor.partition(".")
        try:
            raw = _unpadded_decode(payload)
            if not hmac.compare_digest(_unpadded_decode(tag), self._tag(raw)):
                raise ValueError("forged")
            return msgspec.json.decode(raw, type=key_type)
        except (binascii.Error, ValueError, msgspec.DecodeError):  # msgspec.ValidationError is a DecodeError
            raise ValidationException(
                _REFUSED, extra=[{"key": "cursor", "message": _REFUSED, "source": "query"}]
            ) from None

    def next(self, items: list[T], limit: int, key: Callable[[T], Any]) -> str | None:
        """The next page's cursor: the last item's key when the page came back full (one more was
        asked for than is shown), else None (the walk is over)."""
        if len(items) <= limit:
            return None
        raw = msgspec.json.encode(key(items[limit - 1]))
        return f"{_unpadded_encode(raw)}.{_unpadded_encode(self._tag(raw))}"

    def _tag(self, raw: bytes) -> bytes:
        return hmac.new(self.key, self.scope + b"\n" + raw, hashlib.sha256).digest()[:TAG_BYTES]


def walk(state: State, name: str, **filters: Any) -> Walk:
    """The cursors of list `name` under `filters` (the query's values as given, limit aside)."""
    scope = name.encode() + b"\n" + msgspec.json.encode(filters)
    return Walk(key=state.cursor_key, scope=scope)


def _unpadded_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unpadded_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
