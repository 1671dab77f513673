import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchWriter } from '../../src/batch-writer.js';
import { openEmbeddedStore } from '../../src/chdb-store.js';
import { StoreError } from '../../src/errors.js';
import type { InsertOptions, Store, TableName } from '../../src/store.js';
import { readingsSeries, SAMPLES, T0, tempDataDir } from '../fixtures.js';

const data = tempDataDir('idempotency');
let store: Store;

beforeAll(async () => {
  store = await openEmbeddedStore({ dataDir: data.dir });
  await store.migrate();
});
afterAll(async () => {
  await store.close();
  data.remove();
});

/**
 * The failure the dedup token exists for: the insert reaches ClickHouse, but its answer is lost
 * (connection reset after the write). The writer cannot tell and retries.
 */
function lostAckStore(inner: Store, lostAcks: number): Store & { attempts: string[] } {
  const attempts: string[] = [];
  let remaining = lostAcks;
  return {
    ...inner,
    attempts,
    async insert(table: TableName, rows: readonly object[], options?: InsertOptions) {
      attempts.push(options?.dedupToken ?? '');
      await inner.insert(table, rows, options);
      if (remaining > 0) {
        remaining -= 1;
        throw new StoreError('connection_failed', 'socket hang up after the insert was sent', { retriable: true });
      }
    },
  };
}

const rawCount = async (table: string, where: string): Promise<number> => {
  const [row] = await store.query<{ n: number }>(`SELECT count() AS n FROM ${table} WHERE ${where}`);
  return Number(row?.n);
};
const rollupCount = async (sensorId: string): Promise<number> => {
  const [row] = await store.query<{ n: number }>('SELECT sum(value_count) AS n FROM readings_1m WHERE sensor_id = {s:String}', {
    s: sensorId,
  });
  return Number(row?.n);
};

describe('idempotent writes on the real engine', () => {
  it('a writer retry after a lost acknowledgement leaves no duplicate — not even before merges, nor in the rollup', async () => {
    const flaky = lostAckStore(store, 2);
    const writer = createBatchWriter(flaky, 'readings', { flushIntervalMs: 0, retryBackoffMs: 1 });
    const rows = readingsSeries('s-retry', 50_000, T0, 10);
    await writer.add(rows);
    await writer.close();
    expect(flaky.attempts).toHaveLength(3);
    expect(new Set(flaky.attempts).size).toBe(1);
    expect(writer.stats()).toMatchObject({ rows_written: 50_000, retries: 2, batches: 1 });
    // Without FINAL: the retried blocks were dropped at insert, not collapsed later.
    expect(await rawCount('readings', "sensor_id = 's-retry'")).toBe(50_000);
    expect(await rollupCount('s-retry')).toBe(50_000);
  });

  it('the same token with the same rows is dropped; a new token with the same ids collapses under FINAL', async () => {
    const rows = readingsSeries('s-token', 10, T0);
    await store.insert('readings', rows, { dedupToken: 'test:a' });
    await store.insert('readings', rows, { dedupToken: 'test:a' });
    expect(await rawCount('readings', "sensor_id = 's-token'")).toBe(10);
    await store.insert('readings', rows, { dedupToken: 'test:b' });
    expect(await rawCount('readings', "sensor_id = 's-token'")).toBe(20);
    expect(await rawCount('readings FINAL', "sensor_id = 's-token'")).toBe(10);
  });

  it('a batch spanning two monthly partitions is deduplicated as a whole', async () => {
    const month = 31 * 86_400_000;
    const rows = [...readingsSeries('s-span', 3, T0), ...readingsSeries('s-span', 3, T0 - month)];
    await store.insert('readings', rows, { dedupToken: 'test:span' });
    await store.insert('readings', rows, { dedupToken: 'test:span' });
    expect(await rawCount('readings', "sensor_id = 's-span'")).toBe(6);
  });

  it('incidents keep their highest revision, whatever order revisions arrive in', async () => {
    const base = SAMPLES.incidents;
    const revs = [
      { ...base, id: 'inc-rev', revision: 2, status: 'dispatched' as const, updated_at: base.updated_at + 2 },
      { ...base, id: 'inc-rev', revision: 3, status: 'accepted' as const, updated_at: base.updated_at + 3 },
      { ...base, id: 'inc-rev', revision: 1 },
    ];
    for (const r of revs) await store.insert('incidents', [r]);
    const incidents = await store.queries.incidents({ limit: 10 });
    expect(incidents.filter((i) => i.id === 'inc-rev')).toEqual([revs[1]]);
    expect(await store.queries.incidents({ limit: 10, statuses: ['dispatched'] })).toEqual([]);
  });

  it('dimensions keep the latest write', async () => {
    await store.insert('areas', [SAMPLES.areas]);
    await store.insert('areas', [{ ...SAMPLES.areas, population: 700_000 }]);
    expect(await store.queries.areas()).toEqual([{ ...SAMPLES.areas, population: 700_000 }]);
  });
});
