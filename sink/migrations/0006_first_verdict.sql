-- The stored verdict is the first verdict; one event_id is one row.
--
-- 0001 kept presses in a ReplacingMergeTree sorted by (day, device, pressed_at, event_id) with
-- `is_counted` as its version. Two defects followed:
-- * a press the network delivered twice is judged `duplicate` on its second delivery (another
--   offset of presses.raw). When the first verdict was `burst` or `repeat` (is_counted = 0 for
--   both), the later `duplicate` row replaced it;
-- * one event_id re-sent with another pressed_at had another sorting key: two rows.
-- Now the sorting key is the event alone, and the version prefers the EARLIEST delivery:
-- `first_delivery` falls as received_at grows (every delivery is stamped again at ingest, and a
-- device's partition is judged in arrival order, so the earliest received_at is the delivery
-- that got the real verdict; a retry's copy can only get `duplicate`). On a tie (the same
-- message sunk twice after a crash: same row) any verdict wins over `duplicate`.
--
-- Reading stays as documented in 0001: `FROM presses FINAL` (or uniqExact(event_id)). The
-- partition is still the month of pressed_at, so time-bounded reads prune whole months and
-- `do_not_merge_across_partitions_select_final = 1` stays valid as long as the copies of one
-- event fall in one month. Known limit: a retry that carries a pressed_at in ANOTHER month than
-- its first delivery lands in another partition and is not collapsed (FINAL with that setting
-- would show both; uniqExact(event_id) still counts it once).
--
-- The rollups of 0004/0005 read `presses` through materialized views bound to the table, so
-- they are dropped first, re-created on the new table, and their tables rebuilt from
-- `presses FINAL`. press_verdicts_hourly now counts each press once, by its stored verdict,
-- and never a `duplicate`: that verdict marks a retry's copy of a press already judged, not a
-- press of its own (it counted one for every retry before; the query API's raw path leaves
-- `duplicate` out the same way). The table keeps such rows only for a retry whose first
-- delivery is missing.
--
-- Re-running after a failure half-way is safe: a `presses_0005` left behind holds rows that
-- were copied before the rename, and is dropped first.
DROP TABLE IF EXISTS presses_0005;

DROP VIEW IF EXISTS presses_hourly_mv;

DROP VIEW IF EXISTS press_verdicts_hourly_mv;

DROP VIEW IF EXISTS presses_lookup;

CREATE TABLE IF NOT EXISTS presses_0006
(
    event_id UUID,
    channel Enum8('terminal' = 1, 'web' = 2),
    device_id LowCardinality(String),
    button UInt8,
    pressed_at DateTime64(3, 'UTC'),
    received_at DateTime64(3, 'UTC'),
    visitor Nullable(String),
    reason LowCardinality(Nullable(String)),
    lang LowCardinality(Nullable(String)),
    verdict Enum8(
        'counted' = 1, 'unknown_device' = 2, 'duplicate' = 3, 'clock_skew' = 4,
        'burst' = 5, 'repeat' = 6, 'visitor_limit' = 7
    ),
    site_id LowCardinality(Nullable(String)),
    department_id LowCardinality(Nullable(String)),
    question_id LowCardinality(Nullable(String)),
    question_kind Nullable(Enum8('citizen' = 1, 'employee' = 2)),
    is_counted UInt8 MATERIALIZED verdict = 'counted',
    -- ReplacingMergeTree version: larger for an earlier delivery (2^62 - received_at in ms,
    -- times two, plus one unless the verdict is `duplicate`, so a tie never keeps a retry's)
    first_delivery UInt64 MATERIALIZED
        (toUInt64(4611686018427387904 - toUnixTimestamp64Milli(received_at)) * 2)
        + (verdict != 'duplicate'),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    CONSTRAINT known_channel CHECK toInt8(channel) != 0,
    CONSTRAINT known_verdict CHECK toInt8(verdict) != 0,
    CONSTRAINT button_range CHECK button BETWEEN 1 AND 4
)
ENGINE = ReplacingMergeTree(first_delivery)
PARTITION BY toYYYYMM(pressed_at)
ORDER BY event_id
SETTINGS non_replicated_deduplication_window = 1000;

INSERT INTO presses_0006
    (event_id, channel, device_id, button, pressed_at, received_at, visitor, reason, lang,
     verdict, site_id, department_id, question_id, question_kind, ingested_at)
SELECT event_id, channel, device_id, button, pressed_at, received_at, visitor, reason, lang,
       verdict, site_id, department_id, question_id, question_kind, ingested_at
FROM presses;

RENAME TABLE presses TO presses_0005, presses_0006 TO presses;

DROP TABLE IF EXISTS presses_0005;

CREATE VIEW IF NOT EXISTS presses_lookup AS
SELECT event_id, verdict, pressed_at, ingested_at
FROM presses;

TRUNCATE TABLE IF EXISTS presses_hourly;

INSERT INTO presses_hourly
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
FROM presses FINAL
WHERE verdict = 'counted' AND site_id IS NOT NULL AND department_id IS NOT NULL
GROUP BY hour, department_id, site_id, question_id, kind;

TRUNCATE TABLE IF EXISTS press_verdicts_hourly;

INSERT INTO press_verdicts_hourly
SELECT
    toStartOfHour(pressed_at, 'UTC') AS hour,
    device_id,
    ifNull(site_id, '') AS site_id,
    ifNull(department_id, '') AS department_id,
    verdict,
    count() AS presses
FROM presses FINAL
WHERE verdict != 'duplicate'
GROUP BY hour, device_id, site_id, department_id, verdict;

-- The same new-pair guard as 0004: a row re-delivered in another batch (crash between insert
-- and commit) is not counted twice. The lookup now uses the primary key (event_id).
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
          WHERE event_id IN (SELECT event_id FROM presses)
            AND ingested_at < (SELECT min(ingested_at) FROM presses)
      )
    LIMIT 1 BY event_id, verdict
)
GROUP BY hour, department_id, site_id, question_id, kind;

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
    WHERE verdict != 'duplicate'
      AND (event_id, verdict) NOT IN (
          SELECT event_id, verdict
          FROM presses_lookup
          WHERE event_id IN (SELECT event_id FROM presses)
            AND ingested_at < (SELECT min(ingested_at) FROM presses)
      )
    LIMIT 1 BY event_id, verdict
)
GROUP BY hour, device_id, site_id, department_id, verdict;
