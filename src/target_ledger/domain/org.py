"""The Organisation aggregate: one tree of units and people, with effective-dated history."""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from eventsourcing.domain import Aggregate

from target_ledger.domain.access import Principal
from target_ledger.domain.errors import AlreadyExistsError, DomainError, ForbiddenError, NotFoundError

ORG_ID = uuid.uuid5(uuid.UUID("a3c51f0e-6b2d-4f7a-9e38-2d4b7c9e1f04"), "organisation")
KINDS = ("company", "department", "region", "team")
T = TypeVar("T")


class UnknownNodeError(NotFoundError):
    pass


class NoOrganisationError(NotFoundError):
    """Nothing exists until the company is created."""


class DuplicateNodeError(AlreadyExistsError):
    pass


class NotAUnitError(DomainError):
    pass


class NotAPersonError(DomainError):
    pass


class RootError(DomainError):
    """The company is the one root; every other unit has a parent."""


class InvalidKindError(DomainError):
    pass


class PersonNotActiveError(DomainError):
    pass


class EffectiveDateError(DomainError):
    """An effective date that would rewrite history already recorded."""


class AlreadyMemberError(DomainError):
    pass


def check_can_change_org(actor: Principal) -> None:
    if not actor.is_admin:
        raise ForbiddenError("changing the organisation needs the admin role")


def _as_of(history: list[tuple[date, T]], on: date) -> T | None:
    """The value of the last entry effective on or before `on` (entries are in date order)."""
    value: T | None = None
    for effective, entry in history:
        if effective > on:
            break
        value = entry
    return value


@dataclass
class Unit:
    kind: str
    name: str
    parent: str | None
    children: list[str] = field(default_factory=list)  # child units, in creation order
    managers: list[tuple[date, str | None]] = field(default_factory=list)  # (effective, manager)


@dataclass
class Person:
    name: str
    memberships: list[tuple[date, str]]  # (effective, unit), in date order
    left: date | None = None

    def unit_on(self, on: date) -> str | None:
        if self.left is not None and on >= self.left:
            return None
        return _as_of(self.memberships, on)


class Organisation(Aggregate, created_event_name="OrganisationStarted"):
    """The whole tree in one stream: authorization reads it consistently, and it rarely changes.

    Every unit, the company included, is created by the same OrgUnitCreated event, so the
    aggregate itself is created by a field-less OrganisationStarted event. The first command
    on an empty organisation (creating the company) appends both in one append.
    """

    TOPIC = "Organisation"

    class Created(Aggregate.Created):
        TOPIC = "Organisation.Created"  # the library's base; never stored itself

    class OrganisationStarted(Created):
        TOPIC = "OrganisationStarted"

    def __init__(self) -> None:
        self.company: str | None = None
        self.units: dict[str, Unit] = {}
        self.people: dict[str, Person] = {}

    @classmethod
    def start(cls, *, at: datetime) -> "Organisation":
        return cls._create(cls.OrganisationStarted, id=ORG_ID, timestamp=at)

    # Guards: each names the input field at fault.

    def check_new_node(self, node: str, *, field: str) -> None:
        if self.exists(node):
            what = "unit" if self.is_unit(node) else "person"
            raise DuplicateNodeError(f"{node!r} already exists as a {what}", field=field)

    def check_unit(self, node: str, *, field: str) -> Unit:
        if node in self.units:
            return self.units[node]
        if node in self.people:
            raise NotAUnitError(f"{node!r} is a person, not a unit", field=field)
        raise UnknownNodeError(f"no unit {node!r}", field=field)

    def check_active_person(self, node: str, *, field: str, on: date | None = None) -> Person:
        """The person exists and has not left (or, given `on`, is a member on that date)."""
        if node in self.units:
            raise NotAPersonError(f"{node!r} is a unit, not a person", field=field)
        if node not in self.people:
            raise UnknownNodeError(f"no person {node!r}", field=field)
        person = self.people[node]
        if on is None and person.left is not None:
            raise PersonNotActiveError(f"{node!r} left on {person.left}", field=field)
        if on is not None and person.unit_on(on) is None:
            raise PersonNotActiveError(f"{node!r} is not a member of any unit on {on}", field=field)
        return person

    def check_place(self, kind: str, parent: str | None) -> None:
        if kind not in KINDS:
            raise InvalidKindError(f"kind must be one of {', '.join(KINDS)}", field="kind")
        if kind == "company" and self.company is not None:
            raise RootError(f"the organisation already has its company {self.company!r}", field="kind")
        if kind == "company" and parent is not None:
            raise RootError("the company is the root: it has no parent", field="parent")
        if kind != "company" and parent is None:
            raise RootError(f"a {kind} needs a parent unit", field="parent")
        if parent is not None:
            self.check_unit(parent, field="parent")

    # Commands and the events they trigger.

    class OrgUnitCreated(Aggregate.Event):
        TOPIC = "OrgUnitCreated"
        node: str
        kind: str
        name: str
        parent: str | None
        manager: str | None

        def apply(self, org: "Organisation") -> None:
            # A manager named at creation manages from the start (while a member).
            unit = Unit(self.kind, self.name, self.parent)
            if self.manager is not None:
                unit.managers.append((date.min, self.manager))
            org.units[self.node] = unit
            if self.parent is None:
                org.company = self.node
            else:
                org.units[self.parent].children.append(self.node)

    def create_unit(
        self, *, node: str, kind: str, name: str, parent: str | None, manager: str | None, at: datetime
    ) -> None:
        self.check_new_node(node, field="node")
        self.check_place(kind, parent)
        if manager is not None:
            self.check_active_person(manager, field="manager")
        self.trigger_event(
            self.OrgUnitCreated, node=node, kind=kind, name=name, parent=parent, manager=manager, timestamp=at
        )

    class ManagerAssigned(Aggregate.Event):
        TOPIC = "ManagerAssigned"
        unit: str
        manager: str | None  # None: the post is vacant from `effective`
        effective: date

        def apply(self, org: "Organisation") -> None:
            org.units[self.unit].managers.append((self.effective, self.manager))

    def assign_manager(self, *, unit: str, manager: str | None, effective: date, at: datetime) -> None:
        managers = self.check_unit(unit, field="unit").managers
        if manager is not None:
            self.check_active_person(manager, field="manager", on=effective)
        if managers and effective < managers[-1][0]:
            since = managers[-1][0]
            raise EffectiveDateError(f"{unit!r} has a manager assignment from {since}", field="effective")
        self.trigger_event(self.ManagerAssigned, unit=unit, manager=manager, effective=effective, timestamp=at)

    class PersonJoined(Aggregate.Event):
        TOPIC = "PersonJoined"
        person: str
        name: str
        unit: str
        effective: date

        def apply(self, org: "Organisation") -> None:
            org.people[self.person] = Person(self.name, [(self.effective, self.unit)])

    def add_person(self, *, person: str, name: str, unit: str, effective: date, at: datetime) -> None:
        self.check_new_node(person, field="person")
        self.check_unit(unit, field="unit")
        self.trigger_event(self.PersonJoined, person=person, name=name, unit=unit, effective=effective, timestamp=at)

    class PersonMoved(Aggregate.Event):
        TOPIC = "PersonMoved"
        person: str
        from_unit: str
        to_unit: str
        effective: date

        def apply(self, org: "Organisation") -> None:
            org.people[self.person].memberships.append((self.effective, self.to_unit))

    def move_person(self, *, person: str, to_unit: str, effective: date, at: datetime) -> None:
        since, current = self.check_active_person(person, field="person").memberships[-1]
        self.check_unit(to_unit, field="to_unit")
        if to_unit == current:
            raise AlreadyMemberError(f"{person!r} is a member of {to_unit!r} already", field="to_unit")
        self._check_not_before(person, since, current, effective)
        self.trigger_event(
            self.PersonMoved,
            person=person,
            from_unit=current,
            to_unit=to_unit,
            effective=effective,
            timestamp=at,
        )

    class PersonLeft(Aggregate.Event):
        TOPIC = "PersonLeft"
        person: str
        unit: str  # the unit they left
        effective: date  # the first day they are no longer a member

        def apply(self, org: "Organisation") -> None:
            org.people[self.person].left = self.effective

    def leave(self, *, person: str, effective: date, at: datetime) -> None:
        since, current = self.check_active_person(person, field="person").memberships[-1]
        self._check_not_before(person, since, current, effective)
        self.trigger_event(self.PersonLeft, person=person, unit=current, effective=effective, timestamp=at)

    @staticmethod
    def _check_not_before(person: str, since: date, unit: str, effective: date) -> None:
        if effective < since:
            raise EffectiveDateError(
                f"{person!r} is a member of {unit!r} since {since}; a change cannot take effect before",
                field="effective",
            )

    # Queries: pure; `on` is the date the answer is for.

    def exists(self, node: str) -> bool:
        return node in self.units or node in self.people

    def is_unit(self, node: str) -> bool:
        return node in self.units

    def is_person(self, node: str) -> bool:
        return node in self.people

    def kind(self, node: str) -> str:
        """A unit's kind, or "person"."""
        if node in self.units:
            return self.units[node].kind
        self._node(node)
        return "person"

    def name(self, node: str) -> str:
        return self.units[node].name if node in self.units else self._person(node).name

    def parent(self, node: str, on: date) -> str | None:
        """A unit's parent unit; a person's unit on that date (None if not a member then)."""
        if node in self.units:
            return self.units[node].parent
        return self._person(node).unit_on(on)

    def ancestors(self, node: str, on: date) -> list[str]:
        """The units above node, nearest first, up to the company."""
        chain: list[str] = []
        unit = self.parent(node, on)
        while unit is not None:
            chain.append(unit)
            unit = self.units[unit].parent
        return chain

    def children(self, node: str, on: date) -> list[str]:
        """Direct child units, then the people who are members on that date."""
        if node not in self.units:
            self._person(node)
            return []
        return [*self.units[node].children, *self._members(on).get(node, [])]

    def present_days(self, person: str, unit: str, first: date, last: date) -> list[date]:
        """The days of [first, last] the person was a member of the unit (joined, moved or left on
        an effective date inside it): what a split prorated by days present weighs."""
        member = self._person(person)
        if all(u != unit for _, u in member.memberships):  # the usual case: never a member
            return []
        days = (first + timedelta(days=n) for n in range((last - first).days + 1))
        return [day for day in days if member.unit_on(day) == unit]

    def joined(self, person: str) -> date:
        """The day the person joined the organisation (a move is not a new start)."""
        return self._person(person).memberships[0][0]

    def members_during(self, unit: str, first: date, last: date) -> list[str]:
        """The people who were members of the unit on at least one day of [first, last], in
        the order the unit lists them (a leaver before `first` is not among them)."""
        self.check_unit(unit, field="node")
        return [p for p in self.people if self.present_days(p, unit, first, last)]

    def subtree(self, node: str, on: date) -> list[str]:
        """The node and everything below it, depth first."""
        members = self._members(on)
        self._node(node)

        def walk(n: str) -> list[str]:
            below = [*self.units[n].children, *members.get(n, [])] if n in self.units else []
            return [n, *(m for child in below for m in walk(child))]

        return walk(node)

    def manager_of(self, unit: str, on: date) -> str | None:
        """Who managed the unit on that date; nobody if the assigned manager was not a member."""
        manager = _as_of(self.check_unit(unit, field="node").managers, on)
        if manager is None or self.people[manager].unit_on(on) is None:
            return None
        return manager

    def managers_above(self, node: str, on: date) -> list[str]:
        """Managers of the units above node, nearest first; never node itself, each once."""
        found: list[str] = []
        for unit in self.ancestors(node, on):
            manager = self.manager_of(unit, on)
            if manager is not None and manager != node and manager not in found:
                found.append(manager)
        return found

    def manages(self, person: str, node: str, on: date) -> bool:
        """Whether person managed, on that date, a unit strictly above node (never themselves)."""
        if person == node or not self.is_person(person) or not self.exists(node):
            return False
        return person in self.managers_above(node, on)

    def tree(self, on: date) -> dict[str, Any]:
        """The company and everything below it on that date, as nested dicts."""
        if self.company is None:
            raise NoOrganisationError("the organisation has no company yet")
        members = self._members(on)

        def build(n: str) -> dict[str, Any]:
            if n in self.people:
                return {"node": n, "kind": "person", "name": self.people[n].name, "children": []}
            unit = self.units[n]
            below = [*unit.children, *members.get(n, [])]
            return {
                "node": n,
                "kind": unit.kind,
                "name": unit.name,
                "manager": self.manager_of(n, on),
                "children": [build(child) for child in below],
            }

        return build(self.company)

    def _members(self, on: date) -> dict[str, list[str]]:
        members: dict[str, list[str]] = {}
        for node, person in self.people.items():
            unit = person.unit_on(on)
            if unit is not None:
                members.setdefault(unit, []).append(node)
        return members

    def _node(self, node: str) -> None:
        if not self.exists(node):
            raise UnknownNodeError(f"no node {node!r}", field="node")

    def _person(self, node: str) -> Person:
        if node in self.people:
            return self.people[node]
        self._node(node)
        raise NotAPersonError(f"{node!r} is a unit, not a person", field="node")
