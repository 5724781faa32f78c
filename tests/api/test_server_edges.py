"""`target-ledger serve` bounds what a client can hold: a request head in time and size, and a
shutdown in time, open event streams included (they end whole, so the client resumes)."""

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from target_ledger.api.auth import issue_token
from tests.api.live import free_port

HEADER_TIMEOUT = 1.0  # seconds (TL_HEADER_TIMEOUT)
BODY_TIMEOUT = 2.0  # seconds (TL_BODY_TIMEOUT)
MARGIN = 2.0  # seconds of slack for a loaded machine: a bound, not a timing


@dataclass
class Served:
    process: asyncio.subprocess.Process
    port: int
    url: str
    token: str


async def _serve(settings, tmp_path, **env: str) -> Served:
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "TL_JWT_SECRET": settings.jwt_secret,
        "TL_DATA_DIR": str(tmp_path),
        "TL_PORT": str(port),
        "TL_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        "TL_BODY_TIMEOUT": str(BODY_TIMEOUT),
        "TL_SCHEDULER_INTERVAL": "3600",
        **env,
    }
    with (tmp_path / "serve.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "target_ledger", "serve", env=environment, stdout=log, stderr=log
        )
    served = Served(process, port, f"http://127.0.0.1:{port}", issue_token(settings.jwt_secret, "bi", "integration"))
    async with httpx.AsyncClient(base_url=served.url) as client:
        for _ in range(600):
            assert process.returncode is None, (tmp_path / "serve.log").read_text()
            try:
                if (await client.get("/health/live")).status_code == 200:
                    return served
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the server did not start")


@pytest.fixture
async def served(settings, tmp_path) -> AsyncIterator[Served]:
    served = await _serve(settings, tmp_path)
    yield served
    await _stop(served)


async def _stop(served: Served) -> None:
    if served.process.returncode is None:
        served.process.kill()
        await served.process.wait()


async def _until_closed(reader: asyncio.StreamReader, limit: float) -> tuple[bytes, float]:
    """What the server sent until it closed the connection, and after how many seconds."""
    started = time.monotonic()
    answer = await asyncio.wait_for(reader.read(), limit)
    return answer, time.monotonic() - started


async def _drain(lines: AsyncIterator[str]) -> None:
    async for _ in lines:
        pass


def _problem(answer: bytes, status: int) -> str:
    """The field a problem+json answer of `status` names (the answer being the connection's last)."""
    head, _, body = answer[answer.rindex(b"HTTP/1.1 ") :].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d" % status), answer[:300]
    assert b"content-type: application/problem+json" in head.lower(), head
    problem = json.loads(body)
    assert problem["status"] == status and problem["detail"]
    [error] = problem["errors"]
    assert error["message"]
    return str(error["field"])


async def _trickled(served, start: bytes, piece: bytes, timeout: float) -> str:
    """Send `start`, then `piece` every 0.2 s until the server closes; the field its 408 names."""
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    closed = asyncio.create_task(_until_closed(reader, timeout + MARGIN))
    writer.write(start)
    while not closed.done():
        writer.write(piece)
        await asyncio.sleep(0.2)
    answer, after = await closed
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408") and after < timeout + MARGIN
    return _problem(answer, 408)


async def test_a_client_trickling_its_request_head_is_cut_off_within_the_header_timeout(served) -> None:
    # One header line every 0.2 s: each byte would reset an idle timer, never a head deadline.
    start = b"GET /health/live HTTP/1.1\r\nHost: ledger\r\n"
    assert await _trickled(served, start, b"X-Slow: yes\r\n", HEADER_TIMEOUT) == "headers"


async def test_a_connection_that_sends_nothing_is_closed_within_the_header_timeout(served) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    answer, after = await _until_closed(reader, HEADER_TIMEOUT + MARGIN)
    assert answer.startswith(b"HTTP/1.1 408") and after >= HEADER_TIMEOUT * 0.9
    assert _problem(answer, 408) == "headers"
    writer.close()


async def test_a_client_trickling_its_request_body_is_cut_off_within_the_body_timeout(served) -> None:
    headers = f"Authorization: Bearer {served.token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n"
    start = b"POST /v1/webhooks HTTP/1.1\r\nHost: ledger\r\n" + headers.encode() + b"\r\n"
    # A byte of the body every 0.2 s: the handler would wait for the rest forever.
    assert await _trickled(served, start, b" ", BODY_TIMEOUT) == "body"


async def test_a_request_head_over_the_size_bound_is_refused_and_the_connection_closed(served) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    writer.write(b"GET /health/live HTTP/1.1\r\nHost: ledger\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n")
    answer, _ = await _until_closed(reader, HEADER_TIMEOUT + MARGIN)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert _problem(answer, 431) == "headers"
    writer.close()
    # A body is not a head, though it comes in the same read as one.
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    body = b"[" + b"0," * 50_000 + b"0]"
    head = f"POST /v1/actuals/batch HTTP/1.1\r\nHost: ledger\r\nContent-Length: {len(body)}\r\n\r\n"
    writer.write(head.encode() + body)
    assert (await reader.readuntil(b"\r\n")).startswith(b"HTTP/1.1 401")  # no token: read, then refused
    writer.close()
    # Heads within the bound (16 KiB by default) are served as usual, one after another on
    # one kept-alive connection: each head is measured on its own.
    async with httpx.AsyncClient(base_url=served.url) as client:
        for _ in range(5):
            r = await client.get("/health/live", headers={"X-Big": "a" * 8_000})
            assert r.status_code == 200


async def test_a_big_head_after_an_early_answer_on_a_kept_alive_connection_is_still_refused(served) -> None:
    async def twelve_mib() -> AsyncIterator[bytes]:
        for _ in range(12):
            yield b" " * 2**20

    async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:
        # Answered (413) before the body is read; the client still sends it all, then asks again
        # on the same connection: the server may read the body's end and the next head at once.
        headers = {"Authorization": f"Bearer {served.token}", "Content-Type": "application/json"}
        early = await client.post("/v1/actuals", content=twelve_mib(), headers=headers)
        assert early.status_code == 413 and early.headers.get("connection") != "close"
        big = await client.get("/health/live", headers={"X-Big": "a" * 20_000})
        assert big.status_code == 431 and big.headers["content-type"] == "application/problem+json"
        assert big.json()["errors"][0]["field"] == "headers"


async def test_a_big_head_pipelined_behind_a_request_in_one_write_is_refused(served) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    small = b"GET /health/live HTTP/1.1\r\nHost: ledger\r\n\r\n"
    writer.write(small + b"GET /health/live HTTP/1.1\r\nHost: ledger\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n")
    answer, _ = await _until_closed(reader, HEADER_TIMEOUT + MARGIN)
    # Refused, and closed: with a 431 after the first answer, or (that answer still pending) without.
    assert answer.count(b"HTTP/1.1 200") <= 1
    assert b"HTTP/1.1 431" not in answer or _problem(answer, 431) == "headers"
    writer.close()


async def test_a_head_begun_in_the_same_write_as_a_request_gets_the_header_timeout_too(served) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    # The second request's head never ends: its clock starts with its first byte, not with a read.
    writer.write(b"GET /health/live HTTP/1.1\r\nHost: ledger\r\n\r\nGET /health/live HTTP/1.1\r\nHost: ledger\r\n")
    answer, after = await _until_closed(reader, HEADER_TIMEOUT + MARGIN)
    assert answer.startswith(b"HTTP/1.1 200") and _problem(answer, 408) == "headers"
    assert after < HEADER_TIMEOUT + MARGIN
    writer.close()


async def test_sigterm_ends_an_open_event_stream_whole_and_the_server_exits_promptly(settings, tmp_path) -> None:
    # A shutdown timeout far above the bound asserted: the stream must end by itself.
    served = await _serve(settings, tmp_path, TL_SHUTDOWN_TIMEOUT="60", TL_SSE_HEARTBEAT="0.2")
    try:
        headers = {"Authorization": f"Bearer {served.token}"}
        async with (
            httpx.AsyncClient(base_url=served.url, timeout=30) as client,
            client.stream("GET", "/v1/feed/stream", headers=headers) as stream,
        ):
            assert stream.status_code == 200
            lines = stream.aiter_lines()
            assert (await anext(lines)).startswith(":")  # a heartbeat: the stream is live
            served.process.send_signal(signal.SIGTERM)
            started = time.monotonic()
            # The stream ends whole (no cut-off chunk: httpx would raise), so a client reconnects
            # elsewhere with Last-Event-ID...
            await asyncio.wait_for(_drain(lines), 3 + MARGIN)
            # ...and the process exits well before the shutdown timeout.
            await asyncio.wait_for(served.process.wait(), 3 + MARGIN)
        assert served.process.returncode == 0 and time.monotonic() - started < 3 + MARGIN
    finally:
        await _stop(served)


async def test_a_request_still_running_after_sigterm_is_cut_off_at_the_shutdown_timeout(settings, tmp_path) -> None:
    served = await _serve(settings, tmp_path, TL_SHUTDOWN_TIMEOUT="1", TL_MIN_POSITION_TIMEOUT="120")
    try:
        headers = {"Authorization": f"Bearer {served.token}"}
        async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:
            # A read waiting for a position the ledger will not reach for two minutes.
            waiting = asyncio.create_task(client.get("/v1/feed", params={"min_position": 10**12}, headers=headers))
            await asyncio.sleep(0.5)
            assert not waiting.done()
            served.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(served.process.wait(), 1 + 3 + MARGIN)
            # uvicorn cancelled it (its answer, a 500, is uvicorn's; the point is that it ended).
            with contextlib.suppress(httpx.TransportError):
                await waiting
    finally:
        await _stop(served)
