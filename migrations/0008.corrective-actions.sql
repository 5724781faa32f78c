-- depends: 0006.audit-and-inbox
-- Corrective actions: open and overdue per owner and node, and each completed one's measured
-- effect (attainment and pace when opened versus at completion), for the API and reviews.

CREATE TABLE corrective_actions (
    action_id           uuid PRIMARY KEY,
    target_id           uuid NOT NULL,
    alert_id            uuid,
    node                text NOT NULL,
    owner               text NOT NULL,
    opened_by           text NOT NULL,
    due                 date NOT NULL,
    status              text NOT NULL,
    causes              jsonb NOT NULL,
    plan                text NOT NULL,
    resources           text NOT NULL,
    expected_effect     text NOT NULL,
    notes               jsonb NOT NULL DEFAULT '[]',
    outcome             text,
    closed_by           text,
    attainment_before   numeric,
    pace_before         numeric,
    actual_before       numeric,
    attainment_after    numeric,
    pace_after          numeric,
    actual_after        numeric,
    opened_at           timestamptz NOT NULL,
    closed_at           timestamptz
);
CREATE INDEX corrective_actions_owner ON corrective_actions (owner, status, due);
CREATE INDEX corrective_actions_node ON corrective_actions (node, status, due);
CREATE INDEX corrective_actions_target ON corrective_actions (target_id);
-- The alert scheduler scans the open ones for overdue actions.
CREATE INDEX corrective_actions_open ON corrective_actions (due) WHERE status = 'open';

GRANT SELECT, INSERT, UPDATE, DELETE ON corrective_actions TO target_ledger_app;
