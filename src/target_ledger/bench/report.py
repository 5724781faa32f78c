"""BENCHMARKS.md: the machine, the command, and a row per figure with its baseline and ratio."""

import os
import platform
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from target_ledger.bench.measure import Row


def machine(postgres_version: str) -> list[str]:
    """CPU, cores, RAM, PostgreSQL and Python: what a reader needs to weigh the figures."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores",
        f"- RAM: {ram:.0f} GiB",
        f"- OS: {platform.system()} {platform.release()}",
        f"- PostgreSQL: {postgres_version}",
        f"- Python: {platform.python_version()} ({platform.python_implementation()})",
        f"- commit: {_commit()}",
    ]


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def table(rows: Sequence[Row]) -> list[str]:
    lines = [
        "| figure | this service | baseline | baseline figure | ratio | goal | met? |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.figure} | {row.service.text()} | {row.baseline_name} | {row.baseline.text()} "
            f"| {row.ratio:.2f} | {row.goal.text(row.service.unit)} | {'yes' if row.met else '**no**'} |"
        )
    return lines


def render(rows: Sequence[Row], *, command: str, postgres_version: str, seconds: float, notes: Sequence[str]) -> str:
    """The run's section of BENCHMARKS.md."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## Run of {when} ({seconds / 60:.1f} minutes)",
        "",
        "```",
        command,
        "```",
        "",
        *machine(postgres_version),
        "",
        "Each figure is the median of the repetitions, with the min\u2013max in brackets; the ratio is",
        "service ÷ baseline of the medians (for latencies lower is better, so the goal bounds it from above).",
        "",
        *table(rows),
    ]
    notes_lines = [f"- {n}" for n in notes]
    for row in rows:
        notes_lines += [f"- {row.figure}: {n}" for n in row.notes]
    if notes_lines:
        lines += ["", *notes_lines]
    return "\n".join(lines) + "\n"


HEADER = """# Benchmarks

How fast the ledger is against its peers and this machine's limits, each figure beside its
baseline measured in the same run. Written by `target-ledger bench`; each run replaces only
its own section (between the `bench run` markers), so the notes below survive.
"""


def write(path: Path, section: str, text: str) -> None:
    """Put a run's text into its named section of the file, keeping everything else."""
    start, end = f"<!-- bench run: {section} -->", f"<!-- end of bench run: {section} -->"
    block = f"{start}\n{text}{end}\n"
    current = path.read_text(encoding="utf-8") if path.exists() else HEADER
    if start in current and end in current:
        before, rest = current.split(start, 1)
        updated = before + block + rest.split(end, 1)[1].lstrip("\n")
    else:
        updated = current.rstrip("\n") + "\n\n" + block
    path.write_text(updated, encoding="utf-8")
