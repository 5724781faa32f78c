"""What the console's action pages share: fresh read models after a change, form errors, post/redirect/get."""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from typing import Annotated, Any, Generic, Literal, TypeVar
from urllib.parse import urlencode

import msgspec
from litestar.datastructures import State
from litestar.params import QueryParameter, URLEncodedBody
from litestar.response import Redirect

from projections.runner import caught_up
from target_ledger.api.errors import DOMAIN_STATUS, field_and_message
from target_ledger.api.schemas import MAX_POSITION, Input, Text
from target_ledger.domain.errors import DomainError
from target_ledger.domain.values import FIRST_DAY, LAST_DAY

T = TypeVar("T")
FormBody = URLEncodedBody[dict[str, str]]
# After a change, the page asks for its read models to have reached the change's position.
After = Annotated[int | None, QueryParameter(ge=0, le=MAX_POSITION, description="the change to wait for")]
Box = Annotated[str | None, QueryParameter(max_length=64)]  # a form's text box, sent by GET


async def fresh(state: State, names: list[str], after: int | None) -> None:
    """After a change the page shows it: wait (bounded, as the API's min_position) until these
    read models have applied the change's position; a page late by a moment is still a page."""
    if not after or after < 0:
        return
    for name in names:
        await caught_up(state.pool, state.store, name, after, state.settings.min_position_timeout, state.progress)


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """A use case's result, or the rule it broke as {field: message} with the API's status for it."""

    value: T | None
    errors: dict[str, str] = field(default_factory=dict)
    status: int = 200

    @property
    def failed(self) -> bool:
        return bool(self.errors)


async def attempt(action: Awaitable[T]) -> Outcome[T]:
    """Run a use case: a broken rule is shown beside the field it names, with the status the API gives it."""
    try:
        return Outcome(await action)
    except DomainError as error:
        status = next(s for kind, s in DOMAIN_STATUS.items() if isinstance(error, kind))
        return Outcome(None, {error.field or "form": str(error)}, status)


def refused(errors: dict[str, str]) -> Outcome:
    """Form input the console cannot even hand to the use case (not a number, not a date)."""
    return Outcome(None, errors, 422)


def decode(form: Mapping[str, Any], schema: type[T]) -> tuple[T | None, dict[str, str]]:
    """A form read by the API's own input Struct, so its limits, the NUL rule and the decimal and date
    formats are the API's, stated once: the value, or {field: message} naming the field as the API does.
    An empty box is a field not sent (the Struct's default, or its "required" error)."""
    sent = {k: v for k, v in form.items() if k in schema.__struct_fields__ and v not in ("", None)}  # type: ignore[attr-defined]
    try:
        return msgspec.convert(sent, schema, strict=False), {}
    except msgspec.ValidationError as error:
        field, message = field_and_message(str(error))
        return None, {field or "form": message}


class Answer(Input):  # type: ignore[misc]  # mypy misreads msgspec frozen bases here only
    """The assignee's answer to a target: the API's comment (its Text), and which button was pressed."""

    answer: Literal["acknowledge", "dispute"]
    comment: Text = ""


def back(path: str, position: int | None = None) -> Redirect:
    """Post/redirect/get: the page again, once its read models have the change at `position`."""
    return Redirect(f"{path}?{urlencode({'after': position})}" if position else path, status_code=303)


def day(text: str) -> date:
    """A day as the API reads one: YYYY-MM-DD in the ledger's years (1900 to 2999). ValueError otherwise
    (date.fromisoformat alone takes 20261125 and 9999-12-31, whose next day overflows)."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        raise ValueError(f"{text!r} is not YYYY-MM-DD")
    found = date.fromisoformat(text)
    if not FIRST_DAY <= found <= LAST_DAY:
        raise ValueError(f"{text!r} is outside {FIRST_DAY}..{LAST_DAY}")
    return found


def optional(parse: Callable[[str], T], text: str | None, name: str, errors: dict[str, str]) -> T | None:
    """A form's optional box (day, time.fromisoformat, UUID): empty is None; text that does not read
    is that box's error ("date", "time" or "id", which the pages say in the reader's language)."""
    if not text:
        return None
    try:
        return parse(text)
    except ValueError:
        errors[name] = "date" if parse == day else "time" if parse == time.fromisoformat else "id"
        return None


def lines(text: str) -> list[str]:
    """A textarea as a list: one entry per non-empty line."""
    return [line.strip() for line in text.splitlines() if line.strip()]
