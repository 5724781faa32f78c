"""Import actuals from CSV, xlsx or JSON Lines, streaming, in batches; bad rows go to a rejects file.

Each row's identity is its source and external reference (or, without one, its line
number and content), so re-running an interrupted import stores nothing twice.
"""

import csv
import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import msgspec
from tqdm import tqdm

from target_ledger.api.actuals import as_input
from target_ledger.api.errors import field_and_message
from target_ledger.api.schemas import RecordActual
from target_ledger.application import Command
from target_ledger.application.actuals import (
    ActualInput,
    ActualResentError,
    BatchInvalidError,
    append_actuals,
    check_actuals,
)
from target_ledger.import_rows import ERROR, Line, Unreadable, is_workbook, read_lines


@dataclass
class Summary:
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    skipped: list[str] = dataclasses.field(default_factory=list)  # a workbook's sheets not read, and why


ROW_SHOWN = 4096  # characters of a line that cannot become a row, quoted in its error


class Rejects:
    """The rejected rows in the file's own form, each with its `error` (where and why): a CSV of
    the file's columns (a workbook's too) plus `error`, or JSON Lines, each object with an `error`
    key. The importer ignores that column, so the rejects file, fixed, imports as it is."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.writer: Any = None  # a csv.writer once the first rejected row of a CSV file or workbook came

    def add(self, line: Line, field: str | None, reason: str) -> None:
        error = f"{line.place}: {field}: {reason}" if field else f"{line.place}: {reason}"
        if line.cells is None and (line.header is not None or not line.fields):  # no values to write back
            shown = line.raw if len(line.raw) <= ROW_SHOWN else f"{line.raw[:ROW_SHOWN]}… ({len(line.raw)} characters)"
            error = f"{error}: {shown}"
        if line.header is None:
            self.out.write(msgspec.json.encode({**line.fields, ERROR: _utf8(error)}).decode() + "\n")
            return
        columns = [i for i, name in enumerate(line.header) if name != ERROR]
        if self.writer is None:
            self.writer = csv.writer(self.out)
            self.writer.writerow([*(line.header[i] for i in columns), ERROR])
        cells = line.cells or [""] * len(line.header)
        self.writer.writerow([_utf8(c) for c in (*(cells[i] for i in columns), error)])


def _utf8(text: str) -> str:
    """A byte that is not UTF-8 as its escape (\\xff): the rejects file is UTF-8, and shows where to fix."""
    return text.encode(errors="surrogateescape").decode(errors="backslashreplace")


def _decode(line: Line, source: str) -> ActualInput:
    if line.fault is not None:
        raise Unreadable(line.fault)
    fields = {"source": source, **line.fields}
    if "external_ref" not in fields:  # a stable identity, so that a re-run is harmless
        fields["external_ref"] = f"line{line.number}-{hashlib.sha256(line.raw.encode()).hexdigest()[:16]}"
    return as_input(msgspec.convert(fields, RecordActual, strict=False))


async def import_actuals(
    cmd: Command, path: Path, rejects: Rejects, *, source: str = "import", batch_size: int = 1000
) -> Summary:
    """Import the file's rows in batches. Raises HeaderError, before storing anything, when its
    header is not one of actuals."""
    summary = Summary()
    batch: list[tuple[Line, ActualInput]] = []
    by_rows = is_workbook(path)  # a workbook is unzipped as it is read: its bytes say little
    with tqdm(
        desc=path.name,
        unit=" rows" if by_rows else "B",
        unit_scale=True,
        unit_divisor=1000 if by_rows else 1024,
        dynamic_ncols=True,
        disable=None,  # on a terminal only, not in logs and pipes
    ) as bar:

        def advance(done: int, total: int | None) -> None:
            bar.total = total
            bar.update(done - bar.n)

        for line in read_lines(path, advance, summary.skipped):
            try:
                batch.append((line, _decode(line, source)))
            except (msgspec.ValidationError, ValueError) as e:
                rejects.add(line, *field_and_message(str(e)))
                summary.rejected += 1
            if len(batch) >= batch_size:
                await _store(cmd, batch, rejects, summary)
                batch = []
        if batch:
            await _store(cmd, batch, rejects, summary)
    return summary


async def _store(cmd: Command, batch: list[tuple[Line, ActualInput]], rejects: Rejects, summary: Summary) -> None:
    """Store the rows that pass the rules; the others are rejected, each with its reason: a
    broken rule, or an external_ref that holds another actual already."""
    cmd = dataclasses.replace(cmd)  # each batch sees the org, catalog and closures as they are now
    catalog, org, periods = await cmd.catalog(), await cmd.org(), await cmd.periods()
    while batch:  # each round rejects one row at least, or stores the batch
        items, lines = [item for _, item in batch], [line.number for line, _ in batch]
        try:
            checked = check_actuals(cmd, catalog, org, periods, items, indexes=lines, reject_closed=True, noun="line")
            outcomes = await append_actuals(cmd, checked, lines)
        except BatchInvalidError as invalid:
            batch = _reject(batch, [(e.index, e.field, e.message) for e in invalid.errors], rejects, summary)
            continue
        except ActualResentError as resent:
            batch = _reject(batch, [(c.index, "external_ref", c.message) for c in resent.clashes], rejects, summary)
            continue
        duplicates = sum(o.duplicate for o in outcomes)
        summary.duplicates += duplicates
        summary.stored += len(outcomes) - duplicates
        return


def _reject(
    batch: list[tuple[Line, ActualInput]], faults: list[tuple[int, str | None, str]], rejects: Rejects, summary: Summary
) -> list[tuple[Line, ActualInput]]:
    """Write the faulty rows (each by its line number) to the rejects file; the rest of the batch."""
    by_number = {line.number: line for line, _ in batch}
    for number, field, reason in faults:
        rejects.add(by_number[number], field, reason)
    bad = {number for number, _, _ in faults}
    summary.rejected += len(bad)
    return [(line, item) for line, item in batch if line.number not in bad]
