import { DEDUP_WINDOW_BLOCKS } from './0001-fact-tables.js';
import type { Migration } from './migration.js';

/*
 * Per-minute rollups, maintained by materialized views as rows are inserted, so charts over
 * hours or days read thousands of rows instead of millions.
 *
 * - AggregatingMergeTree keyed by (series, minute). avg keeps a true state
 *   (AggregateFunction(avg)); min, max and count are SimpleAggregateFunction, which store plain
 *   values and merge with min/max/sum — smaller and readable without -Merge.
 *   Readers still GROUP BY the key: parts merge eventually, not at insert.
 * - A view aggregates each inserted block as it arrives, so it cannot collapse duplicates the
 *   way ReplacingMergeTree does. An insert retried with its dedup token is dropped before it
 *   reaches the view (deduplicate_blocks_in_dependent_materialized_views=1), but a record
 *   replayed inside a *differently composed* batch after a crash is counted again for its
 *   minute. The raw tables stay exact; count/avg of the replayed minutes can be high.
 * - readings_latest keeps the newest reading per sensor (ReplacingMergeTree(ts) ORDER BY
 *   sensor_id; the view writes one row per sensor per insert block), so the wall's "current
 *   value of every sensor" reads a table the size of the sensor list instead of scanning
 *   readings.
 * - The views have no POPULATE: they start empty with the tables they read from, which this
 *   migration assumes are new. Adding a rollup to a store that holds data needs a backfill
 *   (INSERT … SELECT) in the migration that adds it.
 */

const rollup = (name: string, columns: string, orderBy: string): string => `
CREATE TABLE IF NOT EXISTS ${name}
(
${columns}
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY ${orderBy}
SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW_BLOCKS}`;

export const migration: Migration = {
  id: '0003_rollups',
  description: 'per-minute rollups (readings_1m, market_ticks_1m, warnings_1m) and readings_latest, fed by materialized views',
  statements: [
    rollup(
      'readings_1m',
      `    sensor_id String,
    kind LowCardinality(String),
    minute DateTime('UTC'),
    value_avg AggregateFunction(avg, Float64),
    value_min SimpleAggregateFunction(min, Float64),
    value_max SimpleAggregateFunction(max, Float64),
    value_count SimpleAggregateFunction(sum, UInt64)`,
      '(sensor_id, kind, minute)',
    ),
    `
CREATE MATERIALIZED VIEW IF NOT EXISTS readings_1m_mv TO readings_1m AS
SELECT
    sensor_id,
    kind,
    toStartOfMinute(ts) AS minute,
    avgState(value) AS value_avg,
    min(value) AS value_min,
    max(value) AS value_max,
    toUInt64(count()) AS value_count
FROM readings
GROUP BY sensor_id, kind, minute`,
    rollup(
      'market_ticks_1m',
      `    indicator_id String,
    minute DateTime('UTC'),
    value_open AggregateFunction(argMin, Float64, DateTime64(3, 'UTC')),
    value_close AggregateFunction(argMax, Float64, DateTime64(3, 'UTC')),
    value_avg AggregateFunction(avg, Float64),
    value_min SimpleAggregateFunction(min, Float64),
    value_max SimpleAggregateFunction(max, Float64),
    value_count SimpleAggregateFunction(sum, UInt64)`,
      '(indicator_id, minute)',
    ),
    `
CREATE MATERIALIZED VIEW IF NOT EXISTS market_ticks_1m_mv TO market_ticks_1m AS
SELECT
    indicator_id,
    toStartOfMinute(ts) AS minute,
    argMinState(value, ts) AS value_open,
    argMaxState(value, ts) AS value_close,
    avgState(value) AS value_avg,
    min(value) AS value_min,
    max(value) AS value_max,
    toUInt64(count()) AS value_count
FROM market_ticks
GROUP BY indicator_id, minute`,
    rollup(
      'warnings_1m',
      `    kind LowCardinality(String),
    area_id LowCardinality(String),
    level LowCardinality(String),
    minute DateTime('UTC'),
    warning_count SimpleAggregateFunction(sum, UInt64)`,
      '(kind, area_id, level, minute)',
    ),
    `
CREATE MATERIALIZED VIEW IF NOT EXISTS warnings_1m_mv TO warnings_1m AS
SELECT
    kind,
    area_id,
    level,
    toStartOfMinute(ts) AS minute,
    toUInt64(count()) AS warning_count
FROM warnings
GROUP BY kind, area_id, level, minute`,
    `
CREATE TABLE IF NOT EXISTS readings_latest
(
    sensor_id String,
    id String,
    schema_version UInt8,
    kind LowCardinality(String),
    ts DateTime64(3, 'UTC'),
    value Float64,
    unit LowCardinality(String)
)
ENGINE = ReplacingMergeTree(ts)
ORDER BY sensor_id
SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW_BLOCKS}`,
    `
CREATE MATERIALIZED VIEW IF NOT EXISTS readings_latest_mv TO readings_latest AS
SELECT
    sensor_id,
    latest.1 AS id,
    latest.2 AS schema_version,
    latest.3 AS kind,
    latest.4 AS ts,
    latest.5 AS value,
    latest.6 AS unit
FROM
(
    SELECT sensor_id, argMax((id, schema_version, kind, ts, value, unit), (ts, id)) AS latest
    FROM readings
    GROUP BY sensor_id
)`,
  ],
};
