-- depends: 0013.events-chain-inline-hash
-- The first answer to each (caller, Idempotency-Key), so a retried mutation gets that answer
-- again instead of a 409 from the state it created. Operational data, not a fact of the
-- business: it lives beside the events, not in them.

CREATE TABLE idempotent_responses (
    subject      text NOT NULL,
    key          text NOT NULL,
    request      text NOT NULL,  -- method, path and a hash of the body: a reused key must match
    status       integer NOT NULL,
    content_type text NOT NULL,
    body         bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subject, key)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON idempotent_responses TO target_ledger_app;
