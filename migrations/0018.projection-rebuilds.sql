-- depends: 0017.server-order
-- Rebuilds beside the live read models: the meaning each projection's tables were built
-- with (a worker finding another VERSION in its code rebuilds them), and each running
-- rebuild's progress, so that any process's /metrics can show it.

-- Every read model built so far was built by its projection's first version.
ALTER TABLE projection_tracking ADD COLUMN version integer NOT NULL DEFAULT 1;

-- One row per rebuild running now: upserted as it goes, deleted when its model is swapped in.
CREATE TABLE projection_rebuilds (
    name         text PRIMARY KEY,
    started_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    events_done  bigint NOT NULL,
    events_total bigint NOT NULL
);

GRANT SELECT, INSERT, UPDATE, DELETE ON projection_rebuilds TO target_ledger_app;
