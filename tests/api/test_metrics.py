"""GET /metrics: requests counted per route template and status, and the ledger's own figures
(each projection's lag, the database being there) read from PostgreSQL at scrape time."""

import asyncio
import uuid
from urllib.parse import urlsplit

import asyncpg
import httpx
import msgspec
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from projections.rebuild import rebuild_lock_key
from target_ledger.app import create_app
from tests.api import served
from tests.api.live import until

ADMIN = ("root", "admin")


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The values of metric `name` in a scrape, by their sorted labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


async def scrape(client: AsyncTestClient) -> str:
    r = await client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return r.text


async def test_requests_are_counted_per_route_template_and_status_never_per_raw_path(client, auth) -> None:
    counted = "target_ledger_http_requests_total"
    key = (("method", "GET"), ("route", "/v1/targets/{target_id}"), ("status", "404"))
    before = samples(await scrape(client), counted).get(key, 0)
    # Two reads of targets that do not exist, each at its own path.
    for _ in range(2):
        assert (await client.get(f"/v1/targets/{uuid.uuid4()}", headers=auth(*ADMIN))).status_code == 404
    after = samples(await scrape(client), counted)
    # One series for the route, counting both; no label holds a raw path.
    assert after[key] == before + 2
    assert not [
        labels for labels in after if "/v1/targets/" in dict(labels)["route"] and "{" not in dict(labels)["route"]
    ]
    # A path no route takes is counted under one label, whatever the path.
    await client.get(f"/nowhere/{uuid.uuid4()}")
    assert samples(await scrape(client), counted)[(("method", "GET"), ("route", "unmatched"), ("status", "404"))] >= 1


async def test_a_projection_held_back_shows_its_lag_then_none_once_a_worker_caught_up(settings, auth) -> None:
    lag = "target_ledger_projection_lag_events"
    # An API process that does not run the projections (TL_RUN_PROJECTIONS=0), and no worker yet.
    async with AsyncTestClient(create_app(msgspec.structs.replace(settings, run_projections=False))) as api:
        r = await api.post(
            "/v1/org/units", json={"node": "acme", "kind": "company", "name": "Acme"}, headers=auth(*ADMIN)
        )
        assert r.status_code == 201, r.text
        text = await scrape(api)
        assert samples(text, lag)[(("projection", "attainment"),)] > 0
        assert samples(text, "target_ledger_projection_lag_seconds")[(("projection", "attainment"),)] >= 0
        assert samples(text, "target_ledger_events_head_position")[()] >= 1
        assert samples(text, "target_ledger_database_up")[()] == 1
        # A worker starts (another process's projections): the same scrape shows every lag gone.
        async with AsyncTestClient(create_app(settings)):

            async def caught_up() -> bool:
                return set(samples(await scrape(api), lag).values()) == {0}

            await until(caught_up, "every projection to catch up")
        assert samples(await scrape(api), "target_ledger_projection_lag_seconds")[(("projection", "attainment"),)] == 0


async def test_a_scrape_without_the_database_still_answers_with_the_process_metrics(settings, server_url) -> None:
    quiet = msgspec.structs.replace(settings, run_projections=False, run_webhooks=False)
    name = urlsplit(settings.database_url).path.lstrip("/")
    async with AsyncTestClient(create_app(quiet)) as client:
        # The database goes away (no new session, the open ones cut), as in an outage.
        admin = await asyncpg.connect(server_url)
        try:
            await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
            text = await scrape(client)
            ready = await client.get("/health/ready")
        finally:
            await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
            await admin.close()
    # The scrape says so, and keeps the process's own metrics; readiness says it as a problem.
    assert samples(text, "target_ledger_database_up")[()] == 0
    assert "target_ledger_http_requests_total" in text and "python_info" in text
    assert "target_ledger_projection_lag_events" not in text
    assert ready.status_code == 503 and ready.headers["retry-after"] and ready.json()["status"] == 503


async def test_two_api_processes_and_a_worker_on_one_database_each_answer_a_scrape(settings, auth, tmp_path) -> None:
    # The compose example's topology as processes: two APIs without projections, one worker.
    apart = {"TL_RUN_PROJECTIONS": "0"}
    first, second, worker = await asyncio.gather(
        served.serve(settings, tmp_path / "api-1.log", **apart),
        served.serve(settings, tmp_path / "api-2.log", **apart),
        served.start(settings, tmp_path / "project.log", "project"),
    )
    async with served.stopped_at_end(first, second, worker), httpx.AsyncClient() as http:
        # A command through the first API; the worker projects it.
        unit = {"node": "acme", "kind": "company", "name": "Acme"}
        assert (await http.post(f"{first.url}/v1/org/units", json=unit, headers=auth(*ADMIN))).status_code == 201

        async def caught_up() -> bool:
            scraped = (await http.get(f"{second.url}/metrics")).text
            return set(samples(scraped, "target_ledger_projection_lag_events").values()) == {0}

        await until(caught_up, "the worker to apply the command, as the second API's scrape sees it")
        one, two = [(await http.get(f"{api.url}/metrics")).text for api in (first, second)]
    # Each process counts its own requests; the ledger's figures are the same from both.
    created = (("method", "POST"), ("route", "/v1/org/units"), ("status", "201"))
    assert samples(one, "target_ledger_http_requests_total")[created] == 1
    assert created not in samples(two, "target_ledger_http_requests_total")
    head = "target_ledger_events_head_position"
    assert samples(one, head) == samples(two, head) and samples(one, head)[()] >= 1
    # The worker logs as the APIs do: JSON lines.
    assert any(line["event"] == "projecting" for line in worker.lines())


async def test_each_webhook_subscriptions_backlog_and_failures_and_each_relays_lag_are_scraped(settings, pool) -> None:
    # Three public events; a subscription delivered up to the first and failing twice in a row;
    # a relay that has published none.
    for seq in (1, 2, 3):
        await pool.execute(
            "INSERT INTO public_events (seq, id, type, nodes, position, envelope) VALUES ($1, $2, 't', '{}', $1, '{}')",
            seq,
            uuid.uuid4(),
        )
    hook = uuid.uuid4()
    await pool.execute(
        """INSERT INTO webhook_subscriptions (id, url, nodes, secret, owner, delivered, failures)
           VALUES ($1, 'https://receiver.example/hook', '{}', 'whsec_x', 'bi', 1, 2)""",
        hook,
    )
    await pool.execute("INSERT INTO relay_positions (name, seq) VALUES ('nats:TARGET_LEDGER', 0)")
    # Scraped from a process that delivers nothing (the receiver is not there) and projects nothing.
    quiet = msgspec.structs.replace(settings, run_projections=False, run_webhooks=False)
    async with AsyncTestClient(create_app(quiet)) as client:
        text = await scrape(client)
    subscription = (("status", "active"), ("subscription", str(hook)))
    assert samples(text, "target_ledger_webhook_backlog_events")[subscription] == 2
    assert samples(text, "target_ledger_webhook_failures")[subscription] == 2
    assert samples(text, "target_ledger_relay_lag_events")[(("relay", "nats:TARGET_LEDGER"),)] == 3


async def test_a_running_rebuild_and_the_schedulers_last_look_are_scraped_and_a_killed_rebuild_is_not(
    settings, pool
) -> None:
    # A rebuild of attainment half-way, alive (its session holds the rebuild's lock), and the
    # alert scheduler's last look and judgement.
    rebuilding = await asyncpg.connect(settings.database_url)
    await rebuilding.execute("SELECT pg_advisory_lock($1)", rebuild_lock_key("attainment"))
    await pool.execute(
        """INSERT INTO projection_rebuilds (name, started_at, updated_at, events_done, events_total)
           VALUES ('attainment', now() - interval '1 minute', now(), 500, 1000)"""
    )
    # A rebuild of targets whose process was killed: its row stays, its session and lock are gone.
    await pool.execute(
        """INSERT INTO projection_rebuilds (name, started_at, updated_at, events_done, events_total)
           VALUES ('targets', now() - interval '1 minute', now(), 200, 1000)"""
    )
    await pool.execute(
        """INSERT INTO scheduler_looks (scheduler, looked_at, judged_day, judged_at)
           VALUES ('alerts', '2026-11-30T10:00:00Z', '2026-11-30', '2026-11-30T09:00:00Z')"""
    )
    quiet = msgspec.structs.replace(settings, run_projections=False, run_webhooks=False)
    try:
        async with AsyncTestClient(create_app(quiet)) as client:
            text = await scrape(client)
            attainment = (("projection", "attainment"),)
            assert samples(text, "target_ledger_rebuild_events_done") == {attainment: 500}
            assert samples(text, "target_ledger_rebuild_events_total") == {attainment: 1000}
            # The attainment rebuild's process dies too: it is no longer shown as running.
            await rebuilding.close()

            async def gone() -> bool:
                return not samples(await scrape(client), "target_ledger_rebuild_events_done")

            await until(gone, "the dead rebuild gone from /metrics")
    finally:
        await rebuilding.close()
    alerts = (("scheduler", "alerts"),)
    assert samples(text, "target_ledger_scheduler_looked_timestamp_seconds")[alerts] == 1796032800
    assert samples(text, "target_ledger_scheduler_judged_timestamp_seconds")[alerts] == 1796029200


async def test_a_database_without_the_rebuild_and_scheduler_tables_is_still_scraped(settings) -> None:
    # A schema from before those tables (an operator running an older migration set).
    admin = await asyncpg.connect(settings.database_url)
    await admin.execute("DROP TABLE projection_rebuilds, scheduler_looks")
    await admin.close()
    quiet = msgspec.structs.replace(settings, run_projections=False, run_webhooks=False)
    async with AsyncTestClient(create_app(quiet)) as client:
        text = await scrape(client)
    assert samples(text, "target_ledger_database_up")[()] == 1
    assert samples(text, "target_ledger_projection_lag_events")
    assert not samples(text, "target_ledger_rebuild_events_done")
    assert not samples(text, "target_ledger_scheduler_looked_timestamp_seconds")
