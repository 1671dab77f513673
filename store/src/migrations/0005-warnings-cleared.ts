import { DEDUP_WINDOW_BLOCKS } from './0001-fact-tables.js';
import type { Migration } from './migration.js';

/*
 * warnings_cleared: when the condition behind a source's warnings ended (WarningCleared). The
 * incidents role verifies resolved cases with it; kept here so an analyst can see how long each
 * condition lasted and an auditor why a case was closed as verified. Same layout rules as the
 * other fact tables (0001): stable ids, ReplacingMergeTree, monthly partitions, dedup window.
 */
export const migration: Migration = {
  id: '0005_warnings_cleared',
  description: 'warnings_cleared: the all-clear of warning episodes',
  statements: [
    `
CREATE TABLE IF NOT EXISTS warnings_cleared
(
    id String,
    schema_version UInt8,
    ts DateTime64(3, 'UTC'),
    kind LowCardinality(String),
    area_id LowCardinality(String),
    source_kind LowCardinality(String),
    source_id String,
    started_at DateTime64(3, 'UTC'),
    warning_ids Array(String),
    reason String,
    produced_by LowCardinality(String),
    machine_made Bool,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (ts, id)
SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW_BLOCKS}`,
  ],
};
