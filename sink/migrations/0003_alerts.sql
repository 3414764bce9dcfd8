-- Every alert event (topic `alerts.all`): one row per (alert_id, state), so an alert has at most
-- an `opened` and a `resolved` row. Read with FINAL to count correctly before merges.
CREATE TABLE IF NOT EXISTS alerts
(
    alert_id UUID,
    state Enum8('opened' = 1, 'resolved' = 2),
    scope Enum8('department' = 1, 'site' = 2),
    scope_id LowCardinality(String),
    department_id LowCardinality(String),
    mode Enum8('threshold' = 1, 'confidence' = 2),
    score Float64,
    n UInt32,
    threshold Float64,
    window_start DateTime64(3, 'UTC'),
    window_end DateTime64(3, 'UTC'),
    at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    CONSTRAINT known_state CHECK toInt8(state) != 0,
    CONSTRAINT known_scope CHECK toInt8(scope) != 0,
    CONSTRAINT known_mode CHECK toInt8(mode) != 0
)
ENGINE = ReplacingMergeTree(ingested_at)
ORDER BY (alert_id, state)
SETTINGS non_replicated_deduplication_window = 1000;
