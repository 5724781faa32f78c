"""Cursor pagination shared by the lists: the `limit` and `cursor` parameters, and the cursor itself."""

import base64
import binascii
from typing import Annotated, Any, TypeVar

import msgspec
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter

T = TypeVar("T")

Limit = Annotated[int, QueryParameter(ge=1, le=500, description="how many items a page holds at most (1-500)")]
CursorParam = Annotated[
    str | None,
    QueryParameter(
        name="cursor",
        max_length=1000,
        description="where the previous page ended: its `next`, as given (opaque); left out for the first page",
    ),
]


def encode(key: Any) -> str:
    """The sort key of a page's last item, as an opaque token (base64url of its JSON)."""
    return base64.urlsafe_b64encode(msgspec.json.encode(key)).decode().rstrip("=")


def decode(cursor: str | None, key_type: Any) -> Any:
    """The key a cursor stands for; a cursor this list never gave is a 422 naming `cursor`."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return msgspec.json.decode(raw, type=key_type)
    except (binascii.Error, ValueError, msgspec.DecodeError):  # msgspec.ValidationError is a DecodeError
        message = "not a cursor this list gave: pass a page's `next` as it came, or leave `cursor` out"
        raise ValidationException(message, extra=[{"key": "cursor", "message": message, "source": "query"}]) from None


def next_cursor(items: list[T], limit: int, key: Any) -> str | None:
    """The next page's cursor: the last item's key when the page came back full (one more was
    asked for than is shown), else None (the walk is over)."""
    return encode(key(items[limit - 1])) if len(items) > limit else None
