import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchWriter } from '../src/batch-writer.js';
import { StoreError } from '../src/errors.js';
import { MIGRATIONS } from '../src/migrations/index.js';
import { decodeRows } from '../src/row-decoder.js';
import { TABLES, type InsertOptions, type Store, type TableName } from '../src/store.js';
import { columnList } from '../src/tables.js';
import { readingsSeries, SAMPLES, T0, TRICKY } from './fixtures.js';

/**
 * What every Store must do, whichever client runs underneath: the embedded chDB store, the
 * server store over @clickhouse/client (against chDB through chdb/connection, and against a
 * real server when CLICKHOUSE_URL is set). Same SQL, same results.
 *
 * `open` must return a store on an empty database that keeps rows forever (KEEP_FOREVER):
 * one test writes times from the year 2000, which a TTL would drop at insert.
 */
export function describeStoreContract(name: string, open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>): void {
  describe(name, () => {
    let store: Store;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      ({ store, cleanup } = await open());
      expect((await store.migrate()).applied).toEqual(MIGRATIONS.map((m) => m.id));
      expect((await store.migrate()).applied).toEqual([]);
      for (const table of TABLES) await store.insert(table, [SAMPLES[table]]);
    });
    afterAll(async () => {
      await cleanup();
    });

    async function readBack<T extends TableName>(table: T) {
      const rows = await store.query<Record<string, unknown>>(`SELECT ${columnList(table)} FROM ${table} FINAL WHERE id = {id:String}`, {
        id: SAMPLES[table].id,
      });
      return decodeRows(table, rows);
    }

    describe('every table round-trips its contract record', () => {
      it.each(TABLES.map((t) => [t]))('%s: insert → select gives equal fields', async (table) => {
        expect(await readBack(table)).toEqual([SAMPLES[table]]);
      });
    });

    describe('typed queries map rows back to the contracts', () => {
      it('dimensions', async () => {
        const q = store.queries;
        expect(await q.areas()).toEqual([SAMPLES.areas]);
        expect(await q.sensors()).toEqual([SAMPLES.sensors]);
        expect(await q.cameras()).toEqual([SAMPLES.cameras]);
        expect(await q.indicators()).toEqual([SAMPLES.indicators]);
        expect(await q.departments()).toEqual([SAMPLES.departments]);
      });

      it('tableCounts counts one row per table', async () => {
        expect(await store.queries.tableCounts()).toEqual(Object.fromEntries(TABLES.map((t) => [t, 1])));
      });

      it('latest readings, recent anomalies and warnings, dead letters, ground truth', async () => {
        const q = store.queries;
        expect(await q.latestReadings()).toEqual([SAMPLES.readings]);
        expect(await q.recentAnomalies({ limit: 10 })).toEqual([SAMPLES.anomalies]);
        expect(await q.recentAnomalies({ limit: 10, sinceMs: SAMPLES.anomalies.ts + 1 })).toEqual([]);
        expect(await q.recentWarnings({ limit: 10, sinceMs: T0 })).toEqual([SAMPLES.warnings]);
        expect(await q.recentWarnings({ limit: 0 })).toEqual([]);
        expect(await q.deadLetters({ limit: 5 })).toEqual([SAMPLES.dead_letters]);
        expect(await q.groundTruth()).toEqual([SAMPLES.ground_truth]);
      });

      it('incidents, their events and dispatches', async () => {
        const q = store.queries;
        expect(await q.incidents({ limit: 10 })).toEqual([SAMPLES.incidents]);
        expect(await q.incidents({ limit: 10, statuses: ['open', 'dispatched'] })).toEqual([SAMPLES.incidents]);
        expect(await q.incidents({ limit: 10, statuses: ['closed'] })).toEqual([]);
        expect(await q.incidentEvents('inc-1')).toEqual([SAMPLES.incident_events]);
        expect(await q.incidentEvents('nope')).toEqual([]);
        expect(await q.dispatches({ limit: 10 })).toEqual([SAMPLES.dispatches]);
        expect(await q.dispatches({ limit: 10, incidentId: 'inc-1' })).toEqual([SAMPLES.dispatches]);
        expect(await q.dispatches({ limit: 10, incidentId: 'inc-2' })).toEqual([]);
      });

      it('market ticks over a half-open range, forecasts since an issue time', async () => {
        const q = store.queries;
        const tick = SAMPLES.market_ticks;
        expect(await q.marketTicks(tick.indicator_id, { fromMs: tick.ts, toMs: tick.ts + 1 })).toEqual([tick]);
        expect(await q.marketTicks(tick.indicator_id, { fromMs: tick.ts + 1, toMs: tick.ts + 10 })).toEqual([]);
        expect(await q.marketTicks(tick.indicator_id, { fromMs: tick.ts - 10, toMs: tick.ts })).toEqual([]);
        expect(await q.forecasts('cpi.pork', { limit: 5 })).toEqual([SAMPLES.forecasts]);
        expect(await q.forecasts('cpi.pork', { limit: 5, issuedSinceMs: SAMPLES.forecasts.issued_at + 1 })).toEqual([]);
      });

      it('binds parameters instead of splicing them into SQL', async () => {
        expect(await store.queries.incidentEvents("inc-1' OR '1'='1")).toEqual([]);
        expect(await store.queries.incidentEvents(TRICKY)).toEqual([]);
      });

      it('reading rollups per minute', async () => {
        await store.insert('readings', readingsSeries('s-contract-roll', 12, T0, 10_000));
        expect(await store.queries.readingRollup('s-contract-roll', { fromMs: T0, toMs: T0 + 120_000 })).toEqual([
          { ts: T0, avg: 2.5, min: 0, max: 5, count: 6 },
          { ts: T0 + 60_000, avg: 8.5, min: 6, max: 11, count: 6 },
        ]);
      });
    });

    describe('writes', () => {
      it('times at the edges of the contract range survive exactly', async () => {
        const edges = [946_684_800_000, 946_684_800_001, 1_000_000_000_999, 4_102_444_799_999];
        await store.insert(
          'readings',
          edges.map((ts, i) => ({ ...SAMPLES.readings, id: `edge-${i}`, sensor_id: 'edge', ts })),
        );
        const back = await store.query<Record<string, unknown>>(
          `SELECT ${columnList('readings')} FROM readings FINAL WHERE sensor_id = 'edge' ORDER BY ts`,
        );
        expect(decodeRows('readings', back).map((r) => r.ts)).toEqual(edges);
      });

      it('a retried insert with the same token is dropped (no duplicate even before merges)', async () => {
        let lostAcks = 1;
        const flaky: Store = {
          ...store,
          async insert(table: TableName, rows: readonly object[], options?: InsertOptions) {
            await store.insert(table, rows, options);
            if (lostAcks-- > 0) throw new StoreError('connection_failed', 'answer lost', { retriable: true });
          },
        };
        const writer = createBatchWriter(flaky, 'readings', { flushIntervalMs: 0, retryBackoffMs: 1 });
        await writer.add(readingsSeries('s-contract-retry', 1_000, T0));
        await writer.close();
        expect(writer.stats().retries).toBe(1);
        const [row] = await store.query<{ n: number | string }>("SELECT count() AS n FROM readings WHERE sensor_id = 's-contract-retry'");
        expect(Number(row?.n)).toBe(1_000);
      });

      it('rejects a row that does not fit its table, naming the field', async () => {
        const bad = { ...SAMPLES.readings, value: 'high' } as unknown as typeof SAMPLES.readings;
        await expect(store.insert('readings', [SAMPLES.readings, bad])).rejects.toMatchObject({
          code: 'invalid_row',
          retriable: false,
          message: 'row 1 for readings.value: expected a finite number; got string "high"',
        });
      });

      it('wraps ClickHouse errors in StoreError with the ClickHouse code', async () => {
        await expect(store.query('SELECT * FROM no_such_table')).rejects.toMatchObject({
          name: 'StoreError',
          code: 'query_failed',
          retriable: false,
          clickhouseCode: 60,
        });
      });
    });
  });
}
