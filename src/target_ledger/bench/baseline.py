"""The HTTP baseline: a minimal litestar app doing one INSERT or one primary-key SELECT per request."""

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Litestar, get, post
from litestar.datastructures import State

from target_ledger.api.schemas import RecordActual, RecordActuals
from target_ledger.bench.scratch import service_pool

TABLE = """
CREATE TABLE IF NOT EXISTS baseline_actuals (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person       text NOT NULL,
    metric       text NOT NULL,
    occurred_on  date NOT NULL,
    value        numeric NOT NULL,
    source       text NOT NULL,
    external_ref text,
    scope        jsonb NOT NULL
);
GRANT SELECT, INSERT ON baseline_actuals TO target_ledger_app;
"""
INSERT = """INSERT INTO baseline_actuals (person, metric, occurred_on, value, source, external_ref, scope)
            VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) RETURNING id"""
INSERT_MANY = """INSERT INTO baseline_actuals (person, metric, occurred_on, value, source, external_ref, scope)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::numeric[], $5::text[], $6::text[],
                                      $7::jsonb[])"""


def _row(item: RecordActual) -> tuple:
    scope = msgspec.json.encode(item.scope).decode()
    return (item.person, item.metric, item.date, item.value, item.source, item.external_ref, scope)


@post("/actuals", status_code=201)
async def record(data: RecordActual, state: State) -> dict[str, int]:
    return {"position": await state.pool.fetchval(INSERT, *_row(data))}


@post("/actuals/batch", status_code=201)
async def record_batch(data: RecordActuals, state: State) -> dict[str, int]:
    rows = [_row(msgspec.convert(item, RecordActual)) for item in data.items]
    await state.pool.execute(INSERT_MANY, *map(list, zip(*rows, strict=True)))
    return {"stored": len(rows)}


@get("/actuals/{row_id:int}")
async def read(row_id: int, state: State) -> dict[str, Any]:
    row = await state.pool.fetchrow("SELECT * FROM baseline_actuals WHERE id = $1", row_id)
    return dict(row) if row else {}


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


def app_from_env() -> Litestar:
    """Factory for uvicorn: the same pool settings as the service, on BENCH_DATABASE_URL."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = await service_pool(os.environ["BENCH_DATABASE_URL"], 10)
        app.state.pool = pool
        try:
            yield
        finally:
            await pool.close()

    return Litestar([record, record_batch, read, health], lifespan=[lifespan])
