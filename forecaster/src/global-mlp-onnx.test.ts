import { afterAll, describe, expect, it } from 'vitest';
import { forecastEnsemble, openGlobalMember, trainEnsemble } from './ensemble.js';
import { EnsembleForecaster, FORECAST_METHOD_ENSEMBLE } from './ensemble-forecaster.js';
import { forecastGlobalMlp, globalMlpInputs, globalMlpNetOutputs, trainGlobalMlp } from './global-mlp.js';
import { GlobalMlpSession } from './global-mlp-onnx.js';
import { gaussian, seasonalSeries } from './test-series.js';

describe('global MLP through ONNX Runtime', () => {
  const noise = gaussian(11);
  const shape = (t: number): number => Math.sin((2 * Math.PI * t) / 12) + 0.5 * Math.cos((2 * Math.PI * t) / 6);
  const series = Array.from({ length: 30 }, (_, j) =>
    Float64Array.from({ length: 160 + 7 * j }, (_, t) => (5 + 12 * j) * Math.exp(0.2 * shape(t) + 0.02 * noise())),
  );
  const model = trainGlobalMlp(series, {
    horizon: 6,
    seasonLength: 12,
    nets: [
      { inputLength: 24, hidden: 16, seed: 1 },
      { inputLength: 36, hidden: 16, seed: 2 },
      { inputLength: 30, hidden: 16, seed: 3 },
    ],
    steps: 150,
    batchSize: 32,
    learningRate: 3e-3,
  });
  const sessions: GlobalMlpSession[] = [];
  afterAll(async () => {
    for (const s of sessions) await s.release();
  });

  it('gives the TS forward pass within 1e-5 for a batch of series, in one run with a dynamic batch', async () => {
    const session = await GlobalMlpSession.open(model, { log: () => undefined });
    sessions.push(session);
    expect(session.provider).toBe('cpu');
    // A short series (front-padded window) and one that cannot be logged ride along.
    const batch = [...series, series[0]!.subarray(0, 20), Float64Array.from({ length: 50 }, (_, t) => t - 10)];
    const inputs = globalMlpInputs(model, batch);
    const ort = await session.runNets(inputs);
    const ts = globalMlpNetOutputs(model, inputs);
    expect(ort).toHaveLength(3);
    let gap = 0;
    for (let q = 0; q < 3; q++) {
      expect(ort[q]).toHaveLength(batch.length * 6);
      for (let i = 0; i < ort[q]!.length; i++) gap = Math.max(gap, Math.abs(ort[q]![i]! - ts[q]![i]!));
    }
    expect(gap).toBeLessThan(1e-5);

    const a = new Float64Array(batch.length * 6);
    const b = new Float64Array(batch.length * 6);
    await session.forecast(batch, 6, a);
    forecastGlobalMlp(model, batch, 6, b);
    for (let i = 0; i < (batch.length - 1) * 6; i++) expect(Math.abs(a[i]! / b[i]! - 1)).toBeLessThan(1e-5);
    expect(a.subarray((batch.length - 1) * 6).every(Number.isNaN)).toBe(true);
  });

  it('splits a batch larger than maxBatchRows into runs with the same answer', async () => {
    const small = await GlobalMlpSession.open(model, { maxBatchRows: 7, log: () => undefined });
    sessions.push(small);
    const whole = await GlobalMlpSession.open(model, { log: () => undefined });
    sessions.push(whole);
    const a = new Float64Array(series.length * 4);
    const b = new Float64Array(series.length * 4);
    await small.forecast(series, 4, a);
    await whole.forecast(series, 4, b);
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it('falls back to the CPU with a log line when a configured provider cannot run', async () => {
    const lines: string[] = [];
    const session = await GlobalMlpSession.open(model, { executionProviders: ['no-such-provider', 'cpu'], log: (l) => lines.push(l) });
    sessions.push(session);
    expect(session.provider).toBe('cpu');
    expect(lines.join('\n')).toMatch(/provider 'no-such-provider' unusable, falling back/);
    expect(lines.join('\n')).toMatch(/runs on ONNX Runtime provider 'cpu'/);
  });

  it('runs the ensemble the same in a batch call and streaming, with the nets through ONNX Runtime', async () => {
    const train = Array.from({ length: 40 }, (_, j) => seasonalSeries(24 * 8, 24, 300 + j, 50 + 10 * j, 0.3, 1 + (j % 3)));
    const ensemble = trainEnsemble(train, {
      name: 'test-mlp',
      seasonLength: 24,
      horizon: 6,
      global: { type: 'mlp', nets: [{ inputLength: 48, hidden: 16, seed: 1 }], steps: 100, batchSize: 32 },
      retrainGlobal: false,
      etsMaxEvaluations: 40,
    });
    expect(ensemble.global?.kind).toBe('global-mlp');
    // Whatever the hold-out chose, the streaming path must give the nets a share to be tested.
    const withNets = { ...ensemble, weights: { ets: 0.3, theta: 0.2, global: 0.5 } };
    const f = await EnsembleForecaster.open(withNets, { historyCapacity: 400, etsMaxEvaluations: 40 }, { log: () => undefined });
    expect(f.globalProvider).toBe('cpu');
    const fresh = Array.from({ length: 5 }, (_, j) => seasonalSeries(24 * 8, 24, 900 + j, 80, 0.3, 1.5));
    for (const y of fresh) {
      const i = f.addIndicator(24);
      for (const v of y) f.push(i, v);
    }
    const out = { mean: new Float64Array(30), lower: new Float64Array(30), upper: new Float64Array(30), method: new Uint8Array(5) };
    await f.forecastBatch(Int32Array.from([0, 1, 2, 3, 4]), 6, out);
    await f.release();
    const runner = await openGlobalMember(withNets, { log: () => undefined });
    const batch = await forecastEnsemble(withNets, fresh, 6, { etsMaxEvaluations: 40, runner });
    await runner?.release();
    for (let j = 0; j < 5; j++) expect(out.method[j]).toBe(FORECAST_METHOD_ENSEMBLE);
    for (let i = 0; i < 30; i++) {
      expect(Number.isFinite(batch.members.global[i]!)).toBe(true);
      expect(out.mean[i]!).toBeCloseTo(batch.mean[i]!, 6);
    }
  });
});
