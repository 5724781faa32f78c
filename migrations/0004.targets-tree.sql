-- depends: 0003.projections
-- Scopes on attainment rows, and the tree of targets and their decompositions.

ALTER TABLE attainment_targets ADD COLUMN scope jsonb NOT NULL DEFAULT '{}';
ALTER TABLE attainment_actuals ADD COLUMN scope jsonb NOT NULL DEFAULT '{}';

CREATE TABLE target_tree (
    target_id       uuid PRIMARY KEY,
    parent_id       uuid,
    node            text NOT NULL,
    metric          text NOT NULL,
    period          text NOT NULL,
    scope           jsonb NOT NULL,
    value           numeric NOT NULL,
    stretch         numeric,
    axis            text,
    method          text,
    acknowledgement text NOT NULL DEFAULT 'pending',
    version         integer NOT NULL,
    position        bigint NOT NULL
);
CREATE INDEX target_tree_parent ON target_tree (parent_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON target_tree TO target_ledger_app;
