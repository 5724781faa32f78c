-- depends: 0019.scheduler-looks
-- What the list endpoints filter and walk by: a target's first and last day (targets listed
-- in (node, metric, starts_on, target_id) order), an actual's source and external_ref, and the
-- log position of the event that recorded it (actuals listed in the order they were recorded).
--
-- Rows already there stay NULL here: the read models are the log's, not this file's. Both
-- projections raise their VERSION with this change (targets 2, attainment 2), so the next worker
-- to take their lock rebuilds each beside the live one from the first event and swaps it in,
-- every row filled by the handlers; until the swap, lists leave out the rows not yet filled.

ALTER TABLE target_tree ADD COLUMN starts_on date, ADD COLUMN ends_on date;
ALTER TABLE attainment_actuals ADD COLUMN source text, ADD COLUMN external_ref text, ADD COLUMN position bigint;

-- The keys the lists walk (WHERE key > cursor ORDER BY key LIMIT n): read-model tables of a few
-- hundred thousand rows at most, rebuilt wholesale anyway, so a short lock while indexing is fine.
-- squawk-ignore require-concurrent-index-creation
CREATE INDEX target_tree_list ON target_tree (node, metric, starts_on, target_id);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX attainment_actuals_position ON attainment_actuals (position);
