import type { Bus, IncomingMessage, MessageBatch, OutgoingMessage } from '@cityops/bus';
import {
  Anomaly,
  DeadLetter,
  decodeDimension,
  decodeSnapshot,
  decodeRecords,
  DEFAULT_PARTITIONS,
  DispatchOrder,
  EarlyWarning,
  encodeRecord,
  Forecast,
  GroundTruthEvent,
  Incident,
  IncidentEvent,
  MarketTick,
  SCHEMA_HEADER,
  SensorReading,
  readingColumnsOf,
  stableId,
  TOPICS,
  truncate,
  VisionDetection,
  WarningCleared,
  type DecodedRecords,
  type DimensionName,
  type LineFailure,
  type TSchema,
  type FieldError,
  type RunningWorker,
  type TopicName,
  type WorkerHealth,
} from '@cityops/schemas';
import { createBatchWriter, createJsonBatchWriter, type BatchWriter, type BatchWriterOptions, type JsonRows } from './batch-writer.js';
import { isDataError } from './errors.js';
import type { Store, TableName } from './store.js';
import { isJsonTable, type JsonTable, type StoredSnapshot, type TableRow } from './tables.js';

/*
 * The sink: every topic except camera.frames (raw frames are not stored — privacy) into its
 * table, through one batched writer per table.
 *
 * At-least-once into idempotent tables: a bus batch is committed only when its handler
 * resolves, and the handler resolves only when every row of the batch is inserted (it awaits the
 * writers' add()) and every rejected message is accepted by the dead-letter topic. A crash in
 * between redelivers the batch; stable ids and ReplacingMergeTree make the second copy collapse.
 * Handlers of different partitions run concurrently and feed the same writers, so their rows
 * share inserts: throughput comes from many handlers waiting on one insert, not from small
 * inserts.
 *
 * A message that does not decode goes to the dead-letter topic with its reason and is not
 * written; the sink keeps going. Dead letters read from that topic go to `dead_letters`; one
 * that itself does not decode is written there directly (re-publishing it would loop).
 *
 * Every message is decoded and checked against its contract, but for JSON_TABLES (readings,
 * ticks and the other facts whose contract is exactly their columns) what is written is the
 * message's own bytes, as JSONEachRow: re-encoding each decoded reading as TSV cost the event
 * loop, the pipeline's bottleneck, ~0.7 µs per reading with its garbage; copying the bytes into
 * the batch's buffer costs a fraction of that. ClickHouse reads JSON more strictly than the
 * contracts do (it refuses `1.0` or `1e3` where an integer is due, and a lone surrogate
 * escape); a batch it refuses goes through the isolation below, which writes decoded records
 * as TSV, so such a message is stored exactly as before rather than dead-lettered.
 */

export interface SinkOptions {
  bus: Bus;
  store: Store;
  /** Consumer group; sink replicas share it and split the partitions. Default 'cityops-sink'. */
  groupId?: string;
  /** Worker name in health reports. Default 'sink'. */
  name?: string;
  /** Largest bus batch per handler call, in messages. Default SINK_MAX_BATCH_MESSAGES. */
  maxBatchSize?: number;
  /** Bus batches of one partition in flight at once. Default SINK_MAX_BATCHES_IN_FLIGHT. */
  maxBatchesInFlight?: number;
  /** Settings of every table's writer. Default SINK_WRITER_DEFAULTS. */
  writer?: BatchWriterOptions;
}

/**
 * How the sink takes the bus and feeds ClickHouse (measured with bench:pipeline, docs/decisions/0004):
 * - Batches of at most 24 messages (≈ 14k readings, a third of a partition's in-process backlog
 *   bound), up to 4 of them in flight per partition: a batch waits on its insert without holding
 *   the whole backlog, so ingest keeps appending while ClickHouse inserts instead of taking
 *   turns with it (one whole-backlog batch per partition: 200k readings/s; this: 230–250k).
 * - Inserts of up to 100k rows, whatever batches they come from (group commit): half as many
 *   parts to merge as at 50k, which is CPU the inserts get back.
 */
export const SINK_MAX_BATCH_MESSAGES = 24;
export const SINK_MAX_BATCHES_IN_FLIGHT = 4;
/** The sink's writer settings; flushIntervalMs 100: a bus batch waits for its insert before it commits, so the linger adds straight to latency. */
export const SINK_WRITER_DEFAULTS: Readonly<BatchWriterOptions> = { maxRows: 100_000, flushIntervalMs: 100 };

/** Topics the sink reads: all of them but raw camera frames. */
export const SINK_TOPICS: readonly TopicName[] = Object.values(TOPICS).filter((t) => t !== TOPICS.cameraFrames);

/**
 * What one message brought to one table: how many records, the records themselves (built on
 * demand: a JSON table needs them only to isolate a record ClickHouse refused) and, for a JSON
 * table, their bytes as NDJSON (the message's own bytes when every line passed). `lines` gives
 * each record's line in the message when some lines failed; undefined when the records are its
 * lines 0, 1, 2…
 */
interface Part {
  m: IncomingMessage;
  count: number;
  rows: () => readonly object[];
  lines: readonly number[] | undefined;
  bytes: Uint8Array;
}

/** A part of records already at hand. */
function partOf(m: IncomingMessage, rows: readonly object[], lines: readonly number[] | undefined, bytes: Uint8Array): Part {
  return { m, count: rows.length, rows: () => rows, lines, bytes };
}

/** One bus batch's parts for one table. */
interface Pending {
  parts: Part[];
}

/** A record topic's table and contract. */
interface RecordRoute {
  table: TableName;
  schema: TSchema;
}

const RECORD_ROUTES: ReadonlyMap<string, RecordRoute> = new Map<string, RecordRoute>([
  [TOPICS.sensorReadings, { table: 'readings', schema: SensorReading }],
  [TOPICS.marketTicks, { table: 'market_ticks', schema: MarketTick }],
  [TOPICS.visionDetections, { table: 'detections', schema: VisionDetection }],
  [TOPICS.anomalies, { table: 'anomalies', schema: Anomaly }],
  [TOPICS.forecasts, { table: 'forecasts', schema: Forecast }],
  [TOPICS.warnings, { table: 'warnings', schema: EarlyWarning }],
  [TOPICS.warningsCleared, { table: 'warnings_cleared', schema: WarningCleared }],
  [TOPICS.incidents, { table: 'incidents', schema: Incident }],
  [TOPICS.incidentEvents, { table: 'incident_events', schema: IncidentEvent }],
  [TOPICS.dispatches, { table: 'dispatches', schema: DispatchOrder }],
  [TOPICS.deadLetters, { table: 'dead_letters', schema: DeadLetter }],
  [TOPICS.groundTruth, { table: 'ground_truth', schema: GroundTruthEvent }],
]);

const DIMENSION_TABLES: Readonly<Record<DimensionName, TableName>> = {
  Area: 'areas',
  Sensor: 'sensors',
  Camera: 'cameras',
  Indicator: 'indicators',
  Department: 'departments',
  Retirement: 'retirements',
};

/** The records of a part as NDJSON, re-encoded (some lines of its message failed). */
function ndjson(rows: readonly object[]): Uint8Array {
  return new TextEncoder().encode(rows.map((r) => JSON.stringify(r)).join('\n'));
}

/**
 * A dead letter for a message that failed to decode. Its id is derived from where the message
 * was and what it held, so a redelivered bad message yields the same dead letter (collapsed in
 * dead_letters) while two different ones never share an id, even where offsets restart (the
 * in-process bus after a restart).
 */
function deadLetterFor(
  m: IncomingMessage,
  line: number,
  source: string,
  failure: { reason: string; errors: FieldError[]; payload: string },
): DeadLetter {
  // Some decoders reject before reading the value (a missing schema header): keep the bytes anyway.
  const payload = failure.payload !== '' ? failure.payload : payloadText(m.value);
  return {
    id: stableId('dead-letter', m.topic, m.partition, m.offset, line, m.timestampMs, m.key, payload),
    schema_version: 1,
    ts: m.timestampMs,
    source,
    reason: truncate(failure.reason, 1_900),
    errors: failure.errors.slice(0, 50),
    payload,
    key: m.key.slice(0, 200),
  };
}

/** The line of each decoded record of a message of `lines` lines, some of which failed. */
function linesOf(lines: number, failures: readonly LineFailure[]): number[] {
  const out: number[] = [];
  let f = 0;
  for (let line = 0; line < lines; line++) {
    if (f < failures.length && failures[f]!.line === line) f++;
    else out.push(line);
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function payloadText(value: Uint8Array): string {
  try {
    return truncate(utf8.decode(value));
  } catch {
    return `<${value.byteLength} binary bytes>`;
  }
}

function toDeadLetterMessage(dl: DeadLetter): OutgoingMessage {
  return { key: dl.key, value: encodeRecord(dl), headers: { [SCHEMA_HEADER]: 'DeadLetter@1' }, timestampMs: dl.ts };
}

export async function startSink(options: SinkOptions): Promise<RunningWorker> {
  const { bus, store } = options;
  const name = options.name ?? 'sink';
  const writerOptions: BatchWriterOptions = { ...SINK_WRITER_DEFAULTS, ...options.writer };
  const writers = new Map<TableName, BatchWriter<TableName>>();
  const jsonWriters = new Map<JsonTable, BatchWriter<JsonTable, JsonRows>>();
  const lagByPartition = new Map<string, number>();
  let state: WorkerHealth['state'] = 'starting';
  let processed = 0;
  let deadLettered = 0;
  let lastError = '';
  let unstorableDeadLetters = 0;

  const writerFor = (table: TableName): BatchWriter<TableName> => {
    let w = writers.get(table);
    if (w === undefined) {
      w = createBatchWriter(store, table, writerOptions);
      writers.set(table, w);
    }
    return w;
  };
  const jsonWriterFor = (table: JsonTable): BatchWriter<JsonTable, JsonRows> => {
    let w = jsonWriters.get(table);
    if (w === undefined) {
      w = createJsonBatchWriter(store, table, writerOptions);
      jsonWriters.set(table, w);
    }
    return w;
  };
  const allWriters = (): Pick<BatchWriter<TableName>, 'table' | 'stats' | 'close'>[] => [...writers.values(), ...jsonWriters.values()];

  await bus.ensureTopics(SINK_TOPICS.map((t) => ({ name: t, partitions: DEFAULT_PARTITIONS[t] })));
  const producer = bus.producer();
  const consumer = bus.consumer({
    groupId: options.groupId ?? 'cityops-sink',
    topics: SINK_TOPICS,
    maxBatchSize: options.maxBatchSize ?? SINK_MAX_BATCH_MESSAGES,
    maxBatchesInFlight: options.maxBatchesInFlight ?? SINK_MAX_BATCHES_IN_FLIGHT,
  });

  /**
   * Inserts one bus batch's rows of one table through the shared writer. If ClickHouse refuses
   * the data itself (a parse or range error — not an outage), the rows are bisected with direct
   * inserts until the offending ones are found; those come back as dead letters and the rest are
   * stored, so one poison record cannot block its partition forever. The bisection writes the
   * decoded records as TSV whichever form the batch went in, so a JSON batch refused only for
   * how a message spelled a value still stores that message.
   */
  async function writeRows(table: TableName, pending: Pending): Promise<DeadLetter[]> {
    try {
      if (isJsonTable(table)) {
        await jsonWriterFor(table).add(pending.parts.map((p) => ({ bytes: p.bytes, rows: p.count })));
      } else {
        // The route tagged each row with the table whose contract decoded it.
        await writerFor(table).add(pending.parts.flatMap((p) => p.rows()) as TableRow<TableName>[]);
      }
      return [];
    } catch (e) {
      if (!isDataError(e)) throw e;
      const rows: object[] = [];
      const origins: { m: IncomingMessage; line: number }[] = [];
      for (const part of pending.parts) {
        part.rows().forEach((row, i) => {
          rows.push(row);
          origins.push({ m: part.m, line: part.lines?.[i] ?? i });
        });
      }
      return isolate(table, rows, origins, 0, rows.length);
    }
  }

  async function isolate(
    table: TableName,
    rows: readonly object[],
    origins: readonly { m: IncomingMessage; line: number }[],
    from: number,
    to: number,
  ): Promise<DeadLetter[]> {
    try {
      await store.insert(table, rows.slice(from, to));
      return [];
    } catch (e) {
      if (!isDataError(e)) throw e;
      if (to - from === 1) {
        const { m, line } = origins[from]!;
        const reason = `rejected by ClickHouse for table ${table}: ${e instanceof Error ? e.message : String(e)}`;
        return [deadLetterFor(m, line, m.topic, { reason, errors: [], payload: truncate(JSON.stringify(rows[from])) })];
      }
      const mid = (from + to) >>> 1;
      return [...(await isolate(table, rows, origins, from, mid)), ...(await isolate(table, rows, origins, mid, to))];
    }
  }

  async function handle(batch: MessageBatch): Promise<void> {
    const byTable = new Map<TableName, Pending>();
    const add = (table: TableName, part: Part): void => {
      let pending = byTable.get(table);
      if (pending === undefined) byTable.set(table, (pending = { parts: [] }));
      pending.parts.push(part);
    };
    // Dimensions are re-published whole; within one batch the last version of an id wins.
    const dimensions = new Map<TableName, Map<string, Part>>();
    const rejected: DeadLetter[] = [];
    let malformedDeadLetters = 0;
    const route = RECORD_ROUTES.get(batch.topic);

    for (const m of batch.messages) {
      // Readings that ingest in this process checked: their bytes are exactly their rows, and
      // records are built only if ClickHouse refuses one (see @cityops/schemas reading-columns.ts).
      const columns = route?.schema === SensorReading ? readingColumnsOf(m.value) : undefined;
      if (route !== undefined && columns !== undefined) {
        if (columns.count > 0) {
          const rows = (): readonly object[] => decodeRecords(SensorReading, m.headers, m.value).values;
          add(route.table, { m, count: columns.count, rows, lines: undefined, bytes: m.value });
        }
      } else if (route !== undefined) {
        const decoded = decodeRecords(route.schema, m.headers, m.value);
        const { values, failures } = decoded as DecodedRecords<object>;
        if (values.length > 0) {
          const whole = failures.length === 0;
          add(
            route.table,
            partOf(m, values, whole ? undefined : linesOf(values.length + failures.length, failures), whole ? m.value : ndjson(values)),
          );
        }
        for (const failure of failures) {
          if (m.topic === TOPICS.deadLetters) {
            // Re-publishing a bad dead letter would loop; it is stored directly instead.
            const letter = deadLetterFor(m, failure.line, TOPICS.deadLetters, {
              ...failure,
              reason: `malformed dead letter: ${failure.reason}`,
            });
            add('dead_letters', partOf(m, [letter], [failure.line], encodeRecord(letter)));
            malformedDeadLetters += 1;
          } else {
            rejected.push(deadLetterFor(m, failure.line, m.topic, failure));
          }
        }
      } else if (batch.topic === TOPICS.visionSnapshots) {
        const r = decodeSnapshot(m.headers, m.value);
        if (r.ok) {
          const row: StoredSnapshot = { ...r.value.header, png_base64: Buffer.from(r.value.image).toString('base64') };
          add('snapshots', partOf(m, [row], undefined, m.value));
        } else {
          rejected.push(deadLetterFor(m, 0, m.topic, r));
        }
      } else if (batch.topic === TOPICS.dimensions) {
        const r = decodeDimension(m.headers, m.value);
        if (r.ok) {
          const table = DIMENSION_TABLES[r.value.name];
          let byId = dimensions.get(table);
          if (byId === undefined) dimensions.set(table, (byId = new Map<string, Part>()));
          byId.set(r.value.record.id, partOf(m, [r.value.record], undefined, m.value));
        } else {
          rejected.push(deadLetterFor(m, 0, m.topic, r));
        }
      } else {
        rejected.push(
          deadLetterFor(m, 0, m.topic, {
            reason: `expected one of the topics ${SINK_TOPICS.join(', ')}; got '${m.topic}'`,
            errors: [],
            payload: '',
          }),
        );
      }
    }
    for (const [table, byId] of dimensions) for (const part of byId.values()) add(table, part);

    try {
      const refused = (await Promise.all([...byTable].map(([table, pending]) => writeRows(table, pending)))).flat();
      // Rows ClickHouse refused go to the dead-letter topic like any rejected input — except
      // refused dead letters themselves, which have nowhere left to go: counted and reported.
      const unstorable = refused.filter((dl) => dl.source === TOPICS.deadLetters);
      if (unstorable.length > 0) {
        unstorableDeadLetters += unstorable.length;
        lastError = unstorable[0]!.reason;
      }
      const toDlq = [...rejected, ...refused.filter((dl) => dl.source !== TOPICS.deadLetters)];
      if (toDlq.length > 0) await producer.send(TOPICS.deadLetters, toDlq.map(toDeadLetterMessage));
      deadLettered += toDlq.length + malformedDeadLetters;
    } catch (e) {
      lastError = e instanceof Error ? e.message : String(e);
      throw e;
    }
    processed += batch.messages.length;
    lagByPartition.set(`${batch.topic}\u0000${batch.partition}`, batch.lag);
  }

  try {
    await consumer.run(handle);
  } catch (e) {
    state = 'failed';
    lastError = e instanceof Error ? e.message : String(e);
    throw e;
  }
  state = 'running';

  return {
    name,
    health(): WorkerHealth {
      const counters: Record<string, number> = {};
      let retries = 0;
      let failed = 0;
      for (const w of allWriters()) {
        const s = w.stats();
        counters[`rows_written_${w.table}`] = s.rows_written;
        counters[`inserts_${w.table}`] = s.batches;
        counters[`insert_busy_ms_${w.table}`] = Math.round(s.insert_busy_ms);
        counters[`insert_overlap_ms_${w.table}`] = Math.round(s.insert_overlap_ms);
        retries += s.retries;
        failed += s.failed_batches;
      }
      counters['insert_retries'] = retries;
      counters['insert_failed_batches'] = failed;
      counters['unstorable_dead_letters'] = unstorableDeadLetters;
      let lag = 0;
      for (const l of lagByPartition.values()) lag += l;
      return { name, state, lag, processed, dead_lettered: deadLettered, last_error: lastError, counters };
    },
    async stop(): Promise<void> {
      if (state === 'stopped') return;
      // The consumer finishes (and commits) the batches in flight, whose rows the writers
      // insert; then whatever is left is flushed.
      await consumer.stop();
      await Promise.all(allWriters().map((w) => w.close()));
      await producer.flush();
      state = 'stopped';
    },
  };
}
