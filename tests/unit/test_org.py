"""The organisation tree: units, people, moves, leavers and managers, all as of a date."""

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from target_ledger.domain.access import Principal
from target_ledger.domain.errors import DomainError, ForbiddenError
from target_ledger.domain.org import (
    ORG_ID,
    AlreadyMemberError,
    DuplicateNodeError,
    EffectiveDateError,
    InvalidKindError,
    NoOrganisationError,
    NotAPersonError,
    NotAUnitError,
    Organisation,
    PersonNotActiveError,
    RootError,
    UnknownNodeError,
    check_can_change_org,
)
from target_ledger.eventstore import LedgerMapper

AT = datetime(2026, 1, 1, tzinfo=UTC)
JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)


def build() -> Organisation:
    """acme > sales > east > east-1, and sales > west > west-1, with a manager for each unit."""
    org = Organisation.start(at=AT)
    org.create_unit(node="acme", kind="company", name="Acme", parent=None, manager=None, at=AT)
    for node, kind, parent in [
        ("sales", "department", "acme"),
        ("east", "region", "sales"),
        ("west", "region", "sales"),
        ("east-1", "team", "east"),
        ("west-1", "team", "west"),
    ]:
        org.create_unit(node=node, kind=kind, name=node.title(), parent=parent, manager=None, at=AT)
    for person, unit in [
        ("ceo", "acme"),
        ("vp", "sales"),
        ("eve", "east"),
        ("wes", "west"),
        ("tim", "east-1"),
        ("ann", "east-1"),
        ("bob", "west-1"),
    ]:
        org.add_person(person=person, name=person.title(), unit=unit, effective=JAN, at=AT)
    for unit, manager in [
        ("acme", "ceo"),
        ("sales", "vp"),
        ("east", "eve"),
        ("west", "wes"),
        ("east-1", "tim"),
    ]:
        org.assign_manager(unit=unit, manager=manager, effective=JAN, at=AT)
    return org


def test_a_company_department_region_team_tree_reads_from_every_side() -> None:
    org = build()
    # A person's ancestors run from their team up to the company.
    assert org.ancestors("ann", FEB) == ["east-1", "east", "sales", "acme"]
    assert org.parent("ann", FEB) == "east-1" and org.parent("acme", FEB) is None
    # Children are the child units first, then the members on that date.
    assert org.children("east", FEB) == ["east-1", "eve"]
    assert org.children("ann", FEB) == []
    # The subtree is the node and everything below it, depth first.
    assert org.subtree("east", FEB) == ["east", "east-1", "tim", "ann", "eve"]
    # Kinds and names of units and people.
    assert (org.kind("east"), org.kind("ann"), org.name("east-1")) == ("region", "person", "East-1")
    assert org.is_unit("east") and org.is_person("ann") and not org.exists("nobody")


def test_the_tree_nests_units_people_and_managers() -> None:
    org = build()
    tree = org.tree(FEB)
    # The root is the company, with its manager and first its department, then its members.
    assert (tree["node"], tree["kind"], tree["manager"]) == ("acme", "company", "ceo")
    assert [c["node"] for c in tree["children"]] == ["sales", "ceo"]
    # A person is a leaf.
    [team] = tree["children"][0]["children"][0]["children"][:1]
    assert team["node"] == "east-1"
    assert team["children"][1] == {"node": "ann", "kind": "person", "name": "Ann", "children": []}


def test_a_person_belongs_to_a_unit_only_from_their_effective_date() -> None:
    org = build()
    # Carl joins the west team on 10 February.
    org.add_person(person="carl", name="Carl", unit="west-1", effective=date(2026, 2, 10), at=AT)
    # The day before, he is nowhere; from that day on, he is in the team.
    assert org.parent("carl", date(2026, 2, 9)) is None and org.ancestors("carl", date(2026, 2, 9)) == []
    assert "carl" not in org.children("west-1", date(2026, 2, 9))
    assert org.children("west-1", date(2026, 2, 10)) == ["bob", "carl"]


def test_a_move_mid_month_changes_ancestors_and_managers_from_that_day() -> None:
    org = build()
    # Ann moves from the east team to the west team on 15 March.
    org.move_person(person="ann", to_unit="west-1", effective=date(2026, 3, 15), at=AT)
    # On the 14th she is still in the east; from the 15th in the west.
    assert org.ancestors("ann", date(2026, 3, 14)) == ["east-1", "east", "sales", "acme"]
    assert org.ancestors("ann", date(2026, 3, 15)) == ["west-1", "west", "sales", "acme"]
    assert org.managers_above("ann", date(2026, 3, 14)) == ["tim", "eve", "vp", "ceo"]
    assert org.managers_above("ann", date(2026, 3, 15)) == ["wes", "vp", "ceo"]
    # The teams' members follow the same dates.
    assert "ann" in org.children("east-1", date(2026, 3, 14))
    assert "ann" not in org.children("east-1", date(2026, 3, 15))


def test_a_leaver_is_no_member_from_the_day_they_leave() -> None:
    org = build()
    # Bob leaves on 1 April.
    org.leave(person="bob", effective=date(2026, 4, 1), at=AT)
    # He is in the west team on 31 March and nowhere from 1 April.
    assert org.parent("bob", date(2026, 3, 31)) == "west-1"
    assert org.parent("bob", date(2026, 4, 1)) is None
    assert org.subtree("west", date(2026, 4, 1)) == ["west", "west-1", "wes"]


def test_manager_history_answers_who_managed_a_unit_on_a_date() -> None:
    org = build()
    # Ann takes over the east region from 1 June; Wes leaves on 1 May.
    org.assign_manager(unit="east", manager="ann", effective=date(2026, 6, 1), at=AT)
    org.leave(person="wes", effective=date(2026, 5, 1), at=AT)
    # Eve managed the east until the end of May, Ann from June.
    assert org.manager_of("east", date(2026, 5, 31)) == "eve"
    assert org.manager_of("east", date(2026, 6, 1)) == "ann"
    # A unit had no manager before its first assignment, nor once its manager left.
    assert org.manager_of("west-1", FEB) is None
    assert org.manager_of("west", date(2026, 4, 30)) == "wes"
    assert org.manager_of("west", date(2026, 5, 1)) is None
    # A post can be left vacant from a date.
    org.assign_manager(unit="east-1", manager=None, effective=date(2026, 7, 1), at=AT)
    assert org.manager_of("east-1", date(2026, 7, 1)) is None


def test_a_manager_named_at_creation_manages_from_the_start() -> None:
    org = build()
    # A new team under the west region is created with Bob as its manager.
    org.create_unit(node="west-2", kind="team", name="West 2", parent="west", manager="bob", at=AT)
    assert org.manager_of("west-2", FEB) == "bob"


def test_the_manager_of_an_ancestor_unit_manages_the_node() -> None:
    org = build()
    # Tim manages Ann's team; Eve, the VP and the CEO manage the units above it.
    assert all(org.manages(boss, "ann", FEB) for boss in ["tim", "eve", "vp", "ceo"])
    # Eve manages the east team as a unit, and Tim, a member of it.
    assert org.manages("eve", "east-1", FEB) and org.manages("eve", "tim", FEB)


def test_sibling_and_descendant_managers_and_oneself_do_not_manage() -> None:
    org = build()
    # Wes manages the west region, a sibling of Ann's east region.
    assert not org.manages("wes", "ann", FEB)
    # Tim manages a team below the east region: not the region, nor Eve, a member of it.
    assert not org.manages("tim", "east", FEB) and not org.manages("tim", "eve", FEB)
    # Eve manages the east region itself, which is not above it.
    assert not org.manages("eve", "east", FEB)
    # Tim is a member of the team he manages, yet does not manage himself.
    assert not org.manages("tim", "tim", FEB)
    assert org.managers_above("tim", FEB) == ["eve", "vp", "ceo"]
    # Before anyone joined, nobody managed anyone; unknown nodes are managed by nobody.
    assert not org.manages("eve", "ann", date(2025, 12, 31))
    assert not org.manages("ceo", "ghost", FEB) and not org.manages("ghost", "ann", FEB)


Change = Callable[[Organisation], None]


@pytest.mark.parametrize(
    ("change", "error", "field"),
    [
        (
            lambda o: o.create_unit(node="east", kind="team", name="E", parent="sales", manager=None, at=AT),
            DuplicateNodeError,
            "node",
        ),
        (
            lambda o: o.create_unit(node="x", kind="team", name="X", parent="nope", manager=None, at=AT),
            UnknownNodeError,
            "parent",
        ),
        (
            lambda o: o.create_unit(node="x", kind="team", name="X", parent="ann", manager=None, at=AT),
            NotAUnitError,
            "parent",
        ),
        (
            lambda o: o.create_unit(node="x", kind="company", name="X", parent=None, manager=None, at=AT),
            RootError,
            "kind",
        ),
        (
            lambda o: o.create_unit(node="x", kind="team", name="X", parent=None, manager=None, at=AT),
            RootError,
            "parent",
        ),
        (
            lambda o: o.create_unit(node="x", kind="squad", name="X", parent="east", manager=None, at=AT),
            InvalidKindError,
            "kind",
        ),
        (
            lambda o: o.create_unit(node="x", kind="team", name="X", parent="east", manager="nope", at=AT),
            UnknownNodeError,
            "manager",
        ),
        (
            lambda o: o.create_unit(node="x", kind="team", name="X", parent="east", manager="west", at=AT),
            NotAPersonError,
            "manager",
        ),
        (
            lambda o: o.add_person(person="east", name="E", unit="east", effective=JAN, at=AT),
            DuplicateNodeError,
            "person",
        ),
        (
            lambda o: o.add_person(person="zed", name="Z", unit="nope", effective=JAN, at=AT),
            UnknownNodeError,
            "unit",
        ),
        (
            lambda o: o.move_person(person="nope", to_unit="west", effective=FEB, at=AT),
            UnknownNodeError,
            "person",
        ),
        (
            lambda o: o.move_person(person="east", to_unit="west", effective=FEB, at=AT),
            NotAPersonError,
            "person",
        ),
        (
            lambda o: o.move_person(person="ann", to_unit="bob", effective=FEB, at=AT),
            NotAUnitError,
            "to_unit",
        ),
        (
            lambda o: o.move_person(person="ann", to_unit="east-1", effective=FEB, at=AT),
            AlreadyMemberError,
            "to_unit",
        ),
        (
            lambda o: o.move_person(person="ann", to_unit="west", effective=date(2025, 12, 31), at=AT),
            EffectiveDateError,
            "effective",
        ),
        (
            lambda o: o.leave(person="ann", effective=date(2025, 12, 31), at=AT),
            EffectiveDateError,
            "effective",
        ),
        (
            lambda o: o.assign_manager(unit="ann", manager="tim", effective=FEB, at=AT),
            NotAUnitError,
            "unit",
        ),
        (
            lambda o: o.assign_manager(unit="west-1", manager="bob", effective=date(2025, 12, 31), at=AT),
            PersonNotActiveError,
            "manager",
        ),
        (
            lambda o: o.assign_manager(unit="east", manager="ann", effective=date(2025, 12, 31), at=AT),
            PersonNotActiveError,
            "manager",
        ),
    ],
)
def test_every_broken_rule_names_the_field_and_changes_nothing(
    change: Change, error: type[DomainError], field: str
) -> None:
    org = build()
    version = org.version
    # The change is refused with a named error naming the input at fault.
    with pytest.raises(error) as raised:
        change(org)
    assert raised.value.field == field
    # Nothing was recorded.
    assert org.version == version


def test_a_leaver_can_neither_move_nor_leave_again_nor_manage() -> None:
    org = build()
    # Bob leaves on 1 April.
    org.leave(person="bob", effective=date(2026, 4, 1), at=AT)
    # He cannot move, leave again, or become a manager on or after that day.
    for change in [
        lambda: org.move_person(person="bob", to_unit="east-1", effective=date(2026, 5, 1), at=AT),
        lambda: org.leave(person="bob", effective=date(2026, 5, 1), at=AT),
        lambda: org.create_unit(node="x", kind="team", name="X", parent="west", manager="bob", at=AT),
    ]:
        with pytest.raises(PersonNotActiveError):
            change()
    with pytest.raises(PersonNotActiveError) as raised:
        org.assign_manager(unit="west-1", manager="bob", effective=date(2026, 4, 1), at=AT)
    assert raised.value.field == "manager"


def test_a_manager_assignment_cannot_take_effect_before_the_last_one() -> None:
    org = build()
    # Ann is to manage the east region from June.
    org.assign_manager(unit="east", manager="ann", effective=date(2026, 6, 1), at=AT)
    # Assigning someone else from May would rewrite that history.
    with pytest.raises(EffectiveDateError) as raised:
        org.assign_manager(unit="east", manager="tim", effective=date(2026, 5, 1), at=AT)
    assert raised.value.field == "effective"


def test_a_move_cannot_take_effect_before_the_last_move() -> None:
    org = build()
    # Ann moves to the west team from 15 March.
    org.move_person(person="ann", to_unit="west-1", effective=date(2026, 3, 15), at=AT)
    # A move back effective 1 March would come before her current membership starts.
    with pytest.raises(EffectiveDateError) as raised:
        org.move_person(person="ann", to_unit="east-1", effective=date(2026, 3, 1), at=AT)
    assert raised.value.field == "effective" and "2026-03-15" in str(raised.value)


def test_queries_about_an_unknown_node_name_it() -> None:
    org = build()
    for query in [org.ancestors, org.children, org.subtree, org.parent, org.manager_of]:
        with pytest.raises(UnknownNodeError) as raised:
            query("ghost", FEB)
        assert raised.value.field == "node"
    # A person has no manager of their own: only units do.
    with pytest.raises(NotAUnitError):
        org.manager_of("ann", FEB)


def test_an_organisation_without_a_company_has_no_tree() -> None:
    # Started, but the company was refused: there is nothing to show.
    org = Organisation.start(at=AT)
    with pytest.raises(RootError):
        org.create_unit(node="east", kind="region", name="East", parent=None, manager=None, at=AT)
    with pytest.raises(NoOrganisationError):
        org.tree(FEB)
    # The company must have no parent.
    with pytest.raises(RootError) as raised:
        org.create_unit(node="acme", kind="company", name="Acme", parent="x", manager=None, at=AT)
    assert raised.value.field == "parent"


def test_only_admins_change_the_organisation() -> None:
    # A person without a role is refused, saying the admin role is needed.
    with pytest.raises(ForbiddenError, match="admin role"):
        check_can_change_org(Principal("ann"))
    check_can_change_org(Principal("ceo", "admin"))


def test_events_are_stored_under_stable_names_and_rebuild_the_same_tree() -> None:
    org = build()
    org.move_person(person="ann", to_unit="west-1", effective=date(2026, 3, 15), at=AT)
    org.leave(person="bob", effective=date(2026, 4, 1), at=AT)
    events = org.collect_events()
    mapper = LedgerMapper()
    stored = [mapper.to_stored_event(e) for e in events]
    # One stream, with short type names, the start first.
    assert {s.originator_id for s in stored} == {ORG_ID}
    assert [s.topic for s in stored[:2]] == ["OrganisationStarted", "OrgUnitCreated"]
    assert {s.topic for s in stored[2:]} == {
        "OrgUnitCreated",
        "PersonJoined",
        "ManagerAssigned",
        "PersonMoved",
        "PersonLeft",
    }
    # Read back, the events rebuild the same organisation, dates and all.
    rebuilt: Any = None
    for s in stored:
        rebuilt = mapper.to_domain_event(s).mutate(rebuilt)
    assert rebuilt == org
    assert rebuilt is not None and rebuilt.ancestors("ann", date(2026, 3, 15))[0] == "west-1"
