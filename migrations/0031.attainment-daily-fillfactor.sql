-- depends: 0030.ledger-calendar
-- attainment_daily is updated in place (each actual adds to its person's, team's and company's
-- day): with room left on each page the updates stay on the page (HOT), so the key's index entry
-- keeps pointing at one short chain. Full pages made every update a new index entry: in a
-- catch-up of 100,000 actuals each key was updated ~11 times and each upsert walked the dead
-- entries, ~59 buffers per row (EXPLAIN ANALYZE) instead of a few.
ALTER TABLE attainment_daily SET (fillfactor = 50);
