-- depends: 0020.list-columns
-- A kept answer keeps its ETag, so a retry replayed under its Idempotency-Key carries the
-- version the first answer named (api/idempotency.py). Answers kept before have none (NULL).
-- The service role's table-wide grants (0014) cover the new column.

ALTER TABLE public.idempotent_responses ADD COLUMN etag text;
