"""A Python client generated from the served OpenAPI (openapi-python-client, as an integrator would)
works against the real service: it sets a target, records an actual, reads attainment, and reads
the ledger's errors as typed problem objects."""

import asyncio
import datetime
import importlib
import io
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import openpyxl
import pytest

from target_ledger.api.auth import issue_token
from target_ledger.api.operations import EXAMPLES, OPERATIONS
from tests.api.live import live_api
from tests.api.support import build_east

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The generator has no model for a file's own media type (the exports answer an .xlsx or a CSV):
# it is told to read such an answer as raw bytes, as its documentation advises. A file the client
# sends (the plan import's body) is documented as application/octet-stream and needs nothing here.
CONFIG = """content_type_overrides:
  application/vnd.openxmlformats-officedocument.spreadsheetml.sheet: application/octet-stream
  text/csv: application/octet-stream
"""


def generate(spec: str, where: Path) -> tuple[ModuleType, str]:
    """Generate the client package `ledger_client` in `where`; import it; return it with the generator's output."""
    (where / "openapi.json").write_text(spec)
    (where / "generator.yaml").write_text(CONFIG)
    arguments = ["--path", str(where / "openapi.json"), "--config", str(where / "generator.yaml"), "--meta", "none"]
    arguments += ["--output-path", str(where / "ledger_client")]
    run = subprocess.run(
        [str(GENERATOR), "generate", *arguments],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    sys.path.insert(0, str(where))
    try:
        for name in [m for m in sys.modules if m == "ledger_client" or m.startswith("ledger_client.")]:
            del sys.modules[name]  # another test's generation
        importlib.import_module("ledger_client")
        return importlib.import_module("ledger_client.client"), run.stdout + run.stderr
    finally:
        sys.path.remove(str(where))


def module(name: str) -> ModuleType:
    return importlib.import_module(f"ledger_client.{name}")


async def test_a_generated_client_sets_records_reads_and_reads_problems(settings, clock, auth, tmp_path) -> None:
    clock.set("2026-07-20")
    async with live_api(settings, clock) as api:
        await build_east(api, auth)
        # The document as served, generated without a word of warning.
        spec = (await api.get("/schema/openapi.json")).text
        client_module, output = generate(spec, tmp_path)
        assert "warning" not in output.lower(), output

        def as_(subject: str, role: str | None = None):
            token = issue_token(settings.secret(), subject, role)
            return client_module.AuthenticatedClient(base_url=str(api.base_url), token=token)

        models = module("models")
        set_target = module("api.targets.set_target")
        record_actual = module("api.actuals.record_actual")
        read_attainment = module("api.attainment.read_attainment")

        # The regional manager sets east-1's quarter; the answer is a typed target.
        async with as_("east-boss") as boss:
            body = models.SetTarget(node="east-1", metric="revenue", period="2026-Q3", value="1000")
            target = await set_target.asyncio(client=boss, body=body)
        assert isinstance(target, models.TargetView), target
        assert target.value == "1000"

        # The team lead splits it 600 : 400; the matrix comes back as a workbook's bytes, not as JSON.
        async with as_("lead1") as lead:
            split = models.Decompose.from_dict(
                {"axis": "org", "method": "weights", "weights": {"rep1": "6", "rep2": "4"}}
            )
            parent = await module("api.targets.split_target").asyncio(target.id, client=lead, body=split)
            assert isinstance(parent, models.TargetView), parent
            file = await module("api.exports.export_decomposition").asyncio(
                target.id, client=lead, format_=models.ExportDecompositionFormat.XLSX, min_position=parent.position
            )
        assert isinstance(file, module("types").File), file
        sheet = openpyxl.load_workbook(io.BytesIO(file.payload.read())).worksheets[0]
        targets = {row[1]: Decimal(str(row[5])) for row in sheet.iter_rows(min_row=2, values_only=True)}
        assert targets == {"east-1": 1000, "rep1": 600, "rep2": 400}, targets

        # An admin records a deal of rep1's.
        async with as_("root", "admin") as admin:
            deal = models.RecordActual(
                person="rep1",
                metric="revenue",
                date=datetime.date(2026, 7, 14),
                value="250",
                source="crm",
                external_ref="deal-88",
            )
            recorded = await record_actual.asyncio(client=admin, body=deal)
            assert isinstance(recorded, models.ActualRecorded), recorded

            # Attainment, read at least as far as the write: a quarter of the target.
            attainment = await read_attainment.asyncio(
                client=admin, node="east-1", metric="revenue", period="2026-Q3", min_position=recorded.position
            )
            assert isinstance(attainment, models.Attainment), attainment
            assert attainment.row.actual == "250" and attainment.row.attainment_pct == "25.00"

            # The same deal sent again with another value: a 409, as a typed problem naming external_ref.
            clash = models.RecordActual.from_dict({**deal.to_dict(), "value": "300"})
            answer = await record_actual.asyncio_detailed(client=admin, body=clash)
            assert answer.status_code == 409 and isinstance(answer.parsed, models.ProblemDetails), answer
            assert answer.parsed.status == 409 and answer.parsed.errors[0].field == "external_ref"

        # A small CSV plan, tried (dry run) through the client: its target is listed, nothing stored.
        # A file is sent by the client's sync calls (httpx streams a file object only from a sync client).
        plan = b"node,metric,period,target\neast-2,revenue,2026-Q3,800\n"

        def try_plan():
            with as_("root", "admin") as admin:
                file = module("types").File(payload=io.BytesIO(plan), file_name="plan.csv")
                return module("api.targets.import_plan").sync(client=admin, body=file, dry_run=True)

        report = await asyncio.to_thread(try_plan)
        assert isinstance(report, models.PlanReport), report
        assert not report.stored and not report.errors, report
        assert [(t.node, t.period, t.value) for t in report.targets_to_set] == [("east-2", "2026-Q3", "800")]

        # A negative target: a 422, as a typed problem naming the field.
        async with as_("east-boss") as boss:
            body = models.SetTarget(node="east-1", metric="revenue", period="2026-Q4", value="-5")
            answer = await set_target.asyncio_detailed(client=boss, body=body)
        assert answer.status_code == 422 and isinstance(answer.parsed, models.ProblemDetails), answer
        assert [e.field for e in answer.parsed.errors] == ["value"], answer.parsed
        assert answer.headers["x-request-id"]


async def test_every_operation_has_a_chosen_name(client) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    operations = {
        (method.upper(), path): operation["operationId"]
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }
    # A route added without a name in api/operations.py's OPERATIONS fails here.
    unnamed = sorted(key for key in operations if key not in OPERATIONS)
    assert not unnamed, f"name these operations in api/operations.py OPERATIONS: {unnamed}"
    assert operations[("POST", "/v1/targets")] == "set_target"
    assert operations[("POST", "/v1/actuals")] == "record_actual"


@pytest.mark.parametrize(
    ("method", "path", "expected", "absent"),
    [
        ("post", "/v1/targets", {"400", "401", "403", "404", "409", "413", "422", "503"}, set()),
        ("get", "/v1/targets/{target_id}", {"400", "401", "403", "404", "422", "503"}, {"409", "413"}),
        ("get", "/health/ready", {"400", "503"}, {"401", "403"}),
    ],
)
async def test_each_operation_documents_its_problems_as_problem_details(client, method, path, expected, absent) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    operation = spec["paths"][path][method]
    problems = {
        status: answer["content"]["application/problem+json"]["schema"]["$ref"]
        for status, answer in operation["responses"].items()
        if status.startswith(("4", "5"))
    }
    assert set(problems) >= expected and not set(problems) & absent, problems
    assert set(problems.values()) == {"#/components/schemas/ProblemDetails"}
    assert operation.get("security") == ([] if path.startswith("/health") else None)
    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert "X-Request-ID" in headers and ("Idempotency-Key" in headers) == (method == "post")


def example(spec: dict, method: str, path: str) -> dict:
    return spec["paths"][path][method]["requestBody"]["content"]["application/json"]["example"]


async def test_the_request_examples_work_as_sent(client, auth, clock) -> None:
    clock.set("2026-07-20")
    spec = (await client.get("/schema/openapi.json")).json()
    admin, rep = auth("root", "admin"), auth("rep1")

    async def send(method: str, path: str, who: dict, **ids: str) -> dict:
        r = await client.request(method, path.format(**ids), json=example(spec, method, path), headers=who)
        assert r.status_code in (200, 201), f"{method.upper()} {path}: {r.status_code} {r.text}"
        return r.json()

    # The company the introduction starts from; then each example, in the walk-through's order.
    await client.post("/v1/org/units", json={"node": "acme", "kind": "company", "name": "Acme"}, headers=admin)
    await send("post", "/v1/org/units", admin)
    await send("post", "/v1/org/people", admin)
    await send("post", "/v1/org/units/{unit}/manager", admin, unit="east")
    await send("post", "/v1/metrics", admin)
    await send("post", "/v1/dimensions", admin)
    target = await send("post", "/v1/targets", admin)
    await send("post", "/v1/targets/{target_id}/decomposition", admin, target_id=target["id"])
    await send("post", "/v1/targets/{target_id}/acknowledgement", rep, target_id=target["id"])
    actual = await send("post", "/v1/actuals", admin)
    batch = await send("post", "/v1/actuals/batch", admin)
    await send("post", "/v1/actuals/{actual_id}/correction", admin, actual_id=actual["id"])
    await send("post", "/v1/actuals/{actual_id}/reversal", admin, actual_id=batch["items"][0]["id"])
    adjustment = await send("post", "/v1/targets/{target_id}/adjustments", rep, target_id=target["id"])
    await send("post", "/v1/adjustments/{adjustment_id}/withdraw", rep, adjustment_id=adjustment["id"])
    await send("post", "/v1/incentive-plans", admin)
    await send("post", "/v1/periods/{period}/close", admin, period="2026-Q3")
    await send("post", "/v1/reviews", admin)
    await send("post", "/v1/periods/{period}/reopen", admin, period="2026-Q3")


async def test_every_request_example_fits_its_schema(client) -> None:
    """The examples the walk-through cannot reach (they need a second manager, a plan, a webhook
    receiver) at least pass the document's own schema, as does every other."""
    from jsonschema import Draft202012Validator

    spec = (await client.get("/schema/openapi.json")).json()
    checked = 0
    for item in spec["paths"].values():
        for operation in item.values():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            if "example" in body:
                validator = Draft202012Validator({**body["schema"], "components": spec["components"]})
                errors = [e.message for e in validator.iter_errors(body["example"])]
                assert not errors, (operation["operationId"], errors)
                checked += 1
    assert checked == len(EXAMPLES)  # each example found its operation


async def test_answers_media_types_headers_and_bounds_are_as_served(client) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    # What `format` asks for, and the event stream, as the media types really answered.
    review = spec["paths"]["/v1/reviews/{period}"]["get"]["responses"]["200"]["content"]
    assert set(review) >= {"application/json", "text/csv", "text/html", XLSX}
    assert review["application/json"]["schema"] == {"$ref": "#/components/schemas/HistoricalReview"}
    # Each file has an operation answering only files (a generator reads every 200 as its first media type).
    exports = [op for item in spec["paths"].values() for op in item.values() if op["operationId"].startswith("export_")]
    assert {op["operationId"] for op in exports} >= {"export_decomposition", "export_attainment", "export_review"}
    for op in exports:
        files = op["responses"]["200"]["content"]
        assert files and all(c["schema"] == {"type": "string", "format": "binary"} for c in files.values()), op
    stream = spec["paths"]["/v1/feed/stream"]["get"]
    assert set(stream["responses"]["200"]["content"]) == {"text/event-stream"}
    assert "Last-Event-ID" in {p["name"] for p in stream["parameters"] if p["in"] == "header"}
    # A position's bound is the bigint's, exactly (not a float above it), and never below 0.
    feed = {p["name"]: p["schema"] for p in spec["paths"]["/v1/feed"]["get"]["parameters"]}
    assert feed["after"]["maximum"] == 2**63 - 1 and feed["after"]["minimum"] == 0
    assert feed["min_position"]["maximum"] == 2**63 - 1 and feed["min_position"]["minimum"] == 0
    assert feed["limit"]["maximum"] == 1000 and isinstance(feed["limit"]["maximum"], int)
