"""Figures of features added since the bench was written, each beside a baseline from the same run:
a two-axis split and its adjustment, a plan import, `GET /v1/actuals` at depth and the console's
team dashboard."""

import contextlib
import re
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import asyncpg

from target_ledger.api.auth import issue_token
from target_ledger.bench import cpu, servers
from target_ledger.bench.http import _batch, _json, attainment_read, current_quarter, seed_org
from target_ledger.bench.load import Client, Request
from target_ledger.bench.measure import Figure, Goal, Row
from target_ledger.bench.memory import import_file, memory_rows
from target_ledger.bench.scratch import scratch_database, settings_for
from target_ledger.bench.settle import settle
from target_ledger.console.dashboard import READ_MODELS

if TYPE_CHECKING:
    from target_ledger.bench import Sizes

MANAGER = "north-1"  # manages the team `north` (seed_org)
UNIT = "plan"  # the unit of the people whose targets are split and imported


@dataclass(frozen=True)
class Service:
    """A running service: its base URL, its environment, and an admin client."""

    base: str
    env: dict[str, str]
    admin: Client

    def client(self, subject: str, role: str | None = None) -> Client:
        return Client(self.base, {"Authorization": f"Bearer {self.token(subject, role)}"})

    def token(self, subject: str, role: str | None = None) -> str:
        return issue_token(self.env["TL_JWT_SECRET"], subject, role)


@contextlib.asynccontextmanager
async def service(url: str, data_dir: Path) -> AsyncIterator[Service]:
    """The service with its projections in process, an org seeded (seed_org) and a unit of people."""
    secret = settings_for(url, str(data_dir)).secret()
    env = {"DATABASE_URL": url, "TL_JWT_SECRET": secret, "TL_DATA_DIR": str(data_dir), "TL_RUN_PROJECTIONS": "1"}
    with servers.uvicorn(servers.SERVICE, env, "/health/live") as base:
        async with Client(base, {"Authorization": f"Bearer {issue_token(secret, 'bench', 'admin')}"}) as admin:
            await seed_org(admin)
            yield Service(base, env, admin)


async def add_people(admin: Client, people: int, products: int) -> list[str]:
    """A unit `plan` under acme with `people` people (its first one manages it), and `products` products."""
    await admin.json("POST", "/v1/org/units", _json({"node": UNIT, "kind": "team", "name": "Plan", "parent": "acme"}))
    names = [f"{UNIT}-{n}" for n in range(1, people + 1)]
    for person in names:
        body = {"person": person, "name": person, "unit": UNIT, "effective": "2020-01-01"}
        await admin.json("POST", "/v1/org/people", _json(body))
    await admin.json("POST", f"/v1/org/units/{UNIT}/manager", _json({"manager": names[0], "effective": "2020-01-01"}))
    await admin.json("POST", "/v1/dimensions", _json({"name": "product", "values": product_names(products)}))
    return names


def product_names(count: int) -> list[str]:
    return [f"P{n:03d}" for n in range(count)]


def _year() -> str:
    return str(datetime.now(UTC).year)


async def _split_seconds(admin: Client, person: str, metric: str, body: dict) -> tuple[str, float]:
    """Set the person's yearly target, then time its split: the target's id and seconds."""
    target = await admin.json("POST", "/v1/targets", _json({"node": person, "metric": metric, "period": _year(),
                                                             "value": "1200000", "rationale": "plan"}))  # fmt: skip
    assert isinstance(target, dict)
    started = time.perf_counter()
    await admin.json("POST", f"/v1/targets/{target['id']}/decomposition", _json(body))
    return str(target["id"]), time.perf_counter() - started


async def _adjust_seconds(service: Service, target_id: str, approver: Client) -> tuple[int, float]:
    """Time a 5 % raise of the target asked by the admin and approved by the unit's manager: the
    number of targets it changed and seconds."""
    started = time.perf_counter()
    asked = await service.admin.json("POST", f"/v1/targets/{target_id}/adjustments", _json({
        "new_value": "1260000", "reason_category": "market_change", "justification": "bench"}))  # fmt: skip
    assert isinstance(asked, dict)
    await approver.json("POST", f"/v1/adjustments/{asked['id']}/approve")
    return len(asked["changes"]), time.perf_counter() - started


async def matrix_rows(service: Service, people: list[str], products: int, adjustments: int) -> list[Row]:
    """Each person's yearly revenue split by month x product at once (12 x `products` cells), beside a
    one-axis split of their yearly gross profit by month; then `adjustments` of each through approval."""
    by_month = {"axis": "period", "into": "month", "method": "even"}
    cross = {**by_month, "cross": {"axis": "dimension", "dimension": "product", "method": "even",
                                   "parts": product_names(products)}}  # fmt: skip
    cells, parts = 12 * products, 12
    matrix: list[tuple[str, float]] = []
    plain: list[tuple[str, float]] = []
    for person in people:  # alternating, so a drift of the machine weighs on both alike
        matrix.append(await _split_seconds(service.admin, person, "revenue", cross))
        plain.append(await _split_seconds(service.admin, person, "gross_profit", by_month))
    changed: dict[str, list[tuple[int, float]]] = {"matrix": [], "plain": []}
    async with service.client(people[0]) as approver:
        # people[0] manages the unit, so their own targets need an approver above it: the others'.
        for (matrix_id, _), (plain_id, _) in list(zip(matrix, plain, strict=True))[1 : adjustments + 1]:
            changed["matrix"].append(await _adjust_seconds(service, matrix_id, approver))
            changed["plain"].append(await _adjust_seconds(service, plain_id, approver))

    def per_second(samples: list[tuple[int, float]]) -> Figure:
        return Figure(tuple(n / s for n, s in samples), "targets/s")

    def ms(samples: list[tuple[int, float]]) -> str:
        return f"{sorted(s for _, s in samples)[len(samples) // 2] * 1000:,.0f} ms"

    split_m, split_p = [(cells, s) for _, s in matrix], [(parts, s) for _, s in plain]
    per_target = Goal("ratio", at_least=1)
    return [
        Row(
            f"two-axis split, 12 months x {products} products of a yearly target (`cross`)",
            per_second(split_m),
            "one-axis split of a yearly target by month",
            per_second(split_p),
            per_target,
            [
                f"cells per second, each split's cells ÷ its time, {len(people)} people; the baseline's parts per "
                f"second likewise; a split takes {ms(split_m)} (matrix, {cells:,} cells and {12 + products} "
                f"margins) against {ms(split_p)} (12 months), median",
                "goal: a cell costs no more than a part of a one-axis split",
            ],
        ),
        Row(
            f"adjustment of a 12 x {products} matrix through its approval",
            per_second(changed["matrix"]),
            "the same adjustment of a target split by month",
            per_second(changed["plain"]),
            per_target,
            [
                f"targets re-allocated per second (request + approval; {changed['matrix'][0][0]:,} targets changed "
                f"against {changed['plain'][0][0]}), {len(changed['matrix'])} adjustments each; "
                f"median {ms(changed['matrix'])} against {ms(changed['plain'])}",
            ],
        ),
    ]


def plan_csv(path: Path, people: list[str], targets: int, metric: str, year: str) -> int:
    """A plan of `targets` targets: rows of a person's yearly target for a product, split into its
    four quarters (5 targets a row). Answers the number of targets."""
    rows = max(1, targets // 5)
    quarters = [f"{year}-Q{q}" for q in range(1, 5)]
    products = product_names(rows // len(people) + 1)
    with path.open("w", encoding="utf-8") as f:
        f.write(",".join(["node", "metric", "period", "scope", "target", *quarters]) + "\n")
        for n in range(rows):
            person, product = people[n % len(people)], products[n // len(people)]
            f.write(f"{person},{metric},{year},product={product},4000,1000,1000,1000,1000\n")
    return rows * 5


async def plan_rows(service: Service, people: list[str], targets: int, data_dir: Path) -> list[Row]:
    """`target-ledger import plan` of `targets` targets beside the same import of a tenth as many."""
    year = str(int(_year()) + 1)
    figures = {}
    for name, count, metric in (("full", targets, "collections"), ("tenth", max(5, targets // 10), "orders")):
        path = data_dir / f"plan-{name}.csv"
        made = plan_csv(path, people, count, metric, year)
        run = import_file(["import", "plan", str(path)], service.env)
        figures[name] = (made, run)
    full, tenth = figures["full"], figures["tenth"]
    return [
        Row(
            f"plan import of {full[0]:,} targets, `target-ledger import plan` (CSV)",
            Figure((full[0] / full[1].seconds,), "targets/s"),
            f"the same import of {tenth[0]:,}",
            Figure((tenth[0] / tenth[1].seconds,), "targets/s"),
            Goal("ratio", at_least=0.8),
            [
                f"rows of a yearly target per person and product split into quarters (5 targets a row); "
                f"{full[1].seconds:.1f} s against {tenth[1].seconds:.1f} s; peak RSS of the command "
                f"{full[1].peak_mib:,.0f} MiB against {tenth[1].peak_mib:,.0f} MiB",
                "goal: it scales linearly (a ratio near 1)",
            ],
        )
    ]


async def _settled(url: str, everything: bool = False) -> None:
    """Wait for the read models the list and the dashboard read (attainment, alerts, actions), or for
    every one: the public events of a large ledger take minutes to catch up."""
    conn = await asyncpg.connect(url)
    try:
        await settle(conn, names=None if everything else READ_MODELS)
    finally:
        await conn.close()


async def page_rows(service: Service, url: str, actuals: int, pages: int) -> list[Row]:
    """Walk `GET /v1/actuals?limit=500` through `actuals` actuals by its cursor; the last pages'
    latency beside the first pages'."""
    tag = f"page-{time.monotonic_ns()}"
    async with service.client("crm", "integration") as crm:
        await crm.drive(_batch(tag), count=max(1, actuals // 1000), concurrency=2, seconds=3600, ok=201)
        await _settled(url)  # the list reads attainment's read model
        cursors: list[str | None] = [None]  # the cursor of each page, the first page's none
        while cursor := (await _page(service.admin, cursors[-1]))[1]:
            cursors.append(cursor)
    # The first and the last pages in turn, so that a drift of the machine (the projections still
    # at work, another process) weighs on both alike.
    shown = min(pages, max(1, len(cursors) // 2))
    first: list[float] = []
    last: list[float] = []
    for early, late in zip(cursors[:shown], cursors[-shown:], strict=True):
        first.append((await _page(service.admin, early))[0])
        last.append((await _page(service.admin, late))[0])
    return [
        Row(
            f"`GET /v1/actuals` page of 500 at depth, the last pages of {actuals:,} actuals",
            Figure(tuple(last), "ms"),
            "the first pages",
            Figure(tuple(first), "ms"),
            Goal("ratio", at_most=1.5),
            [
                f"{shown} pages each, read in turn by one client, of the {len(cursors)} pages a walk by the keyset "
                "cursor found (admin: everyone's)"
            ],
        )
    ]


async def _page(admin: Client, cursor: str | None) -> tuple[float, str | None]:
    """One page of 500 actuals: milliseconds, and the next page's cursor."""
    started = time.perf_counter()
    page = await admin.json("GET", "/v1/actuals?limit=500" + (f"&cursor={cursor}" if cursor else ""))
    assert isinstance(page, dict)
    return (time.perf_counter() - started) * 1000, page["next"]


class ConsoleClient(Client):
    """A browser's session: cookies kept (loopback is an IP address, so the jar must accept them)."""

    async def __aenter__(self) -> "ConsoleClient":
        self.session = aiohttp.ClientSession(self.base, cookie_jar=aiohttp.CookieJar(unsafe=True))
        return self

    async def sign_in(self, token: str) -> None:
        async with self.session.get("/console/sign-in") as page:
            found = re.search(r'name="_csrf_token" value="([^"]+)"', await page.text())
        assert found, "no CSRF token on the sign-in page"
        form = {"token": token, "_csrf_token": found[1]}
        async with self.session.post("/console/sign-in", data=form, allow_redirects=False) as answer:
            if answer.status != 303:
                raise RuntimeError(f"sign-in: {answer.status} {(await answer.text())[:300]}")


async def dashboard_rows(service: Service, requests: int, concurrency: int, seconds: float) -> list[Row]:
    """The team dashboard of `north` as its manager, beside `GET /v1/attainment` of the same team,
    each with its CPU per request (the server, PostgreSQL, this process)."""
    load: dict = {"count": requests, "concurrency": concurrency, "seconds": seconds}
    query = f"node=north&metric=revenue&period={current_quarter()}&breakdown=children"
    conn = await asyncpg.connect(service.env["DATABASE_URL"])
    async with ConsoleClient(service.base) as browser, service.client(MANAGER) as api:
        await browser.sign_in(service.token(MANAGER))
        meter = await cpu.Meter(conn, getattr(service.base, "pid", None)).start()
        page = await browser.drive(lambda n: Request("GET", f"/console/dashboard?{query}"), **load)
        page_cost = await meter.spent(page.requests)
        meter = await meter.start()
        read = await api.drive(lambda n: attainment_read(), **load)
        read_cost = await meter.spent(read.requests)
    await conn.close()
    return [
        Row(
            "console: team dashboard, `GET /console/dashboard` as the team's manager",
            Figure((page.rate,), "requests/s"),
            "`GET /v1/attainment` of the same team, breakdown=children",
            Figure((read.rate,), "requests/s"),
            Goal("ratio", at_least=0.5),
            [
                f"{concurrency} clients; page p50 {page.p(50):.1f} ms, p99 {page.p(99):.1f} ms; "
                f"API p50 {read.p(50):.1f} ms, p99 {read.p(99):.1f} ms",
                "the page reads attainment too, and adds the chart, alerts, actions and leaderboard",
                "the page's " + cpu.budget(page_cost, "request", page.rate, goal_rate=0.5 * read.rate),
                "the API read's " + cpu.budget(read_cost, "request", read.rate),
            ],
        )
    ]


@contextlib.asynccontextmanager
async def workspace(server_url: str, purpose: str) -> AsyncIterator[tuple[str, Path]]:
    """A scratch database and a temporary directory, both gone afterwards."""
    async with scratch_database(server_url, purpose) as db:
        with tempfile.TemporaryDirectory(prefix=f"tl-bench-{purpose}-") as tmp:
            yield db, Path(tmp)


async def feature_groups(server_url: str, sizes: "Sizes", only: set[str]) -> list[Row]:
    """The groups `features` and `memory`, as far as `only` names them."""
    rows: list[Row] = []
    if "features" in only:
        async with workspace(server_url, "features") as (db, tmp):
            rows += await feature_rows(db, tmp, sizes)
    if "memory" in only:
        async with workspace(server_url, "memory") as (db, tmp):
            rows += await memory_rows(db, tmp, sizes.memory_rows)
    return rows


async def feature_rows(url: str, data_dir: Path, sizes: "Sizes") -> list[Row]:
    """Every figure of this module, on one seeded ledger."""
    async with service(url, data_dir) as running:
        # The dashboard first, on seed_org's teams with a few thousand actuals and nothing left to project:
        # after the large imports below the projections take minutes to catch up, in the same process.
        async with running.client("crm", "integration") as crm:
            await crm.drive(_batch("dashboard"), count=3, concurrency=1, seconds=3600, ok=201)
        await _settled(url, everything=True)
        rows = await dashboard_rows(running, sizes.requests, sizes.http_concurrency, sizes.seconds)
        people, products = sizes.matrix_people, sizes.matrix_products
        names = await add_people(running.admin, people, max(products, sizes.plan_targets // 5 // people + 1))
        rows += await matrix_rows(running, names, products, adjustments=5)
        rows += await plan_rows(running, names, sizes.plan_targets, data_dir)
        rows += await page_rows(running, url, sizes.page_actuals, pages=20)
    return rows
