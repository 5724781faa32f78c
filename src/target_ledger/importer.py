"""Import actuals from CSV or JSON Lines, streaming, in batches; bad rows go to a rejects file.

Each row's identity is its source and external reference (or, without one, its line
number and content), so re-running an interrupted import stores nothing twice.
"""

import csv
import dataclasses
import functools
import hashlib
from collections.abc import Callable, Iterator
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


@dataclass
class Summary:
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0


JSON_LINES = (".jsonl", ".ndjson", ".json")


class Unreadable(ValueError):
    """Why a line of the file cannot become a row."""


@dataclass(frozen=True)
class Line:
    number: int  # the file line the row starts on
    raw: str  # as in the file, without its line ending; bytes that are not UTF-8 as lone surrogates
    fields: dict[str, Any]
    fault: str | None = None  # why it cannot become a row


def read_lines(path: Path) -> Iterator[Line]:
    """Rows one at a time: CSV (header row; `scope.<dimension>` columns) or JSON Lines. A line that
    cannot become a row (not UTF-8, not CSV or JSON, another field count than the header) comes
    with its fault, and the reading goes on."""
    # surrogateescape: a byte that is not UTF-8 costs its line, not the file; utf-8-sig drops the
    # byte-order mark spreadsheets write, which would otherwise rename the first column.
    with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as f:
        records = _json_records(f) if path.suffix.lower() in JSON_LINES else _csv_records(f)
        for number, raw, parse in records:
            yield _line(number, raw.rstrip("\r\n"), parse)


Parse = Callable[[], dict[str, Any]]  # a record's fields, or Unreadable


def _line(number: int, raw: str, parse: Parse) -> Line:
    """The one place deciding whether a line of the file is a row, and if not, why."""
    try:
        raw.encode()
    except UnicodeEncodeError:
        return Line(number, raw, {}, "not valid UTF-8")
    try:
        return Line(number, raw, parse())
    except Unreadable as e:
        return Line(number, raw, {}, str(e))


def _json_records(f: TextIO) -> Iterator[tuple[int, str, Parse]]:
    for number, raw in enumerate(f, start=1):
        if raw.strip():
            yield number, raw, functools.partial(_json_object, raw)


def _json_object(raw: str) -> dict[str, Any]:
    try:
        decoded = msgspec.json.decode(raw)
    except msgspec.DecodeError as e:
        raise Unreadable(f"not JSON: {e}") from None
    except RecursionError:
        raise Unreadable("not JSON: nested too deep") from None
    if not isinstance(decoded, dict):
        raise Unreadable("a line must hold one JSON object")
    return decoded


def _csv_records(f: TextIO) -> Iterator[tuple[int, str, Parse]]:
    taken: list[tuple[int, str]] = []  # the file lines of the record being read (a quoted value may span several)

    def file_lines() -> Iterator[str]:
        for number, text in enumerate(f, start=1):
            taken.append((number, text))
            yield text

    reader = csv.reader(file_lines())
    header: list[str] | None = None
    while True:
        try:
            values, error = next(reader), None
        except StopIteration:
            return
        except csv.Error as e:  # e.g. a value over the field size limit; the reader goes on at the next line
            values, error = [], f"not CSV: {e}"
        number, raw = taken[0][0], "".join(text for _, text in taken)
        taken.clear()
        if not values and not error:
            continue  # a blank line
        if header is None:
            header = values  # one that is not CSV leaves none: each row is then rejected for its field count
        else:
            yield number, raw, functools.partial(_csv_fields, header, values, error)


def _csv_fields(header: list[str], values: list[str], error: str | None) -> dict[str, Any]:
    if error:
        raise Unreadable(error)
    if len(values) != len(header):
        raise Unreadable(f"{len(values)} fields, the header has {len(header)}")
    row = {k: v for k, v in zip(header, values, strict=True) if k}  # a column without a name is ignored
    scope = {k[6:]: v for k, v in row.items() if k.startswith("scope.") and v}
    return {**{k: v for k, v in row.items() if not k.startswith("scope.") and v != ""}, "scope": scope}


ROW_SHOWN = 4096  # characters of a rejected row written back: any CSV reader can read the rejects file


class Rejects:
    """A CSV naming each rejected row: its line, the field at fault, why, and the row itself."""

    def __init__(self, out: TextIO) -> None:
        self.writer = csv.writer(out)
        self.writer.writerow(["line", "field", "reason", "row"])

    def add(self, line: Line, field: str | None, reason: str) -> None:
        row = line.raw if len(line.raw) <= ROW_SHOWN else f"{line.raw[:ROW_SHOWN]}… ({len(line.raw)} characters)"
        cells = [str(line.number), field or "", reason, row]
        # A byte that is not UTF-8 is written as its escape (\\xff), so that the rejects file is UTF-8.
        self.writer.writerow([c.encode(errors="surrogateescape").decode(errors="backslashreplace") for c in cells])


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
    summary = Summary()
    batch: list[tuple[Line, ActualInput]] = []
    with tqdm(unit=" rows", desc=path.name, disable=None) as progress:
        for line in read_lines(path):
            try:
                batch.append((line, _decode(line, source)))
            except (msgspec.ValidationError, ValueError) as e:
                rejects.add(line, *field_and_message(str(e)))
                summary.rejected += 1
            if len(batch) >= batch_size:
                await _store(cmd, batch, rejects, summary)
                progress.update(len(batch))
                batch = []
        if batch:
            await _store(cmd, batch, rejects, summary)
            progress.update(len(batch))
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
