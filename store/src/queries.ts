import type {
  Anomaly,
  Area,
  Camera,
  DeadLetter,
  Department,
  Retirement,
  DispatchOrder,
  EarlyWarning,
  Forecast,
  GroundTruthEvent,
  Incident,
  IncidentEvent,
  IncidentStatus,
  Indicator,
  MarketTick,
  Sensor,
  SensorReading,
  VisionSnapshot,
} from '@cityops/schemas';
import { StoreError } from './errors.js';
import { decodeRows } from './row-decoder.js';
import type { SqlClient } from './sql-client.js';
import { TABLES, type ForecastTrackRecord, type RollupPoint, type StoreQueries, type TableName, type TimeRange } from './store.js';
import { columnList } from './tables.js';

/*
 * Typed reads. Every value is a bound `{name:Type}` parameter, never spliced into the SQL.
 * Duplicates are collapsed with FINAL: tables are ReplacingMergeTree and parts merge in the
 * background, so without it a re-delivered record would show twice until the next merge.
 * Epoch-ms arguments are bound as Int64 and converted in SQL (fromUnixTimestamp64Milli), which
 * avoids any dependence on how a backend parses a DateTime64 parameter.
 */

type Raw = Readonly<Record<string, unknown>>;

/** Tables up to this many stored rows are counted exactly (FINAL) by tableCounts(). */
export const EXACT_COUNT_MAX_ROWS = 5_000_000;

/** How far back latestReadings() looks for a sensor's newest reading. */
export const LATEST_READING_WINDOW_HOURS = 6;

const MS = (param: string): string => `fromUnixTimestamp64Milli({${param}:Int64}, 'UTC')`;

function checkLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new StoreError('invalid_config', `limit: expected a whole number ≥ 0; got ${limit}`);
  }
  return limit;
}

function checkRange(range: TimeRange): TimeRange {
  if (!Number.isSafeInteger(range.fromMs) || !Number.isSafeInteger(range.toMs) || range.fromMs > range.toMs) {
    throw new StoreError('invalid_config', `time range: expected whole epoch ms with fromMs ≤ toMs; got ${range.fromMs} … ${range.toMs}`);
  }
  return range;
}

/** A WHERE clause leaving out the ids of `target` whose latest retirement record says retired. */
function inService(target: Retirement['target']): string {
  return `WHERE id NOT IN (SELECT target_id FROM retirements FINAL WHERE target = '${target}' AND retired)`;
}

export function createQueries(client: SqlClient): StoreQueries {
  const select = async <T extends TableName>(table: T, tail: string, params: Readonly<Record<string, unknown>> = {}) =>
    decodeRows(table, await client.query<Raw>(`SELECT ${columnList(table)} FROM ${table} FINAL ${tail}`, params));

  return {
    async tableCounts() {
      // Exact counts (duplicates collapsed with FINAL) cost a scan; /api/health asks every few
      // seconds, so tables past EXACT_COUNT_MAX_ROWS report their stored rows from part
      // metadata instead — free, and equal to the exact count once background merges have
      // collapsed repeated ids.
      const stored = await client.query<{ name: string; rows: number | string }>(
        `SELECT table AS name, sum(rows) AS rows FROM system.parts
         WHERE database = currentDatabase() AND active AND table IN (${TABLES.map((t) => `'${t}'`).join(', ')})
         GROUP BY table`,
      );
      const counts = Object.fromEntries(TABLES.map((t) => [t, 0])) as Record<TableName, number>;
      for (const r of stored) counts[r.name as TableName] = Number(r.rows);
      const exact = TABLES.filter((t) => counts[t] > 0 && counts[t] <= EXACT_COUNT_MAX_ROWS);
      if (exact.length > 0) {
        const sql = exact.map((t) => `SELECT '${t}' AS name, count() AS rows FROM ${t} FINAL`).join('\nUNION ALL\n');
        for (const r of await client.query<{ name: string; rows: number | string }>(sql)) counts[r.name as TableName] = Number(r.rows);
      }
      return counts;
    },

    // What is retired leaves every list (the wall, the admin page, the vision worker's cameras).
    areas: (): Promise<Area[]> => select('areas', `${inService('Area')} ORDER BY id`),
    sensors: (): Promise<Sensor[]> => select('sensors', `${inService('Sensor')} ORDER BY id`),
    cameras: (): Promise<Camera[]> => select('cameras', `${inService('Camera')} ORDER BY id`),
    indicators: (): Promise<Indicator[]> => select('indicators', 'ORDER BY id'),
    departments: (): Promise<Department[]> => select('departments', 'ORDER BY id'),
    retirements: (): Promise<Retirement[]> => select('retirements', 'ORDER BY id'),

    /** Sensors silent for longer than LATEST_READING_WINDOW_HOURS have no current reading. */
    async latestReadings(): Promise<SensorReading[]> {
      // The rollup names each sensor's newest event time; readings' primary key (sensor_id, ts)
      // makes fetching exactly those rows a set of point lookups (see migration 0003).
      const rows = await client.query<Raw>(
        `SELECT ${columnList('readings')} FROM readings
         WHERE (sensor_id, ts) IN (
           SELECT sensor_id, max(last_ts) FROM readings_1m
           WHERE minute >= toStartOfMinute(now64(3) - INTERVAL ${LATEST_READING_WINDOW_HOURS} HOUR)
           GROUP BY sensor_id)
         ORDER BY sensor_id, id
         LIMIT 1 BY sensor_id`,
      );
      return decodeRows('readings', rows);
    },

    async readingRollup(sensorId: string, range: TimeRange): Promise<RollupPoint[]> {
      const { fromMs, toMs } = checkRange(range);
      // Minutes whose start lies in [toStartOfMinute(from), to): the minute containing `from` is whole.
      const rows = await client.query<{
        minute_ms: number | string;
        p_avg: number;
        p_min: number;
        p_max: number;
        p_count: number | string;
      }>(
        `SELECT toUnixTimestamp(minute) * 1000 AS minute_ms,
                avgMerge(value_avg) AS p_avg, min(value_min) AS p_min, max(value_max) AS p_max, sum(value_count) AS p_count
         FROM readings_1m
         WHERE sensor_id = {sensorId:String}
           AND minute >= toStartOfMinute(${MS('fromMs')}) AND minute < ${MS('toMs')}
         GROUP BY minute
         ORDER BY minute`,
        { sensorId, fromMs, toMs },
      );
      return rows.map((r) => ({ ts: Number(r.minute_ms), avg: r.p_avg, min: r.p_min, max: r.p_max, count: Number(r.p_count) }));
    },

    recentAnomalies: ({ limit, sinceMs = 0 }): Promise<Anomaly[]> =>
      select('anomalies', `WHERE ts >= ${MS('sinceMs')} ORDER BY ts DESC, id LIMIT {limit:UInt32}`, { sinceMs, limit: checkLimit(limit) }),

    recentWarnings: ({ limit, sinceMs = 0 }): Promise<EarlyWarning[]> =>
      select('warnings', `WHERE ts >= ${MS('sinceMs')} ORDER BY ts DESC, id LIMIT {limit:UInt32}`, { sinceMs, limit: checkLimit(limit) }),

    incidents: ({ limit, statuses }: { limit: number; statuses?: readonly IncidentStatus[] }): Promise<Incident[]> =>
      // FINAL first, then the status filter: filtering before collapsing could surface an older revision.
      select(
        'incidents',
        `WHERE (empty({statuses:Array(String)}) OR status IN {statuses:Array(String)}) ORDER BY opened_at DESC, id LIMIT {limit:UInt32}`,
        { statuses: statuses ?? [], limit: checkLimit(limit) },
      ),

    incidentEvents: (incidentId: string): Promise<IncidentEvent[]> =>
      select('incident_events', 'WHERE incident_id = {incidentId:String} ORDER BY ts, id', { incidentId }),

    async snapshot(id: string): Promise<{ header: VisionSnapshot; png: Uint8Array } | undefined> {
      const [row] = await select('snapshots', 'WHERE id = {id:String} LIMIT 1', { id });
      if (row === undefined) return undefined;
      const { png_base64: png, ...header } = row;
      return { header, png: Buffer.from(png, 'base64') };
    },

    async incidentHistory(range: TimeRange): Promise<{ incidents: Incident[]; events: IncidentEvent[] }> {
      const { fromMs, toMs } = checkRange(range);
      const incidents = await select(
        'incidents',
        `WHERE opened_at >= ${MS('fromMs')} AND opened_at < ${MS('toMs')} ORDER BY opened_at, id LIMIT 100000`,
        { fromMs, toMs },
      );
      // Events of those incidents only; they may run past toMs (a case opened at 23:50 closes tomorrow).
      const events = await select(
        'incident_events',
        `WHERE incident_id IN (SELECT id FROM incidents WHERE opened_at >= ${MS('fromMs')} AND opened_at < ${MS('toMs')}) ORDER BY ts, id`,
        { fromMs, toMs },
      );
      return { incidents, events };
    },

    dispatches: ({ limit, incidentId }: { limit: number; incidentId?: string }): Promise<DispatchOrder[]> =>
      select(
        'dispatches',
        `WHERE ({incidentId:String} = '' OR incident_id = {incidentId:String}) ORDER BY ts DESC, id LIMIT {limit:UInt32}`,
        {
          incidentId: incidentId ?? '',
          limit: checkLimit(limit),
        },
      ),

    marketTicks(indicatorId: string, range: TimeRange): Promise<MarketTick[]> {
      const { fromMs, toMs } = checkRange(range);
      return select(
        'market_ticks',
        `WHERE indicator_id = {indicatorId:String} AND ts >= ${MS('fromMs')} AND ts < ${MS('toMs')} ORDER BY ts, id`,
        {
          indicatorId,
          fromMs,
          toMs,
        },
      );
    },

    forecasts: (indicatorId: string, { issuedSinceMs = 0, limit }: { issuedSinceMs?: number; limit: number }): Promise<Forecast[]> =>
      select(
        'forecasts',
        `WHERE indicator_id = {indicatorId:String} AND issued_at >= ${MS('issuedSinceMs')}
         ORDER BY issued_at DESC, horizon_step, id LIMIT {limit:UInt32}`,
        { indicatorId, issuedSinceMs, limit: checkLimit(limit) },
      ),

    forecastsForTargets(indicatorId: string, range: TimeRange, { limit }: { limit: number }): Promise<Forecast[]> {
      const { fromMs, toMs } = checkRange(range);
      return select(
        'forecasts',
        `WHERE indicator_id = {indicatorId:String} AND target_ts >= ${MS('fromMs')} AND target_ts < ${MS('toMs')}
         ORDER BY target_ts, issued_at, id LIMIT {limit:UInt32}`,
        { indicatorId, fromMs, toMs, limit: checkLimit(limit) },
      );
    },

    async forecastTrackRecord({ indicatorId = '', range, toleranceMs }): Promise<ForecastTrackRecord[]> {
      const { fromMs, toMs } = checkRange(range);
      if (!Number.isSafeInteger(toleranceMs) || toleranceMs < 0) {
        throw new StoreError('invalid_config', `toleranceMs: expected a whole number ≥ 0; got ${toleranceMs}`);
      }
      // A forecaster's target times come from an estimated tick interval, so a target rarely
      // equals a tick's time: each forecast takes the nearer of the tick at or before it and the
      // tick at or after it (two ASOF joins: ClickHouse's ASOF matches in one direction only).
      const ticks = `SELECT indicator_id, toUnixTimestamp64Milli(ts) AS ts_ms, value FROM market_ticks FINAL
         WHERE ({indicatorId:String} = '' OR indicator_id = {indicatorId:String})
           AND ts >= ${MS('fromMs')} - toIntervalMillisecond({toleranceMs:Int64})
           AND ts < ${MS('toMs')} + toIntervalMillisecond({toleranceMs:Int64})`;
      const rows = await client.query<{
        indicator_id: string;
        model: string;
        model_version: string;
        n: number | string;
        mae: number;
        bias: number;
        coverage: number;
        first_ms: number | string;
        last_ms: number | string;
      }>(
        `SELECT indicator_id, model, model_version, count() AS n,
                avg(abs(actual - mean)) AS mae, avg(actual - mean) AS bias,
                avg(actual >= lower AND actual <= upper) AS coverage,
                min(target_ms) AS first_ms, max(target_ms) AS last_ms
         FROM (
           SELECT f.indicator_id AS indicator_id, f.model AS model, f.model_version AS model_version,
                  f.mean AS mean, f.lower AS lower, f.upper AS upper, f.target_ms AS target_ms,
                  if(b.ts_ms = 0, 9223372036854775807, f.target_ms - b.ts_ms) AS gap_before,
                  if(a.ts_ms = 0, 9223372036854775807, a.ts_ms - f.target_ms) AS gap_after,
                  if(gap_before <= gap_after, b.value, a.value) AS actual
           FROM (
             SELECT indicator_id, toUnixTimestamp64Milli(target_ts) AS target_ms, mean, lower, upper, model, model_version
             FROM forecasts FINAL
             WHERE ({indicatorId:String} = '' OR indicator_id = {indicatorId:String})
               AND target_ts >= ${MS('fromMs')} AND target_ts < ${MS('toMs')}
           ) AS f
           ASOF LEFT JOIN (${ticks}) AS b ON f.indicator_id = b.indicator_id AND f.target_ms >= b.ts_ms
           ASOF LEFT JOIN (${ticks}) AS a ON f.indicator_id = a.indicator_id AND f.target_ms <= a.ts_ms
           WHERE least(gap_before, gap_after) <= {toleranceMs:Int64}
         )
         GROUP BY indicator_id, model, model_version
         ORDER BY indicator_id, model, model_version`,
        { indicatorId, fromMs, toMs, toleranceMs },
      );
      return rows.map((r) => ({
        indicator_id: r.indicator_id,
        model: r.model,
        model_version: r.model_version,
        forecasts: Number(r.n),
        mae: r.mae,
        bias: r.bias,
        coverage: r.coverage,
        first_target_ts: Number(r.first_ms),
        last_target_ts: Number(r.last_ms),
      }));
    },

    warningsInRange({ range, sourceKind = '', sourceId = '', limit }): Promise<EarlyWarning[]> {
      const { fromMs, toMs } = checkRange(range);
      return select(
        'warnings',
        `WHERE ts >= ${MS('fromMs')} AND ts < ${MS('toMs')}
           AND ({sourceKind:String} = '' OR source_kind = {sourceKind:String})
           AND ({sourceId:String} = '' OR source_id = {sourceId:String})
         ORDER BY ts DESC, id LIMIT {limit:UInt32}`,
        { fromMs, toMs, sourceKind, sourceId, limit: checkLimit(limit) },
      );
    },

    deadLetters: ({ limit }): Promise<DeadLetter[]> =>
      select('dead_letters', 'ORDER BY ts DESC, id LIMIT {limit:UInt32}', { limit: checkLimit(limit) }),

    groundTruth: (): Promise<GroundTruthEvent[]> => select('ground_truth', 'ORDER BY start_ts, id'),
  };
}
