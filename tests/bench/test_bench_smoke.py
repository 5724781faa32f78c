"""The bench at tiny sizes: every figure comes out, beside its baseline, with a ratio."""

import re
from pathlib import Path

from target_ledger.bench import Sizes, run

FIGURES = [
    "concurrent appends",
    "batched appends",
    "HTTP: record one actual",
    "HTTP: batch import",
    "HTTP: read attainment, `GET",
    "HTTP: read attainment, p99",
    "projection lag",
    "rebuild",
    "growth",
]
TINY = Sizes(
    repetitions=1,
    writers=2,
    appends=40,
    batches=1,
    seconds=2,
    requests=30,
    http_concurrency=2,
    import_batches=1,
    lag_rate=100,
    lag_seconds=0.5,
    rebuild_events=(1000,),
    growth=(500, 1000),
)


def test_every_figure_has_a_baseline_and_a_ratio(server_url: str, tmp_path: Path) -> None:
    # One run of every group at tiny sizes, written into a fresh report file.
    output = tmp_path / "BENCHMARKS.md"
    everything = {"appends", "http", "lag", "rebuild", "growth"}
    text = run(server_url, TINY, output, everything)
    # Each figure has a table row whose ratio column is a number.
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| figure")]
    for figure in FIGURES:
        row = next((r for r in rows if r.startswith(f"| {figure}")), None)
        assert row is not None, f"no row for {figure}:\n{text}"
        ratio = row.split("|")[5].strip()
        assert re.fullmatch(r"\d+\.\d\d", ratio), row
    # Each missed-goal row says where its time went, from the same run: CPU per item by process,
    # the rate the cores allow at that cost (a million µs per core over the total µs) and what the goal allows.
    for figure, unit in [("HTTP: record one actual, `POST", "request"), ("HTTP: batch import", "actual"),
                         ("HTTP: read attainment, `GET", "request"), ("rebuild", "event")]:  # fmt: skip
        notes = text[text.index(f"- {figure}") :]
        spent = re.search(
            rf"CPU per {unit}: (?:server ([\d,]+), )?PostgreSQL ([\d,]+), bench process ([\d,]+) µs "
            rf"\(total ([\d,]+)\); at this cost (\d+) cores allow at most ([\d,]+) {unit}s/s .*? the goal, "
            rf"[\d,]+/s, allows at most [\d,]+ µs per {unit} in all",
            notes,
        )
        assert spent is not None, notes[:2000]
        # The server's share for the HTTP rows; a rebuild runs in the bench process itself.
        assert (spent.group(1) is not None) == (unit != "event"), spent.group(0)
        server, postgres, bench, total, cores, bound = (int((g or "0").replace(",", "")) for g in spent.groups())
        assert abs(server + postgres + bench - total) <= 2, spent.group(0)
        assert abs(bound - cores * 1e6 / total) <= bound * 0.01 + 1, spent.group(0)
    # The growth rows state the bench process's peak RSS once it had projected the ledger that far.
    assert re.search(r"growth: .*: the bench process ran every projection .*; its peak RSS by then: [\d,]+ MB", text)
    # The file holds the run in its section, and a second run replaces it rather than adding one.
    assert output.read_text().count("<!-- bench run: default -->") == 1
    run(server_url, TINY, output, {"appends"})
    assert output.read_text().count("<!-- bench run: default -->") == 1
