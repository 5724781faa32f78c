"""Re-check every stream's hash chain and delivery order; name the first broken link of each."""

import uuid
from typing import NamedTuple

import asyncpg

# Recomputes each link from the stored predecessor: an edited event breaks its own
# link, and a re-hashed one breaks its successor's. event_hash covers xid, the delivery
# order, for events written since migrations/0017 (chain_formats says from which
# position); for every event, a version delivered before its predecessor is named too
# (the trigger refuses to write one).
BROKEN_LINKS = """
SELECT DISTINCT ON (stream_id) stream_id, version, position, problem
  FROM (
    SELECT e.stream_id, e.version, e.position,
           CASE WHEN e.version <> row_number() OVER w THEN 'a version is missing before it'
                WHEN e.hash <> event_hash(lag(e.hash) OVER w, e) THEN 'its hash does not match its content'
                WHEN (e.xid, e.position) < (lag(e.xid) OVER w, lag(e.position) OVER w)
                    THEN 'its delivery order (xid, position) comes before the version it follows'
           END AS problem
      FROM events e
    WINDOW w AS (PARTITION BY e.stream_id ORDER BY e.version)
  ) links
 WHERE problem IS NOT NULL
 ORDER BY stream_id, version
"""


class BrokenLink(NamedTuple):
    stream_id: uuid.UUID
    version: int
    position: int
    problem: str

    def __str__(self) -> str:
        return f"stream {self.stream_id} version {self.version} (position {self.position}): {self.problem}"


async def broken_links(conn: asyncpg.Connection) -> list[BrokenLink]:
    """The first broken link of every tampered stream, in log order."""
    rows = await conn.fetch(BROKEN_LINKS)
    return sorted((BrokenLink(*r) for r in rows), key=lambda link: link.position)
