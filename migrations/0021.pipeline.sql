-- depends: 0020.list-columns
-- The pipeline read model: each opportunity as it stands (stage, probability, expected amount
-- and close date, or how it closed), and every stage it entered, for the funnel (count and
-- value per stage, conversion between stages, age in a stage) and the forecast.

CREATE TABLE public.opportunities (
    opportunity_id uuid PRIMARY KEY,
    person         text NOT NULL,
    name           text NOT NULL,
    metric         text NOT NULL,
    scope          jsonb NOT NULL,
    amount         numeric NOT NULL,
    close_on       date NOT NULL,
    stage          text NOT NULL,
    probability    numeric NOT NULL,
    status         text NOT NULL,  -- open, won, lost
    opened_at      timestamptz NOT NULL,
    stage_since    timestamptz NOT NULL,
    closed_on      date,
    won_amount     numeric,
    loss_reason    text,
    closed_at      timestamptz
);
CREATE INDEX opportunities_person ON public.opportunities (person, metric, close_on);

CREATE TABLE public.opportunity_stages (
    opportunity_id uuid NOT NULL,
    version        integer NOT NULL,
    stage          text NOT NULL,
    entered_at     timestamptz NOT NULL,
    PRIMARY KEY (opportunity_id, version)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON public.opportunities, public.opportunity_stages TO target_ledger_app;
