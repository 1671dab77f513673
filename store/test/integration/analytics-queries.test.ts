import type { EarlyWarning, Forecast, MarketTick } from '@cityops/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedStore } from '../../src/chdb-store.js';
import type { Store } from '../../src/store.js';
import { SAMPLES, T0, tempDataDir } from '../fixtures.js';

/*
 * The analysts' queries (forecasts by target time, the forecast-vs-actual track record, warnings
 * in a range by source) on the real embedded chDB: the ASOF matching of forecasts to ticks is
 * SQL that only ClickHouse itself can check.
 */

const data = tempDataDir('analytics');
let store: Store;
const MINUTE = 60_000;

const tick = (indicator: string, i: number, value: number): MarketTick => ({
  id: `t-${indicator}-${i}`,
  schema_version: 1,
  indicator_id: indicator,
  ts: T0 + i * MINUTE,
  value,
});

const forecast = (over: Partial<Forecast> & Pick<Forecast, 'id' | 'target_ts' | 'mean'>): Forecast => ({
  ...SAMPLES.forecasts,
  indicator_id: 'cpi.beef',
  issued_at: T0,
  horizon_step: 1,
  lower: over.mean - 1,
  upper: over.mean + 1,
  ...over,
});

const warning = (over: Partial<EarlyWarning> & Pick<EarlyWarning, 'id' | 'ts'>): EarlyWarning => ({
  ...SAMPLES.warnings,
  ...over,
});

beforeAll(async () => {
  store = await openEmbeddedStore({ dataDir: data.dir });
  await store.migrate();
  // Ticks of cpi.beef every minute: 10, 11, 12, … ; one of another indicator in between.
  await store.insert('market_ticks', [...Array.from({ length: 10 }, (_, i) => tick('cpi.beef', i, 10 + i)), tick('cpi.egg', 3, 100)]);
  await store.insert('forecasts', [
    // ets: targets 1 ms after minute 2 (actual 12) and 2 s before minute 5 (actual 15).
    forecast({ id: 'f-ets-1', target_ts: T0 + 2 * MINUTE + 1, mean: 12.5 }), // error 0.5, inside
    forecast({ id: 'f-ets-2', target_ts: T0 + 5 * MINUTE - 2_000, mean: 17, horizon_step: 2 }), // error 2, outside
    // naive: one hit, and one whose nearest tick is 30 min away (not scored).
    forecast({ id: 'f-naive-1', target_ts: T0 + 4 * MINUTE, mean: 14, model: 'naive' }), // error 0, inside
    forecast({ id: 'f-naive-2', target_ts: T0 + 40 * MINUTE, mean: 14, model: 'naive' }),
    forecast({ id: 'f-egg', indicator_id: 'cpi.egg', target_ts: T0 + 3 * MINUTE, mean: 90, lower: 80, upper: 95 }),
  ]);
  await store.insert('warnings', [
    warning({ id: 'w-market-1', ts: T0 + MINUTE, source_kind: 'indicator', source_id: 'cpi.beef', kind: 'price_shock' }),
    warning({ id: 'w-market-2', ts: T0 + 3 * MINUTE, source_kind: 'indicator', source_id: 'cpi.egg', kind: 'price_shock' }),
    warning({ id: 'w-sensor', ts: T0 + 2 * MINUTE }),
  ]);
});
afterAll(async () => {
  await store.close();
  data.remove();
});

describe('analytics queries on chDB', () => {
  it('forecastsForTargets: the steps whose target lies in a half-open range, by target time', async () => {
    const q = store.queries;
    const rows = await q.forecastsForTargets('cpi.beef', { fromMs: T0, toMs: T0 + 5 * MINUTE }, { limit: 100 });
    expect(rows.map((f) => f.id)).toEqual(['f-ets-1', 'f-naive-1', 'f-ets-2']);
    expect(rows[0]).toEqual(forecast({ id: 'f-ets-1', target_ts: T0 + 2 * MINUTE + 1, mean: 12.5 }));
    expect(await q.forecastsForTargets('cpi.beef', { fromMs: T0 + 4 * MINUTE, toMs: T0 + 4 * MINUTE }, { limit: 100 })).toEqual([]);
    expect((await q.forecastsForTargets('cpi.beef', { fromMs: T0, toMs: T0 + 50 * MINUTE }, { limit: 2 })).length).toBe(2);
    expect(await q.forecastsForTargets("cpi.beef' OR '1'='1", { fromMs: T0, toMs: T0 + 50 * MINUTE }, { limit: 10 })).toEqual([]);
  });

  it('forecastTrackRecord: MAE, bias and interval coverage per model, each forecast against its nearest tick', async () => {
    const range = { fromMs: T0, toMs: T0 + 60 * MINUTE };
    const rows = await store.queries.forecastTrackRecord({ indicatorId: 'cpi.beef', range, toleranceMs: 30_000 });
    expect(rows).toEqual([
      {
        indicator_id: 'cpi.beef',
        model: 'ets',
        model_version: SAMPLES.forecasts.model_version,
        forecasts: 2,
        mae: 1.25,
        bias: -1.25,
        coverage: 0.5,
        first_target_ts: T0 + 2 * MINUTE + 1,
        last_target_ts: T0 + 5 * MINUTE - 2_000,
      },
      {
        indicator_id: 'cpi.beef',
        model: 'naive',
        model_version: SAMPLES.forecasts.model_version,
        forecasts: 1,
        mae: 0,
        bias: 0,
        coverage: 1,
        first_target_ts: T0 + 4 * MINUTE,
        last_target_ts: T0 + 4 * MINUTE,
      },
    ]);
    // Every indicator when none is named; a range before the targets scores nothing.
    const all = await store.queries.forecastTrackRecord({ range, toleranceMs: 30_000 });
    expect(all.map((r) => `${r.indicator_id}/${r.model}:${r.forecasts}`)).toEqual(['cpi.beef/ets:2', 'cpi.beef/naive:1', 'cpi.egg/ets:1']);
    expect(all[2]).toMatchObject({ mae: 10, coverage: 0 });
    expect(await store.queries.forecastTrackRecord({ range: { fromMs: T0, toMs: T0 + MINUTE }, toleranceMs: 30_000 })).toEqual([]);
    // A zero tolerance scores exact hits only.
    const exact = await store.queries.forecastTrackRecord({ indicatorId: 'cpi.beef', range, toleranceMs: 0 });
    expect(exact.map((r) => `${r.model}:${r.forecasts}`)).toEqual(['naive:1']);
  });

  it('warningsInRange: newest first, narrowed by source kind and source', async () => {
    const q = store.queries;
    const range = { fromMs: T0, toMs: T0 + 10 * MINUTE };
    expect((await q.warningsInRange({ range, limit: 10 })).map((w) => w.id)).toEqual(['w-market-2', 'w-sensor', 'w-market-1']);
    expect((await q.warningsInRange({ range, sourceKind: 'indicator', limit: 10 })).map((w) => w.id)).toEqual(['w-market-2', 'w-market-1']);
    expect((await q.warningsInRange({ range, sourceKind: 'indicator', sourceId: 'cpi.beef', limit: 10 })).map((w) => w.id)).toEqual([
      'w-market-1',
    ]);
    expect((await q.warningsInRange({ range: { fromMs: T0 + MINUTE + 1, toMs: T0 + 3 * MINUTE }, limit: 10 })).map((w) => w.id)).toEqual([
      'w-sensor',
    ]);
    expect(await q.warningsInRange({ range, limit: 0 })).toEqual([]);
  });
});
