-- depends: 0011.webhooks
-- Where each relay (e.g. to a NATS JetStream stream) has published public events up to.

CREATE TABLE relay_positions (
    name text PRIMARY KEY,
    seq  bigint NOT NULL DEFAULT 0  -- the public_events.seq published up to
);

GRANT SELECT, INSERT, UPDATE ON relay_positions TO target_ledger_app;
