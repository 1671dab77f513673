import type {
  Anomaly,
  Area,
  Camera,
  DeadLetter,
  Department,
  Retirement,
  DispatchOrder,
  EarlyWarning,
  FieldError,
  Forecast,
  GroundTruthEvent,
  Incident,
  IncidentEvent,
  Indicator,
  MarketTick,
  Sensor,
  SensorReading,
  VisionDetection,
  VisionSnapshot,
  WarningCleared,
} from '@cityops/schemas';
import { TABLES, type TableName } from './store.js';

/**
 * How each contract field travels to and from its ClickHouse column. Field names equal column
 * names (a schemas/ rule), so this is the only per-column knowledge the writer and the typed
 * queries need. The DDL itself lives in migrations/ as frozen SQL; an integration test checks
 * the two agree column by column.
 */

/** A snapshot as stored: its header and the PNG, base64 (JSON output must be UTF-8). */
export type StoredSnapshot = VisionSnapshot & { png_base64: string };

/** The record type stored in each table. */
export interface TableRowMap {
  readings: SensorReading;
  market_ticks: MarketTick;
  detections: VisionDetection;
  snapshots: StoredSnapshot;
  anomalies: Anomaly;
  forecasts: Forecast;
  warnings: EarlyWarning;
  warnings_cleared: WarningCleared;
  incidents: Incident;
  incident_events: IncidentEvent;
  dispatches: DispatchOrder;
  dead_letters: DeadLetter;
  ground_truth: GroundTruthEvent;
  areas: Area;
  sensors: Sensor;
  cameras: Camera;
  indicators: Indicator;
  departments: Department;
  retirements: Retirement;
}
export type TableRow<T extends TableName> = TableRowMap[T];

/**
 * - `string`: String / LowCardinality(String)
 * - `number`: Float64 or an integer type (JS numbers print without exponent below 1e21)
 * - `optional_number`: Nullable(Float64) or a Nullable integer — an optional contract field
 *   (NULL when the record leaves it out, left out again when read)
 * - `time`: epoch ms in JS, DateTime64(3, 'UTC') in ClickHouse
 * - `bool`: Bool
 * - `strings`: Array(String)
 * - `field_errors`: Array(Tuple(path String, message String)) — DeadLetter.errors
 */
export type ColumnKind = 'string' | 'number' | 'optional_number' | 'time' | 'bool' | 'strings' | 'field_errors';

/** The kinds a field of type V may use; `never` for a type no column can hold. */
type KindFor<V> = [V] extends [number]
  ? 'number' | 'time'
  : [V] extends [number | undefined]
    ? 'optional_number'
    : [V] extends [boolean]
      ? 'bool'
      : [V] extends [string]
        ? 'string'
        : [V] extends [readonly string[]]
          ? 'strings'
          : [V] extends [readonly FieldError[]]
            ? 'field_errors'
            : never;

/** Every field of the record, each with a kind that fits its type: the compiler catches drift. */
type ColumnSpec<R> = { readonly [K in keyof R]-?: KindFor<R[K]> };

const SPECS: { readonly [T in TableName]: ColumnSpec<TableRowMap[T]> } = {
  readings: { id: 'string', schema_version: 'number', sensor_id: 'string', kind: 'string', ts: 'time', value: 'number', unit: 'string' },
  market_ticks: { id: 'string', schema_version: 'number', indicator_id: 'string', ts: 'time', value: 'number' },
  detections: {
    id: 'string',
    schema_version: 'number',
    camera_id: 'string',
    frame_id: 'string',
    ts: 'time',
    class_name: 'string',
    score: 'number',
    x1: 'number',
    y1: 'number',
    x2: 'number',
    y2: 'number',
    track_id: 'string',
    model_version: 'string',
  },
  snapshots: {
    id: 'string',
    schema_version: 'number',
    camera_id: 'string',
    ts: 'time',
    warning_id: 'string',
    width: 'number',
    height: 'number',
    format: 'string',
    masked: 'bool',
    model_version: 'string',
    png_base64: 'string',
  },
  anomalies: {
    id: 'string',
    schema_version: 'number',
    ts: 'time',
    source_kind: 'string',
    source_id: 'string',
    metric: 'string',
    area_id: 'string',
    value: 'number',
    expected: 'number',
    lower: 'number',
    upper: 'number',
    score: 'number',
    probability: 'number',
    detector: 'string',
    detector_version: 'string',
    reason: 'string',
  },
  forecasts: {
    id: 'string',
    schema_version: 'number',
    indicator_id: 'string',
    issued_at: 'time',
    target_ts: 'time',
    horizon_step: 'number',
    mean: 'number',
    lower: 'number',
    upper: 'number',
    breach_probability: 'number',
    model: 'string',
    model_version: 'string',
  },
  warnings: {
    id: 'string',
    schema_version: 'number',
    ts: 'time',
    level: 'string',
    kind: 'string',
    area_id: 'string',
    source_kind: 'string',
    source_id: 'string',
    lon: 'number',
    lat: 'number',
    title: 'string',
    reasons: 'strings',
    score: 'number',
    evidence_ids: 'strings',
    produced_by: 'string',
    machine_made: 'bool',
  },
  warnings_cleared: {
    id: 'string',
    schema_version: 'number',
    ts: 'time',
    kind: 'string',
    area_id: 'string',
    source_kind: 'string',
    source_id: 'string',
    started_at: 'time',
    warning_ids: 'strings',
    reason: 'string',
    produced_by: 'string',
    machine_made: 'bool',
  },
  incidents: {
    id: 'string',
    schema_version: 'number',
    opened_at: 'time',
    updated_at: 'time',
    kind: 'string',
    area_id: 'string',
    level: 'string',
    status: 'string',
    title: 'string',
    department_id: 'string',
    warning_ids: 'strings',
    lon: 'number',
    lat: 'number',
    rule_version: 'string',
    revision: 'number',
  },
  incident_events: {
    id: 'string',
    schema_version: 'number',
    incident_id: 'string',
    ts: 'time',
    type: 'string',
    actor: 'string',
    machine_made: 'bool',
    detail: 'string',
    revision: 'number',
    department_id: 'string',
    assist_ids: 'strings',
    severity: 'number',
    priority: 'string',
    stage: 'string',
    due_at: 'time',
    escalation_level: 'number',
    ref_ids: 'strings',
  },
  dispatches: {
    id: 'string',
    schema_version: 'number',
    incident_id: 'string',
    ts: 'time',
    department_id: 'string',
    kind: 'string',
    area_id: 'string',
    level: 'string',
    reason: 'string',
    rule_version: 'string',
    machine_made: 'bool',
    accept_due: 'time',
    resolve_due: 'time',
  },
  dead_letters: {
    id: 'string',
    schema_version: 'number',
    ts: 'time',
    source: 'string',
    reason: 'string',
    errors: 'field_errors',
    payload: 'string',
    key: 'string',
  },
  ground_truth: {
    id: 'string',
    schema_version: 'number',
    kind: 'string',
    area_id: 'string',
    source_ids: 'strings',
    start_ts: 'time',
    end_ts: 'time',
    expected_level: 'string',
    lon: 'number',
    lat: 'number',
    description: 'string',
  },
  areas: {
    id: 'string',
    schema_version: 'number',
    name_zh: 'string',
    name_en: 'string',
    population: 'number',
    geometry: 'string',
    lon: 'number',
    lat: 'number',
  },
  sensors: {
    id: 'string',
    schema_version: 'number',
    kind: 'string',
    area_id: 'string',
    name: 'string',
    lon: 'number',
    lat: 'number',
    unit: 'string',
  },
  cameras: {
    id: 'string',
    schema_version: 'number',
    area_id: 'string',
    name: 'string',
    url: 'string',
    lon: 'number',
    lat: 'number',
    fps: 'number',
  },
  indicators: {
    id: 'string',
    schema_version: 'number',
    name_zh: 'string',
    name_en: 'string',
    unit: 'string',
    frequency: 'string',
    risk_upper: 'number',
    risk_lower: 'number',
  },
  // Station and unit count are optional within Department v1 (migration 0008).
  departments: {
    id: 'string',
    schema_version: 'number',
    name_zh: 'string',
    name_en: 'string',
    lon: 'optional_number',
    lat: 'optional_number',
    units: 'optional_number',
  },
  retirements: {
    id: 'string',
    schema_version: 'number',
    target: 'string',
    target_id: 'string',
    retired: 'bool',
    ts: 'time',
    reason: 'string',
  },
};

export interface Column {
  readonly name: string;
  readonly kind: ColumnKind;
}

function columnsOf(spec: Readonly<Record<string, ColumnKind>>): readonly Column[] {
  return Object.entries(spec).map(([name, kind]) => ({ name, kind }));
}

/** Columns of each table in contract order (the order TSV rows are written in). */
export const TABLE_COLUMNS: { readonly [T in TableName]: readonly Column[] } = Object.fromEntries(
  TABLES.map((t) => [t, columnsOf(SPECS[t])]),
  // fromEntries over TABLES yields exactly one entry per table name.
) as unknown as { readonly [T in TableName]: readonly Column[] };

/**
 * Tables whose rows are NOT inserted as JSON (see JSON_TABLES): dead_letters, whose `errors`
 * are tuples (JSON would carry them as objects), and the dimensions, of which the sink keeps only
 * the latest version of each id per batch, so it writes decoded records.
 */
const ROW_ONLY_TABLES = [
  'dead_letters',
  // A snapshot's image arrives as binary beside its header; the sink builds the row.
  'snapshots',
  'areas',
  'sensors',
  'cameras',
  'indicators',
  'departments',
  'retirements',
] as const satisfies readonly TableName[];
export type JsonTable = Exclude<TableName, (typeof ROW_ONLY_TABLES)[number]>;

function isRowOnly(table: TableName): boolean {
  return (ROW_ONLY_TABLES as readonly TableName[]).includes(table);
}

/**
 * The fact tables whose rows may go to ClickHouse as their bus messages' own bytes
 * (JSONEachRow), without being decoded into objects and re-encoded: each contract declares
 * exactly the table's columns, all required, nothing else allowed (tables.test.ts checks every
 * one), so a message that passed its contract is already a complete row.
 */
export const JSON_TABLES: readonly JsonTable[] = TABLES.filter((t): t is JsonTable => !isRowOnly(t));
const JSON_TABLE_SET: ReadonlySet<string> = new Set(JSON_TABLES);

export function isJsonTable(table: TableName): table is JsonTable {
  return JSON_TABLE_SET.has(table);
}

/** The column list of a table, for SELECT and INSERT. */
export function columnList(table: TableName): string {
  return TABLE_COLUMNS[table].map((c) => c.name).join(', ');
}
