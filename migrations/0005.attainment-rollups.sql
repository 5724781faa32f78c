-- depends: 0004.targets-tree
-- Attainment rolls actuals up the org as of their date, through time and scope: daily
-- totals per node replace the per-target running sums. The read model is rebuilt from
-- the log, so its old tables go and its position starts again at zero.

-- squawk-ignore ban-drop-table
DROP TABLE attainment_targets;  -- a read model's own table: nothing outside reads it
-- squawk-ignore ban-drop-table
DROP TABLE attainment_actuals;
DELETE FROM projection_tracking WHERE name = 'attainment';

-- Each unit with the units above it, nearest first: the chain an actual rolls up.
CREATE TABLE attainment_units (
    node text PRIMARY KEY,
    path text[] NOT NULL
);

CREATE TABLE attainment_memberships (
    person     text NOT NULL,
    unit       text NOT NULL,
    valid_from date NOT NULL,
    valid_to   date,  -- the first day no longer a member; NULL while still one
    PRIMARY KEY (person, valid_from, unit)  -- a same-day move leaves an empty interval behind
);

CREATE TABLE attainment_targets (
    target_id uuid PRIMARY KEY,
    node      text NOT NULL,
    metric    text NOT NULL,
    period    text NOT NULL,
    scope     jsonb NOT NULL,
    starts_on date NOT NULL,
    ends_on   date NOT NULL,
    value     numeric NOT NULL,
    parent_id uuid,
    axis      text
);
CREATE INDEX attainment_targets_key ON attainment_targets (node, metric, period);
CREATE INDEX attainment_targets_parent ON attainment_targets (parent_id);

CREATE TABLE attainment_actuals (
    actual_id   uuid PRIMARY KEY,
    person      text NOT NULL,
    metric      text NOT NULL,
    occurred_on date NOT NULL,
    value       numeric NOT NULL,
    scope       jsonb NOT NULL,
    reversed    boolean NOT NULL DEFAULT false
);

-- What each node (a person, and every unit above them on that day) achieved per day.
CREATE TABLE attainment_daily (
    node   text NOT NULL,
    metric text NOT NULL,
    day    date NOT NULL,
    scope  jsonb NOT NULL,
    value  numeric NOT NULL,
    PRIMARY KEY (node, metric, day, scope)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON attainment_units, attainment_memberships, attainment_targets,
    attainment_actuals, attainment_daily TO target_ledger_app;
