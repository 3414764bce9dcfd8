-- Service standards in ClickHouse (issue 24), so a Grafana panel can judge them with SQL alone.
--
-- `standards`: the catalogue's standards, mirrored by the process that owns the store
-- (analytics/standards_mirror.py, run by `civicpulse up` and `civicpulse api serve`), one
-- generation per change: a mirror writes the whole set under a new `generation`, then records
-- that generation in `standards_generations`; `standards_current` is the set of the newest
-- recorded generation, so a reader never sees half a set and a removed standard is simply
-- absent from it. Older generations stay as the history of the standards (a few rows per
-- catalogue change).
-- `question` is '' for a standard of every citizen question of its scope; `department_id` is the
-- department the standard belongs to (its site's for a site standard) and `sites` the catalogue
-- sites it counts (the site itself, or every site of the department), both as the catalogue says
-- at the time of the mirror, exactly what analytics/standards.py reads from the catalogue.
CREATE TABLE IF NOT EXISTS standards
(
    generation            UInt64,
    scope                 LowCardinality(String),
    id                    String,
    question              String,
    target_score          Float64,
    min_responses_per_day UInt32,
    valid_from            Date,
    department_id         String,
    sites                 Array(String)
)
ENGINE = MergeTree
ORDER BY (generation, scope, id, question, valid_from);

CREATE TABLE IF NOT EXISTS standards_generations
(
    generation  UInt64,
    standards   UInt32,
    mirrored_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY generation;

CREATE VIEW IF NOT EXISTS standards_current AS
SELECT scope, id, question, target_score, min_responses_per_day, valid_from, department_id, sites
FROM standards
WHERE generation = (SELECT max(generation) FROM standards_generations);

-- The contract's attainment rule, the one SQL spelling of analytics/standards.py `day_status`
-- and `period_status` (tests/integration/test_standard_functions.py checks them equal):
-- a day is 'too_few' without a score or with fewer responses than the minimum, else 'met' when
-- its score reaches the target, else 'missed'; a month (any period) is 'missed' when one of its
-- days missed, else 'met' when one met, else 'too_few'. Global to the engine like 0010's.
CREATE OR REPLACE FUNCTION civicpulse_standard_day_status AS
    (responses, score, target_score, min_responses) ->
    multiIf(score IS NULL OR responses < min_responses, 'too_few',
            score >= target_score, 'met', 'missed');

CREATE OR REPLACE FUNCTION civicpulse_standard_period_status AS (statuses) ->
    if(has(statuses, 'missed'), 'missed', if(has(statuses, 'met'), 'met', 'too_few'));
