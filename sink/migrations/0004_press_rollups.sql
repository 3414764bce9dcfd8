-- Rollups for dashboards, the API and the annual report: counted presses per UTC hour and
-- site/department/question/kind, so queries over a year read ~1 row per site-hour instead of
-- every press. Day, month and heat-map figures group these hours by the city's local calendar
-- at query time (exact for zones whose UTC offset is a whole number of hours, e.g.
-- Europe/Warsaw across DST; sink/queries.py falls back to the raw scan elsewhere).
--
-- Exactness under re-delivery. `presses` is a ReplacingMergeTree: a press the sink re-delivers
-- in another batch (crash between insert and commit, at-least-once upstream) is stored twice
-- until a merge. A materialized view sees every inserted block, so a naive count would count
-- it twice. The view below only counts an (event_id, verdict) pair that is NEW:
-- * within the block: LIMIT 1 BY event_id, verdict;
-- * across blocks: pairs already stored by an EARLIER insert (ingested_at is now64(3) of the
--   insert, constant per block) are skipped. The lookup goes through the plain view
--   presses_lookup because inside a materialized view every reference to `presses` itself
--   means "the inserted block"; the date filter uses the primary key, so the lookup reads only
--   the days the block touches.
-- * a batch re-inserted with the same insert_deduplication_token is dropped by `presses`
--   before any view runs.
-- Known limit: two inserts of the same press within the same millisecond (two sinks racing on
-- one event) would both count; the sink inserts about once a second per partition.
CREATE VIEW IF NOT EXISTS presses_lookup AS
SELECT event_id, verdict, pressed_at, ingested_at
FROM presses;

CREATE TABLE IF NOT EXISTS presses_hourly
(
    hour DateTime('UTC'),
    department_id LowCardinality(String),
    site_id LowCardinality(String),
    -- '' = a citizen press with no question scheduled (left out of the question scope)
    question_id LowCardinality(String),
    kind Enum8('citizen' = 1, 'employee' = 2),
    n1 UInt64,
    n2 UInt64,
    n3 UInt64,
    n4 UInt64
)
ENGINE = SummingMergeTree((n1, n2, n3, n4))
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, department_id, site_id, question_id, kind);

CREATE MATERIALIZED VIEW IF NOT EXISTS presses_hourly_mv TO presses_hourly AS
SELECT
    toStartOfHour(pressed_at, 'UTC') AS hour,
    assumeNotNull(department_id) AS department_id,
    assumeNotNull(site_id) AS site_id,
    ifNull(question_id, '') AS question_id,
    CAST(ifNull(CAST(question_kind, 'Nullable(String)'), 'citizen'), 'Enum8(\'citizen\' = 1, \'employee\' = 2)') AS kind,
    countIf(button = 1) AS n1,
    countIf(button = 2) AS n2,
    countIf(button = 3) AS n3,
    countIf(button = 4) AS n4
FROM
(
    SELECT pressed_at, department_id, site_id, question_id, question_kind, button
    FROM presses
    WHERE verdict = 'counted'
      AND site_id IS NOT NULL
      AND department_id IS NOT NULL
      AND (event_id, verdict) NOT IN (
          SELECT event_id, verdict
          FROM presses_lookup
          WHERE toDate(pressed_at) IN (SELECT DISTINCT toDate(pressed_at) FROM presses)
            AND event_id IN (SELECT event_id FROM presses)
            AND ingested_at < (SELECT min(ingested_at) FROM presses)
      )
    LIMIT 1 BY event_id, verdict
)
GROUP BY hour, department_id, site_id, question_id, kind;
