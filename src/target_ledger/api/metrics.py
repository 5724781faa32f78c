"""GET /metrics (Prometheus text format), and the outermost middleware that counts, times and
logs each request under its id.

The middleware wraps litestar's whole handler (see app.py), not one route: it also sees the
404 of a path no route takes and the edge's refusals, which litestar's Prometheus plugin (a
route middleware) never does; and it gives the request id, the access line and the counters
one route label. The label is the route's template (`/v1/targets/{target_id}`), never the raw
path, so the series stay bounded.

With several processes (TL_WORKERS > 1, or several containers), a scrape answers from the one
process it reached: the HTTP counters are that process's own, the ledger's figures (read from
PostgreSQL at scrape time) are the same from every process. Scrape each process (one worker
per container, as deploy/docker-compose.yml does) and sum in Prometheus."""

import time
from typing import Any, cast

import structlog
from litestar import Response, get
from litestar.datastructures import State
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from projections.runner import PROJECTIONS
from target_ledger import observability
from target_ledger.api.edge import decide_request_id, echo_request_id

log = structlog.get_logger("target_ledger.access")
UNMATCHED = "unmatched"  # the route label of a path no route takes

REQUESTS = Counter("target_ledger_http_requests", "HTTP requests answered", ["method", "route", "status"])
SECONDS = Histogram(
    "target_ledger_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer",
    ["method", "route", "status"],
)


class ObservedRequests:
    """Give each HTTP request its id (bound to every log line written meanwhile, echoed on the
    answer), then count and time it, and write one access line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chosen = decide_request_id(scope)
        started, answer = time.perf_counter(), {"status": 500}

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=chosen):
            try:
                await self.app(scope, receive, echo_request_id(observed, chosen))
            finally:
                seconds = time.perf_counter() - started
                route = scope.get("path_template") or UNMATCHED  # set by litestar's router once it matched
                method = cast(HTTPScope, scope)["method"]
                REQUESTS.labels(method, route, answer["status"]).inc()
                SECONDS.labels(method, route, answer["status"]).observe(seconds)
                log.info(
                    "request",
                    method=method,
                    route=route,
                    path=scope["path"],
                    status=answer["status"],
                    ms=round(seconds * 1000, 1),
                )


class _Reading(Collector):
    """The ledger's figures of one scrape, as metric families."""

    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self.families = families

    def collect(self) -> Any:
        return iter(self.families)


Samples = list[tuple[list[str], float]]  # (label values, value) of each series


def _gauge(name: str, documentation: str, labels: list[str], samples: Samples) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for values, value in samples:
        family.add_metric(values, value)
    return family


def _pools(state: State) -> GaugeMetricFamily:
    family = GaugeMetricFamily("target_ledger_pool_connections", "This process's connections", labels=["pool", "state"])
    for name in ("pool", "read_models"):  # requests and appends; the projections' (when they run here)
        pool = getattr(state, name, None)
        if pool is not None:
            family.add_metric([name, "open"], pool.get_size())
            family.add_metric([name, "idle"], pool.get_idle_size())
            family.add_metric([name, "max"], pool.get_max_size())
    return family


def _ledger(reading: observability.Reading) -> list[GaugeMetricFamily]:
    """What PostgreSQL said, as gauges (the same whichever process is scraped)."""
    head, lags, hooks = reading.public_head, reading.projections, reading.webhooks
    looks, rebuilds = reading.schedulers, reading.rebuilds
    rows: list[tuple[str, str, list[str], Samples]] = [
        ("events_head_position", "Position of the last event appended", [], [([], reading.head)]),
        ("projection_position", "Position a projection has applied up to", ["projection"],
         [([p.name], p.position) for p in lags]),
        ("projection_lag_events", "Events appended that a projection has not applied", ["projection"],
         [([p.name], p.events) for p in lags]),
        ("projection_lag_seconds", "Age of the oldest event a projection has not applied", ["projection"],
         [([p.name], p.seconds) for p in lags]),
        ("public_events_head", "Sequence number of the last public integration event", [], [([], head)]),
        # Its filter may skip some of them: an upper bound of what it still has to get.
        ("webhook_backlog_events", "Public events after a webhook subscription's cursor", ["subscription", "status"],
         [([w["id"], w["status"]], max(head - w["delivered"], 0)) for w in hooks]),
        ("webhook_failures", "Failed deliveries in a row of a webhook subscription", ["subscription", "status"],
         [([w["id"], w["status"]], w["failures"]) for w in hooks]),
        ("relay_lag_events", "Public events a relay has not published yet", ["relay"],
         [([r["name"]], max(head - r["seq"], 0)) for r in reading.relays]),
        ("rebuild_events_done", "Events a projection's rebuild has applied", ["projection"],
         [([r["name"]], r["events_done"]) for r in rebuilds]),
        ("rebuild_events_total", "Events a projection's rebuild has to apply", ["projection"],
         [([r["name"]], r["events_total"]) for r in rebuilds]),
        ("rebuild_updated_timestamp_seconds", "When a rebuild last reported progress", ["projection"],
         [([r["name"]], r["updated_at"].timestamp()) for r in rebuilds]),
        ("scheduler_looked_timestamp_seconds", "When the alert scheduler last looked at the clock", ["scheduler"],
         [([s["scheduler"]], s["looked_at"].timestamp()) for s in looks if s["looked_at"]]),
        ("scheduler_judged_timestamp_seconds", "When the alert scheduler last judged a day", ["scheduler"],
         [([s["scheduler"]], s["judged_at"].timestamp()) for s in looks if s["judged_at"]]),
    ]  # fmt: skip
    return [_gauge(f"target_ledger_{name}", doc, labels, samples) for name, doc, labels, samples in rows]


@get("/metrics", summary="Prometheus metrics", tags=["operations"], include_in_schema=False)
async def metrics(state: State) -> Response[bytes]:
    try:
        families = _ledger(await observability.read(state.pool, [p.NAME for p in PROJECTIONS]))
        up = 1
    except Exception as e:  # an outage (or a slow database) must not cost the process's own metrics
        structlog.get_logger(__name__).warning("metrics: the database did not answer", error=str(e))
        families, up = [], 0
    families.append(_gauge("target_ledger_database_up", "1 when this scrape read the database", [], [([], up)]))
    families.append(_pools(state))
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_Reading(families))
    return Response(generate_latest(REGISTRY) + generate_latest(scrape), media_type=CONTENT_TYPE_LATEST)
