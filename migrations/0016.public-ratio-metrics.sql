-- depends: 0015.guarded-append
-- Ratio metrics in the public events: a ratio's numerator and denominator, and each ratio
-- target's running sums of both (its rate is Σ numerator ÷ Σ denominator, never an average
-- of rates), so that an actual of either part updates every ratio target it counts for.
ALTER TABLE public_metrics ADD COLUMN numerator text, ADD COLUMN denominator text;
ALTER TABLE public_targets ADD COLUMN numerator numeric NOT NULL DEFAULT 0,
                           ADD COLUMN denominator numeric NOT NULL DEFAULT 0;

-- A projection that has already run carries on from what it has counted: the parts of the
-- ratio metrics defined so far, and its ratio targets' sums of the actuals it holds (the
-- built-in conversion_rate = wins / proposals has no event; see domain/catalog.py).
UPDATE public_metrics m
   SET numerator = e.payload ->> 'numerator', denominator = e.payload ->> 'denominator'
  FROM events e
 WHERE e.type = 'MetricDefined' AND e.payload ->> 'name' = m.name AND e.payload ->> 'rollup' = 'ratio';

UPDATE public_targets t
   SET numerator = s.numerator, denominator = s.denominator
  FROM (SELECT t.target_id,
               coalesce(sum(a.value) FILTER (WHERE a.metric = r.numerator), 0) AS numerator,
               coalesce(sum(a.value) FILTER (WHERE a.metric = r.denominator), 0) AS denominator
          FROM public_targets t
          JOIN (SELECT name, numerator, denominator FROM public_metrics WHERE numerator IS NOT NULL
                UNION ALL
                SELECT 'conversion_rate', 'wins', 'proposals') AS r ON r.name = t.metric
          JOIN public_actuals a
            ON a.nodes @> ARRAY[t.node] AND a.metric IN (r.numerator, r.denominator)
           AND a.occurred_on BETWEEN t.starts_on AND t.ends_on AND a.scope @> t.scope AND NOT a.reversed
         GROUP BY t.target_id) AS s
 WHERE t.target_id = s.target_id;
