"""Who is acting, and the role checks the rules need."""

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from target_ledger.domain.errors import DomainError, ForbiddenError

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


def check_can_record_actual(actor: Principal, org: "Organisation", person: str, on: date) -> None:
    """A person records their own actuals, a manager those of their subtree, and the
    integration role (or an admin) anyone's."""
    if actor.subject == person or actor.role in ("admin", "integration"):
        return
    if org.manages(actor.subject, person, on):
        return
    raise ForbiddenError(
        f"recording an actual for {person!r} needs to be {person!r}, to manage a unit above them, "
        "or the integration or admin role"
    )


def can_read(actor: Principal, org: "Organisation", node: str, on: date) -> bool:
    """Auditors and admins read everything; a manager their subtree; a person their own rows
    and their unit's totals."""
    return (
        actor.role in ("admin", "auditor")
        or actor.subject == node
        or org.manages(actor.subject, node, on)
        or (org.is_unit(node) and org.manager_of(node, on) == actor.subject)
        or (org.is_person(actor.subject) and org.parent(actor.subject, on) == node)
    )


def check_can_read(actor: Principal, org: "Organisation", node: str, on: date) -> None:
    if not can_read(actor, org, node, on):
        raise ForbiddenError(
            f"reading {node!r} needs to be {node!r}, a member of it, a manager above it, or the admin or auditor role"
        )


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
