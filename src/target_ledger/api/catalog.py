"""/v1/metrics and /v1/dimensions: what can be targeted, and how scopes are spelled."""

from dataclasses import asdict

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from target_ledger.api.openapi import answers
from target_ledger.api.schemas import DefineDimension, DefineMetric, DimensionView, MetricView, Position
from target_ledger.application import Command, catalog
from target_ledger.application.reads import authorize_member
from target_ledger.domain.catalog import Metric


class CatalogController(Controller):
    path = "/v1"
    tags = ["metrics and dimensions"]

    @post(
        "/metrics",
        status_code=201,
        summary="Define a metric (admin)",
        description="A ratio metric (`rollup: ratio`) is Σ numerator ÷ Σ denominator. A share gives its parts a "
        'scope: `numerator: revenue, numerator_scope: {"product": "A"}, denominator: revenue` is product A\'s '
        "share of all revenue. A ratio-unit metric's targets lie in [0, 1] unless `bounded: false`.",
    )
    async def define_metric(self, data: JSONBody[DefineMetric], command: NamedDependency[Command]) -> Position:
        metric = Metric(
            data.name,
            data.unit,  # type: ignore[arg-type]
            data.rollup,  # type: ignore[arg-type]
            data.numerator,
            data.denominator,
            data.direction,  # type: ignore[arg-type]
            numerator_scope=None if data.numerator_scope is None else dict(data.numerator_scope),
            denominator_scope=None if data.denominator_scope is None else dict(data.denominator_scope),
            bounded=data.bounded,
        )
        return Position(position=await catalog.define_metric(command, metric))

    @get("/metrics", summary="Every metric, built-in and defined")
    async def metrics(self, command: NamedDependency[Command]) -> list[MetricView]:
        await authorize_member(command)
        current = await command.catalog()
        return [MetricView(**asdict(m)) for m in current.metrics.values()]

    @post(
        "/dimensions",
        status_code=201,
        summary="Declare a dimension, or more values of one (admin)",
        responses=answers(
            Position, 200, description="every value was declared already: nothing stored, `position` null"
        ),
    )
    async def define_dimension(
        self, data: JSONBody[DefineDimension], command: NamedDependency[Command]
    ) -> Response[Position]:
        position = await catalog.define_dimension(command, data.name, list(data.values))
        return Response(Position(position=position), status_code=201 if position else 200)

    @get("/dimensions", summary="Every dimension and its declared values")
    async def dimensions(self, command: NamedDependency[Command]) -> list[DimensionView]:
        await authorize_member(command)
        current = await command.catalog()
        return [DimensionView(name=n, values=list(v)) for n, v in current.dimensions.items()]
