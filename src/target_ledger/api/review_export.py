"""The historical review as a spreadsheet (CSV) and as a printable HTML report."""

from html import escape
from typing import Any

from target_ledger.api import spreadsheet

COLUMNS = [
    "node",
    "metric",
    "scope",
    "original",
    "final",
    "adjustments",
    "actual",
    "attainment_pct",
    "gap",
    "alerts",
    "corrective_actions",
    "previous_period",
    "previous_final",
    "previous_actual",
    "previous_attainment_pct",
    "last_year_period",
    "last_year_final",
    "last_year_actual",
    "last_year_attainment_pct",
]


def _cells(row: dict[str, Any]) -> list[Any]:
    def compared(side: str) -> list[Any]:
        other = row[side] or {}
        return [other.get(k) for k in ("period", "final", "actual", "attainment_pct")]

    adjustments = "; ".join(f"{a['old_value']}→{a['new_value']} ({a['reason_category']})" for a in row["adjustments"])
    return [
        row["node"],
        row["metric"],
        ";".join(f"{k}={v}" for k, v in row["scope"].items()),
        row["original"],
        row["final"],
        adjustments,
        row["actual"],
        row["attainment_pct"],
        row["gap"],
        len(row["alerts"]),
        len(row["corrective_actions"]),
        *compared("previous"),
        *compared("last_year"),
    ]


def to_csv(report: dict[str, Any]) -> str:
    return spreadsheet.to_csv(COLUMNS, (_cells(row) for row in report["rows"]))


def _list(title: str, items: list[str]) -> str:
    return f"<h3>{escape(title)}</h3><ul>{''.join(f'<li>{escape(i)}</li>' for i in items) or '<li>—</li>'}</ul>"


def to_html(report: dict[str, Any]) -> str:
    """One self-contained page: the figures table, then per row its alerts and actions, then the review."""
    head = "".join(f"<th>{escape(c.replace('_', ' '))}</th>" for c in COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape('' if c is None else str(c))}</td>" for c in _cells(r)) + "</tr>"
        for r in report["rows"]
    )
    details = ""
    for r in report["rows"]:
        alerts = [f"{a['rule']}: {a['message']} ({a['status']})" for a in r["alerts"]]
        actions = [
            f"{a['plan']} — {a['owner']}, due {a['due']}, {a['status']}"
            f"{': ' + a['outcome'] if a['outcome'] else ''}; attainment {a['attainment_before']} → "
            f"{a['attainment_after']}, pace {a['pace_before']} → {a['pace_after']}"
            for a in r["corrective_actions"]
        ]
        details += f"<h2>{escape(r['node'])} · {escape(r['metric'])}</h2>"
        details += _list("Alerts raised", alerts) + _list("Corrective actions", actions)
    review = report["review"]
    notes = "<p>No review recorded yet.</p>"
    if review:
        notes = f"<p>{escape(review['summary'])}</p><p>Reviewer: {escape(review['reviewer'])}</p>" + "".join(
            _list(title, review[key])
            for title, key in (
                ("Success factors", "success_factors"),
                ("Shortfall causes", "shortfall_causes"),
                ("Lessons", "lessons"),
                ("Next actions", "next_actions"),
            )
        )
    title = f"Review of {report['period']} — {report['node']}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;font-size:90%}}
td,th{{border:1px solid #999;padding:.2em .4em}}@media print{{body{{margin:0}}}}</style></head>
<body><h1>{escape(title)}</h1><p>{report["starts_on"]} to {report["ends_on"]},
{"closed" if report["closed"] else "not closed"}</p>
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
{details}<h2>Review</h2>{notes}</body></html>
"""
