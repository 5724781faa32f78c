"""Signed checkpoints of the whole log: evidence of a removed or rewritten tail that the per-stream chain misses.

A checkpoint signs a running digest over every event up to a cursor, in delivery order
((xid, position), only events below the watermark, so the set up to a cursor never changes):

    d_0 = 32 zero bytes
    d_i = SHA-256(d_{i-1} || position || xid || hash || stream_id || version)

position and xid as unsigned 64-bit big-endian integers, hash the event's 32-byte chain link
(events.hash), stream_id its 16 bytes (RFC 4122 order), version an unsigned 32-bit big-endian
integer. Every input has a fixed width, so no two event sequences share a digest input.
"""

import asyncio
import hashlib
import logging
import os
import struct
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from target_ledger.config import Settings
from target_ledger.eventstore.store import Cursor, EventStore, Recorded

log = logging.getLogger(__name__)

FORMAT = "target-ledger checkpoint 1"
MARK_EVERY = 1000  # events between the intermediate digests that narrow down where a log differs
BATCH = 1000
_NUMBERS = struct.Struct(">QQ")
_VERSION = struct.Struct(">I")
HASHES = "SELECT position, hash FROM events WHERE position = ANY($1::bigint[])"


class CheckpointError(Exception):
    """A checkpoint that cannot be trusted or written (not one, another key, an edited file)."""


class Link(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The running digest after the first `count` events, the last of them at (xid, position)."""

    count: int
    position: int
    xid: int
    digest: str  # hex

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.xid, self.position)


ORIGIN = Link(count=0, position=0, xid=0, digest=bytes(32).hex())


class Checkpoint(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    format: str
    head: Link  # every event up to here
    previous: Link | None  # the checkpoint this one continued from (None: the first)
    marks: list[Link]  # every MARK_EVERY events after `previous`
    signed_at: datetime
    key: str  # the signing key's fingerprint


class Signed(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    checkpoint: Checkpoint
    signature: bytes  # Ed25519 over canonical(checkpoint)


def canonical(value: msgspec.Struct) -> bytes:
    """Compact JSON, fields sorted by name: the bytes that are signed, whoever re-encodes them."""
    return msgspec.json.encode(value, order="sorted")


def fingerprint(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def new_key() -> tuple[bytes, bytes]:
    """A fresh signing key: (private PEM, public PEM)."""
    private = Ed25519PrivateKey.generate()
    return (
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
    )


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError):  # not PEM, or protected by a passphrase
        raise CheckpointError(f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except ValueError:
        raise CheckpointError(f"{path} is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError(f"{path} is not an Ed25519 public key")
    return key


def sign(checkpoint: Checkpoint, key: Ed25519PrivateKey) -> bytes:
    return canonical(Signed(checkpoint=checkpoint, signature=key.sign(canonical(checkpoint))))


def read_signed(path: Path, public: Ed25519PublicKey) -> Checkpoint:
    """The checkpoint in path, if the public key's owner signed exactly these fields."""
    try:
        signed = msgspec.json.decode(path.read_bytes(), type=Signed)
    except msgspec.DecodeError as e:
        raise CheckpointError(f"{path} is not a checkpoint: {e}") from None
    try:
        public.verify(signed.signature, canonical(signed.checkpoint))
    except InvalidSignature:
        raise CheckpointError(
            f"{path}: the signature does not match (signed by another key, or the file was edited)"
        ) from None
    return signed.checkpoint


class Running:
    """The digest of the events read so far, extended one event at a time."""

    def __init__(self, start: Link) -> None:
        self.count, self.position, self.xid = start.count, start.position, start.xid
        self.digest = bytes.fromhex(start.digest)

    def add(self, event: Recorded, event_hash: bytes) -> None:
        head = _NUMBERS.pack(event.position, event.xid)
        tail = event.stream_id.bytes + _VERSION.pack(event.version)
        self.digest = hashlib.sha256(self.digest + head + event_hash + tail).digest()
        self.count, self.position, self.xid = self.count + 1, event.position, event.xid

    def link(self) -> Link:
        return Link(count=self.count, position=self.position, xid=self.xid, digest=self.digest.hex())


async def delivered(
    store: EventStore, after: Cursor, until: Cursor | None = None
) -> AsyncIterator[tuple[Recorded, bytes]]:
    """Each event after `after` (up to `until`) in delivery order, with its chain link."""
    while batch := await store.read_after(after, BATCH):
        rows = await store.pool.fetch(HASHES, [e.position for e in batch])
        hashes = {r["position"]: bytes(r["hash"]) for r in rows}
        for event in batch:
            if until is not None and event.cursor > until:
                return
            yield event, hashes.get(event.position, b"")
        if len(batch) < BATCH:  # caught up: a log that keeps growing is for the next checkpoint
            return
        after = batch[-1].cursor


async def next_checkpoint(
    store: EventStore, previous: Checkpoint | None, key: str, now: Callable[[], datetime]
) -> Checkpoint | None:
    """The checkpoint after `previous`, extended from its digest (None: no new event)."""
    start = previous.head if previous else ORIGIN
    running, marks = Running(start), []
    async for event, event_hash in delivered(store, start.cursor):
        running.add(event, event_hash)
        if running.count % MARK_EVERY == 0:
            marks.append(running.link())
    if running.count == start.count:
        return None
    head = running.link()
    marks = [m for m in marks if m != head]
    return Checkpoint(
        format=FORMAT, head=head, previous=previous.head if previous else None, marks=marks, signed_at=now(), key=key
    )


def file_name(position: int) -> str:
    return f"checkpoint-{position:020d}.json"


def newest_file(directory: Path) -> Path | None:
    files = sorted(directory.glob("checkpoint-*.json"))  # zero-padded: by name is by position
    return files[-1] if files else None


async def write_next(store: EventStore, private: Ed25519PrivateKey, directory: Path) -> tuple[Path, Checkpoint] | None:
    """Write the checkpoint after the newest one in directory; None when no event is new.
    The newest must carry this key's signature: a planted file would be continued otherwise."""
    public = private.public_key()
    newest = newest_file(directory)
    previous = await asyncio.to_thread(read_signed, newest, public) if newest else None
    checkpoint = await next_checkpoint(store, previous, fingerprint(public), lambda: datetime.now(UTC))
    if checkpoint is None:
        return None
    return await asyncio.to_thread(_save, directory, checkpoint, private), checkpoint


def _save(directory: Path, checkpoint: Checkpoint, private: Ed25519PrivateKey) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / file_name(checkpoint.head.position)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    draft.write_bytes(sign(checkpoint, private))
    try:
        os.link(draft, path)  # never a half-written file under the name, never over another one
    finally:
        draft.unlink()
    return path


def publishing(store: EventStore, settings: Settings) -> list["asyncio.Task[None]"]:
    """The worker's periodic checkpoints, when TL_CHECKPOINT_KEY and TL_CHECKPOINT_DIR are set."""
    if not (settings.checkpoint_key and settings.checkpoint_dir):
        return []
    private = load_private_key(Path(settings.checkpoint_key))  # unreadable: fail at start, not in an hour
    directory, interval = Path(settings.checkpoint_dir), settings.checkpoint_interval
    return [asyncio.create_task(_publish_every(store, private, directory, interval))]


async def _publish_every(store: EventStore, private: Ed25519PrivateKey, directory: Path, interval: float) -> None:
    while True:
        try:
            written = await write_next(store, private, directory)
            if written:
                head = written[1].head
                facts = {"file": str(written[0]), "events": head.count, "position": head.position}
                log.info("checkpoint written", extra=facts)
        except FileExistsError:
            pass  # another worker wrote the same checkpoint
        except Exception:
            log.exception("checkpoint not written; trying again in %s s", interval)
        await asyncio.sleep(interval)


async def departures(store: EventStore, checkpoint: Checkpoint) -> list[str]:
    """How the log up to the checkpoint's cursor differs from what was signed (nothing: intact).
    Recomputed from the first event: a rewrite before an earlier checkpoint shows too."""
    if checkpoint.format != FORMAT:
        raise CheckpointError(f"unknown checkpoint format {checkpoint.format!r}")
    head = checkpoint.head
    points = {p.count: p for p in [checkpoint.previous, *checkpoint.marks, head] if p}
    running, matched, differs = Running(ORIGIN), ORIGIN, None
    async for event, event_hash in delivered(store, ORIGIN.cursor, head.cursor):
        running.add(event, event_hash)
        point = points.get(running.count)
        if point and differs is None:
            matched, differs = (point, None) if running.link() == point else (matched, point)
    if running.link() == head:
        return []
    problems = []
    cursor = await store.cursor_at(head.position)
    if cursor is None:
        problems.append(f"the checkpoint's last event (position {head.position}) is gone")
    elif cursor != head.cursor:
        problems.append(
            f"the checkpoint's last event (position {head.position}) has another xid, its place in the"
            f" delivery order: {cursor.xid}, signed {head.xid}"
        )
    if running.count < head.count:
        problems.append(
            f"{running.count} events up to position {head.position}, {head.count} signed:"
            " events were removed, or moved past it by an edited xid"
        )
    elif running.count > head.count:
        problems.append(
            f"{running.count} events up to position {head.position}, {head.count} signed:"
            " events were inserted, or moved before it by an edited xid"
        )
    after = f" after position {matched.position} (the first {matched.count} events in delivery order match)"
    problems.append(
        f"the log differs from the signed digest{after if matched.count else ''}"
        f" at or before position {(differs or head).position}:"
        " an event there was edited and re-hashed, removed, or moved by an edited xid"
    )
    return problems
