"""Who may read what, asked of domain/access.py the same way by every query before it answers."""

from target_ledger.application import Command
from target_ledger.domain.access import check_can_read, check_known, check_member
from target_ledger.domain.catalog import Metric, UnknownMetricError
from target_ledger.domain.errors import NotFoundError
from target_ledger.domain.org import Organisation


async def authorize_member(cmd: Command) -> Organisation:
    """The organisation, for a member of it (or a role); an outsider gets 403 before any lookup."""
    org = await cmd.org()
    check_member(cmd.actor, org, cmd.today())
    return org


async def authorize_read(cmd: Command, node: str, *, field: str = "node") -> Organisation:
    """403 for an outsider, 404 naming `field` for an unknown node, 403 for a node out of reach."""
    org = await cmd.org()
    check_can_read(cmd.actor, org, node, cmd.today(), field=field)
    return org


async def known_node(cmd: Command, node: str | None, *, field: str = "node") -> None:
    """A node named to filter by exists, else 404 naming `field` (a filter by a node that never
    was would answer an empty page, as if nothing had happened there)."""
    if node is not None:
        check_known(cmd.actor, await cmd.org(), node, cmd.today(), field=field)


async def known_metric(cmd: Command, name: str, *, field: str = "metric") -> Metric:
    """A metric named in a query: unknown is a 404 naming the field (in a body it is a 422)."""
    try:
        return (await cmd.catalog()).metric(name, field=field)
    except UnknownMetricError as e:
        raise NotFoundError(str(e), field=field) from None
