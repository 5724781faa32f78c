"""The bench's groups `features` and `memory` at tiny sizes: every figure comes out beside its baseline."""

import dataclasses
import re
from pathlib import Path

from target_ledger.bench import run
from tests.bench.test_bench_smoke import TINY

FIGURES = [
    "two-axis split, 12 months x 3 products",
    "adjustment of a 12 x 3 matrix",
    "plan import of 100 targets",
    "`GET /v1/actuals` page of 500 at depth",
    "console: team dashboard",
    "memory: peak RSS of `target-ledger import actuals` of 2,000 rows",
]
SMALL = dataclasses.replace(
    TINY, matrix_people=3, matrix_products=3, plan_targets=100, page_actuals=2000, memory_rows=(500, 2000)
)


def test_every_feature_figure_has_a_baseline_a_ratio_and_memory_its_peak(server_url: str, tmp_path: Path) -> None:
    text = run(server_url, SMALL, tmp_path / "BENCHMARKS.md", {"features", "memory"}, section="features")
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| figure")]
    assert len(rows) == len(FIGURES), text
    for figure in FIGURES:
        row = next((r for r in rows if r.startswith(f"| {figure}")), None)
        assert row is not None, f"no row for {figure}:\n{text}"
        assert re.fullmatch(r"\d+\.\d\d", row.split("|")[5].strip()), row
    # The import's peak RSS is the command's own (a Python process with the service loaded: tens of MiB).
    peak = re.search(r"peak RSS ([\d,]+) MiB at 2,000 rows against ([\d,]+) MiB at 500", text)
    assert peak and all(30 < int(p.replace(",", "")) < 10_000 for p in peak.groups()), text
    # The deep page walk went past the first page: the actuals were listed after the projections settled.
    pages = re.search(r"of the (\d+) pages", text)
    assert pages and int(pages[1]) >= 4, text
    # The dashboard says where its time went, from the same run: the page's CPU per request by
    # process beside what half the API read's rate would allow, and the API read's own.
    assert re.search(
        r"the page's CPU per request: server [\d,]+, PostgreSQL [\d,]+, bench process [\d,]+ µs \(total [\d,]+\); "
        r"at this cost \d+ cores allow at most [\d,]+ requests/s .*?the goal, [\d,]+/s, allows at most",
        text,
    ), text
    assert "the API read's CPU per request: server " in text, text
