import { DEDUP_WINDOW_BLOCKS } from './0001-fact-tables.js';
import type { Migration } from './migration.js';

/*
 * Dimensions describe what exists (areas, sensors, cameras, indicators, departments). They are
 * few, change rarely and are re-published whole, so the latest write wins:
 * ReplacingMergeTree(ingested_at) ORDER BY id, no partitions and no TTL (a sensor that exists
 * must not expire). Readers use FINAL.
 */

const dimension = (name: string, columns: string): string => `
CREATE TABLE IF NOT EXISTS ${name}
(
${columns},
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(ingested_at)
ORDER BY id
SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW_BLOCKS}`;

export const migration: Migration = {
  id: '0002_dimension_tables',
  description: 'dimension tables: areas, sensors, cameras, indicators, departments',
  statements: [
    dimension(
      'areas',
      `    id String,
    schema_version UInt8,
    name_zh String,
    name_en String,
    population UInt64,
    geometry String CODEC(ZSTD(3)),
    lon Float64,
    lat Float64`,
    ),
    dimension(
      'sensors',
      `    id String,
    schema_version UInt8,
    kind LowCardinality(String),
    area_id LowCardinality(String),
    name String,
    lon Float64,
    lat Float64,
    unit LowCardinality(String)`,
    ),
    dimension(
      'cameras',
      `    id String,
    schema_version UInt8,
    area_id LowCardinality(String),
    name String,
    url String,
    lon Float64,
    lat Float64,
    fps Float64`,
    ),
    dimension(
      'indicators',
      `    id String,
    schema_version UInt8,
    name_zh String,
    name_en String,
    unit LowCardinality(String),
    frequency LowCardinality(String),
    risk_upper Float64,
    risk_lower Float64`,
    ),
    dimension(
      'departments',
      `    id String,
    schema_version UInt8,
    name_zh String,
    name_en String`,
    ),
  ],
};
