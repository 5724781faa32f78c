-- depends: 0014.idempotency
-- A guarded append in one round trip instead of five (BEGIN, lock, version check, INSERT,
-- COMMIT). Called as a statement of its own, the function runs in that statement's
-- transaction, so the advisory lock is held until the rows commit. Each statement inside a
-- volatile PL/pgSQL function takes a fresh snapshot, so the version is read after the lock
-- is granted: a close that committed while this waited for the lock is seen.

CREATE OR REPLACE FUNCTION append_guarded(
    guard_stream uuid, guard_version int, exclusive boolean,
    ids uuid[], streams uuid[], versions int[], types text[], payloads jsonb[], metadatas jsonb[]
) RETURNS TABLE (event_id uuid, "position" bigint)
LANGUAGE plpgsql AS $$
BEGIN
    IF exclusive THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(guard_stream::text, 7));
    ELSE
        PERFORM pg_advisory_xact_lock_shared(hashtextextended(guard_stream::text, 7));
        IF (SELECT coalesce(max(e.version), 0) FROM events e WHERE e.stream_id = guard_stream)
           IS DISTINCT FROM guard_version THEN
            RAISE EXCEPTION 'stream % moved on from version %', guard_stream, guard_version
                USING ERRCODE = 'TL409', DETAIL = guard_stream::text;
        END IF;
    END IF;
    RETURN QUERY
        INSERT INTO events AS e (event_id, stream_id, version, type, payload, metadata)
        SELECT * FROM unnest(ids, streams, versions, types, payloads, metadatas)
        ON CONFLICT ON CONSTRAINT events_event_id_key DO NOTHING
        RETURNING e.event_id, e.position;
END
$$;

GRANT EXECUTE ON FUNCTION append_guarded(uuid, int, boolean, uuid[], uuid[], int[], text[], jsonb[], jsonb[])
    TO target_ledger_app;
