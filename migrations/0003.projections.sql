-- depends: 0002.service-role
-- Where each projection has got to, and the first read model: current attainment.

CREATE TABLE projection_tracking (
    name     text PRIMARY KEY,
    xid      xid8 NOT NULL DEFAULT '0',
    position bigint NOT NULL DEFAULT 0
);

CREATE TABLE attainment_targets (
    target_id    uuid PRIMARY KEY,
    node         text NOT NULL,
    metric       text NOT NULL,
    period       text NOT NULL,
    starts_on    date NOT NULL,
    ends_on      date NOT NULL,
    value        numeric NOT NULL,
    actual       numeric NOT NULL DEFAULT 0,
    version      integer NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX attainment_targets_lookup ON attainment_targets (node, metric, starts_on);

CREATE TABLE attainment_actuals (
    actual_id   uuid PRIMARY KEY,
    person      text NOT NULL,
    metric      text NOT NULL,
    occurred_on date NOT NULL,
    value       numeric NOT NULL
);
CREATE INDEX attainment_actuals_lookup ON attainment_actuals (person, metric, occurred_on);

GRANT SELECT, INSERT, UPDATE, DELETE
    ON projection_tracking, attainment_targets, attainment_actuals TO target_ledger_app;
