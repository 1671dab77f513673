import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedStore } from '../../src/chdb-store.js';
import type { Store } from '../../src/store.js';
import { readingsSeries, SAMPLES, T0, tempDataDir } from '../fixtures.js';

const data = tempDataDir('rollups');
let store: Store;
const MINUTE = 60_000;

beforeAll(async () => {
  store = await openEmbeddedStore({ dataDir: data.dir });
  await store.migrate();
});
afterAll(async () => {
  await store.close();
  data.remove();
});

describe('per-minute rollups', () => {
  it('readings_1m holds avg/min/max/count per sensor and minute, across separate inserts', async () => {
    // 3 minutes of one reading per 10 s (values 0…17), written in two inserts that split minute 2.
    const rows = readingsSeries('s-roll', 18, T0, 10_000);
    await store.insert('readings', rows.slice(0, 9));
    await store.insert('readings', rows.slice(9));
    await store.insert('readings', readingsSeries('s-other', 5, T0, 10_000));

    const points = await store.queries.readingRollup('s-roll', { fromMs: T0, toMs: T0 + 3 * MINUTE });
    expect(points).toEqual([
      { ts: T0, avg: 2.5, min: 0, max: 5, count: 6 },
      { ts: T0 + MINUTE, avg: 8.5, min: 6, max: 11, count: 6 },
      { ts: T0 + 2 * MINUTE, avg: 14.5, min: 12, max: 17, count: 6 },
    ]);
  });

  it('includes the whole minute that contains fromMs and excludes the minute starting at toMs', async () => {
    const points = await store.queries.readingRollup('s-roll', { fromMs: T0 + MINUTE + 30_000, toMs: T0 + 2 * MINUTE });
    expect(points.map((p) => p.ts)).toEqual([T0 + MINUTE]);
    expect(await store.queries.readingRollup('nobody', { fromMs: T0, toMs: T0 + MINUTE })).toEqual([]);
  });

  it('rejects a reversed range', async () => {
    await expect(store.queries.readingRollup('s-roll', { fromMs: 2, toMs: 1 })).rejects.toMatchObject({ code: 'invalid_config' });
  });

  it('latestReadings returns the newest reading of each sensor, even when an older one arrives later', async () => {
    const late = readingsSeries('s-roll', 1, T0 - MINUTE)[0]!;
    await store.insert('readings', [late]);
    const latest = await store.queries.latestReadings();
    expect(latest.map((r) => [r.sensor_id, r.value, r.ts])).toEqual([
      ['s-other', 4, T0 + 40_000],
      ['s-roll', 17, T0 + 170_000],
    ]);
  });

  it('market_ticks_1m holds open/close/avg/min/max/count per indicator and minute', async () => {
    const tick = SAMPLES.market_ticks;
    const values = [10, 14, 9, 12];
    await store.insert(
      'market_ticks',
      values.map((value, i) => ({ ...tick, id: `tick-${i}`, ts: T0 + i * 10_000, value })),
    );
    const rows = await store.query<Record<string, number>>(
      `SELECT toUnixTimestamp(minute) * 1000 AS minute_ms, argMinMerge(value_open) AS open, argMaxMerge(value_close) AS close,
              avgMerge(value_avg) AS avg, min(value_min) AS min, max(value_max) AS max, sum(value_count) AS count
       FROM market_ticks_1m WHERE indicator_id = {id:String} GROUP BY minute ORDER BY minute`,
      { id: tick.indicator_id },
    );
    expect(rows).toEqual([{ minute_ms: T0, open: 10, close: 12, avg: 11.25, min: 9, max: 14, count: 4 }]);
  });

  it('warnings_1m counts warnings by kind, area and level per minute', async () => {
    const w = SAMPLES.warnings;
    await store.insert('warnings', [
      { ...w, id: 'w-a', ts: T0 + 1_000 },
      { ...w, id: 'w-b', ts: T0 + 2_000 },
      { ...w, id: 'w-c', ts: T0 + 3_000, level: 'red' },
      { ...w, id: 'w-d', ts: T0 + MINUTE, area_id: 'area-2' },
    ]);
    const rows = await store.query<{ kind: string; area_id: string; level: string; minute_ms: number; n: number }>(
      `SELECT kind, area_id, level, toUnixTimestamp(minute) * 1000 AS minute_ms, sum(warning_count) AS n
       FROM warnings_1m GROUP BY kind, area_id, level, minute ORDER BY minute, area_id, level`,
    );
    expect(rows).toEqual([
      { kind: 'waterlogging', area_id: 'area-1', level: 'orange', minute_ms: T0, n: 2 },
      { kind: 'waterlogging', area_id: 'area-1', level: 'red', minute_ms: T0, n: 1 },
      { kind: 'waterlogging', area_id: 'area-2', level: 'orange', minute_ms: T0 + MINUTE, n: 1 },
    ]);
  });
});
