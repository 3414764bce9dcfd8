-- Follow-up reasons of counted presses per department and hour (topic `reasons`, the stream's
-- `reasons` processor): the running count from one partition of presses.accepted. The count
-- only grows, so the row with the highest n per key is the current one (ReplacingMergeTree(n));
-- a department's figure is the sum over `partition`. Read with FINAL before merges.
CREATE TABLE IF NOT EXISTS reasons
(
    department_id LowCardinality(String),
    hour_start DateTime64(3, 'UTC'),
    reason LowCardinality(String),
    `partition` UInt16,
    n UInt32,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(n)
PARTITION BY toYYYYMM(hour_start)
ORDER BY (department_id, hour_start, reason, `partition`)
SETTINGS non_replicated_deduplication_window = 1000;
