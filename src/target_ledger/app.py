"""create_app(settings): the only place where the pieces are wired together."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from litestar import Litestar
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware

from projections.runner import PROJECTIONS, Locks, Progress, read_model_pool, supervise
from target_ledger import console, scheduler
from target_ledger.api import errors, openapi, pages
from target_ledger.api.actuals import ActualController
from target_ledger.api.adjustments import AdjustmentController
from target_ledger.api.attainment import AttainmentController
from target_ledger.api.audit import AuditController
from target_ledger.api.auth import JWTAuthentication
from target_ledger.api.catalog import CatalogController
from target_ledger.api.corrective_actions import CorrectiveActionController
from target_ledger.api.deps import DEPENDENCIES
from target_ledger.api.edge import EdgeMiddleware, LedgerRequest
from target_ledger.api.exports import ExportController
from target_ledger.api.feed import FeedController
from target_ledger.api.health import live, ready
from target_ledger.api.idempotency import IdempotencyMiddleware
from target_ledger.api.incentives import IncentivePlanController, PayoutController
from target_ledger.api.issuer import Issuer
from target_ledger.api.lists import EventLogController
from target_ledger.api.metrics import ObservedRequests, metrics
from target_ledger.api.monitoring import MonitoringController
from target_ledger.api.org import OrgController
from target_ledger.api.periods import PeriodController
from target_ledger.api.pipeline import OpportunityController, PipelineController
from target_ledger.api.plans import PlanController
from target_ledger.api.query_values import DatedQueries
from target_ledger.api.reviews import ReviewController
from target_ledger.api.targets import TargetController
from target_ledger.api.webhooks import WebhookController
from target_ledger.application import Caches
from target_ledger.calendar_settings import check_recorded
from target_ledger.config import Settings
from target_ledger.database import connect, create_pool, migrate, resolve_url
from target_ledger.domain.attainment import Thresholds
from target_ledger.eventstore import EventStore
from target_ledger.eventstore.subscription import Notifier, listening
from target_ledger.integration import delivery
from target_ledger.integration.feed import FeedSignal
from target_ledger.logs import configure_logging, use_standard_logging


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(settings: Settings, clock: Callable[[], datetime] = _utc_now) -> Litestar:
    use_standard_logging()
    calendar = settings.fiscal_calendar()  # a bad TL_CALENDAR stops the start, naming the variable

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        url = await asyncio.to_thread(resolve_url, settings)
        await asyncio.to_thread(migrate, url)
        async with connect(url, settings, "target-ledger-calendar") as conn:
            await check_recorded(conn, calendar)
        pool = await create_pool(url, settings)
        store = EventStore(pool)
        notifier = Notifier(pool)
        store.on_append.append(notifier.appended)
        progress = Progress()
        app.state.update(
            pool=pool,
            store=store,
            progress=progress,
            settings=settings,
            clock=clock,
            calendar=calendar,
            thresholds=Thresholds(settings.pace_on_track, settings.pace_at_risk),
            caches=Caches(),
            feed_signal=FeedSignal(),
        )
        app.state.scheduler = scheduler.for_service(store, settings, clock, app.state.caches)
        # A LISTEN session that comes back after a database restart (and wakes everyone then).
        async with listening(url, settings, notifier.listen, app.state.feed_signal.listen):
            workers, read_models = [], None
            if settings.run_projections:  # and the scheduler with them
                read_models = await read_model_pool(url, settings)
                locks = Locks(read_models)  # one session holds every projection's lock
                app.state.read_models = read_models  # for /metrics: its connections in use
                workers = [
                    asyncio.create_task(supervise(read_models, store, notifier, p, progress, locks=locks))
                    for p in PROJECTIONS
                ]
                workers.append(asyncio.create_task(app.state.scheduler.run()))
            if settings.run_webhooks:
                deliverer = delivery.from_settings(pool, app.state.feed_signal, settings)
                workers.append(asyncio.create_task(deliverer.run()))
            try:
                yield
            finally:
                for task in workers:
                    task.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
                await notifier.close()
                if read_models is not None:
                    await read_models.close()
                await pool.close()

    issuer = Issuer.configured(settings)  # an OpenID Connect issuer whose tokens count too, if one is set
    app = Litestar(
        route_handlers=[
            TargetController,
            ActualController,
            AttainmentController,
            CatalogController,
            AdjustmentController,
            AuditController,
            FeedController,
            WebhookController,
            CorrectiveActionController,
            MonitoringController,
            PeriodController,
            ReviewController,
            PlanController,
            IncentivePlanController,
            PayoutController,
            OrgController,
            OpportunityController,
            PipelineController,
            EventLogController,
            ExportController,
            live,
            ready,
            metrics,
            console.router(settings),  # the web console at /console/ (its own session cookie, CSRF and pages)
        ],
        template_config=console.template_config(),
        dependencies=DEPENDENCIES,
        exception_handlers=errors.HANDLERS,  # type: ignore[arg-type]
        # Authentication first: a kept answer belongs to the caller who got it.
        middleware=[
            EdgeMiddleware,
            DefineMiddleware(JWTAuthentication, secret=settings.secret(), issuer=issuer),
            IdempotencyMiddleware,
            DatedQueries,  # every day and instant in a query string in the calendar's years
        ],
        request_class=LedgerRequest,
        logging_config=None,  # target_ledger.logs configures logging, once per process (litestar's would replace it)
        lifespan=[lifespan],
        # Cursors signed with a key from the JWT secret: every process sharing it takes them (api/pages.py).
        state=State({"settings": settings, "issuer": issuer, "cursor_key": pages.cursor_key(settings.secret())}),
        openapi_config=openapi.config(),  # api/openapi.py: names, problems, headers; offline docs
    )
    # Around litestar's whole handler, not a route: every answer (a path no route takes, the
    # edge's refusals, an error) gets the request's id, a count and an access line.
    app.asgi_handler = ObservedRequests(console.ConsoleAnswers(app.asgi_handler))  # /console: headers, pages
    return app


def app_from_env() -> Litestar:
    """Factory for uvicorn workers: settings from the environment (each worker process logs as `serve` does)."""
    settings = Settings.from_env()
    configure_logging(settings)
    return create_app(settings)
