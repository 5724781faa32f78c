-- depends: 0022.incentives
-- Who opened each opportunity: the lists of the pipeline show a deal to whoever may read it
-- alone (whoever may read its person, and its opener), so they need the opener beside the person.
-- The pipeline projection's VERSION rises with it, so the workers rebuild the model and fill it.

ALTER TABLE public.opportunities ADD COLUMN opened_by text;
