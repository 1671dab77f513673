import { describe, expect, it } from 'vitest';
import { forecastEnsemble, parseEnsembleModel, trainEnsemble } from './ensemble.js';
import { EnsembleForecaster, FORECAST_METHOD_ENSEMBLE } from './ensemble-forecaster.js';
import { seasonalSeries } from './test-series.js';

const series = Array.from({ length: 60 }, (_, j) => seasonalSeries(24 * 12, 24, 100 + j, 50 + 10 * j, 0.3, 1 + (j % 3)));
const options = {
  name: 'test-hourly',
  seasonLength: 24,
  horizon: 12,
  global: { type: 'linear' as const, inputLength: 48, stride: 4, ridge: 1e-3, log: true },
};

describe('forecast ensemble', () => {
  const model = trainEnsemble(series, { ...options, etsMaxEvaluations: 60 });

  it('learns weights on the simplex, calibrated offsets, and a content version', () => {
    const w = model.weights;
    expect(w.ets + w.theta + w.global).toBeCloseTo(1, 12);
    expect(model.version).toMatch(/^test-hourly-[0-9a-f]{8}$/);
    for (let k = 0; k < 12; k++) expect(model.intervals.lower[k]!).toBeLessThan(model.intervals.upper[k]!);
    // No worse on its hold-out than its best member (the weights include each member alone).
    expect(model.holdout.ensemble).toBeLessThanOrEqual(Math.min(model.holdout.ets, model.holdout.theta, model.holdout.global) + 1e-12);
    const retrained = trainEnsemble(series.slice(1), { ...options, etsMaxEvaluations: 60 });
    expect(retrained.version).not.toBe(model.version);
    expect(parseEnsembleModel(JSON.parse(JSON.stringify(model)))).toEqual(model);
    expect(() => parseEnsembleModel({ ...model, kind: 'other' })).toThrow(/kind: expected 'cityops-forecast-ensemble'; got other/);
  });

  it('calibrates its intervals on several hold-out windows per series and picks a per-step scale by cross-fitted MSIS', async () => {
    const lines: string[] = [];
    const multi = trainEnsemble(series, {
      ...options,
      etsMaxEvaluations: 40,
      intervalOrigins: 3,
      intervalRecentShares: [0, 0.5],
      intervalPerStep: [false, true],
      onProgress: (l) => lines.push(l),
    });
    // 60 series, each long enough for three windows of 12.
    expect(lines.join('\n')).toMatch(/interval_origins_seconds=[\d.]+ windows=180/);
    expect(lines.filter((l) => l.startsWith('interval_recent_share='))).toHaveLength(4);
    expect(multi.intervalScale.recentShare === 0 || multi.intervalScale.recentShare === 0.5).toBe(true);
    const fresh = Array.from({ length: 30 }, (_, j) => seasonalSeries(24 * 12 + 12, 24, 700 + j, 80, 0.3, 1.5));
    const out = await forecastEnsemble(
      multi,
      fresh.map((y) => y.subarray(0, y.length - 12)),
      12,
      { etsMaxEvaluations: 40 },
    );
    let inside = 0;
    for (let j = 0; j < 30; j++) {
      for (let k = 0; k < 12; k++) {
        const y = fresh[j]![24 * 12 + k]!;
        if (y >= out.lower[j * 12 + k]! && y <= out.upper[j * 12 + k]!) inside++;
      }
    }
    expect(inside / (30 * 12)).toBeGreaterThan(0.88);
  });

  it('forecasts fresh series of the same process with intervals that mostly cover', async () => {
    const fresh = Array.from({ length: 30 }, (_, j) => seasonalSeries(24 * 12 + 12, 24, 900 + j, 80, 0.3, 1.5));
    const history = fresh.map((y) => y.subarray(0, y.length - 12));
    const out = await forecastEnsemble(model, history, 12, { etsMaxEvaluations: 60 });
    let inside = 0;
    for (let j = 0; j < fresh.length; j++) {
      for (let k = 0; k < 12; k++) {
        const y = fresh[j]![24 * 12 + k]!;
        if (y >= out.lower[j * 12 + k]! && y <= out.upper[j * 12 + k]!) inside++;
      }
    }
    expect(inside / (30 * 12)).toBeGreaterThan(0.88);
  });

  it('streams: the same forecast through EnsembleForecaster, with a cached ETS between refits', async () => {
    const f = await EnsembleForecaster.open(model, { historyCapacity: 400, etsMaxEvaluations: 60, refitEveryObservations: 50 });
    const i = f.addIndicator(24);
    const y = series[0]!;
    for (const v of y.subarray(0, 5)) f.push(i, v);
    const out = { mean: new Float64Array(12), lower: new Float64Array(12), upper: new Float64Array(12), method: new Uint8Array(1) };
    await f.forecastBatch(Int32Array.of(i), 12, out);
    expect(out.method[0]).toBe(0);
    for (const v of y.subarray(5)) f.push(i, v);
    await f.forecastBatch(Int32Array.of(i), 12, out);
    expect(out.method[0]).toBe(FORECAST_METHOD_ENSEMBLE);
    const batch = await forecastEnsemble(model, [y], 12, { etsMaxEvaluations: 60 });
    for (let k = 0; k < 12; k++) {
      expect(out.lower[k]!).toBeLessThanOrEqual(out.mean[k]!);
      expect(out.mean[k]!).toBeCloseTo(batch.mean[k]!, 9);
    }
  });
});
