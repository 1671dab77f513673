import { encodeRecord } from '@cityops/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchWriter, createJsonBatchWriter, type BatchWriterStats } from '../src/batch-writer.js';
import { isDataError, StoreError } from '../src/errors.js';
import { MIGRATIONS } from '../src/migrations/index.js';
import { decodeRows } from '../src/row-decoder.js';
import { TABLES, type Store, type TableName } from '../src/store.js';
import { columnList, JSON_TABLES } from '../src/tables.js';
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

    async function readBack<T extends TableName>(table: T, id: string = SAMPLES[table].id) {
      const rows = await store.query<Record<string, unknown>>(`SELECT ${columnList(table)} FROM ${table} FINAL WHERE id = {id:String}`, {
        id,
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
        expect(await q.retirements()).toEqual([SAMPLES.retirements]);
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

      it.each(JSON_TABLES.map((t) => [t]))('%s: its contract JSON, inserted as it is, reads back as the record', async (table) => {
        const record = { ...SAMPLES[table], id: `${SAMPLES[table].id}-json` };
        await store.insertJson(table, [encodeRecord(record)]);
        expect(await readBack(table, record.id)).toEqual([record]);
      });

      it('JSON times at the edges of the contract range survive exactly, 12 digits or 13', async () => {
        const edges = [946_684_800_000, 946_684_800_001, 999_999_999_999, 1_000_000_000_000, 1_767_225_600_123, 4_102_444_799_999];
        await store.insertJson(
          'readings',
          edges.map((ts, i) => encodeRecord({ ...SAMPLES.readings, id: `json-edge-${i}`, sensor_id: 'json-edge', ts })),
        );
        const back = await store.query<Record<string, unknown>>(
          `SELECT ${columnList('readings')} FROM readings FINAL WHERE sensor_id = 'json-edge' ORDER BY ts`,
        );
        expect(decodeRows('readings', back).map((r) => r.ts)).toEqual(edges);
      });

      it.each([['basic'], ['best_effort']])(
        "ClickHouse's JSON reader takes an integer as epoch ms for DateTime64(3), whatever its digit count (date_time_input_format=%s)",
        async (mode) => {
          // Unlike its TSV reader (see tsv-encoder.ts): this is what lets insertJson pass
          // contract times through untouched. The values are numbers, not input.
          const edges = [946_684_800_000, 999_999_999_999, 1_000_000_000_000, 1_767_225_600_123, 4_102_444_799_999];
          const data = edges.map((ms) => `{"ts":${ms}}`).join('\\n');
          const rows = await store.query<{ ms: number | string }>(
            `SELECT toUnixTimestamp64Milli(ts) AS ms FROM format(JSONEachRow, 'ts DateTime64(3, \\'UTC\\')', '${data}') SETTINGS date_time_input_format = '${mode}'`,
          );
          expect(rows.map((r) => Number(r.ms))).toEqual(edges);
        },
      );

      it('JSON that is not exactly a row of the table is refused as a data error, not bent to fit', async () => {
        const text = JSON.stringify({ ...SAMPLES.readings, id: 'json-strict' });
        const refusals = await Promise.all(
          [
            text.replace('{', '{"extra":1,'), // a field the table does not have
            text.replace('"cm"', '12'), // a number where a string is due
            text.replace('"schema_version":1', '"schema_version":1.0'), // an integer spelled as a float
          ].map((variant) =>
            store.insertJson('readings', [new TextEncoder().encode(variant)]).then(
              () => undefined,
              (e: unknown) => e,
            ),
          ),
        );
        for (const e of refusals) expect(isDataError(e)).toBe(true);
        expect(await readBack('readings', 'json-strict')).toEqual([]);
      });

      // chdb/connection (the server-store run without a server) applies an insert's settings as
      // SET on its one session, so a dedup token sticks to the inserts after it: the retry tests,
      // the only ones with tokens, come after every insert without one.
      it.each([['rows'], ['JSON']] as const)(
        'a retried insert of %s with the same token is dropped (no duplicate even before merges)',
        async (form) => {
          let lostAcks = 1;
          const loseFirstAnswer = async (insert: Promise<void>): Promise<void> => {
            await insert;
            if (lostAcks-- > 0) throw new StoreError('connection_failed', 'answer lost', { retriable: true });
          };
          const flaky: Store = {
            ...store,
            insert: (table, rows, options) => loseFirstAnswer(store.insert(table, rows, options)),
            insertJson: (table, records, options) => loseFirstAnswer(store.insertJson(table, records, options)),
          };
          const sensorId = `s-contract-retry-${form}`;
          const rows = readingsSeries(sensorId, 1_000, T0);
          const options = { flushIntervalMs: 0, retryBackoffMs: 1 };
          let stats: BatchWriterStats;
          if (form === 'rows') {
            const writer = createBatchWriter(flaky, 'readings', options);
            await writer.add(rows);
            await writer.close();
            stats = writer.stats();
          } else {
            const writer = createJsonBatchWriter(flaky, 'readings', options);
            await writer.add(rows.map((r) => ({ bytes: encodeRecord(r), rows: 1 })));
            await writer.close();
            stats = writer.stats();
          }
          expect(stats.retries).toBe(1);
          const [row] = await store.query<{ n: number | string }>('SELECT count() AS n FROM readings WHERE sensor_id = {sensorId:String}', {
            sensorId,
          });
          expect(Number(row?.n)).toBe(1_000);
        },
      );

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

    // Last: it adds a camera, which the exact per-table counts above do not expect.
    describe('retirements', () => {
      it('a retired camera leaves the camera list, and comes back when a later decision returns it to service', async () => {
        const q = store.queries;
        const retired = { ...SAMPLES.cameras, id: 'cam-old', name: 'Old gate' };
        await store.insert('cameras', [retired]);
        // SAMPLES.retirements retires cam-old.
        expect((await q.cameras()).map((c) => c.id)).toEqual([SAMPLES.cameras.id]);
        await store.insert('retirements', [{ ...SAMPLES.retirements, retired: false, ts: SAMPLES.retirements.ts + 1, reason: 'repaired' }]);
        expect((await q.cameras()).map((c) => c.id).sort()).toEqual(['cam-old', SAMPLES.cameras.id].sort());
      });
    });

    // Also after the exact counts: it adds a department.
    describe('department stations', () => {
      it("a department's optional station and unit count round-trip, and one without them reads back without them", async () => {
        const withStation = { ...SAMPLES.departments, id: 'dept-yard', name_en: 'Works Yard', lon: 121.4612, lat: 31.2205, units: 12 };
        await store.insert('departments', [withStation]);
        expect(await store.queries.departments()).toEqual([SAMPLES.departments, withStation]);
        expect('lon' in SAMPLES.departments).toBe(false);
      });
    });
  });
}
