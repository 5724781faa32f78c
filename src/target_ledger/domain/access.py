"""Who is acting, and who may write and read what: every rule of access lives here."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from target_ledger.domain.errors import DomainError, ForbiddenError, NotFoundError

if TYPE_CHECKING:
    from target_ledger.domain.org import Organisation

ROLES = ("admin", "auditor", "integration")


@dataclass(frozen=True)
class Principal:
    """The authenticated actor: a person id, and an optional system role."""

    subject: str
    role: str | None = None
    scope_node: str | None = None  # a token limited to this node's subtree (integration events)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def check_can_set_target(actor: Principal, org: "Organisation", node: str, on: date) -> None:
    """Only a manager of a unit above the node (or an admin) sets its targets."""
    if not actor.is_admin and not org.manages(actor.subject, node, on):
        raise ForbiddenError(f"setting a target for {node!r} needs to manage a unit above it, or the admin role")


def check_can_decompose(actor: Principal, org: "Organisation", node: str, axis: str, on: date) -> None:
    """Decomposing sets the children's targets: along the org, the children sit below the
    node, so its own manager may; along time or a dimension they sit on the node itself."""
    if actor.is_admin or org.manages(actor.subject, node, on):
        return
    if axis == "org" and org.is_unit(node) and org.manager_of(node, on) == actor.subject:
        return
    raise ForbiddenError(
        f"decomposing a target of {node!r} along {axis} needs to manage "
        f"{'it or ' if axis == 'org' else ''}a unit above it, or the admin role"
    )


def check_can_record_actual(
    actor: Principal, org: "Organisation", person: str, on: date, doing: str = "recording an actual"
) -> None:
    """A person records their own actuals, a manager those of their subtree, and the
    integration role (or an admin) anyone's; the same for their opportunities (`doing` says which)."""
    if actor.subject == person or actor.role in ("admin", "integration"):
        return
    if org.manages(actor.subject, person, on):
        return
    raise ForbiddenError(
        f"{doing} for {person!r} needs to be {person!r}, to manage a unit above them, or the integration or admin role"
    )


READ_ALL = ("admin", "auditor")


def _unit_today(actor: Principal, org: "Organisation", on: date) -> str | None:
    """The unit the actor is a member of that day, if the actor is a person of the organisation."""
    return org.parent(actor.subject, on) if org.is_person(actor.subject) else None


def is_member(actor: Principal, org: "Organisation", on: date) -> bool:
    """Signed in with a role, or as a person who is a member of a unit that day. Anyone else
    (a leaver, a subject the organisation never had) is an outsider and reads nothing."""
    return actor.role in ROLES or _unit_today(actor, org, on) is not None


def check_member(actor: Principal, org: "Organisation", on: date) -> None:
    """The first check of every read: outsiders are refused before anything is looked up,
    so that they learn no ids, names or figures from a 404 or an error message."""
    if not is_member(actor, org, on):
        raise ForbiddenError(
            f"{actor.subject!r} is not a member of the organisation: reading needs to be one, "
            "or the admin, auditor or integration role"
        )


def check_known(actor: Principal, org: "Organisation", node: str, on: date, *, field: str = "node") -> None:
    """A node named in a query exists (404 naming the field otherwise), asked by a member:
    members see the whole tree, so the 404 tells them nothing they may not know."""
    check_member(actor, org, on)
    if not org.exists(node):
        raise NotFoundError(f"no org node {node!r}", field=field)


def can_read(actor: Principal, org: "Organisation", node: str, on: date) -> bool:
    """Auditors and admins read everything; a member their own rows, their unit's totals, and
    the subtree of every unit they manage."""
    if actor.role in READ_ALL:
        return True
    unit = _unit_today(actor, org, on)
    if unit is None or not org.exists(node):
        return False
    return actor.subject == node or node == unit or manages_or_runs(actor, org, node, on)


def check_can_read(actor: Principal, org: "Organisation", node: str, on: date, *, field: str = "node") -> None:
    """403 for an outsider, then 404 for an unknown node, then 403 for a node out of reach."""
    check_known(actor, org, node, on, field=field)
    if not can_read(actor, org, node, on):
        raise ForbiddenError(
            f"reading {node!r} needs to be {node!r}, a member of it, its manager or a manager above it, "
            "or the admin or auditor role"
        )


def can_read_record(actor: Principal, org: "Organisation", node: str, on: date, named: Iterable[str] = ()) -> bool:
    """A record about a node (a request, an alert, a corrective action): whoever may read the
    node, and the members named on it (who asked or approved, whom it is routed to, who owns
    or opened it), who keep it in sight after they move."""
    return can_read(actor, org, node, on) or (actor.subject in named and is_member(actor, org, on))


def check_can_read_record(
    actor: Principal, org: "Organisation", node: str, on: date, what: str, named: Iterable[str] = ()
) -> None:
    """403 naming who may read `what` (a request, an action) unless can_read_record allows it."""
    if not can_read_record(actor, org, node, on, named):
        raise ForbiddenError(
            f"reading {what} about {node!r} needs to be named on it or to be able to read {node!r} "
            "(itself, a member of it, a manager above it, or the admin or auditor role)"
        )


def can_read_closure(actor: Principal, org: "Organisation", node: str, on: date) -> bool:
    """A closure binds everyone below its node: roles see all, a member those on nodes they
    may read and on the units they belong to (directly or higher up)."""
    if actor.role in ROLES or can_read(actor, org, node, on):
        return True
    return _unit_today(actor, org, on) is not None and node in org.ancestors(actor.subject, on)


def check_can_read_closures(actor: Principal, org: "Organisation", node: str, on: date) -> None:
    """The `node` of a closures query: 403 for an outsider, 404 if unknown, 403 if out of reach."""
    check_known(actor, org, node, on)
    if not can_read_closure(actor, org, node, on):
        raise ForbiddenError(f"reading the closures of {node!r} needs to be in it or to be able to read it")


def check_can_search_all(actor: Principal) -> None:
    """A search across the whole organisation (no node given): auditors and admins, else 403."""
    if actor.role not in READ_ALL:
        raise ForbiddenError("searching without a node needs the auditor or admin role")


def check_can_read_log(actor: Principal) -> None:
    """The raw log holds every figure of everyone: auditors and admins only."""
    if actor.role not in READ_ALL:
        raise ForbiddenError("reading the event log needs the auditor or admin role")


def check_can_subscribe(actor: Principal) -> None:
    """Integration events (feed, stream, webhooks) are for systems and auditors, not people."""
    if actor.role not in ("admin", "auditor", "integration"):
        raise ForbiddenError(
            "reading integration events or managing webhooks needs the integration, auditor or admin role"
        )


def manages_or_runs(actor: Principal, org: "Organisation", node: str, on: date) -> bool:
    """An admin, the node's own manager (a unit's), or a manager of a unit above it."""
    own = org.is_unit(node) and org.manager_of(node, on) == actor.subject
    return actor.is_admin or own or org.manages(actor.subject, node, on)


def check_manages_or_runs(actor: Principal, org: "Organisation", node: str, on: date, doing: str) -> None:
    if not org.exists(node):
        raise DomainError(f"unknown org node {node!r}", field="node")
    if not manages_or_runs(actor, org, node, on):
        raise ForbiddenError(f"{doing} {node!r} needs to manage it or a unit above it, or the admin role")
