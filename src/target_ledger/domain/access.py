"""Who is acting, and the role checks the rules need."""

from dataclasses import dataclass

from target_ledger.domain.errors import ForbiddenError

ROLES = ("admin", "auditor", "integration")


@dataclass(frozen=True)
class Principal:
    """The authenticated actor: a person id, and an optional system role."""

    subject: str
    role: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def check_can_set_targets(actor: Principal, node: str) -> None:
    # Until the org tree exists (issue 3), only admins set targets.
    if not actor.is_admin:
        raise ForbiddenError(f"setting a target for {node!r} needs the admin role")


def check_can_record_actual(actor: Principal, person: str) -> None:
    if actor.subject != person and actor.role not in ("admin", "integration"):
        raise ForbiddenError(
            f"recording an actual for {person!r} needs to be {person!r}, or the admin or integration role"
        )


def check_can_read(actor: Principal, node: str) -> None:
    if actor.subject != node and actor.role not in ("admin", "auditor"):
        raise ForbiddenError(f"reading {node!r} needs to be {node!r}, or the admin or auditor role")
