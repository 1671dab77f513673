import {
  DEFAULT_PARTITIONS,
  MarketTick,
  readingDomainErrors,
  readingInDomain,
  SENSOR_KIND_INFO,
  SensorReading,
  SensorReadingFields,
  entityTimeId,
  MAX_ID_LENGTH,
  rememberDecoded,
  SCHEMA_HEADER,
  TOPICS,
  validator,
  type Clock,
  type FieldError,
  type MarketTick as MarketTickRecord,
  type SensorKind,
  type SensorReading as SensorReadingRecord,
  type TopicName,
} from '@cityops/schemas';
import { deadLetters, partitionForKey, type DeadLetterInput, type OutgoingMessage, type Producer } from '@cityops/bus';
import { toIngestError } from './errors.js';
import { JsonBytes, jsonPiece } from './json-bytes.js';
import { partitionKey } from './partition-key.js';
import { ReadingGroups } from './reading-groups.js';
import { sensorPieces } from './sensor-pieces.js';

export { partitionKey };

/** Where a batch is going and where it came from. */
export interface IngestContext {
  producer: Producer;
  /** Stamps dead letters; production passes Date.now. */
  clock: Clock;
  /** Named in dead letters so an operator can find the sender. Default 'in-process'. */
  source?: string;
  /**
   * Partitions of the target topic, to group records by partition. Default: the topic's count in
   * DEFAULT_PARTITIONS, which infra/kafka/topics.txt also uses. A different count costs balance,
   * never order (see partitionKey).
   */
  partitions?: number;
  /** Records per bus message at most. Default DEFAULT_MAX_RECORDS_PER_MESSAGE (600). */
  maxRecordsPerMessage?: number;
}

/** What was wrong with one record of a batch, by its position in the batch. */
export interface RecordError {
  index: number;
  errors: FieldError[];
}

export interface IngestResult {
  /** Records produced to the bus. */
  accepted: number;
  /** Records sent to the dead-letter topic instead. */
  rejected: number;
  /** One entry per rejected record, in batch order. */
  errors: RecordError[];
}

/**
 * Input that was already rejected before validation (an NDJSON line that is not JSON). It is
 * reported and dead-lettered with the batch, so the request still costs one DLQ send.
 */
export interface PreRejected {
  index: number;
  reason: string;
  errors: FieldError[];
  payload: string;
}

/** Extra inputs of the HTTP path; in-process callers need none of them. */
export interface BatchExtras {
  /** Maps a position in `records` to the index reported to the caller (NDJSON with bad lines). */
  indexOf?: (position: number) => number;
  preRejected?: readonly PreRejected[];
}

/** Where a batch's valid records gather, by partition, until they leave as bus messages. */
interface RecordGroups<T> {
  add(partition: number, record: T): void;
  toMessages(): OutgoingMessage[];
}

interface RecordSpec<T, G extends RecordGroups<T>> {
  readonly topic: TopicName;
  readonly contract: string;
  /**
   * Groups for one batch of about `expected` records, `maxRecords` at most per message where they
   * travel several to one.
   */
  groups(partitions: number, maxRecords: number, expected: number): G;
  check(value: unknown): value is T;
  errors(value: unknown): FieldError[];
  /** Fills fields producers may omit. Returns the input itself when nothing is missing. */
  fill(input: object): object;
  /** Paths the fill step could not derive, whose 'missing' errors only repeat another error. */
  underivable(input: object): readonly string[];
  domainErrors(record: T): FieldError[];
  /**
   * The hot path's shortcut for input in the shape most producers send (no id, nothing to fill
   * in): checks it as it came and, if it is valid, adds it to `groups` and returns true.
   * Anything else — invalid input included — returns false and takes the general path, which
   * also reports the errors.
   */
  derive?(input: unknown, groups: G, partitions: number): boolean;
  key(record: T): string;
  keyOf(input: unknown): string;
}

const readingValidator = validator(SensorReading);
const readingFieldsValidator = validator(SensorReadingFields);
const tickValidator = validator(MarketTick);

const NO_ERRORS: FieldError[] = [];

function isSensorKind(kind: unknown): kind is SensorKind {
  return typeof kind === 'string' && Object.hasOwn(SENSOR_KIND_INFO, kind);
}

/**
 * TypeBox reports a missing field twice ("required property", then "string"); a client needs
 * one line per field, the first being the most direct.
 */
function firstPerPath(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => !seen.has(e.path) && seen.add(e.path) !== undefined);
}

const READING_KEYS: readonly string[] = ['id', 'schema_version', 'sensor_id', 'kind', 'ts', 'value', 'unit'];
const TICK_KEYS: readonly string[] = ['id', 'schema_version', 'indicator_id', 'ts', 'value'];

/** Whether every own enumerable key of `r` is one of `known` (no allocation). */
function hasOnlyKnownKeys(r: Record<string, unknown>, known: readonly string[]): boolean {
  for (const k in r) if (Object.hasOwn(r, k) && !known.includes(k)) return false;
  return true;
}

function stringField(input: unknown, field: string): string {
  if (typeof input !== 'object' || input === null) return '';
  const v = (input as Record<string, unknown>)[field];
  return typeof v === 'string' ? v : '';
}

// The constant pieces of a tick's JSON, in the contract's field order.
const CLOSE_BRACE = 0x7d;
const TICK_ID = jsonPiece('{"id":"');
const TICK_INDICATOR_ID = jsonPiece('","schema_version":1,"indicator_id":"');
const TICK_TS = jsonPiece('","ts":');
const TICK_VALUE = jsonPiece(',"value":');
/**
 * The longest sensor id whose derived id `<sensor>@<ts>` always fits the id pattern's length
 * (EpochMs has at most 13 digits); longer ones are hashed by entityTimeId, on the general path.
 */
const MAX_DERIVED_ENTITY_LENGTH = MAX_ID_LENGTH - 1 - 13;

/*
 * Readings travel several to a message (the hot path), kept as columns on the way (see
 * reading-groups.ts).
 */
const readingSpec: RecordSpec<SensorReadingRecord, ReadingGroups> = {
  topic: TOPICS.sensorReadings,
  contract: readingValidator.name,
  groups: (partitions, maxRecords, expected) =>
    new ReadingGroups(TOPICS.sensorReadings, readingValidator.name, partitions, maxRecords, expected),
  check: (v): v is SensorReadingRecord => readingValidator.check(v),
  errors: (v) => firstPerPath(readingValidator.errors(v)),
  fill(input) {
    const r = input as Record<string, unknown>;
    const needsId = r.id === undefined;
    const needsVersion = r.schema_version === undefined;
    const needsUnit = r.unit === undefined && isSensorKind(r.kind);
    if (!needsId && !needsVersion && !needsUnit) return input;
    // Derived from what identifies the measurement, so a re-sent reading replaces itself downstream.
    const id = needsId && typeof r.sensor_id === 'string' && typeof r.ts === 'number' ? entityTimeId(r.sensor_id, r.ts) : r.id;
    const unit = needsUnit ? SENSOR_KIND_INFO[r.kind as SensorKind].unit : r.unit;
    // A copy, not a mutation: in-process callers keep their objects as they passed them. A
    // literal of fixed shape costs a fraction of a spread; only a record with fields outside the
    // contract takes the spread, so the validator still names those fields.
    if (hasOnlyKnownKeys(r, READING_KEYS)) {
      return {
        id,
        schema_version: needsVersion ? 1 : r.schema_version,
        sensor_id: r.sensor_id,
        kind: r.kind,
        ts: r.ts,
        value: r.value,
        unit,
      };
    }
    return { ...r, id, schema_version: needsVersion ? 1 : r.schema_version, unit };
  },
  underivable(input) {
    const r = input as Record<string, unknown>;
    const paths: string[] = [];
    if (r.id === undefined && !(typeof r.sensor_id === 'string' && typeof r.ts === 'number')) paths.push('/id');
    if (r.unit === undefined && !isSensorKind(r.kind)) paths.push('/unit');
    return paths;
  },
  domainErrors: (r) => readingDomainErrors(r),
  derive(input, groups, partitions) {
    if (!readingFieldsValidator.check(input) || input.sensor_id.length > MAX_DERIVED_ENTITY_LENGTH) return false;
    // The record this input makes passes the contract: its id, derived from a sensor id that
    // passed the id pattern plus '@' and digits, passes that pattern too.
    if (!readingInDomain(input.kind, input.value, input.unit)) return false;
    const pieces = sensorPieces(input.sensor_id, input.kind, input.unit, partitions);
    groups.addDerived(pieces, input.sensor_id, input.kind, input.ts, input.value, input.unit);
    return true;
  },
  key: (r) => r.sensor_id,
  keyOf: (input) => stringField(input, 'sensor_id'),
};

/*
 * Ticks travel one to a message: a few a second, read by the forecaster one by one, keyed by
 * indicator as outside producers do.
 */
const tickSpec: RecordSpec<MarketTickRecord, TickGroups> = {
  topic: TOPICS.marketTicks,
  contract: tickValidator.name,
  groups: (partitions) => new TickGroups(partitions),
  check: (v): v is MarketTickRecord => tickValidator.check(v),
  errors: (v) => firstPerPath(tickValidator.errors(v)),
  fill(input) {
    const r = input as Record<string, unknown>;
    const needsId = r.id === undefined;
    const needsVersion = r.schema_version === undefined;
    if (!needsId && !needsVersion) return input;
    const id = needsId && typeof r.indicator_id === 'string' && typeof r.ts === 'number' ? entityTimeId(r.indicator_id, r.ts) : r.id;
    if (hasOnlyKnownKeys(r, TICK_KEYS)) {
      return { id, schema_version: needsVersion ? 1 : r.schema_version, indicator_id: r.indicator_id, ts: r.ts, value: r.value };
    }
    return { ...r, id, schema_version: needsVersion ? 1 : r.schema_version };
  },
  underivable(input) {
    const r = input as Record<string, unknown>;
    return r.id === undefined && !(typeof r.indicator_id === 'string' && typeof r.ts === 'number') ? ['/id'] : [];
  },
  // Indicators have no physical range; their risk lines are what forecasts are about.
  domainErrors: () => NO_ERRORS,
  key: (r) => r.indicator_id,
  keyOf: (input) => stringField(input, 'indicator_id'),
};

/** Writes a checked tick as JSON, byte for byte JSON.stringify of it in field order. */
function writeTick(r: MarketTickRecord, out: JsonBytes): void {
  out.raw(TICK_ID);
  out.ascii(r.id);
  out.raw(TICK_INDICATOR_ID);
  out.ascii(r.indicator_id);
  out.raw(TICK_TS);
  out.number(r.ts);
  out.raw(TICK_VALUE);
  out.number(r.value);
  out.byte(CLOSE_BRACE);
}

/**
 * Validates sensor readings and produces the valid ones to `sensor.readings` (keyed by
 * sensor_id) in one send; each invalid one goes to the dead-letter topic with its reason and
 * field errors. Valid records of a mixed batch are kept. Resolves after the bus accepted both
 * sends; throws a retriable IngestError('bus-unavailable') if it did not — the whole batch may
 * then be sent again, ids are stable.
 *
 * Producers may omit `id` (derived from sensor_id and ts), `schema_version` (1) and `unit` (the
 * kind's unit). The input objects are not modified.
 */
export function ingestReadings(records: readonly unknown[], ctx: IngestContext, extras?: BatchExtras): Promise<IngestResult> {
  return ingestBatch(readingSpec, records, ctx, extras);
}

/** Like ingestReadings, for market ticks to `market.ticks` keyed by indicator_id. */
export function ingestTicks(records: readonly unknown[], ctx: IngestContext, extras?: BatchExtras): Promise<IngestResult> {
  return ingestBatch(tickSpec, records, ctx, extras);
}

/*
 * The hot path: the platform target is ≥ 250k readings/s end to end on 2 cores. One pass, no
 * closure per record; per valid record: a copy only when the producer left out fields we fill
 * in, its JSON text, and a slot in its partition's group. Records then leave as a few messages
 * per partition, each holding up to `maxRecordsPerMessage` of them as NDJSON (see
 * @cityops/schemas record-batch.ts): a message per record cost the bus and its consumers more
 * than everything else on the path.
 */
async function ingestBatch<T, G extends RecordGroups<T>>(
  spec: RecordSpec<T, G>,
  records: readonly unknown[],
  ctx: IngestContext,
  extras?: BatchExtras,
): Promise<IngestResult> {
  const source = ctx.source ?? 'in-process';
  const rejectedAt = ctx.clock();
  const partitions = ctx.partitions ?? DEFAULT_PARTITIONS[spec.topic];
  const groups = spec.groups(partitions, ctx.maxRecordsPerMessage ?? DEFAULT_MAX_RECORDS_PER_MESSAGE, records.length);
  const rejected: DeadLetterInput[] = [];
  const errors: RecordError[] = [];
  const indexOf = extras?.indexOf;
  const pre = extras?.preRejected ?? [];
  let p = 0; // next pre-rejected entry, merged in index order
  let accepted = 0;

  for (let i = 0; i < records.length; i++) {
    const index = indexOf === undefined ? i : indexOf(i);
    while (p < pre.length && pre[p]!.index < index) addPre(pre[p++]!, source, rejectedAt, rejected, errors);
    const input = records[i];
    if (spec.derive !== undefined && spec.derive(input, groups, partitions)) {
      accepted++;
      continue;
    }
    const record = typeof input === 'object' && input !== null && !Array.isArray(input) ? spec.fill(input) : input;
    let fieldErrors: FieldError[];
    if (spec.check(record)) {
      fieldErrors = spec.domainErrors(record);
      if (fieldErrors.length === 0) {
        groups.add(partitionForKey(spec.key(record), partitions), record);
        accepted++;
        continue;
      }
    } else {
      fieldErrors = spec.errors(record);
      if (record !== input && typeof input === 'object' && input !== null) {
        const skip = spec.underivable(input);
        if (skip.length > 0) fieldErrors = fieldErrors.filter((e) => !skip.includes(e.path));
      }
    }
    errors.push({ index, errors: fieldErrors });
    rejected.push({
      source,
      reason: `expected a valid ${spec.contract}; ${fieldErrors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
      errors: fieldErrors,
      payload: payloadText(input),
      key: spec.keyOf(input),
      ts: rejectedAt,
    });
  }
  while (p < pre.length) addPre(pre[p++]!, source, rejectedAt, rejected, errors);
  const messages = groups.toMessages();

  const sends: Promise<void>[] = [];
  if (messages.length > 0) sends.push(ctx.producer.send(spec.topic, messages));
  // Every rejection of the batch in one more send (the bus's DeadLetter builder, one format).
  if (rejected.length > 0) sends.push(deadLetters(ctx.producer, rejected));
  try {
    await Promise.all(sends);
  } catch (e) {
    throw toIngestError(
      e,
      'bus-unavailable',
      `expected the bus to accept ${accepted} ${spec.contract} and ${rejected.length} dead letters; it failed`,
      true,
    );
  }
  return { accepted, rejected: rejected.length, errors };
}

/**
 * Ticks bound for each partition, in arrival order: per-key order holds because all ticks of an
 * indicator share a partition and keep their order within it. One message per tick, keyed by its
 * indicator.
 */
class TickGroups {
  private readonly ticks: MarketTickRecord[][] = [];
  private count = 0;

  constructor(partitions: number) {
    for (let i = 0; i < partitions; i++) this.ticks.push([]);
  }

  add(partition: number, tick: MarketTickRecord): void {
    this.ticks[partition]!.push(tick);
    this.count++;
  }

  toMessages(): OutgoingMessage[] {
    const out = new JsonBytes(this.count * BYTES_PER_TICK_GUESS);
    const ends: number[] = [];
    for (const ticks of this.ticks) {
      for (const tick of ticks) {
        writeTick(tick, out);
        ends.push(out.at);
      }
    }
    // Views are taken once the buffer no longer grows.
    const messages: OutgoingMessage[] = [];
    let start = 0;
    let i = 0;
    for (const ticks of this.ticks) {
      for (const tick of ticks) {
        const value = out.view(start, ends[i]!);
        start = ends[i++]!;
        // Checked here; consumers in this process need not parse it again.
        rememberDecoded(value, MarketTick, tick);
        messages.push({ key: tick.indicator_id, value, headers: TICK_HEADERS, timestampMs: tick.ts });
      }
    }
    return messages;
  }
}

const TICK_HEADERS: Readonly<Record<string, string>> = Object.freeze({ [SCHEMA_HEADER]: 'MarketTick@1' });
/** A tick is ~100 bytes as JSON; a short guess only costs a copy each time the buffer doubles. */
const BYTES_PER_TICK_GUESS = 110;

/** Records per bus message at most: ~150 bytes a reading keeps a message near 100 KB, far below Kafka's 1 MB default. */
export const DEFAULT_MAX_RECORDS_PER_MESSAGE = 600;

function addPre(entry: PreRejected, source: string, ts: number, rejected: DeadLetterInput[], errors: RecordError[]): void {
  errors.push({ index: entry.index, errors: entry.errors });
  rejected.push({ source, reason: entry.reason, errors: entry.errors, payload: entry.payload, key: '', ts });
}

/** Input as text for a dead letter; never throws (in-process callers may pass cycles or BigInts). */
export function payloadText(input: unknown): string {
  if (typeof input === 'string') return input;
  try {
    return JSON.stringify(input) ?? String(input);
  } catch {
    return String(input);
  }
}
