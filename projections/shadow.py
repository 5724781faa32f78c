"""The shadow model a rebuild writes: a schema of its own, `rebuild_<projection>`, its tables
copied from the live ones.

Its tables are made from the live ones (CREATE TABLE ... LIKE ... INCLUDING ALL), not from
migrations/ as tables otherwise are: the live tables are what every migration so far made of
them, so the copy has their columns, defaults, constraints and indexes whatever their history,
and a migration stays the only place a table's shape is decided. The projection's own handlers
write the shadow, unchanged: they name tables unqualified, so a search_path that puts the
shadow schema first sends their writes there.
"""

from typing import Any

import asyncpg


def shadow_schema(projection: Any) -> str:
    return f"rebuild_{projection.NAME}"


def quoted(name: str) -> str:
    """An identifier quoted: DDL takes no $n parameters, and these names come from the
    projection modules' own constants, never from input."""
    return '"' + name.replace('"', '""') + '"'


async def as_owner(conn: asyncpg.Connection, projection: Any) -> None:
    """In this transaction only: the login user's rights, unqualified names in the shadow."""
    await conn.execute("SET LOCAL ROLE NONE")
    await conn.execute("SELECT set_config('search_path', $1, true)", f"{quoted(shadow_schema(projection))}, public")


async def prepare(conn: asyncpg.Connection, projection: Any) -> None:
    """An empty shadow schema (a killed rebuild's leftovers dropped) with a copy of each live
    table: its indexes under their live names (migrations may name them), its storage
    parameters and its grants."""
    schema = quoted(shadow_schema(projection))
    async with conn.transaction():
        await conn.execute("SET LOCAL ROLE NONE")
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.execute(f"CREATE SCHEMA {schema}")
        for table in projection.TABLES:
            await conn.execute(f"CREATE TABLE {schema}.{quoted(table)} (LIKE public.{quoted(table)} INCLUDING ALL)")
            if options := await conn.fetchval(RELOPTIONS, table):  # LIKE leaves them (a fillfactor)
                await conn.execute(f"ALTER TABLE {schema}.{quoted(table)} SET ({options})")
            for statement in await conn.fetch(RENAME_INDEXES, table, shadow_schema(projection)):
                await conn.execute(statement[0])
            for statement in await conn.fetch(GRANTS, table, shadow_schema(projection)):
                await conn.execute(statement[0])


# The live table's storage parameters, as they are written in SET (...), or NULL.
RELOPTIONS = """SELECT array_to_string(reloptions, ', ') FROM pg_class
                 WHERE oid = format('public.%I', $1::text)::regclass"""

# Each shadow index that matches a live one (same definition apart from its name and table)
# gets the live one's name; an index that backs a constraint renames the constraint with it.
RENAME_INDEXES = """
WITH live AS (SELECT c.relname AS name, i.indisunique AS uniq,
                     regexp_replace(pg_get_indexdef(i.indexrelid), '^.*? ON \\S+ ', '') AS def
                FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
               WHERE i.indrelid = format('public.%I', $1::text)::regclass),
     shadow AS (SELECT c.relname AS name, i.indisunique AS uniq,
                       regexp_replace(pg_get_indexdef(i.indexrelid), '^.*? ON \\S+ ', '') AS def
                  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                 WHERE i.indrelid = format('%I.%I', $2::text, $1::text)::regclass)
SELECT format('ALTER INDEX %I.%I RENAME TO %I', $2::text, shadow.name, live.name)
  FROM live JOIN shadow USING (uniq, def)
 WHERE live.name <> shadow.name
"""

# The privileges others hold on the live table, granted likewise on its shadow copy.
GRANTS = """
SELECT format('GRANT %s ON %I.%I TO %s', string_agg(a.privilege_type, ', '), $2::text, $1::text,
              CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END)
  FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) AS a
 WHERE c.oid = format('public.%I', $1::text)::regclass AND a.grantee <> c.relowner
 GROUP BY a.grantee
"""


async def drop(conn: asyncpg.Connection, projection: Any) -> None:
    """The shadow schema gone, with whatever it holds."""
    async with conn.transaction():
        await conn.execute("SET LOCAL ROLE NONE")
        await conn.execute(f"DROP SCHEMA IF EXISTS {quoted(shadow_schema(projection))} CASCADE")
