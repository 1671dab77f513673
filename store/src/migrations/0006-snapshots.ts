import { DEDUP_WINDOW_BLOCKS } from './0001-fact-tables.js';
import type { Migration } from './migration.js';

/*
 * snapshots: the masked pictures camera warnings cite as evidence (VisionSnapshot). The PNG is
 * kept base64-encoded: ClickHouse strings hold bytes, but JSON output (what queries read) must be
 * UTF-8. Short retention like detections: pictures of public space are kept no longer than needed.
 */
export const migration: Migration = {
  id: '0006_snapshots',
  description: 'snapshots: masked evidence pictures of camera warnings',
  statements: [
    `
CREATE TABLE IF NOT EXISTS snapshots
(
    id String,
    schema_version UInt8,
    camera_id String,
    ts DateTime64(3, 'UTC'),
    warning_id String,
    width UInt16,
    height UInt16,
    format LowCardinality(String),
    masked Bool,
    model_version LowCardinality(String),
    png_base64 String,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (ts, id)
SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW_BLOCKS}`,
  ],
};
