-- depends: 0006.audit-and-inbox
-- The public integration events (CloudEvents), in the order the projection made them, and
-- the small running state that projection keeps to make them from the domain events alone.

CREATE TABLE public_events (
    seq        bigint PRIMARY KEY,  -- 1, 2, 3 ... in commit order: a consumer's cursor
    id         uuid NOT NULL UNIQUE,
    type       text NOT NULL,
    nodes      text[] NOT NULL,  -- the event's node and every unit above it then
    position   bigint NOT NULL,  -- the domain event it came from
    envelope   jsonb NOT NULL
);
CREATE INDEX public_events_nodes ON public_events USING gin (nodes);

CREATE TABLE public_units (
    node text PRIMARY KEY,
    path text[] NOT NULL  -- the unit, then the units above it
);

CREATE TABLE public_memberships (
    person     text NOT NULL,
    unit       text NOT NULL,
    valid_from date NOT NULL,
    valid_to   date,
    PRIMARY KEY (person, valid_from, unit)
);

-- Metrics declared lower-is-better (a cost): their targets are never "met" by going over.
CREATE TABLE public_metrics (
    name  text PRIMARY KEY,
    lower boolean NOT NULL
);

-- Each target with its running actual and what has already been announced about it.
CREATE TABLE public_targets (
    target_id   uuid PRIMARY KEY,
    node        text NOT NULL,
    metric      text NOT NULL,
    period      text NOT NULL,
    scope       jsonb NOT NULL,
    starts_on   date NOT NULL,
    ends_on     date NOT NULL,
    value       numeric NOT NULL,
    stretch     numeric,
    parent_id   uuid,
    axis        text,
    actual      numeric NOT NULL DEFAULT 0,
    status      text,
    met         boolean NOT NULL DEFAULT false,
    stretch_met boolean NOT NULL DEFAULT false
);
CREATE INDEX public_targets_lookup ON public_targets (node, metric, starts_on);
CREATE INDEX public_targets_parent ON public_targets (parent_id);

-- Each actual with the nodes it counted for on its day: a target set later starts from the
-- actuals already recorded, and a reversal takes an actual out of the targets it is in.
CREATE TABLE public_actuals (
    actual_id   uuid PRIMARY KEY,
    nodes       text[] NOT NULL,
    metric      text NOT NULL,
    occurred_on date NOT NULL,
    scope       jsonb NOT NULL,
    value       numeric NOT NULL,
    reversed    boolean NOT NULL DEFAULT false
);
CREATE INDEX public_actuals_nodes ON public_actuals USING gin (nodes);

-- Adjustments, alerts and corrective actions: the node and target their later events concern.
CREATE TABLE public_subjects (
    id          uuid PRIMARY KEY,
    node        text NOT NULL,
    target_id   uuid,
    detail      jsonb NOT NULL,
    tally       integer NOT NULL DEFAULT 0  -- approvals so far, or an alert's occurrences
);

GRANT SELECT, INSERT, UPDATE, DELETE ON public_events, public_units, public_memberships, public_metrics,
    public_targets, public_actuals, public_subjects TO target_ledger_app;
