-- depends: 0025.idempotent-etag
-- The calendar the ledger plans on (TL_CALENDAR and its companions, in words), written once at
-- the first start: every later start compares its settings with it and refuses another one,
-- since stored period keys (2026-Q1, 2026-P03) would silently mean other days.

CREATE TABLE ledger_calendar (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    calendar    text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT ON ledger_calendar TO target_ledger_app;
