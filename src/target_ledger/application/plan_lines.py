"""A plan file's rows before they are decided: their splits, org splits gathered from `part of`, parents first."""

import dataclasses
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

from target_ledger.application import Command
from target_ledger.application.targets import Split
from target_ledger.domain.calendar import Period
from target_ledger.domain.errors import DomainError, InvalidPeriodError
from target_ledger.domain.target import Scope, target_id

# The split key of an org part, made from the rows naming their whole in `part of`: `part of:east-1`
# (never a dimension's, whose names have no space: a dimension may well be called `org`).
ORG = "part of:"


@dataclass(frozen=True)
class PlanLine:
    """One row of a plan file: a target, and optionally its split (period keys or `dimension:value`),
    or the node whose target it is a part of (an org split of that target, gathered from its rows)."""

    sheet: str
    row: int
    columns: dict[str, str]  # field (node, value, a split key...) → the column it came from
    node: str
    metric: str
    period: str
    value: Decimal
    scope: dict[str, str] = field(default_factory=dict)
    stretch: Decimal | None = None
    rationale: str = ""
    splits: dict[str, Decimal] = field(default_factory=dict)
    part_of: str = ""


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """Where in the file something is wrong (or needs an adjustment request, or looks wrong), and what."""

    sheet: str
    row: int
    column: str | None
    message: str
    target_id: uuid.UUID | None = None


def problem(line: PlanLine, column: str | None, message: str, tid: uuid.UUID | None = None) -> Problem:
    return Problem(sheet=line.sheet, row=line.row, column=column, message=message, target_id=tid)


def split_of(cmd: Command, line: PlanLine) -> Split:
    """Split columns are all period keys of one kind (`2026-03`), all values of one dimension
    (`product:A`), or all org parts (`part of:east-1`, from the rows that are part of this one)."""
    dimensions = {key.partition(":")[0] for key in line.splits if ":" in key}
    if dimensions:
        if len(dimensions) > 1 or len(dimensions) != len({k.partition(":")[0] for k in line.splits}):
            raise DomainError("a row splits along one axis: periods or one dimension's values", field="splits")
        allocations = {key.partition(":")[2]: value for key, value in line.splits.items()}
        dimension = dimensions.pop()
        if f"{dimension}:" == ORG:
            return Split(axis="org", method="explicit", allocations=allocations)
        return Split(axis="dimension", method="explicit", dimension=dimension, allocations=allocations)
    periods = {key: _split_period(cmd, key) for key in line.splits}
    kinds = {p.kind for p in periods.values()}
    if len(kinds) > 1:
        raise DomainError(f"a row splits into periods of one kind, not {' and '.join(sorted(kinds))}", field="splits")
    allocations = {p.key: line.splits[key] for key, p in periods.items()}
    return Split(axis="period", method="explicit", into=kinds.pop(), allocations=allocations)


def _split_period(cmd: Command, key: str) -> Period:
    """A split column's header as a period; a bad one is that column's error, not the `period` cell's."""
    try:
        return cmd.calendar.parse(key)
    except InvalidPeriodError as error:
        raise InvalidPeriodError(str(error), field=key) from None


def part_ids(node: str, metric: str, period: str, scope: Scope, split: Split) -> dict[uuid.UUID, Decimal]:
    """The ids of the parts a split of the target (node, metric, period, scope) makes, with their values."""
    allocations = split.allocations or {}
    if split.axis == "dimension":
        return {
            target_id(node, metric, period, {**scope, split.dimension or "": key}): value
            for key, value in allocations.items()
        }
    if split.axis == "org":
        return {target_id(key, metric, period, scope): value for key, value in allocations.items()}
    return {target_id(node, metric, key, scope): value for key, value in allocations.items()}


def _key(cmd: Command, line: PlanLine, node: str | None = None) -> uuid.UUID | None:
    try:
        return target_id(node or line.node, line.metric, cmd.calendar.parse(line.period).key, line.scope)
    except DomainError:
        return None  # the row's own error, reported when it is decided


async def gather_org_splits(cmd: Command, lines: list[PlanLine]) -> tuple[list[PlanLine], list[Problem]]:
    """A row naming a node in `part of` is a part of that node's target (same metric, period and
    scope): the parent's row gets an org split into its parts' values, as POST …/decomposition
    with axis org would make. The parent's row must be in the file; the part a direct child."""
    rows: dict[uuid.UUID, PlanLine] = {}
    for line in lines:
        key = _key(cmd, line)
        if key is not None:
            rows.setdefault(key, line)
    parts: dict[int, dict[str, Decimal]] = {}
    problems: list[Problem] = []
    org = await cmd.org()
    for line in (line for line in lines if line.part_of):
        where = line.columns.get("part_of")
        whole = _key(cmd, line, line.part_of) if org.exists(line.part_of) else None
        parent = rows.get(whole) if whole is not None else None
        if parent is None:
            message = f"no row of the file sets {line.part_of!r}'s {line.metric} {line.period} target"
            problems.append(problem(line, where, message + " (the target this row is part of)"))
        elif org.exists(line.node) and org.parent(line.node, cmd.today()) != line.part_of:
            problems.append(problem(line, where, f"{line.node!r} is not directly under {line.part_of!r}"))
        else:
            parts.setdefault(id(parent), {})[ORG + line.node] = line.value
    arranged = []
    for line in lines:
        org_parts = parts.get(id(line))
        if org_parts and line.splits:
            message = "a row splits along one axis: its split columns, or the rows part of it, not both"
            problems.append(problem(line, line.columns.get("splits"), message))
        elif org_parts:
            columns = {**line.columns, "splits": line.columns["value"]}  # a sum that is off: the whole's cell
            line = dataclasses.replace(line, splits=org_parts, columns=columns)
        arranged.append(line)
    return arranged, problems


def parents_first(cmd: Command, lines: list[PlanLine]) -> list[PlanLine]:
    """The rows in an order where a row whose target is a part of another row's split comes after
    that row (whatever the file's order), so it is decided against the target the split makes."""
    made_by: dict[uuid.UUID, int] = {}
    keys = [_key(cmd, line) for line in lines]
    for i, line in enumerate(lines):
        try:
            split = split_of(cmd, line) if line.splits else None
        except DomainError:
            continue
        if split is not None and keys[i] is not None:
            period = cmd.calendar.parse(line.period).key
            for part in part_ids(line.node, line.metric, period, line.scope, split):
                made_by.setdefault(part, i)
    ordered: list[PlanLine] = []
    placed: set[int] = set()
    for i in range(len(lines)):
        chain = []  # this row, its parent row, that row's parent row... until one already placed
        while i not in placed and i not in chain:
            chain.append(i)
            key = keys[i]
            i = i if key is None else made_by.get(key, i)
        for j in reversed(chain):
            placed.add(j)
            ordered.append(lines[j])
    return ordered


def column_of(line: PlanLine, error: DomainError) -> str | None:
    """The cell of the row that an error deciding it names (its field), if the row has it."""
    name = (error.field or "").removeprefix("allocations.").removeprefix("parts.")
    if name in line.columns:
        return line.columns[name]
    # A split key as the calendar spells it (2026-3 in the file is 2026-03 here), or a dimension value.
    for key, column in line.columns.items():
        if key.endswith(f":{name}") or (name and key.startswith("split:") and key.endswith(name)):
            return column
    return line.columns.get(name.split(".")[0]) or (line.columns.get("splits") if name else None)


def org_part_row(line: PlanLine, error: DomainError, lines: list[PlanLine]) -> PlanLine | None:
    """The row naming `line`'s node in `part of` that an error about a part of its org split is about."""
    node = (error.field or "").removeprefix("allocations.")
    if ORG + node not in line.splits:
        return None
    same = (line.node, line.metric, line.period, line.scope)
    return next((p for p in lines if p.node == node and (p.part_of, p.metric, p.period, p.scope) == same), None)
