import { StoreError } from './errors.js';

/*
 * Retention: how long each table keeps rows (ClickHouse TTL), in one place.
 *
 * The defaults follow what each table is for:
 * - raw, high-volume signals are kept while they help tune detectors and explain incidents:
 *   readings 90 days, vision detections 30 days (they describe people and vehicles; keep the
 *   least that is useful), dead letters 30 days (long enough to fix a producer and replay);
 * - decisions and their audit trail (warnings, incidents, incident events, dispatches) are
 *   kept 5 years, the usual retention for government records of emergency handling;
 * - market ticks 5 years and forecasts 2 years, because analysts compare across cycles;
 * - rollups outlive the raw rows they summarise (readings_1m 2 years), which is their point.
 *
 * Dimension tables have no TTL: a sensor that still exists must not expire.
 * 0 days means "keep forever" (the TTL is removed). Overrides come through the store options
 * (`retentionDays`), and migrate() reconciles every table's TTL with them.
 */
export const DEFAULT_RETENTION_DAYS = {
  readings: 90,
  readings_1m: 730,
  market_ticks: 1825,
  market_ticks_1m: 1825,
  detections: 30,
  snapshots: 30,
  anomalies: 365,
  forecasts: 730,
  warnings: 1825,
  warnings_1m: 1825,
  warnings_cleared: 1825,
  incidents: 1825,
  incident_events: 1825,
  dispatches: 1825,
  dead_letters: 30,
  ground_truth: 365,
} as const satisfies Record<string, number>;

export type RetainedTable = keyof typeof DEFAULT_RETENTION_DAYS;

/** Days to keep rows, per table; omitted tables keep their default; 0 keeps forever. */
export type RetentionDays = Partial<Record<RetainedTable, number>>;

/**
 * The time column each TTL counts from. Incidents count from their last update, so a
 * long-running incident is kept for the full term after it last changed.
 */
export const TTL_COLUMN: Readonly<Record<RetainedTable, string>> = {
  readings: 'ts',
  readings_1m: 'minute',
  market_ticks: 'ts',
  market_ticks_1m: 'minute',
  detections: 'ts',
  snapshots: 'ts',
  anomalies: 'ts',
  forecasts: 'issued_at',
  warnings: 'ts',
  warnings_1m: 'minute',
  warnings_cleared: 'ts',
  incidents: 'updated_at',
  incident_events: 'ts',
  dispatches: 'ts',
  dead_letters: 'ts',
  ground_truth: 'end_ts',
};

/** Defaults merged with overrides; throws `invalid_config` for anything but whole days ≥ 0. */
export function resolveRetention(overrides: RetentionDays = {}): Readonly<Record<RetainedTable, number>> {
  const out: Record<RetainedTable, number> = { ...DEFAULT_RETENTION_DAYS };
  for (const [table, days] of Object.entries(overrides)) {
    if (!(table in DEFAULT_RETENTION_DAYS)) {
      throw new StoreError(
        'invalid_config',
        `retentionDays: expected one of ${Object.keys(DEFAULT_RETENTION_DAYS).join(', ')}; got '${table}'`,
      );
    }
    if (days === undefined) continue;
    if (!Number.isSafeInteger(days) || days < 0) {
      throw new StoreError('invalid_config', `retentionDays.${table}: expected whole days ≥ 0 (0 keeps forever); got ${days}`);
    }
    out[table as RetainedTable] = days;
  }
  return out;
}

/** Reads the day count of a TTL as ClickHouse prints it in system.tables.engine_full. */
export function ttlDaysOf(engineFull: string): number | undefined {
  const match = /\bTTL toDateTime\(\w+\) \+ toIntervalDay\((\d+)\)/.exec(engineFull);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}
