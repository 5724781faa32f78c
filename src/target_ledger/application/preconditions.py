"""If-Match on a target or an adjustment request: parsed and the caller's right to read checked
when it is loaded, its version compared by the append (Command.check_conditions), after the
caller's right to act, and again by the store (a change committed in between is a 412 too)."""

import re
import uuid
from collections.abc import Awaitable, Callable

from target_ledger.application import Command
from target_ledger.application.reads import authorize_member, authorize_read
from target_ledger.domain.access import check_can_read_record
from target_ledger.domain.adjustment import Adjustment
from target_ledger.domain.errors import DomainError
from target_ledger.domain.target import Target

MAX_LENGTH = 200  # characters: a few dozen versions, more than any client needs
Reader = Callable[[], Awaitable[None]]  # raises unless the caller may read the thing
# One element of the list and the comma after it (RFC 9110 §5.6.1.2: empty elements are ignored):
# a strong entity tag, an opaque string of visible characters (not a double quote) in quotes.
_ELEMENT = re.compile(r'[ \t]*(?:"(?P<tag>[\x21\x23-\x7e\x80-\xff]*)"[ \t]*)?(?:,|\Z)')
_HOW = (
    'an If-Match is *, or one or more strong entity tags, quoted and comma-separated, as the ETag gives them: "3" or '
    '"3", "4"'
)


def versions(header: str) -> frozenset[str] | None:
    """The entity tags an If-Match header names, unquoted (None for `*`: any version); a DomainError
    naming the header if it is not `*` nor a list of strong entity tags. A well-formed tag that is
    no version of the ledger's (`"abc"`) is accepted here and simply matches nothing."""
    if len(header) > MAX_LENGTH:
        raise DomainError(f"an If-Match holds at most {MAX_LENGTH} characters", field="If-Match")
    if header.strip(" \t") == "*":
        return None
    tags: list[str] = []
    at = 0
    while at < len(header):
        element = _ELEMENT.match(header, at)
        if element is None or element.end() == at:
            break
        tags += [element["tag"]] if element["tag"] is not None else []
        at = element.end()
    if at < len(header) or not tags:
        weak = " (the ledger's ETags are strong: drop the W/)" if "W/" in header else ""
        raise DomainError(f"{_HOW}; got {_shown(header)!r}{weak}", field="If-Match")
    return frozenset(tags)


def _shown(header: str) -> str:
    """The header as the client wrote it: its bytes come as latin-1 characters (ASGI), so UTF-8
    text is decoded again; bytes that are no UTF-8 are shown escaped (\\xff)."""
    raw = header[:100].encode("latin-1", "backslashreplace")
    return raw.decode("utf-8", "backslashreplace")


async def admit(cmd: Command) -> None:
    """First of all, before the target or request a change is about is looked up: a malformed
    If-Match is a 422, an outsider a 403 (so no 404 tells them which ids exist)."""
    if cmd.if_match is not None:
        versions(cmd.if_match)
    await authorize_member(cmd)


async def check_target(cmd: Command, target: Target) -> None:
    """Before any other rule of a change of `target`: a malformed If-Match is a 422, and a caller
    who may not read the target a 403, whatever the If-Match says. The version is compared when
    the change is appended (Command.append), after the caller's right to make it: a 412 (and its
    ETag) only ever goes to whoever may make the change."""
    await _condition(cmd, target.id, target.version, _target_reader(cmd, target))


async def check_adjustment(cmd: Command, adjustment: Adjustment) -> None:
    """As check_target, for a decision on a request (412 if the caller saw it at another version)."""
    await _condition(cmd, adjustment.id, adjustment.version, _adjustment_reader(cmd, adjustment))


def _target_reader(cmd: Command, target: Target) -> Reader:
    async def may_read() -> None:
        await authorize_member(cmd)
        await authorize_read(cmd, target.node)

    return may_read


def _adjustment_reader(cmd: Command, adjustment: Adjustment) -> Reader:
    async def may_read() -> None:
        org, named = await authorize_member(cmd), (adjustment.requester, *adjustment.approvals)
        check_can_read_record(cmd.actor, org, adjustment.changes[0].node, cmd.today(), "a request", named)

    return may_read


async def _condition(cmd: Command, stream_id: uuid.UUID, version: int, may_read: Reader) -> None:
    accepted = versions(cmd.if_match) if cmd.if_match is not None else None
    # Rights before any precondition: a non-reader gets the same 403 whatever the If-Match, and
    # never learns from the assignee's or approver's rule who that is.
    await may_read()
    if accepted is not None:  # without If-Match, or `*`: unconditional (a write racing in is the usual 409)
        cmd.condition_on(stream_id, version, accepted)
