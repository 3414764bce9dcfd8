-- Every judged press (presses.accepted and presses.rejected): the PressEvent v1 fields plus the
-- stream's verdict and the catalogue resolution valid at pressed_at.
--
-- Idempotency: a re-delivered press is stored once.
-- * Within the sink, every batch carries insert_deduplication_token (topic:partition:offsets);
--   non_replicated_deduplication_window turns that on for a non-replicated MergeTree (0 = off
--   by default).
-- * Across crashes (a batch re-formed with other boundaries), ReplacingMergeTree collapses rows
--   with the same sorting key. Every key column is a function of the event itself (device_id and
--   pressed_at come from the device with the event_id), so the key is event_id in effect; the
--   version column keeps a `counted` row over a `duplicate` verdict of the same event.
--
-- Counting before merges: read `FROM presses FINAL` (add
-- SETTINGS do_not_merge_across_partitions_select_final = 1: the partition is a function of the
-- key) or aggregate with uniqExact(event_id). Never count(*) without FINAL.
--
-- Sorting key: every dashboard, export and verify query is bounded in time, so the day leads;
-- device_id next serves per-device/site drill-downs and the misuse report.
CREATE TABLE IF NOT EXISTS presses
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
    -- ReplacingMergeTree version: among rows of one event, a counted verdict wins.
    is_counted UInt8 MATERIALIZED verdict = 'counted',
    -- when the sink wrote the row (end-to-end latency, debugging); not part of the key
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    -- the client encodes an unknown Enum string as 0 instead of failing: refuse such rows here
    CONSTRAINT known_channel CHECK toInt8(channel) != 0,
    CONSTRAINT known_verdict CHECK toInt8(verdict) != 0,
    CONSTRAINT button_range CHECK button BETWEEN 1 AND 4
)
ENGINE = ReplacingMergeTree(is_counted)
PARTITION BY toYYYYMM(pressed_at)
ORDER BY (toDate(pressed_at), device_id, pressed_at, event_id)
SETTINGS non_replicated_deduplication_window = 1000;
