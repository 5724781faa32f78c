-- depends: 0016.public-ratio-metrics
-- Delivery order that survives a move to another server. events.xid was the writing
-- transaction's id, so on a server whose counter is lower than the stored ids (a dump
-- restored elsewhere, logical replication, a managed server) every new event sorted below
-- every follower's cursor and was never delivered. Now it is that id plus an offset per
-- server: a new server's offset puts its keys above every stored one, and within one server
-- its snapshot's xmin plus the offset (ledger_watermark) bounds the keys of the transactions
-- still open, exactly as pg_snapshot_xmin did before. The column keeps its name and type.

-- No append is in flight while the trigger and the hash format change: the first position
-- written with the new format is then known.
LOCK TABLE events IN SHARE MODE;

-- The service role must not steer the offset or the trigger's checks. A session's temporary
-- schema is searched for table and type names before any other (even inside a function whose
-- search_path is set, unless pg_temp is named in it, last): the trigger and the functions it
-- calls name every table and type with its schema, and those with a search_path put pg_temp
-- last. (ledger_watermark and event_hash run as their caller and decide only what the caller
-- reads: a session's own temporary objects mislead only that session.) Functions and operators
-- are never looked up in pg_temp, but a role could put its own in a schema it may create in
-- and put that schema first in its search_path: before PostgreSQL 15 everyone may create in
-- public. Hence nobody but its owner may, and the service role may create in no schema at
-- all; the trigger then needs no search_path of its own (setting one would save and restore it
-- for every row appended).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

DO $$
BEGIN
    IF has_database_privilege('target_ledger_app', current_database(), 'CREATE')
       OR EXISTS (SELECT FROM pg_namespace
                   WHERE has_schema_privilege('target_ledger_app', oid, 'CREATE')
                     AND nspname NOT LIKE 'pg\_temp\_%' AND nspname NOT LIKE 'pg\_toast\_temp\_%') THEN
        RAISE EXCEPTION 'the service role target_ledger_app may create schemas or objects in one: with its own operators it could choose the order of events'
            USING ERRCODE = 'TL412', HINT = 'As the owner of the database and its schemas, revoke CREATE from target_ledger_app and from PUBLIC (REVOKE CREATE ON SCHEMA public FROM PUBLIC), then migrate again.';
    END IF;
END
$$;

-- Every server the ledger has run on, the current one last.
CREATE TABLE ledger_servers (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    system_identifier bigint NOT NULL,       -- pg_control_system(): initdb makes a new one
    started           timestamptz NOT NULL,  -- pg_postmaster_start_time() when last checked
    order_offset      bigint NOT NULL CHECK (order_offset >= 0),
    since_position    bigint NOT NULL,       -- the first position it could write
    first_seen        timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT ON ledger_servers TO target_ledger_app;

-- The offset that keeps keys growing: every stored key is a cursor some reader may hold, and
-- every key written from now on is at least this server's xmin plus the offset.
CREATE FUNCTION ledger_next_offset(previous bigint) RETURNS bigint
LANGUAGE sql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT greatest(coalesce(previous, 0),
                    coalesce((SELECT xid::text::bigint FROM public.events ORDER BY xid DESC LIMIT 1), 0)
                    - pg_snapshot_xmin(pg_current_snapshot())::text::bigint + 1)
$$;

INSERT INTO ledger_servers (system_identifier, started, order_offset, since_position)
SELECT system_identifier, pg_postmaster_start_time(), ledger_next_offset(0),
       (SELECT coalesce(max(position), 0) + 1 FROM events)
  FROM pg_control_system();

-- The fast path: ledger_server_offset() is this server's offset as a constant while it runs
-- (NULL on another server, or after a restart), rewritten whenever the offset is recorded.
-- PostgreSQL inlines it, so the trigger pays next to nothing per event; reading
-- ledger_servers instead cost about 3.5 µs of each event's insert, nearly as much as the
-- rest of the trigger. Only its owner can rewrite it. The start time is written as epoch seconds:
-- a timestamp's text depends on the session's DateStyle.
CREATE FUNCTION ledger_remember_offset(order_offset bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    EXECUTE format(
        'CREATE OR REPLACE FUNCTION public.ledger_server_offset() RETURNS bigint LANGUAGE sql STABLE AS %L',
        format('SELECT CASE WHEN extract(epoch FROM pg_postmaster_start_time()) = %s THEN %s::bigint END',
               extract(epoch FROM pg_postmaster_start_time()), order_offset));
END
$$;

REVOKE ALL ON FUNCTION ledger_remember_offset(bigint) FROM PUBLIC;

DO $$ BEGIN PERFORM ledger_remember_offset(order_offset) FROM ledger_servers; END $$;

-- This server's offset. Unless it is known since this server started (the fast path),
-- check which server this is, once per start, under a lock, and record it. Runs as its
-- owner: nobody else writes ledger_servers or rewrites ledger_server_offset().
CREATE FUNCTION ledger_order_offset() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    latest public.ledger_servers;
    here bigint;
    next_offset bigint;
BEGIN
    next_offset := public.ledger_server_offset();
    IF next_offset IS NOT NULL THEN
        RETURN next_offset;
    END IF;
    SELECT * INTO latest FROM public.ledger_servers ORDER BY id DESC LIMIT 1;
    -- A hot standby (or a read-only transaction) orders as the primary last recorded: a
    -- stale offset only holds events back from its readers, it never lets one pass.
    IF pg_is_in_recovery() OR current_setting('transaction_read_only')::boolean THEN
        RETURN coalesce(latest.order_offset, 0);
    END IF;
    PERFORM pg_advisory_xact_lock(7470017);
    -- A snapshot older than the lock could miss a registration made meanwhile and record a
    -- second, lower offset. Appends and reads run in READ COMMITTED, where this never happens.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'the ledger''s server is not recorded yet; try again in READ COMMITTED'
            USING ERRCODE = 'serialization_failure';
    END IF;
    SELECT * INTO latest FROM public.ledger_servers ORDER BY id DESC LIMIT 1;
    IF latest.started = pg_postmaster_start_time() THEN
        RETURN latest.order_offset;  -- recorded while this waited
    END IF;
    SELECT system_identifier INTO here FROM pg_control_system();
    next_offset := public.ledger_next_offset(latest.order_offset);
    IF latest.system_identifier = here AND next_offset = latest.order_offset THEN
        UPDATE public.ledger_servers SET started = pg_postmaster_start_time() WHERE id = latest.id;
    ELSE
        INSERT INTO public.ledger_servers (system_identifier, started, order_offset, since_position)
        VALUES (here, pg_postmaster_start_time(), next_offset, (SELECT coalesce(max(position), 0) + 1 FROM public.events));
    END IF;
    PERFORM public.ledger_remember_offset(next_offset);
    RETURN next_offset;
END
$$;

REVOKE ALL ON FUNCTION ledger_order_offset() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger_order_offset() TO target_ledger_app;

-- Readers take the events with a key below this: no transaction still open, nor any later
-- one, can write a lower key. STABLE: one value per statement, from its snapshot. PL/pgSQL
-- rather than SQL: it cannot be inlined (it calls a volatile function), and before
-- PostgreSQL 18 a SQL function's body was planned again in every statement that called it.
CREATE FUNCTION ledger_watermark() RETURNS xid8
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (pg_snapshot_xmin(pg_current_snapshot())::text::bigint
            + coalesce(ledger_server_offset(), ledger_order_offset()))::text::xid8;
END
$$;

-- The hash formats of the chain, by the first position written with each: format 2 adds
-- xid, so an edited delivery order breaks the link. verify checks each event with its own.
CREATE TABLE chain_formats (
    format         integer PRIMARY KEY,
    since_position bigint NOT NULL,
    terms          text NOT NULL
);

INSERT INTO chain_formats (format, since_position, terms)
VALUES (1, 1, 'position|event_id|stream_id|version|type|payload|metadata|recorded_at µs'),
       (2, (SELECT coalesce(max(position), 0) + 1 FROM events),
        'position|event_id|stream_id|version|type|payload|metadata|recorded_at µs|xid');

GRANT SELECT ON chain_formats TO target_ledger_app;

-- A format-1 event's xid term is NULL, which concat_ws leaves out: its text is as before.
CREATE OR REPLACE FUNCTION event_hash(previous bytea, e public.events) RETURNS bytea
LANGUAGE sql STABLE AS $$
    SELECT sha256(
        coalesce(previous, ''::bytea) || convert_to(concat_ws('|',
            e.position, e.event_id, e.stream_id, e.version, e.type,
            e.payload::text, e.metadata::text,
            (extract(epoch FROM e.recorded_at) * 1000000)::bigint,
            CASE WHEN e.position >= (SELECT since_position FROM public.chain_formats WHERE format = 2) THEN e.xid END
        ), 'UTF8'))
$$;

-- The trigger sets xid whatever the inserter supplied, links the event, and refuses one
-- whose transaction is older than its predecessor's (it began before that commit, then
-- read it): delivered by key, the later version would come first. It runs with the inserting
-- session's search_path: every table, type and function it names carries its schema (a
-- temporary table or domain would be found first), bar pg_catalog's functions and operators,
-- which nobody but the owners can shadow (see the top of this file). bigint is a keyword.
CREATE OR REPLACE FUNCTION events_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    previous pg_catalog.bytea;
    previous_key pg_catalog.xid8;
    order_offset bigint;
BEGIN
    -- A constant while this server runs; the full check runs once per server start.
    order_offset := coalesce(public.ledger_server_offset(), public.ledger_order_offset());
    NEW.xid := (pg_current_xact_id()::pg_catalog.text::bigint + order_offset)::pg_catalog.text::pg_catalog.xid8;
    IF NEW.version > 1 THEN
        SELECT hash, xid INTO previous, previous_key FROM public.events
         WHERE stream_id = NEW.stream_id AND version = NEW.version - 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'stream % has no version %', NEW.stream_id, NEW.version - 1
                USING ERRCODE = 'TL409', DETAIL = NEW.stream_id::pg_catalog.text;
        END IF;
        IF previous_key > NEW.xid THEN
            RAISE EXCEPTION 'stream % version % was written after this transaction began', NEW.stream_id, NEW.version - 1
                USING ERRCODE = 'TL409', DETAIL = NEW.stream_id::pg_catalog.text;
        END IF;
    END IF;
    -- Keep in step with event_hash(): every event written from now on has format 2.
    NEW.hash := sha256(
        coalesce(previous, ''::pg_catalog.bytea) || convert_to(concat_ws('|',
            NEW.position, NEW.event_id, NEW.stream_id, NEW.version, NEW.type,
            NEW.payload::pg_catalog.text, NEW.metadata::pg_catalog.text,
            (extract(epoch FROM NEW.recorded_at) * 1000000)::bigint,
            NEW.xid
        ), 'UTF8'));
    RETURN NEW;
END
$$;

-- The service role names the columns it supplies and no others: a chosen xid (or position,
-- recorded_at, hash) is refused outright.
REVOKE INSERT ON events FROM target_ledger_app;
GRANT INSERT (event_id, stream_id, version, type, payload, metadata) ON events TO target_ledger_app;
