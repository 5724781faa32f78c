-- depends: 0005.attainment-rollups
-- The audit trail of every change to a target, and the approvers' inbox of adjustments.

CREATE TABLE audit_trail (
    position        bigint NOT NULL,
    target_id       uuid NOT NULL,
    node            text NOT NULL,
    type            text NOT NULL,
    actor           text NOT NULL,
    recorded_at     timestamptz NOT NULL,
    adjustment_id   uuid,
    reason_category text,
    old_value       numeric,
    new_value       numeric,
    detail          jsonb NOT NULL,
    PRIMARY KEY (target_id, position)
);
CREATE INDEX audit_trail_node ON audit_trail (node, recorded_at);
CREATE INDEX audit_trail_actor ON audit_trail (actor, recorded_at);

CREATE TABLE adjustment_inbox (
    adjustment_id    uuid PRIMARY KEY,
    target_id        uuid NOT NULL,
    node             text NOT NULL,
    requester        text NOT NULL,
    status           text NOT NULL,
    approvals_needed integer NOT NULL,
    approvals        text[] NOT NULL DEFAULT '{}',
    reason_category  text NOT NULL,
    justification    text NOT NULL,
    changes          jsonb NOT NULL,
    requested_at     timestamptz NOT NULL
);
CREATE INDEX adjustment_inbox_status ON adjustment_inbox (status, requested_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON audit_trail, adjustment_inbox TO target_ledger_app;
