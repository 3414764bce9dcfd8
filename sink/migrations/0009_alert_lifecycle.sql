-- Alert kinds and the alert lifecycle (issue 20).
--
-- `alerts` gains the kind of an alert (`low_score` for every row written before kinds existed),
-- the `device` scope of silent-device alerts, and two fields only silent devices fill: the
-- device's site and the presses it sent in the same hours of the reference weeks. Adding a
-- value at the end of an Enum8 and adding columns with defaults are metadata-only changes.
ALTER TABLE alerts MODIFY COLUMN IF EXISTS scope Enum8('department' = 1, 'site' = 2, 'device' = 3);
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS kind
    Enum8('low_score' = 1, 'recognition' = 2, 'silent_device' = 3) DEFAULT 'low_score';
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS site_id Nullable(String);
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS expected_presses Nullable(Float64);

-- What people did with alerts (topic `alerts.actions`): one row per action, a re-delivered
-- action is stored once (ReplacingMergeTree on its action_id; read with FINAL). Closing by
-- recovery is not here: it is the alert's own `resolved` row in `alerts`.
CREATE TABLE IF NOT EXISTS alert_actions
(
    action_id UUID,
    alert_id UUID,
    action Enum8('ack' = 1, 'comment' = 2, 'close' = 3),
    `by` String,
    comment Nullable(String),
    at DateTime64(3, 'UTC'),
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    CONSTRAINT known_action CHECK toInt8(action) != 0
)
ENGINE = ReplacingMergeTree(ingested_at)
ORDER BY (alert_id, action_id)
SETTINGS non_replicated_deduplication_window = 1000;
