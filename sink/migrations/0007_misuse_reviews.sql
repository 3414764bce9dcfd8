-- Misuse review (DESIGN.md "Misuse review", issue 14): suspect periods found by the scan and
-- reviewers' decisions on them, one row per period id once merged.
--
-- `id` is the scan's stable id (uuid5 of device, pattern, from, to): the same period found twice
-- is one row. The live scan inserts only ids it has not stored yet, so the first `found_at`
-- stays. A decision inserts the period again with state `confirmed` or `dismissed`; the version
-- puts every decision above every `open` row (bit 62) and a later decision above an earlier
-- one (updated_at in ms), so an `open` row re-inserted by a racing scan never hides a decision.
-- Read with FINAL.
--
-- `period_from` / `period_to` are the contract's `from` / `to` (both inclusive: the first and
-- the last press of the period); presses of `device_id` in [period_from, period_to] are misuse
-- everywhere once the period is confirmed (sink/queries.py, NOT_CONFIRMED_MISUSE).
CREATE TABLE IF NOT EXISTS misuse_reviews
(
    id UUID,
    device_id LowCardinality(String),
    site_id LowCardinality(String),
    period_from DateTime64(3, 'UTC'),
    period_to DateTime64(3, 'UTC'),
    pattern LowCardinality(String),
    presses UInt32,
    evidence String,
    figures String DEFAULT '{}',
    found_at DateTime64(3, 'UTC'),
    state Enum8('open' = 1, 'confirmed' = 2, 'dismissed' = 3),
    note String DEFAULT '',
    decided_at Nullable(DateTime64(3, 'UTC')),
    decided_by String DEFAULT '',
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3),
    version UInt64 MATERIALIZED
        (toUInt64(state != 'open') * 4611686018427387904) + toUInt64(toUnixTimestamp64Milli(updated_at)),
    CONSTRAINT known_state CHECK toInt8(state) != 0,
    CONSTRAINT period_in_order CHECK period_from <= period_to
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;
