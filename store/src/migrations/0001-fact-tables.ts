import type { Migration } from './migration.js';

/*
 * Decisions behind the table layout (docs/decisions style: the constraint, then the choice).
 *
 * 1. Idempotent writes. Delivery is at-least-once (the sink commits bus offsets only after
 *    ClickHouse has the rows), so after a crash the same records arrive again. Three layers
 *    keep them from doubling:
 *    a. Stable ids: a record's `id` is derived from what it describes (schemas/ids.ts), and
 *       every field in a table's ORDER BY is fixed once the id is (a reading's sensor_id and ts,
 *       an incident's id alone). So a repeated record has the same sorting key …
 *    b. … and ReplacingMergeTree collapses rows with equal sorting keys when parts merge.
 *       Merges happen eventually, so readers collapse too: typed queries use FINAL (or
 *       argMax / LIMIT 1 BY), and anyone writing SQL against these tables must as well.
 *    c. Insert dedup tokens: every table keeps the hashes of its last
 *       DEDUP_WINDOW_BLOCKS inserted blocks (`non_replicated_deduplication_window`); the writer
 *       sends `insert_deduplication_token` and retries a failed insert with the SAME token, so
 *       an insert whose acknowledgement was lost is dropped on retry instead of doubling —
 *       which matters most for the rollup views below, which aggregate at insert time and
 *       cannot collapse afterwards.
 * 2. Incidents change over their lifetime; each change bumps `revision`, and
 *    ReplacingMergeTree(revision) keeps the highest. Their partition key is opened_at, which
 *    never changes, so all revisions land in one partition (replacing only works within one).
 * 3. Partitions are months of the event time: TTL drops whole old parts cheaply, time-range
 *    queries prune partitions, and a month is coarse enough to keep the part count low.
 * 4. Retention (TTL) is not in this DDL: it is configuration (retention.ts) and migrate()
 *    reconciles each table's TTL with it after the migrations, so an operator can change
 *    retention without a new migration.
 * 5. `ingested_at` (DEFAULT now64) records when the store got a row: useful to measure
 *    end-to-end latency, and the version column of the dimension tables (latest write wins).
 * 6. Enums and small vocabularies are LowCardinality(String); arrays are Array(String);
 *    DeadLetter.errors, an array of {path, message}, is Array(Tuple(path String, message String)).
 *    Floats are Float64 (Float32 would not round-trip a JS number). Integers the contracts leave
 *    unbounded (revision, horizon_step, population) are UInt64: ClickHouse's text parser wraps
 *    an integer that overflows its column silently (5000000000 into UInt32 gives 705032704).
 * 7. Migrations are append-only: an applied migration's text is checksummed in
 *    schema_migrations and must never change; a change is a new numbered migration. Every
 *    statement is IF NOT EXISTS, so a migration interrupted halfway is simply re-run.
 */

/** Blocks whose hashes each table remembers for insert deduplication (≈ minutes of sink batches). */
export const DEDUP_WINDOW_BLOCKS = 10_000;

const facts = (name: string, columns: string, engine: string, partitionBy: string, orderBy: string): string => `
CREATE TABLE IF NOT EXISTS ${name}
(
${columns},
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ${engine}
PARTITION BY ${partitionBy}
ORDER BY ${orderBy}
SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW_BLOCKS}`;

export const migration: Migration = {
  id: '0001_fact_tables',
  description:
    'fact tables: readings, ticks, detections, anomalies, forecasts, warnings, incidents, audit, dispatches, dead letters, ground truth',
  statements: [
    facts(
      'readings',
      // The hottest table keeps ClickHouse's default LZ4: DoubleDelta/Gorilla + ZSTD store a
      // little smaller but cost 0.6 µs of insert CPU per row (measured), a fifth of the budget.
      `    id String,
    schema_version UInt8,
    sensor_id String,
    kind LowCardinality(String),
    ts DateTime64(3, 'UTC'),
    value Float64,
    unit LowCardinality(String)`,
      'ReplacingMergeTree',
      'toYYYYMM(ts)',
      '(sensor_id, ts, id)',
    ),
    facts(
      'market_ticks',
      `    id String,
    schema_version UInt8,
    indicator_id String,
    ts DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
    value Float64 CODEC(Gorilla, ZSTD(1))`,
      'ReplacingMergeTree',
      'toYYYYMM(ts)',
      '(indicator_id, ts, id)',
    ),
    facts(
      'detections',
      `    id String,
    schema_version UInt8,
    camera_id String,
    frame_id String,
    ts DateTime64(3, 'UTC'),
    class_name LowCardinality(String),
    score Float64,
    x1 Float64,
    y1 Float64,
    x2 Float64,
    y2 Float64,
    track_id String,
    model_version LowCardinality(String)`,
      'ReplacingMergeTree',
      'toYYYYMM(ts)',
      '(camera_id, ts, id)',
    ),
    facts(
      'anomalies',
      `    id String,
    schema_version UInt8,
    ts DateTime64(3, 'UTC'),
    source_kind LowCardinality(String),
    source_id String,
    metric LowCardinality(String),
    area_id LowCardinality(String),
    value Float64,
    expected Float64,
    lower Float64,
    upper Float64,
    score Float64,
    probability Float64,
    detector LowCardinality(String),
    detector_version LowCardinality(String),
    reason String`,
      'ReplacingMergeTree',
      'toYYYYMM(ts)',
      '(ts, id)',
    ),
    facts(
      'forecasts',
      `    id String,
    schema_version UInt8,
    indicator_id String,
    issued_at DateTime64(3, 'UTC'),
    target_ts DateTime64(3, 'UTC'),
    horizon_step UInt64,
    mean Float64,
    lower Float64,
    upper Float64,
    breach_probability Float64,
    model LowCardinality(String),
    model_version LowCardinality(String)`,
      'ReplacingMergeTree',
      'toYYYYMM(issued_at)',
      '(indicator_id, issued_at, horizon_step, id)',
    ),
    facts(
      'warnings',
      `    id String,
    schema_version UInt8,
    ts DateTime64(3, 'UTC'),
    level LowCardinality(String),
    kind LowCardinality(String),
    area_id LowCardinality(String),
    source_kind LowCardinality(String),
    source_id String,
    lon Float64,
    lat Float64,
    title String,
    reasons Array(String),
    score Float64,
    evidence_ids Array(String),
    produced_by LowCardinality(String),
    machine_made Bool`,
      'ReplacingMergeTree',
      'toYYYYMM(ts)',
      '(ts, id)',
    ),
    facts(
      'incidents',
      `    id String,
    schema_version UInt8,
    opened_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC'),
    kind LowCardinality(String),
    area_id LowCardinality(String),
    level LowCardinality(String),
    status LowCardinality(String),
    title String,
    department_id LowCardinality(String),
    warning_ids Array(String),
    lon Float64,
    lat Float64,
    rule_version LowCardinality(String),
    revision UInt64`,
      'ReplacingMergeTree(revision)',
      'toYYYYMM(opened_at)',
      'id',
    ),
    facts(
      'incident_events',
      `    id String,
    schema_version UInt8,
    incident_id String,
    ts DateTime64(3, 'UTC'),
    type LowCardinality(String),
    actor String,
    machine_made Bool,
    detail String`,
      'ReplacingMergeTree',
      'toYYYYMM(ts)',
      '(incident_id, ts, id)',
    ),
    facts(
      'dispatches',
      `    id String,
    schema_version UInt8,
    incident_id String,
    ts DateTime64(3, 'UTC'),
    department_id LowCardinality(String),
    kind LowCardinality(String),
    area_id LowCardinality(String),
    level LowCardinality(String),
    reason String,
    rule_version LowCardinality(String),
    machine_made Bool,
    accept_due DateTime64(3, 'UTC'),
    resolve_due DateTime64(3, 'UTC')`,
      'ReplacingMergeTree',
      'toYYYYMM(ts)',
      '(incident_id, ts, id)',
    ),
    facts(
      'dead_letters',
      `    id String,
    schema_version UInt8,
    ts DateTime64(3, 'UTC'),
    source LowCardinality(String),
    reason String,
    errors Array(Tuple(path String, message String)),
    payload String CODEC(ZSTD(3)),
    key String`,
      'ReplacingMergeTree',
      'toYYYYMM(ts)',
      '(ts, id)',
    ),
    facts(
      'ground_truth',
      `    id String,
    schema_version UInt8,
    kind LowCardinality(String),
    area_id LowCardinality(String),
    source_ids Array(String),
    start_ts DateTime64(3, 'UTC'),
    end_ts DateTime64(3, 'UTC'),
    expected_level LowCardinality(String),
    lon Float64,
    lat Float64,
    description String`,
      'ReplacingMergeTree',
      'toYYYYMM(start_ts)',
      '(start_ts, id)',
    ),
  ],
};
