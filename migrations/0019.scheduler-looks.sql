-- depends: 0018.projection-rebuilds
-- What the alert scheduler last did, kept beyond any one process: when it last looked, and
-- its last judgement (the day, when, and the log position it had seen), so that a restart
-- or a takeover by another worker neither judges again needlessly nor misses new data.

CREATE TABLE scheduler_looks (
    scheduler      text PRIMARY KEY,  -- 'alerts'
    looked_at      timestamptz NOT NULL,
    judged_day     date,
    judged_at      timestamptz,
    judged_through bigint NOT NULL DEFAULT 0  -- the head of the log the judgement saw
);

GRANT SELECT, INSERT, UPDATE ON scheduler_looks TO target_ledger_app;
