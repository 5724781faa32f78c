"""A plan import's warnings: a part of the org above its whole for the same metric, period and scope."""

import uuid
from decimal import Decimal

from target_ledger.application import Command
from target_ledger.application.plan_lines import PlanLine, Problem, problem
from target_ledger.domain.access import can_read
from target_ledger.domain.target import Target, target_id


class Named:
    """Every target a plan file names (a row's, or a part of a row's split), and the cell that says it."""

    def __init__(self) -> None:
        self.by_id: dict[uuid.UUID, tuple[Target, PlanLine, str | None]] = {}

    def add(self, target: Target, line: PlanLine, column: str | None) -> None:
        self.by_id[target.id] = (target, line, column)  # a row of its own wins over its parent's split column


def _why(part: str, whole: str, lower_is_better: bool) -> str:
    # Actuals add up the org tree: a whole's actual is never below its part's. For more-is-better
    # the whole's target is met before its part's; for a ceiling (a cost) the part's ceiling cannot
    # be used without passing the whole's. Either way one of the two targets says nothing.
    if lower_is_better:
        return f"{part}'s ceiling cannot be used up without passing {whole}'s"
    return f"{whole}'s target is met before {part}'s"


async def plan_warnings(cmd: Command, named: Named) -> list[Problem]:
    """A target above its nearest org ancestor's (same metric, period and scope; not its split's
    part), and the targets of a node's direct children that add up to more than its own, where
    the file names one of them. Additive metrics only: rates do not add up. Only figures the
    importer may read are compared."""
    org, catalog, today = await cmd.org(), await cmd.catalog(), cmd.today()
    stored: dict[uuid.UUID, Target | None] = {}

    async def target_of(node: str, like: Target) -> Target | None:
        tid = target_id(node, like.metric, like.period, like.scope)
        if tid in named.by_id:
            return named.by_id[tid][0]
        if tid not in stored:
            found = await cmd.store.get(tid)
            stored[tid] = found if isinstance(found, Target) else None
        return stored[tid]

    def readable(node: str) -> bool:
        return can_read(cmd.actor, org, node, today)

    warnings: list[Problem] = []
    wholes: dict[uuid.UUID, Target] = {}
    for target, line, column in list(named.by_id.values()):
        metric = catalog.metric(target.metric)
        if not metric.additive:
            continue
        wholes[target.id] = target
        lower = metric.direction == "lower"
        for ancestor in org.ancestors(target.node, today):
            whole = await target_of(ancestor, target)
            if whole is None:
                continue
            if readable(ancestor):
                wholes[whole.id] = whole
                if target.parent_id != whole.id and target.value > whole.value:
                    message = (
                        f"{target.node}'s target {target.value} is above {ancestor}'s {whole.value} "
                        f"({target.metric} {target.period}): {_why(target.node, ancestor, lower)}"
                    )
                    warnings.append(problem(line, column, message, target.id))
            break
    for whole in wholes.values():
        children = org.children(whole.node, today) if org.is_unit(whole.node) else []
        found = [await target_of(child, whole) for child in children]
        parts = [p for p in found if p is not None]
        named_parts = [p for p in parts if p.id in named.by_id]
        if not parts or not all(readable(p.node) for p in parts):
            continue
        if len(parts) == 1 and parts[0].id in named.by_id:
            continue  # one part the file names: the check above has said it
        if whole.id not in named.by_id and not named_parts:
            continue  # not this file's doing
        total = sum((p.value for p in parts), Decimal(0))
        if total > whole.value:
            _, line, column = named.by_id.get(whole.id) or named.by_id[named_parts[0].id]
            figures = ", ".join(f"{p.node} {p.value}" for p in parts)
            lower = catalog.metric(whole.metric).direction == "lower"
            message = (
                f"the targets under {whole.node} ({figures}) add up to {total}, above {whole.node}'s "
                f"{whole.value} ({whole.metric} {whole.period}): {_why('theirs', whole.node, lower)}"
            )
            warnings.append(problem(line, column, message, whole.id))
    return warnings
