-- depends: 0010.public-events
-- Webhook subscriptions with their own cursor into public_events, and every delivery attempt.

CREATE TABLE webhook_subscriptions (
    id           uuid PRIMARY KEY,
    url          text NOT NULL,
    types        text[],  -- NULL: every type
    nodes        text[] NOT NULL,  -- the node filter and the owner's token scope: an event must concern each
    secret       text NOT NULL,  -- whsec_<base64>, shown once to the subscriber
    owner        text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    status       text NOT NULL DEFAULT 'active',  -- active, or paused after too many failures in a row
    delivered    bigint NOT NULL,  -- the public_events.seq delivered up to
    failures     integer NOT NULL DEFAULT 0,  -- in a row
    next_attempt timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_subscriptions_due ON webhook_subscriptions (next_attempt) WHERE status = 'active';

CREATE TABLE webhook_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    seq             bigint NOT NULL,
    event_id        uuid NOT NULL,
    attempt         integer NOT NULL,
    attempted_at    timestamptz NOT NULL DEFAULT now(),
    status_code     integer,
    error           text,
    duration_ms     integer NOT NULL,
    delivered       boolean NOT NULL
);
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, id);

GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_subscriptions, webhook_deliveries TO target_ledger_app;
