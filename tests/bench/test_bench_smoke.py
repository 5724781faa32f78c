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
    rebuild_events=1000,
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
    # The file holds the run in its section, and a second run replaces it rather than adding one.
    assert output.read_text().count("<!-- bench run: default -->") == 1
    run(server_url, TINY, output, {"appends"})
    assert output.read_text().count("<!-- bench run: default -->") == 1
