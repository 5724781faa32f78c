"""Property-based: every operation of the served OpenAPI, with bodies, paths and queries that
schemathesis generates from it (valid and invalid), as an admin and as a plain salesperson, on a
real server and a real organisation. No answer is a 5xx; every 4xx is problem+json; every
answer with a documented schema matches it, and declares the ledger's own headers it carries."""

import asyncio
from types import SimpleNamespace

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import response_schema_conformance

from tests.api.live import live_api
from tests.api.support import ADMIN, build_east, team_target

EXAMPLES = 12  # per operation, mode and caller: about 2,500 requests, well under a minute
ENDLESS = {"/v1/feed/stream"}  # a stream that never ends; its parameters are the feed's, probed there


def no_server_error(ctx, response, case) -> None:
    """No 5xx, but the one the API documents: 503 with Retry-After while a read model catches up
    to `min_position` (or the database is away)."""
    if response.status_code >= 500:
        waiting = response.status_code == 503 and response.headers.get("retry-after")
        assert waiting, f"{case.method} {case.formatted_path} answered {response.status_code}: {response.text[:500]}"


def problem_json_for_4xx(ctx, response, case) -> None:
    """A client error tells what is wrong the one way the API promises: RFC 9457 problem+json."""
    if 400 <= response.status_code < 500:
        content_type = response.headers.get("content-type", [""])[0]
        assert content_type.startswith("application/problem+json"), (
            f"{case.method} {case.formatted_path} answered {response.status_code} as {content_type!r}"
        )
        body = response.json()
        assert body["status"] == response.status_code and body["detail"], body


# Headers the ledger itself sends on some answers, each declared where it is sent (api/openapi.py).
LEDGER_HEADERS = ("ETag", "X-Read-Position", "Location", "Retry-After")


def declared_headers(ctx, response, case) -> None:
    """Each of the ledger's own headers on an answer is in the document, for that operation and status."""
    answer = case.operation.definition.raw["responses"].get(str(response.status_code), {})
    declared = {name.lower() for name in answer.get("headers", {})}
    sent = [name for name in LEDGER_HEADERS if response.headers.get(name.lower())]
    undeclared = [name for name in sent if name.lower() not in declared]
    assert not undeclared, f"{case.method} {case.formatted_path} answered {response.status_code} with {undeclared}"


def _probe(schema, url: str, headers: dict[str, str]) -> tuple[list[str], list[tuple[str, int]]]:
    """Run every operation; return what broke (one line per failing operation and mode) and
    every (mode, status) answered."""
    failures: list[str] = []
    statuses: list[tuple[str, int]] = []
    session = requests.Session()

    def call(case):
        return case.call(base_url=url, session=session, headers=headers, timeout=30)

    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in ENDLESS:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            answered: list[int] = []
            try:
                _run(operation, mode, call, answered)
            except (Exception, BaseExceptionGroup) as e:  # one report per operation, then on to the next
                # Hypothesis' Flaky wraps the cause: name it too.
                inner = "; ".join(repr(x)[:600] for x in getattr(e, "exceptions", ()))
                failures.append(f"{operation.method.upper()} {operation.path} [{mode.value}]: {str(e)[:1500]} {inner}")
            statuses += [(mode.value, status) for status in answered]
    return failures, statuses


def _run(operation, mode, call, statuses: list[int]) -> None:
    """Hypothesis draws cases of one operation in one mode; each is called, its status noted, and checked."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same cases every run: a failure here is reproducible
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        response = call(case)
        statuses.append(response.status_code)
        case.validate_response(
            response, checks=[no_server_error, response_schema_conformance, problem_json_for_4xx, declared_headers]
        )

    run()


@pytest.mark.parametrize("who", [ADMIN, ("rep1", None)], ids=["admin", "salesperson"])
async def test_every_operation_holds_its_contract_for_generated_input(settings, clock, auth, who) -> None:
    # A generated min_position is far ahead of the log: answer its 503 at once, not after 5 s.
    async with live_api(settings, clock, min_position_timeout=0.05) as api:
        await build_east(api, auth)
        await team_target(api, auth)
        spec = (await api.get("/schema/openapi.json")).json()
        schema = schemathesis.openapi.from_dict(spec)
        url = str(api.base_url).rstrip("/")
        failures, statuses = await asyncio.to_thread(_probe, schema, url, auth(*who))
    assert not failures, "\n\n".join(failures)
    # It reached the handlers (valid cases carry the caller's token; invalid ones may break
    # the header on purpose), and some cases were valid enough to succeed.
    valid = [status for mode, status in statuses if mode == "positive"]
    assert len(statuses) > 1000 and 401 not in valid and any(s < 300 for s in valid), statuses


async def test_the_probe_sees_a_broken_contract(settings, clock, auth) -> None:
    """The probe itself can fail: an answer that is not problem+json is caught."""

    class Answer:
        status_code, headers, text = 404, {"content-type": ["text/plain"]}, "nope"

    class Case:
        method, formatted_path = "GET", "/nowhere"

    with pytest.raises(AssertionError):
        problem_json_for_4xx(None, Answer(), Case())
    Answer.status_code = 500
    with pytest.raises(AssertionError):
        no_server_error(None, Answer(), Case())
    # An ETag the operation's answer does not declare is caught too.
    Answer.status_code, Answer.headers = 200, {"etag": ['"3"']}
    Case.operation = SimpleNamespace(definition=SimpleNamespace(raw={"responses": {"200": {"headers": {}}}}))
    with pytest.raises(AssertionError):
        declared_headers(None, Answer(), Case())
