import { describe, expect, it } from 'vitest';
import { createBatchWriter, createJsonBatchWriter, type JsonRows } from './batch-writer.js';
import { StoreError } from './errors.js';
import type { InsertOptions, Store, TableName } from './store.js';
import type { JsonTable } from './tables.js';
import { encodeRecord, type SensorReading } from '@cityops/schemas';

/*
 * Batching, flushing and retry logic against a recording Store. What ClickHouse does with the
 * tokens (dropping a retried block) is tested on the real engine in test/integration/.
 */

interface Call {
  table: TableName;
  format: 'rows' | 'json';
  ids: string[];
  token: string | undefined;
}

const utf8 = new TextDecoder();

function recordingStore(failures: (call: Call, attempt: number) => Error | undefined = () => undefined): Store & { calls: Call[] } {
  const calls: Call[] = [];
  const attempts = new Map<string, number>();
  const store = {
    kind: 'chdb' as const,
    calls,
    migrate: () => Promise.resolve({ applied: [], alreadyApplied: [] }),
    query: () => Promise.resolve([]),
    queries: {} as Store['queries'],
    close: () => Promise.resolve(),
    insert(table: TableName, rows: readonly object[], options?: InsertOptions): Promise<void> {
      return record({ table, format: 'rows', ids: rows.map((r) => (r as { id: string }).id), token: options?.dedupToken });
    },
    insertJson(table: JsonTable, records: readonly Uint8Array[], options?: InsertOptions): Promise<void> {
      const ids = records.flatMap((r) =>
        utf8
          .decode(r)
          .split('\n')
          .map((line) => (JSON.parse(line) as { id: string }).id),
      );
      return record({ table, format: 'json', ids, token: options?.dedupToken });
    },
  };
  function record(call: Call): Promise<void> {
    calls.push(call);
    const key = call.token ?? '';
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    const failure = failures(call, attempt);
    return failure === undefined ? Promise.resolve() : Promise.reject(failure);
  }
  return store;
}

const reading = (i: number): SensorReading => ({
  id: `r${i}`,
  schema_version: 1,
  sensor_id: 's',
  kind: 'traffic_speed',
  ts: 1_767_225_600_000 + i,
  value: i,
  unit: 'km/h',
});
const readings = (from: number, n: number): SensorReading[] => Array.from({ length: n }, (_, i) => reading(from + i));

describe('createBatchWriter', () => {
  it('cuts batches at maxRows and resolves add() once its rows are inserted', async () => {
    const store = recordingStore();
    const writer = createBatchWriter(store, 'readings', { maxRows: 3, flushIntervalMs: 60_000 });
    const added = writer.add(readings(0, 7));
    await new Promise((r) => setTimeout(r, 5));
    // 7 rows: two full batches go out at once; the 7th waits for the timer or a flush, and so
    // does the promise of the add() that brought it.
    expect(store.calls.map((c) => c.ids.length)).toEqual([3, 3]);
    let settled = false;
    void added.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(settled).toBe(false);
    await writer.flush();
    await added;
    expect(store.calls.map((c) => c.ids)).toEqual([['r0', 'r1', 'r2'], ['r3', 'r4', 'r5'], ['r6']]);
    expect(writer.stats()).toMatchObject({ rows_written: 7, batches: 3, retries: 0, pending_rows: 0 });
    await writer.close();
  });

  it('inserts a partial batch once flushIntervalMs has passed', async () => {
    const store = recordingStore();
    const writer = createBatchWriter(store, 'readings', { maxRows: 1_000, flushIntervalMs: 5 });
    await writer.add(readings(0, 2));
    expect(store.calls).toHaveLength(1);
    expect(store.calls[0]?.ids).toEqual(['r0', 'r1']);
    await writer.close();
  });

  it('groups rows added while an insert is in flight into the next insert', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const store = recordingStore();
    const slowStore: Store = {
      ...store,
      insert: async (t, rows, o) => {
        await store.insert(t, rows, o);
        await gate;
      },
    };
    const writer = createBatchWriter(slowStore, 'readings', { maxRows: 1_000, flushIntervalMs: 0 });
    const first = writer.add(readings(0, 1));
    await new Promise((r) => setTimeout(r, 5));
    const rest = [writer.add(readings(1, 1)), writer.add(readings(2, 1)), writer.add(readings(3, 1))];
    release();
    await Promise.all([first, ...rest]);
    expect(store.calls.map((c) => c.ids)).toEqual([['r0'], ['r1', 'r2', 'r3']]);
    await writer.close();
  });

  it('retries a retriable failure with the same rows and the same dedup token', async () => {
    const store = recordingStore((_, attempt) =>
      attempt <= 2 ? new StoreError('insert_failed', 'flaky', { retriable: true }) : undefined,
    );
    const writer = createBatchWriter(store, 'readings', { flushIntervalMs: 0, retryBackoffMs: 1 });
    await writer.add(readings(0, 3));
    expect(store.calls).toHaveLength(3);
    const tokens = new Set(store.calls.map((c) => c.token));
    expect(tokens.size).toBe(1);
    expect([...tokens][0]).toMatch(/^readings:[0-9a-f]{16}:1$/);
    expect(store.calls.every((c) => c.ids.join() === 'r0,r1,r2')).toBe(true);
    expect(writer.stats()).toMatchObject({ rows_written: 3, batches: 1, retries: 2, failed_batches: 0 });
    await writer.close();
  });

  it('gives every batch a new token, and two writers never share one', async () => {
    const store = recordingStore();
    const a = createBatchWriter(store, 'readings', { flushIntervalMs: 0 });
    const b = createBatchWriter(store, 'readings', { flushIntervalMs: 0 });
    await a.add(readings(0, 1));
    await a.add(readings(1, 1));
    await b.add(readings(0, 1));
    expect(new Set(store.calls.map((c) => c.token)).size).toBe(3);
    await Promise.all([a.close(), b.close()]);
  });

  it('does not retry an error that cannot succeed, and rejects add() with it', async () => {
    const bad = new StoreError('invalid_row', 'row 0 for readings.value: expected a finite number; got string "x"');
    const store = recordingStore(() => bad);
    const writer = createBatchWriter(store, 'readings', { flushIntervalMs: 0, retryBackoffMs: 1 });
    await expect(writer.add(readings(0, 1))).rejects.toBe(bad);
    expect(store.calls).toHaveLength(1);
    expect(writer.stats()).toMatchObject({ failed_batches: 1, rows_written: 0, pending_rows: 0 });
    // The writer keeps going with the next batch.
    const ok = recordingStore();
    const writer2 = createBatchWriter(ok, 'readings', { flushIntervalMs: 0 });
    await writer2.add(readings(1, 1));
    expect(ok.calls).toHaveLength(1);
    await writer.close();
    await writer2.close();
  });

  it('gives up after maxRetries and reports the last error', async () => {
    const store = recordingStore(() => new StoreError('connection_failed', 'down', { retriable: true }));
    const writer = createBatchWriter(store, 'readings', { flushIntervalMs: 0, maxRetries: 2, retryBackoffMs: 1 });
    await expect(writer.add(readings(0, 1))).rejects.toMatchObject({ code: 'connection_failed' });
    expect(store.calls).toHaveLength(3);
    expect(writer.stats()).toMatchObject({ retries: 2, failed_batches: 1 });
    await writer.close();
  });

  it('flush() with nothing queued resolves at once; close() refuses later rows', async () => {
    const store = recordingStore();
    const writer = createBatchWriter(store, 'readings');
    await writer.flush();
    await writer.close();
    await expect(writer.add(readings(0, 1))).rejects.toMatchObject({ code: 'closed' });
    expect(store.calls).toHaveLength(0);
  });

  it('validates its options', () => {
    expect(() => createBatchWriter(recordingStore(), 'readings', { maxRows: 0 })).toThrow(/maxRows: expected a whole number ≥ 1; got 0/);
    expect(() => createBatchWriter(recordingStore(), 'readings', { flushIntervalMs: -1 })).toThrow(StoreError);
  });
});

describe('createJsonBatchWriter', () => {
  const bytes = (from: number, n: number): JsonRows[] => readings(from, n).map((r) => ({ bytes: encodeRecord(r), rows: 1 }));

  it('batches JSON records like rows and inserts them as JSON, never as row objects', async () => {
    const store = recordingStore();
    const writer = createJsonBatchWriter(store, 'readings', { maxRows: 3, flushIntervalMs: 60_000 });
    const added = writer.add(bytes(0, 7));
    await writer.flush();
    await added;
    expect(store.calls.map((c) => [c.format, c.ids])).toEqual([
      ['json', ['r0', 'r1', 'r2']],
      ['json', ['r3', 'r4', 'r5']],
      ['json', ['r6']],
    ]);
    expect(writer.stats()).toMatchObject({ rows_written: 7, batches: 3, pending_rows: 0 });
    await writer.close();
  });

  it('counts an element of several NDJSON records as that many rows toward maxRows and the counters', async () => {
    const store = recordingStore();
    const writer = createJsonBatchWriter(store, 'readings', { maxRows: 4, flushIntervalMs: 60_000 });
    const ndjson = (from: number, n: number): JsonRows => ({
      bytes: new TextEncoder().encode(
        readings(from, n)
          .map((r) => JSON.stringify(r))
          .join('\n'),
      ),
      rows: n,
    });
    const added = writer.add([ndjson(0, 3), ndjson(3, 2), ndjson(5, 1)]);
    await writer.flush();
    await added;
    // The first two elements reach 5 ≥ 4 rows and seal the batch; the third waits for flush.
    expect(store.calls.map((c) => c.ids)).toEqual([['r0', 'r1', 'r2', 'r3', 'r4'], ['r5']]);
    expect(writer.stats()).toMatchObject({ rows_written: 6, batches: 2, pending_rows: 0 });
    await writer.close();
  });

  it('retries a retriable failure with the same records and the same dedup token', async () => {
    const store = recordingStore((_, attempt) =>
      attempt === 1 ? new StoreError('connection_failed', 'answer lost', { retriable: true }) : undefined,
    );
    const writer = createJsonBatchWriter(store, 'market_ticks', { flushIntervalMs: 0, retryBackoffMs: 1 });
    const tick = { id: 't0', schema_version: 1, indicator_id: 'cpi', ts: 1_767_225_600_000, value: 1 };
    await writer.add([
      { bytes: encodeRecord(tick), rows: 1 },
      { bytes: encodeRecord({ ...tick, id: 't1' }), rows: 1 },
    ]);
    expect(store.calls).toHaveLength(2);
    expect(store.calls[0]).toEqual(store.calls[1]);
    expect(store.calls[0]).toMatchObject({ table: 'market_ticks', format: 'json', ids: ['t0', 't1'] });
    expect(store.calls[0]?.token).toMatch(/^market_ticks:[0-9a-f]{16}:1$/);
    expect(writer.stats()).toMatchObject({ rows_written: 2, retries: 1 });
    await writer.close();
  });

  it('is refused for a table whose rows are not their contract JSON', () => {
    expect(() => createJsonBatchWriter(recordingStore(), 'dead_letters' as JsonTable)).toThrow(
      /createJsonBatchWriter: expected a table among readings, .*; got 'dead_letters'/,
    );
  });
});
