-- Verdict counts per device and UTC hour for the misuse report ("share of filtered presses per
-- device"): every judged press, counted or not. A press counts once per verdict it received
-- (a re-sent press may be `counted` once and `duplicate` once); the same new-pair guard as
-- presses_hourly_mv (0004) keeps re-delivered rows from counting twice.
CREATE TABLE IF NOT EXISTS press_verdicts_hourly
(
    hour DateTime('UTC'),
    device_id LowCardinality(String),
    -- '' = device unknown to the catalogue at pressed_at
    site_id LowCardinality(String),
    department_id LowCardinality(String),
    verdict Enum8(
        'counted' = 1, 'unknown_device' = 2, 'duplicate' = 3, 'clock_skew' = 4,
        'burst' = 5, 'repeat' = 6, 'visitor_limit' = 7
    ),
    presses UInt64
)
ENGINE = SummingMergeTree(presses)
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, device_id, verdict, site_id, department_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS press_verdicts_hourly_mv TO press_verdicts_hourly AS
SELECT
    toStartOfHour(pressed_at, 'UTC') AS hour,
    device_id,
    ifNull(site_id, '') AS site_id,
    ifNull(department_id, '') AS department_id,
    verdict,
    count() AS presses
FROM
(
    SELECT pressed_at, device_id, site_id, department_id, verdict
    FROM presses
    WHERE (event_id, verdict) NOT IN (
          SELECT event_id, verdict
          FROM presses_lookup
          WHERE toDate(pressed_at) IN (SELECT DISTINCT toDate(pressed_at) FROM presses)
            AND event_id IN (SELECT event_id FROM presses)
            AND ingested_at < (SELECT min(ingested_at) FROM presses)
      )
    LIMIT 1 BY event_id, verdict
)
GROUP BY hour, device_id, site_id, department_id, verdict;
