import { rememberDecode, rememberedDecode } from './codec.js';
import type { DecodedRecords } from './record-batch.js';
import { SensorReading } from './records.js';
import type { SensorKind } from './sensor-kinds.js';

/*
 * The readings of one batch message as columns, as the producer in this process (ingest) checked
 * them: the form the hot path's in-process consumers read instead of an object per reading.
 *
 * An object per reading, with its derived id string, was most of what ingest allocated (about
 * 200 bytes a reading), and those objects lived until the anomaly worker had read them, so the
 * young-generation collections that ran beside ClickHouse's inserts copied them (ADR 0004). The
 * columns are arrays of strings the producer already had and of unboxed numbers, one set per
 * message. A consumer that wants records still gets them from decodeRecords, built on its first
 * call and shared from then on; the anomaly worker reads the columns and builds a record only for
 * the rare reading it flags.
 */

/**
 * Readings, column by column: entries [start, start + count) of every column are this message's
 * (a producer may share its arrays between the messages of one batch).
 */
export interface ReadingColumns {
  readonly start: number;
  readonly count: number;
  readonly sensorIds: readonly string[];
  readonly kinds: readonly SensorKind[];
  readonly ts: readonly number[];
  readonly values: readonly number[];
  readonly units: readonly string[];
  /**
   * Each reading's id where it is not the derived `<sensor_id>@<ts>` (see entityTimeId); an
   * undefined entry means the derived one. Undefined when every id is derived.
   */
  readonly ids: readonly (string | undefined)[] | undefined;
  /**
   * Per reading, a number the producer gave its sensor: one per sensor id (and kind) that it
   * never gives another sensor within this process, or -1 for none. A consumer can keep
   * per-sensor state in an array indexed by it instead of hashing the sensor id per reading.
   */
  readonly slots?: readonly number[];
}

const COLUMNS = Symbol('cityops.reading-columns');
type ColumnBytes = Uint8Array & { [COLUMNS]?: ReadingColumns };

/**
 * For a producer that has just checked readings against the SensorReading contract and written
 * them, in order, as the NDJSON `bytes`. Do not change the columns afterwards.
 */
export function rememberReadingColumns(bytes: Uint8Array, columns: ReadingColumns): void {
  (bytes as ColumnBytes)[COLUMNS] = columns;
}

/** The columns a producer in this process left on `bytes`, if any (never over Kafka). */
export function readingColumnsOf(bytes: Uint8Array): ReadingColumns | undefined {
  return (bytes as ColumnBytes)[COLUMNS];
}

/** The reading at index `i` of the columns (from `start` on) as a record. */
export function readingAt(columns: ReadingColumns, i: number): SensorReading {
  const sensorId = columns.sensorIds[i]!;
  const ts = columns.ts[i]!;
  return {
    id: columns.ids?.[i] ?? `${sensorId}@${ts}`,
    schema_version: 1,
    sensor_id: sensorId,
    kind: columns.kinds[i]!,
    ts,
    value: columns.values[i]!,
    unit: columns.units[i]!,
  };
}

/**
 * The records of `bytes` from the columns left on them, built once and then remembered as their
 * decode; undefined when there are none.
 */
export function recordsFromColumns(bytes: Uint8Array): DecodedRecords<SensorReading> | undefined {
  const columns = readingColumnsOf(bytes);
  if (columns === undefined) return undefined;
  const remembered = rememberedDecode(bytes, SensorReading);
  if (remembered !== undefined) return remembered as DecodedRecords<SensorReading>;
  const values = new Array<SensorReading>(columns.count);
  for (let i = 0; i < columns.count; i++) values[i] = readingAt(columns, columns.start + i);
  const result: DecodedRecords<SensorReading> = { values, failures: [] };
  rememberDecode(bytes, SensorReading, result);
  return result;
}
