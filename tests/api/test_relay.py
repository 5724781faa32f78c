"""The NATS JetStream relay: killed and restarted, it publishes every event once, in order."""

import asyncio
import os
import signal
import socket
import sys
import uuid

import pytest

from tests.api.feed_support import actual, build_east, events, team_target

NATS = ("127.0.0.1", 4222)


def _nats_up() -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(NATS) == 0


@pytest.fixture
async def jetstream():
    if not _nats_up():
        pytest.skip("NATS not reachable on 127.0.0.1:4222")
    import nats

    nc = await nats.connect(f"nats://{NATS[0]}:{NATS[1]}")
    stream = f"TL_TEST_{uuid.uuid4().hex[:12].upper()}"
    yield nc.jetstream(), stream
    await nc.jetstream().delete_stream(stream)
    await nc.close()


async def _start(db_url: str, stream: str) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "TL_NATS_STREAM": stream,
        "TL_NATS_SUBJECT": stream.lower(),
    }
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "target_ledger", "relay", "nats", env=env)


async def _published(js, stream: str, count: int, relay: asyncio.subprocess.Process) -> None:
    """Wait until the stream holds `count` messages (bounded; fails if the relay died)."""
    for _ in range(600):
        assert relay.returncode is None, "the relay exited"
        try:
            if (await js.stream_info(stream)).state.messages >= count:
                return
        except Exception:  # the relay has not made the stream yet
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"the stream never reached {count} messages")


async def test_a_relay_killed_and_restarted_publishes_nothing_twice(client, auth, db_url, pool, jetstream) -> None:
    js, stream = jetstream
    await build_east(client, auth)
    await team_target(client, auth, value="1000", period="2026-Q4")
    last = await actual(client, auth, "rep1", "100")
    first = await events(client, auth, last)
    # The relay publishes everything so far, then is killed outright.
    relay = await _start(db_url, stream)
    await _published(js, stream, len(first), relay)
    relay.send_signal(signal.SIGKILL)
    await relay.wait()
    # As if it died before saving its position: PostgreSQL says it published nothing.
    await pool.execute("UPDATE relay_positions SET seq = 0")
    # The ledger moves on; the relay comes back and carries on.
    for value in ("200", "300"):
        last = await actual(client, auth, "rep2", value)
    everything = await events(client, auth, last)
    relay = await _start(db_url, stream)
    await _published(js, stream, len(everything), relay)
    relay.send_signal(signal.SIGTERM)
    assert await relay.wait() == 0
    # Each event is in the stream once, in the feed's order, with its id as the message id.
    info = await js.stream_info(stream)
    assert info.state.messages == len(everything)
    messages = [await js.get_msg(stream, seq=n) for n in range(1, info.state.messages + 1)]
    assert [m.headers["Nats-Msg-Id"] for m in messages] == [e["id"] for e in everything]
    assert messages[-1].subject == f"{stream.lower()}.{everything[-1]['type']}"
