import { randomId } from '@cityops/schemas';
import { StoreError } from './errors.js';
import type { Store, TableName } from './store.js';
import { isJsonTable, JSON_TABLES, type JsonTable, type TableRow } from './tables.js';

/*
 * The batched, idempotent writer: the one way rows reach a table on the hot path. Two forms
 * share everything below but the insert call: createBatchWriter takes row objects (one TSV
 * buffer per batch, see tsv-encoder.ts); createJsonBatchWriter takes records that are already
 * UTF-8 JSON — the bytes of bus messages that passed their contract — and inserts them as they
 * are (Store.insertJson), so nothing is encoded on the event loop.
 *
 * - Batching: rows accumulate until `maxRows` or until `flushIntervalMs` has passed since the
 *   first of them; then one insert carries them all. A partial batch goes out only when no
 *   insert is in flight; while one runs, the batch keeps filling, so under load batches grow
 *   toward maxRows by themselves (group commit). Full batches may overlap
 *   (maxConcurrentInserts), so serialising the next one overlaps inserting the last.
 * - Idempotency: each batch gets a dedup token `<table>:<writer id>:<seq>` and a failed insert is
 *   retried with the SAME rows and the SAME token, so an insert that reached ClickHouse but whose
 *   answer was lost is dropped on retry (insert_deduplication_token) instead of doubling. The
 *   writer id is random per writer: a token must never repeat for different rows, or
 *   ClickHouse would drop real data as a "duplicate" (a restarted process starts at seq 1 again).
 * - Durability signal: add() resolves once its rows are inserted, which is when a consumer may
 *   commit its bus offsets. Awaiting it is also the backpressure: a caller cannot run ahead of
 *   ClickHouse by more than one batch.
 * - Only retriable errors are retried (StoreError.retriable), with exponential backoff.
 */

export interface BatchWriterOptions {
  /** Rows per insert at most. Default 50_000. */
  maxRows?: number;
  /** Longest a row waits for its batch to fill before it is inserted anyway, in ms. Default 200. */
  flushIntervalMs?: number;
  /** Further attempts after a retriable failure. Default 5. */
  maxRetries?: number;
  /** Wait before the first retry, in ms; doubles each attempt, capped at 10 s. Default 100. */
  retryBackoffMs?: number;
  /**
   * Full batches inserted at once. Default 2: the next batch is serialised (on the event loop)
   * while the previous one is inserted (on chDB's thread pool or the server). Always 1 for
   * dimension tables, see LATEST_WRITE_WINS.
   */
  maxConcurrentInserts?: number;
}

/** Counters, named as /api/health reports them. */
export interface BatchWriterStats {
  rows_written: number;
  batches: number;
  retries: number;
  failed_batches: number;
  pending_rows: number;
  /** Duration of the last successful insert (all attempts), in ms. */
  last_flush_ms: number;
  /** Time with at least one insert in flight, in ms: how busy the writer keeps the store. */
  insert_busy_ms: number;
  /** Time with two or more inserts in flight, in ms: how much inserts overlap. */
  insert_overlap_ms: number;
}

/** A writer of `table`; `Row` is what add() takes: row objects, or one JSON record's bytes each. */
export interface BatchWriter<T extends TableName, Row = TableRow<T>> {
  readonly table: T;
  /** Queues rows; resolves once they are durably inserted, rejects if their batch finally failed. */
  add(rows: readonly Row[]): Promise<void>;
  /** Inserts everything queued so far; resolves when it is durable. */
  flush(): Promise<void>;
  /** Flushes, then refuses further rows. */
  close(): Promise<void>;
  stats(): BatchWriterStats;
}

const MAX_BACKOFF_MS = 10_000;

/**
 * Tables where the latest write wins (ReplacingMergeTree(ingested_at), stamped by the server at
 * insert): two inserts in flight at once could stamp the older version later, so these are
 * written strictly one insert at a time. Everywhere else a repeated id carries the same record
 * (or a revision decides), so insert order does not matter.
 */
const LATEST_WRITE_WINS: ReadonlySet<TableName> = new Set(['areas', 'sensors', 'cameras', 'indicators', 'departments', 'retirements']);

interface Batch<Row> {
  readonly rows: Row[];
  /** Table rows in `rows` (see createWriter's `weigh`). */
  weight: number;
  readonly done: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function newBatch<Row>(): Batch<Row> {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Callers observe failures through add()/flush(); this keeps an unobserved batch from
  // becoming an unhandled rejection that would take the process down.
  done.catch(() => undefined);
  return { rows: [], weight: 0, done, resolve, reject };
}

function positiveInt(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new StoreError('invalid_config', `${name}: expected a whole number ≥ ${min}; got ${value}`);
  }
  return value;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A writer of row objects, serialised as TSV per batch (Store.insert). */
export function createBatchWriter<T extends TableName>(store: Store, table: T, options: BatchWriterOptions = {}): BatchWriter<T> {
  return createWriter<T, TableRow<T>>(table, options, (rows, dedupToken) => store.insert(table, rows, { dedupToken }));
}

/** Records already serialised as UTF-8 NDJSON (one or more lines), and how many they are. */
export interface JsonRows {
  bytes: Uint8Array;
  rows: number;
}

/**
 * A writer of records already serialised as UTF-8 JSON, objects whose fields are exactly the
 * table's columns (Store.insertJson): the sink hands it the bytes of messages that passed their
 * contract, a message of many records as one element. `maxRows` and the counters count records.
 * Only for JSON_TABLES.
 */
export function createJsonBatchWriter<T extends JsonTable>(
  store: Store,
  table: T,
  options: BatchWriterOptions = {},
): BatchWriter<T, JsonRows> {
  if (!isJsonTable(table)) {
    throw new StoreError(
      'invalid_config',
      `createJsonBatchWriter: expected a table among ${JSON_TABLES.join(', ')}; got '${String(table)}'`,
    );
  }
  return createWriter<T, JsonRows>(
    table,
    options,
    (chunks, dedupToken) =>
      store.insertJson(
        table,
        chunks.map((c) => c.bytes),
        { dedupToken },
      ),
    (chunk) => chunk.rows,
  );
}

/**
 * Batching, dedup tokens, retries and counters; `insert` writes one batch with its token.
 * `weigh` says how many table rows one element stands for (1 unless it holds several).
 */
function createWriter<T extends TableName, Row>(
  table: T,
  options: BatchWriterOptions,
  insert: (rows: readonly Row[], dedupToken: string) => Promise<void>,
  weigh: (row: Row) => number = () => 1,
): BatchWriter<T, Row> {
  const maxRows = positiveInt('maxRows', options.maxRows, 50_000, 1);
  const flushIntervalMs = positiveInt('flushIntervalMs', options.flushIntervalMs, 200, 0);
  const maxRetries = positiveInt('maxRetries', options.maxRetries, 5, 0);
  const retryBackoffMs = positiveInt('retryBackoffMs', options.retryBackoffMs, 100, 0);
  const latestWins = LATEST_WRITE_WINS.has(table);
  const maxConcurrentInserts = positiveInt('maxConcurrentInserts', options.maxConcurrentInserts, latestWins ? 1 : 2, 1);
  if (latestWins && maxConcurrentInserts > 1) {
    throw new StoreError(
      'invalid_config',
      `maxConcurrentInserts for ${table}: expected 1 (its latest write wins, so inserts must stay in order); got ${maxConcurrentInserts}`,
    );
  }
  const writerId = randomId();

  const stats: BatchWriterStats = {
    rows_written: 0,
    batches: 0,
    retries: 0,
    failed_batches: 0,
    pending_rows: 0,
    last_flush_ms: 0,
    insert_busy_ms: 0,
    insert_overlap_ms: 0,
  };
  /** When the in-flight count last changed, for the busy and overlap clocks. */
  let inFlightSince = 0;
  const onInFlightChange = (): void => {
    const now = performance.now();
    if (inFlight.size >= 1) stats.insert_busy_ms += now - inFlightSince;
    if (inFlight.size >= 2) stats.insert_overlap_ms += now - inFlightSince;
    inFlightSince = now;
  };
  let seq = 0;
  let filling = newBatch<Row>();
  const sealed: Batch<Row>[] = [];
  const inFlight = new Set<Batch<Row>>();
  let timer: NodeJS.Timeout | undefined;
  /** The filling batch is due (timer fired or flush called); it goes out once nothing is in flight. */
  let due = false;
  /**
   * Rows arrived while an insert was in flight: their producers are already waiting on the
   * store, so when it goes idle the batch leaves at once (group commit) instead of waiting out
   * the timer — measured, the timer wait idled the pipeline's main thread a third of the time.
   * Under a light trickle inserts are short, rows rarely meet one in flight, and the timer
   * still gathers them into few parts.
   */
  let filledWhileBusy = false;
  let closed = false;

  function seal(): void {
    if (filling.rows.length === 0) return;
    sealed.push(filling);
    filling = newBatch<Row>();
    due = false;
    filledWhileBusy = false;
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
  }

  /**
   * Starts what may start: full batches while fewer than maxConcurrentInserts are in flight; a
   * partial (due) batch only when nothing is in flight, so under load it keeps filling instead
   * of going out as many small inserts (each insert is a part ClickHouse must merge).
   */
  function pump(): void {
    for (;;) {
      if (sealed.length === 0 && (due || filledWhileBusy) && inFlight.size === 0) seal();
      const next = sealed[0];
      if (next === undefined || inFlight.size >= maxConcurrentInserts) return;
      sealed.shift();
      onInFlightChange();
      inFlight.add(next);
      void write(next).finally(() => {
        onInFlightChange();
        inFlight.delete(next);
        pump();
      });
    }
  }

  async function write(batch: Batch<Row>): Promise<void> {
    seq += 1;
    const dedupToken = `${table}:${writerId}:${seq}`;
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await insert(batch.rows, dedupToken);
        break;
      } catch (e) {
        const retriable = e instanceof StoreError && e.retriable;
        if (!retriable || attempt >= maxRetries) {
          stats.failed_batches += 1;
          stats.pending_rows -= batch.weight;
          batch.reject(e);
          return;
        }
        stats.retries += 1;
        await sleep(Math.min(retryBackoffMs * 2 ** attempt, MAX_BACKOFF_MS));
      }
    }
    stats.last_flush_ms = performance.now() - started;
    stats.rows_written += batch.weight;
    stats.batches += 1;
    stats.pending_rows -= batch.weight;
    batch.resolve();
  }

  function flush(): Promise<void> {
    const waits = [...sealed, ...inFlight].map((b) => b.done);
    if (filling.rows.length > 0) {
      waits.push(filling.done);
      due = true;
    }
    pump();
    return Promise.all(waits).then(() => undefined);
  }

  function onTimer(): void {
    timer = undefined;
    due = true;
    pump();
  }

  return {
    table,

    add(rows: readonly Row[]): Promise<void> {
      if (closed) return Promise.reject(new StoreError('closed', `add to the ${table} writer: expected an open writer; it was closed`));
      if (rows.length === 0) return Promise.resolve();
      const waits: Promise<void>[] = [filling.done];
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        const weight = weigh(row);
        filling.rows.push(row);
        filling.weight += weight;
        stats.pending_rows += weight;
        if (filling.weight >= maxRows) {
          seal();
          if (i < rows.length - 1) waits.push(filling.done);
        }
      }
      if (inFlight.size > 0 && filling.rows.length > 0) filledWhileBusy = true;
      if (filling.rows.length > 0 && timer === undefined && !due) timer = setTimeout(onTimer, flushIntervalMs);
      pump();
      return waits.length === 1 ? waits[0]! : Promise.all(waits).then(() => undefined);
    },

    flush,

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await flush();
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },

    stats: () => ({ ...stats }),
  };
}
