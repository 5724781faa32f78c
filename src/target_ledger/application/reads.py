"""Who may read what: the one check every query makes before it answers."""

from target_ledger.application import Command
from target_ledger.domain.access import check_can_read


async def authorize_read(cmd: Command, node: str) -> None:
    check_can_read(cmd.actor, await cmd.org(), node, cmd.today())
