-- Closed-window scores as the stream emits them (topic `scores`), one row per
-- (scope, scope_id, kind, window, window_start). A re-emitted window replaces the earlier row
-- (the latest ingested_at wins); read with FINAL to count correctly before merges.
CREATE TABLE IF NOT EXISTS scores
(
    scope Enum8('device' = 1, 'site' = 2, 'department' = 3, 'question' = 4, 'city' = 5),
    scope_id LowCardinality(String),
    kind Enum8('citizen' = 1, 'employee' = 2),
    `window` Enum8('15m' = 1, '1h' = 2, '1d' = 3),
    window_start DateTime64(3, 'UTC'),
    window_end DateTime64(3, 'UTC'),
    n UInt32,
    n1 UInt32,
    n2 UInt32,
    n3 UInt32,
    n4 UInt32,
    score Nullable(Float64),
    positive_share Nullable(Float64),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    CONSTRAINT known_scope CHECK toInt8(scope) != 0,
    CONSTRAINT known_kind CHECK toInt8(kind) != 0,
    CONSTRAINT known_window CHECK toInt8(`window`) != 0,
    CONSTRAINT counts_add_up CHECK n = n1 + n2 + n3 + n4
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (scope, scope_id, kind, `window`, window_start)
SETTINGS non_replicated_deduplication_window = 1000;
