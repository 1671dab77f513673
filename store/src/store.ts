import type {
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
  Anomaly,
  VisionSnapshot,
} from '@cityops/schemas';
import type { JsonTable } from './tables.js';

/**
 * The one store interface. Embedded chDB (default) and a ClickHouse server implement it with the
 * same SQL; nothing outside store/ sees a ClickHouse client type.
 */

/** Fact and dimension tables; names are the SQL table names. */
export const TABLES = [
  'readings',
  'market_ticks',
  'detections',
  'snapshots',
  'anomalies',
  'forecasts',
  'warnings',
  'warnings_cleared',
  'incidents',
  'incident_events',
  'dispatches',
  'dead_letters',
  'ground_truth',
  'areas',
  'sensors',
  'cameras',
  'indicators',
  'departments',
  'retirements',
] as const;
export type TableName = (typeof TABLES)[number];

export interface MigrationReport {
  applied: string[];
  alreadyApplied: string[];
}

export interface InsertOptions {
  /**
   * Same token, same rows: a retried insert with the token it had the first time is dropped by
   * ClickHouse's insert deduplication instead of doubling the batch.
   */
  dedupToken?: string;
}

export interface TimeRange {
  fromMs: number;
  toMs: number;
}

/**
 * How one forecasting model did on one indicator: its forecasts whose target time has passed,
 * each compared with the tick nearest that time. The forecast-vs-actual track record analysts
 * read before trusting a model's warnings.
 */
export interface ForecastTrackRecord {
  indicator_id: string;
  model: string;
  model_version: string;
  /** Forecast steps that found a tick within the tolerance (the others are not scored). */
  forecasts: number;
  /** Mean absolute error, in the indicator's unit. */
  mae: number;
  /** Mean of actual − forecast: positive when the model forecasts too low. */
  bias: number;
  /** Share of actual values inside the 95% interval (0…1); near 0.95 when the intervals are honest. */
  coverage: number;
  /** Target time of the earliest and latest scored forecast, epoch ms. */
  first_target_ts: number;
  last_target_ts: number;
}

/** One point of a per-minute rollup. */
export interface RollupPoint {
  ts: number;
  avg: number;
  min: number;
  max: number;
  count: number;
}

export interface StoreQueries {
  /**
   * Rows per table (what /api/health reports): duplicates collapsed exactly up to
   * EXACT_COUNT_MAX_ROWS per table; larger tables report stored rows, which converge on the
   * exact count as merges collapse repeated ids.
   */
  tableCounts(): Promise<Record<TableName, number>>;
  areas(): Promise<Area[]>;
  sensors(): Promise<Sensor[]>;
  cameras(): Promise<Camera[]>;
  indicators(): Promise<Indicator[]>;
  departments(): Promise<Department[]>;
  /** What is out of service (and what came back), latest per target. */
  retirements(): Promise<Retirement[]>;
  /** The newest reading of every sensor. */
  latestReadings(): Promise<SensorReading[]>;
  readingRollup(sensorId: string, range: TimeRange): Promise<RollupPoint[]>;
  recentAnomalies(options: { limit: number; sinceMs?: number }): Promise<Anomaly[]>;
  recentWarnings(options: { limit: number; sinceMs?: number }): Promise<EarlyWarning[]>;
  /** Latest revision of each incident, newest first. */
  incidents(options: { limit: number; statuses?: readonly IncidentStatus[] }): Promise<Incident[]>;
  incidentEvents(incidentId: string): Promise<IncidentEvent[]>;
  /** A camera warning's evidence picture (masked PNG), or undefined. */
  snapshot(id: string): Promise<{ header: VisionSnapshot; png: Uint8Array } | undefined>;
  /**
   * Incidents opened in [fromMs, toMs) (latest revision each) and all their lifecycle events: the
   * input of the daily and weekly incident reports.
   */
  incidentHistory(range: TimeRange): Promise<{ incidents: Incident[]; events: IncidentEvent[] }>;
  dispatches(options: { limit: number; incidentId?: string }): Promise<DispatchOrder[]>;
  marketTicks(indicatorId: string, range: TimeRange): Promise<MarketTick[]>;
  forecasts(indicatorId: string, options: { issuedSinceMs?: number; limit: number }): Promise<Forecast[]>;
  /** Forecast steps whose target time lies in [fromMs, toMs), by target time, then issue time (newest last). */
  forecastsForTargets(indicatorId: string, range: TimeRange, options: { limit: number }): Promise<Forecast[]>;
  /**
   * Per indicator, model and version: the forecasts whose target time lies in [fromMs, toMs),
   * each matched with the tick nearest its target time (before or after, at most `toleranceMs`
   * away; unmatched forecasts are left out). `indicatorId` '' or absent: every indicator. The
   * caller keeps toMs at or before now, so only forecasts whose time has come are scored.
   */
  forecastTrackRecord(options: { indicatorId?: string; range: TimeRange; toleranceMs: number }): Promise<ForecastTrackRecord[]>;
  /**
   * Warnings raised in [fromMs, toMs), newest first; `sourceKind`/`sourceId` ('' or absent: any)
   * narrow them to one kind of source (e.g. 'indicator': the market warnings) or one source.
   */
  warningsInRange(options: { range: TimeRange; sourceKind?: string; sourceId?: string; limit: number }): Promise<EarlyWarning[]>;
  deadLetters(options: { limit: number }): Promise<DeadLetter[]>;
  groundTruth(): Promise<GroundTruthEvent[]>;
}

export interface Store {
  readonly kind: 'chdb' | 'server';
  /** Creates or upgrades tables, views and TTLs; idempotent (`cityops migrate`). */
  migrate(): Promise<MigrationReport>;
  /** Inserts rows whose fields equal the table's columns. */
  insert(table: TableName, rows: readonly object[], options?: InsertOptions): Promise<void>;
  /**
   * Inserts records that are already serialised: each element one or more UTF-8 JSON objects,
   * one per line (NDJSON), whose fields are exactly the table's columns (the bytes of a bus
   * message that passed its contract). They are joined with '\n' and sent as JSONEachRow, never
   * parsed here. ClickHouse reads them
   * strictly: an unknown field, a mistyped value or a number not written as a plain integer
   * where one is due (`1.0`, `1e3`) fails the insert with a data error.
   */
  insertJson(table: JsonTable, records: readonly Uint8Array[], options?: InsertOptions): Promise<void>;
  /** Read-only SQL with `{name:Type}` parameters, rows as objects. */
  query<T>(sql: string, params?: Readonly<Record<string, unknown>>): Promise<T[]>;
  readonly queries: StoreQueries;
  close(): Promise<void>;
}
