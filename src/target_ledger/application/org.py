"""Changing the organisation tree (admins only), and a cached copy of it for reads."""

from datetime import date, datetime

from target_ledger.application import Command
from target_ledger.domain.org import ORG_ID, Organisation, check_can_change_org


async def _load(cmd: Command) -> tuple[Organisation, datetime]:
    """A fresh copy to change, and the time of the change.

    On an empty store it is a new organisation: creating the company starts it, in the same
    append; any other change to it fails in the domain and stores nothing.
    """
    check_can_change_org(cmd.actor)
    at = cmd.clock()
    org: Organisation | None = await cmd.store.get(ORG_ID)
    return (org if org is not None else Organisation.start(at=at)), at


async def _save(cmd: Command, org: Organisation) -> int:
    events = org.collect_events()
    appended = await cmd.append(events)
    return appended.last


async def create_unit(
    cmd: Command, *, node: str, kind: str, name: str, parent: str | None = None, manager: str | None = None
) -> int:
    org, at = await _load(cmd)
    org.create_unit(node=node, kind=kind, name=name, parent=parent, manager=manager, at=at)
    return await _save(cmd, org)


async def add_person(cmd: Command, *, person: str, name: str, unit: str, effective: date | None = None) -> int:
    org, at = await _load(cmd)
    org.add_person(person=person, name=name, unit=unit, effective=effective or at.date(), at=at)
    return await _save(cmd, org)


async def move_person(cmd: Command, *, person: str, to_unit: str, effective: date) -> int:
    org, at = await _load(cmd)
    org.move_person(person=person, to_unit=to_unit, effective=effective, at=at)
    return await _save(cmd, org)


async def person_left(cmd: Command, *, person: str, effective: date) -> int:
    org, at = await _load(cmd)
    org.leave(person=person, effective=effective, at=at)
    return await _save(cmd, org)


async def assign_manager(cmd: Command, *, unit: str, manager: str | None, effective: date) -> int:
    org, at = await _load(cmd)
    org.assign_manager(unit=unit, manager=manager, effective=effective, at=at)
    return await _save(cmd, org)
