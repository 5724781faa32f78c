"""If-Match on a target or an adjustment request: its version, checked when it is loaded and
again by the append (a change committed in between is a 412 too, never overwritten)."""

import re
import uuid
from collections.abc import Awaitable, Callable

from target_ledger.application import Command
from target_ledger.application.reads import authorize_member, authorize_read
from target_ledger.domain.access import check_can_read_record
from target_ledger.domain.adjustment import Adjustment
from target_ledger.domain.errors import DomainError, PreconditionFailedError
from target_ledger.domain.target import Target

MAX_LENGTH = 200  # characters: a few dozen versions, more than any client needs
Reader = Callable[[], Awaitable[None]]  # raises unless the caller may read the thing
_TAG = re.compile(r'"(\d{1,18})"')
_HOW = 'an If-Match is *, or one or more versions as the ETag gives them, quoted and comma-separated: "3" or "3", "4"'


def versions(header: str) -> frozenset[int] | None:
    """The versions an If-Match header accepts (None for `*`: any); a DomainError naming the header if it
    is not `*` or a list of the ETags the ledger gives (strong, a quoted whole number)."""
    if len(header) > MAX_LENGTH:
        raise DomainError(f"an If-Match holds at most {MAX_LENGTH} characters", field="If-Match")
    tags = [tag.strip() for tag in header.split(",") if tag.strip()]
    if tags == ["*"]:
        return None
    if not tags or not all(_TAG.fullmatch(tag) for tag in tags):
        weak = " (the ledger's ETags are strong: drop the W/)" if "W/" in header else ""
        raise DomainError(f"{_HOW}; got {header[:100]!r}{weak}", field="If-Match")
    return frozenset(int(tag.strip('"')) for tag in tags)


async def check_target(cmd: Command, target: Target) -> None:
    """Refuse (412) a change of `target` the caller asked for at another version."""
    await _check(cmd, target.id, target.version, _target_reader(cmd, target))


async def check_adjustment(cmd: Command, adjustment: Adjustment) -> None:
    """Refuse (412) a decision on a request the caller saw at another version."""
    await _check(cmd, adjustment.id, adjustment.version, _adjustment_reader(cmd, adjustment))


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


async def _check(cmd: Command, stream_id: uuid.UUID, version: int, may_read: Reader) -> None:
    if cmd.if_match is None:
        return  # unconditional, as before If-Match existed
    accepted = versions(cmd.if_match)
    if accepted is None:
        return  # `*`: it exists, whatever its version (a write racing in is the usual 409)
    cmd.condition_on(stream_id)
    if version in accepted or await _replayed(cmd):
        return
    await may_read()  # a 412 tells the current version: only to whoever may read it
    raise PreconditionFailedError(
        f"{stream_id} is at version {version}, not {', '.join(map(str, sorted(accepted)[:5]))}: "
        "read it again and decide on what it says now",
        version=version,
    )


async def _replayed(cmd: Command) -> bool:
    """This very request (its Idempotency-Key) was stored before: the version moved by its own
    doing, so it is a retry, not a stale change."""
    ids = cmd.event_ids(1)
    return ids is not None and bool(await cmd.store.get_holding(ids))
