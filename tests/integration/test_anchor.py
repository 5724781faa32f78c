"""A signed checkpoint of the log catches what the stream chains cannot: a removed or re-hashed tail, a moved event."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import msgspec
import pytest
from click.testing import CliRunner, Result

from target_ledger.cli import main
from target_ledger.config import Settings
from target_ledger.eventstore import EventStore, anchor
from tests.support import META, Counter

# Recomputes one event's link from its stored predecessor, as the chain trigger did: run in
# version order, a forger's rewrite of a stream's tail passes the plain chain check.
REHASH = """UPDATE events SET hash = event_hash(
                (SELECT p.hash FROM events p WHERE p.stream_id = events.stream_id AND p.version = events.version - 1),
                events)
             WHERE stream_id = $1 AND version = $2"""
EDIT = "UPDATE events SET payload = jsonb_set(payload, '{by}', '100') WHERE stream_id = $1 AND version = $2"


async def _tamper(db_url: str, *steps: tuple[str, list[tuple]]) -> None:
    # Only a superuser who switches the guard triggers off can do this.
    owner = await asyncpg.connect(db_url)
    try:
        async with owner.transaction():
            await owner.execute("ALTER TABLE events DISABLE TRIGGER USER")
            for sql, rows in steps:
                await owner.executemany(sql, rows)
            await owner.execute("ALTER TABLE events ENABLE TRIGGER USER")
    finally:
        await owner.close()


async def _cli(db_url: str, *args: str | Path) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, main, [str(a) for a in args], env={"DATABASE_URL": db_url})


async def _three_streams(store: EventStore) -> list[Counter]:
    counters = [Counter.start(name) for name in ("a", "b", "c")]
    for counter in counters:
        counter.increment(1)
        counter.increment(2)
        await store.append(counter.collect_events(), META)
    return counters


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    private = tmp_path / "signing.pem"
    result = CliRunner().invoke(main, ["checkpoint", "keygen", str(private)])
    assert result.exit_code == 0, result.output
    return private, tmp_path / "signing.pem.pub"


async def _checkpoint(db_url: str, keys: tuple[Path, Path], directory: Path) -> Path:
    result = await _cli(db_url, "checkpoint", "write", "--key", keys[0], "--dir", directory)
    assert result.exit_code == 0, result.output
    return anchor.newest_file(directory) or directory


async def _verify(db_url: str, keys: tuple[Path, Path], checkpoint: Path) -> Result:
    return await _cli(db_url, "verify", "--checkpoint", checkpoint, "--public-key", keys[1])


async def test_keygen_writes_a_private_key_only_its_owner_reads(keys) -> None:
    private, public = keys
    assert private.stat().st_mode & 0o777 == 0o600
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    # A second keygen never overwrites the key the checkpoints were signed with.
    assert CliRunner().invoke(main, ["checkpoint", "keygen", str(private)]).exit_code != 0


async def test_a_log_that_only_grew_is_intact_up_to_the_checkpoint(store, db_url, keys, tmp_path) -> None:
    await _three_streams(store)
    checkpoint = await _checkpoint(db_url, keys, tmp_path / "checkpoints")
    # More events come after the checkpoint: they are not its business.
    await _three_streams(store)
    result = await _verify(db_url, keys, checkpoint)
    assert result.exit_code == 0, result.output
    assert "intact up to position 9 (9 events)" in result.output


@pytest.mark.parametrize("removed", ["a stream's last event", "the log's last events"])
async def test_a_removed_tail_is_detected_though_every_chain_is_intact(store, db_url, keys, tmp_path, removed) -> None:
    a, _, c = await _three_streams(store)
    checkpoint = await _checkpoint(db_url, keys, tmp_path / "checkpoints")
    # A superuser deletes the newest events of a stream: no link is left broken.
    stream, versions = (a.id, [3]) if removed == "a stream's last event" else (c.id, [3, 2])
    await _tamper(db_url, ("DELETE FROM events WHERE stream_id = $1 AND version = $2", [(stream, v) for v in versions]))
    assert (await _cli(db_url, "verify")).exit_code == 0
    result = await _verify(db_url, keys, checkpoint)
    assert result.exit_code == 1, result.output
    assert f"{9 - len(versions)} events up to position 9, 9 signed: events were removed" in result.output
    if removed == "the log's last events":
        assert "the checkpoint's last event (position 9) is gone" in result.output


async def test_a_rehashed_tail_is_detected_though_every_chain_is_intact(store, db_url, keys, tmp_path) -> None:
    _, b, _ = await _three_streams(store)
    checkpoint = await _checkpoint(db_url, keys, tmp_path / "checkpoints")
    # The forger edits b's last two events and recomputes their links in version order.
    await _tamper(db_url, (EDIT, [(b.id, 2), (b.id, 3)]), (REHASH, [(b.id, 2), (b.id, 3)]))
    plain = await _cli(db_url, "verify")
    assert plain.exit_code == 0, plain.output
    result = await _verify(db_url, keys, checkpoint)
    assert result.exit_code == 1, result.output
    assert "TAMPERED the log differs from the signed digest" in result.output


async def test_a_rehashed_event_is_placed_between_two_intermediate_digests(store, db_url, keys, tmp_path) -> None:
    counter = Counter.start("long")
    for _ in range(2 * anchor.MARK_EVERY + 499):
        counter.increment(1)
    await store.append(counter.collect_events(), META)
    checkpoint = await _checkpoint(db_url, keys, tmp_path / "checkpoints")
    # One event half-way between the first and second intermediate digests is rewritten.
    edited = anchor.MARK_EVERY + 500
    tail = [(counter.id, v) for v in range(edited, 2 * anchor.MARK_EVERY + 501)]
    await _tamper(db_url, (EDIT, [(counter.id, edited)]), (REHASH, tail))
    result = await _verify(db_url, keys, checkpoint)
    assert result.exit_code == 1, result.output
    # One transaction, so its positions are the delivery order.
    first, last = anchor.MARK_EVERY, 2 * anchor.MARK_EVERY
    assert f"after position {first} (the first {first} events in delivery order match)" in result.output
    assert f"match) at or before position {last}:" in result.output


@pytest.mark.parametrize("moved", [4, 9])
async def test_an_edited_ordering_column_is_detected(store, db_url, keys, tmp_path, moved) -> None:
    await _three_streams(store)
    checkpoint = await _checkpoint(db_url, keys, tmp_path / "checkpoints")
    # A superuser moves an event into the first transaction: followers would read it elsewhere.
    await _tamper(db_url, ("UPDATE events SET xid = (SELECT min(xid) FROM events) WHERE position = $1", [(moved,)]))
    result = await _verify(db_url, keys, checkpoint)
    assert result.exit_code == 1, result.output
    assert "TAMPERED the log differs from the signed digest" in result.output
    if moved == 9:
        assert "the checkpoint's last event (position 9) has another xid" in result.output


async def test_a_checkpoint_signed_by_another_key_is_refused(store, db_url, keys, tmp_path) -> None:
    await _three_streams(store)
    # Someone with the database but not the key signs a checkpoint of their own.
    other = tmp_path / "other" / "key.pem"
    other.parent.mkdir()
    assert CliRunner().invoke(main, ["checkpoint", "keygen", str(other)]).exit_code == 0
    forged = await _checkpoint(db_url, (other, other.with_suffix(".pem.pub")), tmp_path / "checkpoints")
    result = await _verify(db_url, keys, forged)
    assert result.exit_code == 1, result.output
    assert "REFUSED" in result.output and "signature does not match" in result.output


async def test_an_edited_checkpoint_file_is_refused(store, db_url, keys, tmp_path) -> None:
    await _three_streams(store)
    checkpoint = await _checkpoint(db_url, keys, tmp_path / "checkpoints")
    # After removing the tail, the forger lowers the signed count to match.
    signed = msgspec.json.decode(checkpoint.read_bytes())
    signed["checkpoint"]["head"]["count"] = 8
    checkpoint.write_bytes(msgspec.json.encode(signed))
    result = await _verify(db_url, keys, checkpoint)
    assert result.exit_code == 1, result.output
    assert "REFUSED" in result.output and "signature does not match" in result.output


async def test_the_next_checkpoint_refuses_to_continue_a_planted_one(store, db_url, keys, tmp_path) -> None:
    await _three_streams(store)
    directory = tmp_path / "checkpoints"
    checkpoint = await _checkpoint(db_url, keys, directory)
    signed = msgspec.json.decode(checkpoint.read_bytes())
    signed["checkpoint"]["head"]["digest"] = "00" * 32
    checkpoint.write_bytes(msgspec.json.encode(signed))
    await _three_streams(store)
    result = await _cli(db_url, "checkpoint", "write", "--key", keys[0], "--dir", directory)
    assert result.exit_code == 1
    assert "signature does not match" in result.output
    assert len(list(directory.glob("checkpoint-*.json"))) == 1


async def test_an_incremental_checkpoint_equals_one_from_scratch(store, db_url, keys, tmp_path) -> None:
    directory = tmp_path / "checkpoints"
    await _three_streams(store)
    await _checkpoint(db_url, keys, directory)
    await _three_streams(store)
    second = await _checkpoint(db_url, keys, directory)
    public = anchor.load_public_key(keys[1])
    continued = anchor.read_signed(second, public)
    # Computed again from the first event, without the first checkpoint.
    scratch = await anchor.next_checkpoint(store, None, anchor.fingerprint(public), lambda: datetime.now(UTC))
    assert scratch is not None and continued.previous is not None
    assert continued.previous.count == 9
    assert scratch.head == continued.head
    # Nothing new: no third checkpoint.
    result = await _cli(db_url, "checkpoint", "write", "--key", keys[0], "--dir", directory)
    assert "nothing new" in result.output
    assert len(list(directory.glob("checkpoint-*.json"))) == 2
    verified = await _verify(db_url, keys, directory)
    assert "intact up to position 18 (18 events)" in verified.output


async def test_the_worker_publishes_a_checkpoint_when_configured(store, settings, keys, tmp_path) -> None:
    await _three_streams(store)
    directory = tmp_path / "published"
    configured = msgspec.structs.replace(settings, checkpoint_key=str(keys[0]), checkpoint_dir=str(directory))
    [task] = anchor.publishing(store, configured)
    try:
        # Its first checkpoint is written as it starts.
        for _ in range(300):
            if anchor.newest_file(directory) is not None:
                break
            await asyncio.sleep(0.1)
    finally:
        task.cancel()
    newest = anchor.newest_file(directory)
    assert newest is not None and newest.name == anchor.file_name(9)
    assert anchor.publishing(store, Settings(database_url=settings.database_url)) == []
