import type { Static, TSchema } from '@sinclair/typebox';
import { decodeRecord, decodeRecordText, notUtf8, rememberDecode, rememberedDecode, SCHEMA_HEADER } from './codec.js';
import { recordsFromColumns } from './reading-columns.js';
import { SensorReading, type FieldError } from './records.js';

/*
 * Several records of one contract in one bus message: the hot path's unit on the bus.
 *
 * A message per reading cost the in-process bus and its consumers about 1.6 µs of the ~5 µs a
 * reading took end to end (a message object, a byte view, a log slot and a delivered copy per
 * consumer group, and their garbage); at the platform's 250k readings/s on 2 cores that alone
 * was a third of a core. Ingest therefore packs the readings of one partition into messages of
 * up to a few hundred records, and every consumer reads both forms:
 *
 * - a message WITHOUT the RECORDS_HEADER header holds one JSON record (what outside producers
 *   write to Kafka, and what every other topic carries);
 * - a message WITH it holds newline-delimited JSON (NDJSON), one record per line; the header's
 *   value is the number of records. JSON escapes every newline inside a string, so a line
 *   break can only separate records.
 *
 * NDJSON is also ClickHouse's JSONEachRow: the sink passes a batch's bytes to the insert as
 * they are. Each line is validated on its own; a bad line is a failure of that line only (a
 * dead letter naming the line), never of its neighbours.
 */

/** Bus header on a message holding several NDJSON records; its value is their count. */
export const RECORDS_HEADER = 'cityops-records';

/** One line of a message that did not decode, by its position (0-based) in the message. */
export interface LineFailure {
  line: number;
  reason: string;
  errors: FieldError[];
  /** The line's text (truncated), for its dead letter. */
  payload: string;
}

/** The records of one message: those that passed the contract, in order, and those that did not. */
export interface DecodedRecords<T> {
  values: T[];
  failures: LineFailure[];
}

const NO_FAILURES: LineFailure[] = [];
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Headers of a message of `count` records of `contract` (e.g. 'SensorReading'), version 1. */
export function recordBatchHeaders(contract: string, count: number): Record<string, string> {
  return { [SCHEMA_HEADER]: `${contract}@1`, [RECORDS_HEADER]: String(count) };
}

/**
 * Every record of a bus message, one JSON record or a batch (RECORDS_HEADER). Never throws.
 * Like decodeRecord, the result is remembered on the bytes, so co-located consumers of the same
 * message share one decode; the result is read-only to them.
 */
export function decodeRecords<S extends TSchema>(
  schema: S,
  headers: Readonly<Record<string, string>>,
  bytes: Uint8Array,
): DecodedRecords<Static<S>> {
  if (headers[RECORDS_HEADER] === undefined) {
    const r = decodeRecord(schema, bytes);
    return r.ok
      ? { values: [r.value], failures: NO_FAILURES }
      : { values: [], failures: [{ line: 0, reason: r.reason, errors: r.errors, payload: r.payload }] };
  }
  const remembered = rememberedDecode(bytes, schema);
  if (remembered !== undefined) return remembered as DecodedRecords<Static<S>>;
  if ((schema as TSchema) === SensorReading) {
    const fromColumns = recordsFromColumns(bytes);
    if (fromColumns !== undefined) return fromColumns;
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    const f = notUtf8(bytes);
    return { values: [], failures: [{ line: 0, reason: f.reason, errors: f.errors, payload: f.payload }] };
  }
  const values: Static<S>[] = [];
  let failures = NO_FAILURES;
  let line = 0;
  for (let start = 0; start < text.length; line++) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const r = decodeRecordText(schema, text.slice(start, end));
    if (r.ok) values.push(r.value);
    else {
      if (failures === NO_FAILURES) failures = [];
      failures.push({ line, reason: r.reason, errors: r.errors, payload: r.payload });
    }
    start = end + 1;
  }
  const result = { values, failures };
  rememberDecode(bytes, schema, result);
  return result;
}

/**
 * For a producer that has just validated `values` against `schema` and encoded them, in order,
 * as the NDJSON `bytes`: co-located consumers then take the records without parsing them again.
 * Do not mutate the values afterwards.
 */
export function rememberDecodedRecords<S extends TSchema>(bytes: Uint8Array, schema: S, values: Static<S>[]): void {
  rememberDecode(bytes, schema, { values, failures: NO_FAILURES });
}
