"""Declaring metrics and dimensions (admins only)."""

from target_ledger.application import Command
from target_ledger.domain.catalog import CATALOG_ID, Catalog, Metric
from target_ledger.domain.errors import ForbiddenError


async def _load(cmd: Command) -> Catalog:
    if not cmd.actor.is_admin:
        raise ForbiddenError("declaring metrics and dimensions needs the admin role")
    catalog = await cmd.store.get(CATALOG_ID)
    return catalog if catalog is not None else Catalog.start(cmd.clock())


async def define_metric(cmd: Command, metric: Metric) -> int:
    catalog = await _load(cmd)
    catalog.define_metric(metric, at=cmd.clock())
    events = catalog.collect_events()
    return (await cmd.append(events)).last


async def define_dimension(cmd: Command, name: str, values: list[str]) -> int | None:
    """Returns the position, or None when every value was declared already."""
    catalog = await _load(cmd)
    catalog.define_dimension(name, values, at=cmd.clock())
    events = catalog.collect_events()
    if not events:
        return None
    return (await cmd.append(events)).last
