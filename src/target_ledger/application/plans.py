"""The annual plan from a file: which targets and splits it sets, stored in one append, and the plan read back."""

import dataclasses
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import msgspec

from projections import targets as target_tree
from projections.runner import caught_up
from target_ledger.application import Command, ReadModelBehindError
from target_ledger.application.targets import Split, decide_split, decide_target
from target_ledger.domain.access import check_can_set_target
from target_ledger.domain.errors import ConflictError, DomainError
from target_ledger.domain.target import Target, target_id
from target_ledger.eventstore import Metadata, StreamConflictError

PLAN_IMPORT = uuid.UUID("0b6c3f7e-5d0e-4c61-9a57-3c2f8f1d6a11")
READ_MODEL_WAIT = 10.0  # seconds an export waits for the targets read model to apply the log's last event


@dataclass(frozen=True)
class PlanLine:
    """One row of a plan file: a target, and optionally its split (period keys or `dimension:value`)."""

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


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """Where in the file something is wrong (or needs an adjustment request instead), and what."""

    sheet: str
    row: int
    column: str | None
    message: str
    target_id: uuid.UUID | None = None


class Planned(msgspec.Struct, frozen=True, kw_only=True):
    sheet: str
    row: int
    target_id: uuid.UUID
    node: str
    metric: str
    period: str
    scope: dict[str, str]
    value: Decimal


class PlannedSplit(msgspec.Struct, frozen=True, kw_only=True):
    sheet: str
    row: int
    target_id: uuid.UUID
    axis: str
    parts: dict[str, Decimal]


class PlanReport(msgspec.Struct, frozen=True, kw_only=True):
    """What an import does (dry run) or did: nothing is stored unless `stored`."""

    sha256: str
    stored: bool
    position: int | None
    targets_to_set: list[Planned]
    splits: list[PlannedSplit]
    unchanged: int
    needs_adjustment: list[Problem]
    errors: list[Problem]


@dataclass(frozen=True)
class _Importing(Command):
    """A command whose events carry the imported file's digest in their metadata."""

    file_sha256: str = ""

    @property
    def metadata(self) -> Metadata:
        return msgspec.structs.replace(super().metadata, file_sha256=self.file_sha256)


def _split_of(cmd: Command, line: PlanLine) -> Split:
    """Split columns are all period keys of one kind (`2026-03`) or all values of one dimension (`product:A`)."""
    dimensions = {key.partition(":")[0] for key in line.splits if ":" in key}
    if dimensions:
        if len(dimensions) > 1 or len(dimensions) != len({k.partition(":")[0] for k in line.splits}):
            raise DomainError("a row splits along one axis: periods or one dimension's values", field="splits")
        allocations = {key.partition(":")[2]: value for key, value in line.splits.items()}
        return Split(axis="dimension", method="explicit", dimension=dimensions.pop(), allocations=allocations)
    periods = {key: cmd.calendar.parse(key) for key in line.splits}
    kinds = {p.kind for p in periods.values()}
    if len(kinds) > 1:
        raise DomainError(f"a row splits into periods of one kind, not {' and '.join(sorted(kinds))}", field="splits")
    allocations = {p.key: line.splits[key] for key, p in periods.items()}
    return Split(axis="period", method="explicit", into=kinds.pop(), allocations=allocations)


def _child_ids(cmd: Command, parent: Target, split: Split) -> dict[uuid.UUID, Decimal]:
    if split.axis == "dimension":
        return {
            target_id(parent.node, parent.metric, parent.period, {**parent.scope, split.dimension or "": key}): value
            for key, value in (split.allocations or {}).items()
        }
    return {
        target_id(parent.node, parent.metric, key, parent.scope): value
        for key, value in (split.allocations or {}).items()
    }


def _column(line: PlanLine, error: DomainError) -> str | None:
    name = (error.field or "").removeprefix("allocations.").removeprefix("parts.")
    if name in line.columns:
        return line.columns[name]
    # A split key as the calendar spells it (2026-3 in the file is 2026-03 here), or a dimension value.
    for key, column in line.columns.items():
        if key.endswith(f":{name}") or (name and key.startswith("split:") and key.endswith(name)):
            return column
    return line.columns.get(name.split(".")[0]) or (line.columns.get("splits") if name else None)


class _Plan:
    """The decision over every line: what is new, what already holds, what would need an adjustment."""

    def __init__(self, cmd: Command) -> None:
        self.cmd = cmd
        self.touched: list[Target] = []
        self.claimed: dict[uuid.UUID, PlanLine] = {}
        self.to_set: list[Planned] = []
        self.splits: list[PlannedSplit] = []
        self.unchanged = 0
        self.needs_adjustment: list[Problem] = []
        self.errors: list[Problem] = []

    def problem(self, line: PlanLine, column: str | None, message: str, tid: uuid.UUID | None = None) -> Problem:
        return Problem(sheet=line.sheet, row=line.row, column=column, message=message, target_id=tid)

    def claim(self, line: PlanLine, ids: list[uuid.UUID]) -> None:
        """A target set twice by one file (two rows, or a row and another row's split) is an error."""
        for tid in ids:
            other = self.claimed.get(tid)
            if other is not None:
                where = f"sheet {other.sheet!r} row {other.row}"
                raise DomainError(f"this target is already set by {where} (directly or by its split)", field="node")
        self.claimed.update((tid, line) for tid in ids)

    async def decide(self, line: PlanLine) -> None:
        try:
            await self._decide(line)
        except DomainError as error:
            self.errors.append(self.problem(line, _column(line, error), str(error)))

    async def _decide(self, line: PlanLine) -> None:
        cmd = self.cmd
        period = cmd.calendar.parse(line.period).key
        tid = target_id(line.node, line.metric, period, line.scope)
        split = _split_of(cmd, line) if line.splits else None
        # The importer's rights first, as for a new target: an existing one's value and id are not
        # revealed (nor confirmed by `unchanged`) to someone who may not set the node's targets.
        org = await cmd.org()
        if not org.exists(line.node):
            raise DomainError(f"unknown org node {line.node!r}: add it under /v1/org first", field="node")
        check_can_set_target(cmd.actor, org, line.node, cmd.today())
        existing = await cmd.store.get(tid)
        if isinstance(existing, Target):
            self.claim(line, [tid, *(_child_ids(cmd, existing, split) if split else [])])
            await self._existing(line, existing, split)
            return
        target = await decide_target(
            cmd,
            node=line.node,
            metric=line.metric,
            period=period,
            value=line.value,
            scope=line.scope,
            stretch=line.stretch,
            rationale=line.rationale,
        )
        children = (await decide_split(cmd, target, split) or []) if split else []
        self.claim(line, [tid, *(c.id for c in children)])
        self.touched.append(target)
        self.touched.extend(children)
        self.to_set.append(
            Planned(
                sheet=line.sheet,
                row=line.row,
                target_id=tid,
                node=target.node,
                metric=target.metric,
                period=target.period,
                scope=dict(target.scope),
                value=target.value,
            )
        )
        if split:
            self._split(line, target, split, children)

    async def _existing(self, line: PlanLine, target: Target, split: Split | None) -> None:
        """A target already set: the same values change nothing; a different one is an adjustment request."""
        if target.value != line.value:
            message = f"the target is {target.value}, the file says {line.value}: request an adjustment to change it"
            self.needs_adjustment.append(self.problem(line, line.columns["value"], message, target.id))
            return
        if line.stretch is not None and target.stretch != line.stretch:
            message = f"the stretch is {target.stretch}, the file says {line.stretch}: request an adjustment"
            self.needs_adjustment.append(self.problem(line, line.columns.get("stretch"), message, target.id))
            return
        if split is None:
            self.unchanged += 1
            return
        if target.parts:
            stored = {p.target_id: p.value for p in target.parts}
            if target.axis == split.axis and stored == _child_ids(self.cmd, target, split):
                self.unchanged += 1
                return
            message = f"the target is already split along {target.axis} otherwise: request an adjustment"
            self.needs_adjustment.append(self.problem(line, line.columns.get("splits"), message, target.id))
            return
        children = await decide_split(self.cmd, target, split) or []
        self.touched.extend([target, *children])
        self._split(line, target, split, children)

    def _split(self, line: PlanLine, parent: Target, split: Split, children: list[Target]) -> None:
        keys = {c.id: c.period if split.axis == "period" else c.scope[split.dimension or ""] for c in children}
        parts = {keys[c.id]: c.value for c in children}
        self.splits.append(
            PlannedSplit(sheet=line.sheet, row=line.row, target_id=parent.id, axis=split.axis, parts=parts)
        )


async def import_plan(cmd: Command, lines: list[PlanLine], sha256: str, *, dry_run: bool) -> PlanReport:
    """Decide every line; unless a dry run or anything is wrong, store all the new targets and splits in
    one append (all or nothing) whose metadata carries the file's digest. The same file again stores nothing."""
    importing = _Importing(
        **{f.name: getattr(cmd, f.name) for f in dataclasses.fields(cmd) if f.init}, file_sha256=sha256
    )
    plan = _Plan(importing)
    for line in lines:
        await plan.decide(line)
    position = None
    events = [e for t in plan.touched for e in t.collect_events()]
    if events and not dry_run and not plan.errors:
        # The same file from the same importer stores its events once, however often it is sent at once.
        ids = importing.event_ids(len(events)) or [
            uuid.uuid5(PLAN_IMPORT, f"{cmd.actor.subject}|{sha256}|{i}") for i in range(len(events))
        ]
        try:
            position = (await importing.append(events, event_ids=ids)).last
        except StreamConflictError as conflict:
            raise ConflictError(f"target {conflict.stream_id} was set meanwhile: import the file again") from None
    return PlanReport(
        sha256=sha256,
        stored=position is not None,
        position=position,
        targets_to_set=plan.to_set,
        splits=plan.splits,
        unchanged=plan.unchanged,
        needs_adjustment=plan.needs_adjustment,
        errors=plan.errors,
    )


async def plan_of_year(cmd: Command, year: str) -> list[dict[str, Any]]:
    """The targets inside a year as the plan file lists them: a target split along time or a dimension
    carries its parts (they are that row's split columns, not rows of their own)."""
    span = cmd.calendar.parse(year)
    if span.kind != "year":
        raise DomainError(f"{year!r} is not a year", field="year")
    store = cmd.store
    if not await caught_up(store.pool, store, target_tree.NAME, await store.head(), READ_MODEL_WAIT):
        raise ReadModelBehindError("the targets read model is behind the log: is the server or `project` running?")
    rows: list[dict[str, Any]] = []
    after = None
    async with store.pool.acquire() as conn:
        while page := await target_tree.fetch_targets(
            conn,
            after=after,
            nodes=None,
            node=None,
            metric=None,
            period=None,
            scope={},
            acknowledged=None,
            limit=1000,
        ):
            rows.extend(r for r in page if r["starts_on"] and span.start <= r["starts_on"] <= r["ends_on"] <= span.end)
            last = page[-1]
            after = (last["node"], last["metric"], last["starts_on"], last["target_id"])
    by_id = {r["target_id"]: r for r in rows}
    plan = []
    for row in rows:
        parent = by_id.get(row["parent_id"])
        if parent is not None and parent["axis"] in ("period", "dimension"):
            continue  # a split column of its parent's row
        children = [r for r in rows if r["parent_id"] == row["target_id"]]
        splits: dict[str, Decimal] = {}
        if row["axis"] == "period":
            splits = {c["period"]: c["value"] for c in children}
        elif row["axis"] == "dimension":
            for c in children:
                name = next(k for k in c["scope"] if k not in row["scope"])
                splits[f"{name}:{c['scope'][name]}"] = c["value"]
        plan.append({**row, "splits": splits})
    return plan
