"""The annual plan from a file: which targets and splits it sets, stored in one append."""

import dataclasses
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import asyncpg
import msgspec

from target_ledger.application import Command
from target_ledger.application.plan_lines import (
    ORG,
    PlanLine,
    Problem,
    column_of,
    gather_org_splits,
    org_part_row,
    parents_first,
    part_ids,
    problem,
    split_of,
)
from target_ledger.application.plan_warnings import Named, plan_warnings
from target_ledger.application.targets import Split, decide_split, decide_target
from target_ledger.domain.access import check_can_set_target
from target_ledger.domain.errors import ConflictError, DomainError
from target_ledger.domain.target import Target, target_id

__all__ = ["PlanLine", "PlanReport", "Problem", "import_plan"]
from target_ledger.eventstore import Metadata, StreamConflictError

PLAN_IMPORT = uuid.UUID("0b6c3f7e-5d0e-4c61-9a57-3c2f8f1d6a11")


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


_Where = TypeVar("_Where", Problem, Planned, PlannedSplit)


class PlanReport(msgspec.Struct, frozen=True, kw_only=True):
    """What an import does (dry run) or did: nothing is stored unless `stored`."""

    sha256: str
    stored: bool
    position: int | None  # the log position of the import's last event, if stored (or already_stored_by)
    already_stored_by: str | None = None  # the request that stored this file's events first, at `position`
    targets_to_set: list[Planned]
    splits: list[PlannedSplit]
    unchanged: int
    needs_adjustment: list[Problem]
    errors: list[Problem]
    warnings: list[Problem] = []  # rows that may well be wrong (a part above its whole); they never block


@dataclass(frozen=True)
class _Importing(Command):
    """A command whose events carry the imported file's digest in their metadata."""

    file_sha256: str = ""

    @property
    def metadata(self) -> Metadata:
        return msgspec.structs.replace(super().metadata, file_sha256=self.file_sha256)


class _Plan:
    """The decision over every line: what is new, what already holds, what would need an adjustment."""

    def __init__(self, cmd: Command) -> None:
        self.cmd = cmd
        self.touched: list[Target] = []
        self.rows: dict[uuid.UUID, PlanLine] = {}  # a target → the row that sets it
        self.parts: dict[uuid.UUID, PlanLine] = {}  # a target → the row whose split makes it
        self.new: dict[uuid.UUID, Target] = {}  # targets the file makes, not stored yet
        self.named = Named()  # every target the file names, and where, for the warnings
        self.to_set: list[Planned] = []
        self.splits: list[PlannedSplit] = []
        self.unchanged = 0
        self.needs_adjustment: list[Problem] = []
        self.errors: list[Problem] = []

    def claim(self, line: PlanLine, tid: uuid.UUID, parts: Iterable[uuid.UUID] = ()) -> None:
        """A target set by two rows, or made by two rows' splits, is an error; a row may set the
        target an earlier row's split makes (to split it further, or just to show its value)."""
        if tid in self.rows:
            other = self.rows[tid]
            where = f"sheet {other.sheet!r} row {other.row}"
            raise DomainError(f"this target is already set by {where}", field="node")
        parts = list(parts)
        for part in parts:
            taken = self.parts.get(part) or self.rows.get(part)
            if taken is not None:
                where = f"sheet {taken.sheet!r} row {taken.row}"
                raise DomainError(f"a part of this row's split is already set by {where}", field="splits")
        self.rows[tid] = line
        self.parts.update((p, line) for p in parts)

    async def decide(self, line: PlanLine, lines: list[PlanLine]) -> None:
        try:
            await self._decide(line)
        except DomainError as error:
            part = org_part_row(line, error, lines)
            if part is not None:  # an org split's part: its row's `part of` cell
                self.errors.append(problem(part, part.columns.get("part_of"), str(error)))
            else:
                self.errors.append(problem(line, column_of(line, error), str(error)))

    async def _decide(self, line: PlanLine) -> None:
        cmd = self.cmd
        period = cmd.calendar.parse(line.period).key
        tid = target_id(line.node, line.metric, period, line.scope)
        split = split_of(cmd, line) if line.splits else None
        parts = list(part_ids(line.node, line.metric, period, line.scope, split)) if split else []
        # The importer's rights first, as for a new target: an existing one's value and id are not
        # revealed (nor confirmed by `unchanged`) to someone who may not set the node's targets.
        org = await cmd.org()
        if not org.exists(line.node):
            raise DomainError(f"unknown org node {line.node!r}: add it under /v1/org first", field="node")
        check_can_set_target(cmd.actor, org, line.node, cmd.today())
        self.claim(line, tid, parts)
        made = self.new.get(tid)
        if made is not None:
            await self._made_by_split(line, made, split)
            return
        existing = await cmd.store.get(tid)
        if isinstance(existing, Target):
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
        self._made(line, target, line.columns["value"])
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

    def _made(self, line: PlanLine, target: Target, column: str | None) -> None:
        self.new[target.id] = target
        self.named.add(target, line, column)

    async def _made_by_split(self, line: PlanLine, target: Target, split: Split | None) -> None:
        """A target an earlier row's split makes in this file: the same value again, and its own split."""
        source = self.parts[target.id]
        if target.value != line.value:
            message = f"row {source.row}'s split makes this target {target.value}, the file says {line.value} here"
            raise DomainError(message, field="value")
        if line.stretch is not None:
            raise DomainError(f"a part of row {source.row}'s split has no stretch of its own", field="stretch")
        self.named.add(target, line, line.columns["value"])
        if split is not None:
            children = await decide_split(self.cmd, target, split) or []
            self.touched.extend(children)  # the target itself is touched already, by its parent's split
            self._split(line, target, split, children)

    async def _existing(self, line: PlanLine, target: Target, split: Split | None) -> None:
        """A target already set: the same values change nothing; a different one is an adjustment request.
        A value no target of its metric may hold is the same error as for a new target."""
        metric = (await self.cmd.catalog()).metric(target.metric)
        metric.check_target_value(line.value)
        if line.stretch is not None:
            metric.check_target_value(line.stretch, field="stretch")
        if target.value != line.value:
            message = f"the target is {target.value}, the file says {line.value}: request an adjustment to change it"
            self.needs_adjustment.append(problem(line, line.columns["value"], message, target.id))
            return
        if line.stretch is not None and target.stretch != line.stretch:
            message = f"the stretch is {target.stretch}, the file says {line.stretch}: request an adjustment"
            self.needs_adjustment.append(problem(line, line.columns.get("stretch"), message, target.id))
            return
        self.named.add(target, line, line.columns["value"])
        if split is None:
            self.unchanged += 1
            return
        if target.parts:
            stored = {p.target_id: p.value for p in target.parts}
            wanted = part_ids(target.node, target.metric, target.period, target.scope, split)
            if target.axis == split.axis and stored == wanted:
                self.unchanged += 1
                return
            message = f"the target is already split along {target.axis} otherwise: request an adjustment"
            self.needs_adjustment.append(problem(line, line.columns.get("splits"), message, target.id))
            return
        children = await decide_split(self.cmd, target, split) or []
        self.touched.extend([target, *children])
        self._split(line, target, split, children)

    def _split(self, line: PlanLine, parent: Target, split: Split, children: list[Target]) -> None:
        def key(child: Target) -> str:
            if split.axis == "period":
                return child.period
            return child.node if split.axis == "org" else child.scope[split.dimension or ""]

        for child in children:
            prefix = {"org": ORG, "dimension": f"{split.dimension}:"}.get(split.axis, "")
            self._made(line, child, line.columns.get(prefix + key(child)) or line.columns.get("splits"))
        parts = {key(c): c.value for c in children}
        self.splits.append(
            PlannedSplit(sheet=line.sheet, row=line.row, target_id=parent.id, axis=split.axis, parts=parts)
        )


async def import_plan(cmd: Command, lines: list[PlanLine], sha256: str, *, dry_run: bool) -> PlanReport:
    """Decide every line (a row that is part of another row's split after that row, whatever the
    file's order); unless a dry run or anything is wrong, store all the new targets and splits in
    one append (all or nothing) whose metadata carries the file's digest. The same file again
    stores nothing; so does the same file sent at once by the same importer: every request but
    the one whose append stored the events answers `stored: false`, `already_stored_by` that
    request's id, and the report decided again against the log. Warnings (a part above its
    whole) never stop an import."""
    importing = _Importing(
        **{f.name: getattr(cmd, f.name) for f in dataclasses.fields(cmd) if f.init}, file_sha256=sha256
    )
    arranged, problems = await gather_org_splits(importing, lines)
    plan = await _decided_steadily(importing, arranged)
    position, stored_by = None, None
    errors = [*problems, *plan.errors]
    events = [e for t in plan.touched for e in t.collect_events()]
    if events and not dry_run and not errors:
        position, stored_by = await _store(importing, events)
        if stored_by is not None:  # another request stored these very events: this one changed nothing
            plan = await _decided(importing, arranged)
    order = {(line.sheet, line.row): i for i, line in enumerate(lines)}

    def in_file_order(items: list[_Where]) -> list[_Where]:
        return sorted(items, key=lambda p: order.get((p.sheet, p.row), -1))

    return PlanReport(
        sha256=sha256,
        stored=position is not None and stored_by is None,
        position=position,
        already_stored_by=stored_by,
        targets_to_set=in_file_order(plan.to_set),
        splits=in_file_order(plan.splits),
        unchanged=plan.unchanged,
        needs_adjustment=in_file_order(plan.needs_adjustment),
        errors=in_file_order(errors),
        warnings=in_file_order(await plan_warnings(importing, plan.named)),
    )


async def _decided_steadily(cmd: _Importing, arranged: list[PlanLine], *, tries: int = 3) -> _Plan:
    """The plan decided on one state of the log. Its reads go one stream at a time, so another
    append committing between two of them (the same file imported at once: a parent read before
    it, its part after) shows a state that never was; a decision with errors is made again while
    the log moved during it, so an error is one the log holds, not an artifact of the race."""
    for _ in range(tries - 1):
        head = await cmd.store.head()
        plan = await _decided(cmd, arranged)
        if not plan.errors or await cmd.store.head() == head:
            return plan
    return await _decided(cmd, arranged)


async def _decided(cmd: _Importing, arranged: list[PlanLine]) -> _Plan:
    plan = _Plan(cmd)
    for line in parents_first(cmd, arranged):
        await plan.decide(line, arranged)
    return plan


async def _store(cmd: _Importing, events: list[Any]) -> tuple[int, str | None]:
    """Append the import's events: the log position of the last, and None, or the id of the request
    that stored these very events before (the same file from the same importer, decided alike).
    An event's id is its stream and version in this file from this importer, so a replay holds the
    same fact; some of them stored and others not is a 409 (another import of the file decided
    otherwise meanwhile), as is a target set meanwhile by anyone else."""
    ids = cmd.event_ids(len(events)) or [
        uuid.uuid5(PLAN_IMPORT, f"{cmd.actor.subject}|{cmd.file_sha256}|{e.originator_id}|{e.originator_version}")
        for e in events
    ]
    stored_by: set[str] = set()

    async def replayed(before: list[uuid.UUID], conn: asyncpg.Connection) -> None:
        if len(before) < len(ids):
            raise ConflictError(_MEANWHILE.format(what="the same file was imported"), field="body")
        stored_by.update(await cmd.store.requests_of(before, conn))

    try:
        appended = await cmd.append(events, event_ids=ids, replayed=replayed)
    except StreamConflictError as conflict:
        what = f"target {conflict.stream_id} was set"
        raise ConflictError(_MEANWHILE.format(what=what), field="body") from None
    return appended.last, (", ".join(sorted(stored_by)) if appended.stored == 0 else None)


_MEANWHILE = "{what} meanwhile: import the file again (a dry run says what it would do now)"
