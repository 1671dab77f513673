import { DEDUP_WINDOW_BLOCKS } from './0001-fact-tables.js';
import type { Migration } from './migration.js';

/*
 * retirements: cameras, sensors and areas taken out of service (or back into it). A dimension
 * like the others (0002) — one row per id, readers use FINAL, no TTL: a retired camera must stay
 * retired — except that the decision made last wins (version `ts`), not the row written last:
 * two decisions written in the same millisecond, or replayed out of order, still resolve right.
 * The dimension queries leave out what is retired here.
 */
export const migration: Migration = {
  id: '0007_retirements',
  description: 'retirements: cameras, sensors and areas out of service',
  statements: [
    `
CREATE TABLE IF NOT EXISTS retirements
(
    id String,
    schema_version UInt8,
    target LowCardinality(String),
    target_id String,
    retired Bool,
    ts DateTime64(3, 'UTC'),
    reason String,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(ts)
ORDER BY id
SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW_BLOCKS}`,
  ],
};
