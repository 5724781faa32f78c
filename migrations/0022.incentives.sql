-- depends: 0020.list-columns
-- Incentive plans (their terms in force and a change waiting for approval) and the payouts
-- each close finalised: the read model of projections/incentives.py. Provisional payouts are
-- not stored: they are computed from the attainment read model when read.

CREATE TABLE public.incentive_plans (
    plan_id         uuid PRIMARY KEY,
    node            text NOT NULL,
    metric          text NOT NULL,
    period          text NOT NULL,
    starts_on       date NOT NULL,
    ends_on         date NOT NULL,
    status          text NOT NULL,          -- of the latest request: pending, approved, rejected
    plan_version    integer NOT NULL,       -- of the terms in force; 0 before the first approval
    terms           jsonb,                  -- in force; NULL before the first approval
    pending         jsonb,                  -- the change waiting for a decision
    requester       text NOT NULL,
    requested_at    timestamptz NOT NULL,
    finalised_at    timestamptz,            -- the latest IncentiveFinalised
    finalised_position bigint,
    team_attainment_pct numeric,
    team_reached    boolean
);
CREATE INDEX incentive_plans_metric_period ON public.incentive_plans (metric, period);

CREATE TABLE public.incentive_payouts (
    plan_id     uuid NOT NULL,
    person      text NOT NULL,
    position    bigint NOT NULL,            -- of the IncentiveFinalised it comes from
    payout      jsonb NOT NULL,             -- domain/incentive.py PersonPayout
    PRIMARY KEY (plan_id, person)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON public.incentive_plans, public.incentive_payouts TO target_ledger_app;
