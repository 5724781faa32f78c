"""Every target a ledger's database holds, to compare two ledgers after a plan went from one to the other."""

import msgspec

from target_ledger.database import create_pool
from target_ledger.domain.target import Target
from target_ledger.eventstore import EventStore


async def ledger_targets(url: str, settings) -> dict:
    """Every target of a database as the event store holds it: id → value, parent, axis, method, parts."""
    pool = await create_pool(url, msgspec.structs.replace(settings, database_url=url))
    try:
        store = EventStore(pool)
        ids = await pool.fetch("SELECT DISTINCT stream_id FROM events WHERE type = 'TargetSet'")
        targets = [await store.get(r["stream_id"]) for r in ids]
    finally:
        await pool.close()
    assert all(isinstance(t, Target) for t in targets)
    return {
        t.id: (t.node, t.metric, t.period, dict(t.scope), t.value, t.parent_id, t.axis, t.method, t.parts)
        for t in targets
    }
