import { afterAll, describe, expect, it } from 'vitest';
import { createBatchWriter } from '../../src/batch-writer.js';
import { openEmbeddedStore } from '../../src/chdb-store.js';
import { TABLES, type Store } from '../../src/store.js';
import { readingsSeries, SAMPLES, T0, tempDataDir } from '../fixtures.js';

/*
 * The crash/restart story: a process writes, stops, a new one opens the same data directory and
 * (at-least-once delivery) writes the same records again. Nothing may be lost or doubled.
 */

const data = tempDataDir('restart');
let store: Store | undefined;

afterAll(async () => {
  await store?.close();
  data.remove();
});

async function writeEverything(s: Store): Promise<void> {
  for (const table of TABLES) await s.insert(table, [SAMPLES[table]]);
  const writer = createBatchWriter(s, 'readings', { maxRows: 400, flushIntervalMs: 0 });
  await writer.add(readingsSeries('s-restart', 1_000, T0));
  await writer.close();
}

describe('restart on the same data directory', () => {
  it('keeps what was written and does not double what is written again', async () => {
    store = await openEmbeddedStore({ dataDir: data.dir });
    await store.migrate();
    await writeEverything(store);
    const before = await store.queries.tableCounts();
    expect(before.readings).toBe(1_001);
    await store.close();

    store = await openEmbeddedStore({ dataDir: data.dir });
    expect((await store.migrate()).applied).toEqual([]);
    // History survived the restart.
    expect(await store.queries.tableCounts()).toEqual(before);
    expect(await store.queries.incidents({ limit: 5 })).toEqual([SAMPLES.incidents]);

    // The replay: the same records again, through new writers (new tokens).
    await writeEverything(store);
    expect(await store.queries.tableCounts()).toEqual(before);
    expect(await store.queries.latestReadings()).toEqual(
      expect.arrayContaining([SAMPLES.readings, readingsSeries('s-restart', 1_000, T0)[999]]),
    );
    await store.close();
    store = undefined;
  });

  it('can open a different data directory once the first store is closed', async () => {
    const other = tempDataDir('restart-other');
    try {
      const s = await openEmbeddedStore({ dataDir: other.dir });
      expect(await s.query<{ one: number }>('SELECT 1 AS one')).toEqual([{ one: 1 }]);
      await s.close();
    } finally {
      other.remove();
    }
  });

  it('refuses a second data directory while one is open, naming both', async () => {
    const other = tempDataDir('restart-second');
    const s = await openEmbeddedStore({ dataDir: data.dir });
    try {
      await expect(openEmbeddedStore({ dataDir: other.dir })).rejects.toMatchObject({
        code: 'data_dir_in_use',
        message: expect.stringContaining(data.dir) as string,
      });
      // A second store on the same directory shares the session and closes independently.
      const again = await openEmbeddedStore({ dataDir: data.dir });
      await again.close();
      expect(await s.query<{ one: number }>('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await s.close();
      other.remove();
    }
  });
});
