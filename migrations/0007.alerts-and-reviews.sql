-- depends: 0006.audit-and-inbox
-- Alerts with their routing and state, follow-up plans the scheduler watches, and reviews.

CREATE TABLE alerts (
    alert_id        uuid PRIMARY KEY,
    rule            text NOT NULL,
    subject         text NOT NULL,
    target_id       uuid,
    node            text NOT NULL,
    metric          text NOT NULL,
    period          text NOT NULL,
    status          text NOT NULL,
    value           numeric,
    threshold       numeric,
    message         text NOT NULL,
    assignee        text NOT NULL,
    acknowledged_by text,
    ack_comment     text,
    occurrences     integer NOT NULL DEFAULT 1,
    raised_at       timestamptz NOT NULL,
    resolved_at     timestamptz,
    -- every raise and resolve: [{raised_at, resolved_at, value}]: a review counts them all
    history         jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX alerts_node ON alerts (node, status);
CREATE INDEX alerts_assignee ON alerts (assignee, status);

CREATE TABLE follow_ups (
    target_id      uuid PRIMARY KEY,
    node           text NOT NULL,
    metric         text NOT NULL,
    period         text NOT NULL,
    cadence        text NOT NULL,
    reporter       text NOT NULL,
    supervisor     text NOT NULL,
    planned_at     timestamptz NOT NULL,
    last_report_at timestamptz
);

CREATE TABLE reviews (
    period           text NOT NULL,
    node             text NOT NULL,
    reviewer         text NOT NULL,
    summary          text NOT NULL,
    success_factors  jsonb NOT NULL,
    shortfall_causes jsonb NOT NULL,
    lessons          jsonb NOT NULL,
    next_actions     jsonb NOT NULL,
    recorded_at      timestamptz NOT NULL,
    position         bigint NOT NULL,
    PRIMARY KEY (period, node)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON alerts, follow_ups, reviews TO target_ledger_app;
