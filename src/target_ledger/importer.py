"""Import actuals from CSV or JSON Lines, streaming, in batches; bad rows go to a rejects file.

Each row's identity is its source and external reference (or, without one, its line
number and content), so re-running an interrupted import stores nothing twice.
"""

import csv
import dataclasses
import hashlib
from collections.abc import Iterator
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


@dataclass(frozen=True)
class Line:
    number: int
    raw: str
    fields: dict[str, Any]


def read_lines(path: Path) -> Iterator[Line]:
    """Rows one at a time: CSV (header row; `scope.<dimension>` columns) or JSON Lines."""
    with path.open(newline="", encoding="utf-8") as f:
        if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
            for number, raw in enumerate(f, start=1):
                if raw.strip():
                    yield Line(number, raw.rstrip("\n"), _json_fields(raw))
            return
        reader = csv.DictReader(f)
        for row in reader:
            scope = {k[6:]: v for k, v in row.items() if k and k.startswith("scope.") and v}
            fields: dict[str, Any] = {k: v for k, v in row.items() if k and not k.startswith("scope.") and v != ""}
            yield Line(reader.line_num, ",".join(v or "" for v in row.values()), {**fields, "scope": scope})


def _json_fields(raw: str) -> dict[str, Any]:
    try:
        decoded = msgspec.json.decode(raw)
    except msgspec.DecodeError as e:
        return {"__error__": f"not JSON: {e}"}
    return decoded if isinstance(decoded, dict) else {"__error__": "a line must hold one JSON object"}


class Rejects:
    """A CSV naming each rejected row: its line, the field at fault, why, and the row itself."""

    def __init__(self, out: TextIO) -> None:
        self.writer = csv.writer(out)
        self.writer.writerow(["line", "field", "reason", "row"])

    def add(self, line: Line, field: str | None, reason: str) -> None:
        self.writer.writerow([line.number, field or "", reason, line.raw])


def _decode(line: Line, source: str) -> ActualInput:
    if "__error__" in line.fields:
        raise ValueError(line.fields["__error__"])
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
        try:
            actuals = check_actuals(cmd, catalog, org, periods, [item for _, item in batch], reject_closed=True)
            outcomes = await append_actuals(cmd, actuals)
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
    """Write the faulty rows to the rejects file; the rest of the batch."""
    for index, field, reason in faults:
        rejects.add(batch[index][0], field, reason)
    bad = {index for index, _, _ in faults}
    summary.rejected += len(bad)
    return [row for i, row in enumerate(batch) if i not in bad]
