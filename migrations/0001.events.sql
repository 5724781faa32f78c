-- The event log: append-only, ordered by (xid, position), hash-chained per stream.

CREATE TABLE events (
    position    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    event_id    uuid NOT NULL UNIQUE,
    stream_id   uuid NOT NULL,
    version     integer NOT NULL CHECK (version > 0),
    type        text NOT NULL,
    payload     jsonb NOT NULL,
    metadata    jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    hash        bytea NOT NULL,
    UNIQUE (stream_id, version)
);

-- Subscribers read "after (xid, position), below the snapshot's xmin" in this order.
CREATE INDEX events_xid_position ON events (xid, position);

-- The canonical text of a stored event, and its link in the stream's chain.
-- jsonb::text is PostgreSQL's normalised rendering, so the chain does not depend on
-- how a client spelled its JSON.
CREATE FUNCTION event_hash(previous bytea, e events) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(
        coalesce(previous, ''::bytea) || convert_to(concat_ws('|',
            e.position, e.event_id, e.stream_id, e.version, e.type,
            e.payload::text, e.metadata::text,
            (extract(epoch FROM e.recorded_at) * 1000000)::bigint
        ), 'UTF8'))
$$;

-- Links each new event to its predecessor, and rejects a version that skips one.
CREATE FUNCTION events_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    previous bytea;
BEGIN
    IF NEW.version > 1 THEN
        SELECT hash INTO previous FROM events
         WHERE stream_id = NEW.stream_id AND version = NEW.version - 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'stream % has no version %', NEW.stream_id, NEW.version - 1
                USING ERRCODE = 'TL409', DETAIL = NEW.stream_id::text;
        END IF;
    END IF;
    NEW.hash := event_hash(previous, NEW);
    RETURN NEW;
END
$$;

CREATE TRIGGER events_chain BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_chain();

-- Nothing is ever updated or deleted, whoever asks.
CREATE FUNCTION events_are_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are immutable: % is not allowed on the event log', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_immutable();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_immutable();
