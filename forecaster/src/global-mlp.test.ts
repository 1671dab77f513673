import { describe, expect, it } from 'vitest';
import { forecastGlobalMlp, trainGlobalMlp } from './global-mlp.js';
import { gaussian } from './test-series.js';

describe('global MLP ensemble', () => {
  const noise = gaussian(7);
  const shape = (t: number): number => Math.sin((2 * Math.PI * t) / 12) + 0.5 * Math.cos((2 * Math.PI * t) / 6);
  // One multiplicative pattern shared by series whose levels differ a hundredfold.
  const series = Array.from({ length: 40 }, (_, j) =>
    Float64Array.from({ length: 200 }, (_, t) => (5 + 12 * j) * Math.exp(0.2 * shape(t) + 0.01 * noise())),
  );
  const model = trainGlobalMlp(series, {
    horizon: 6,
    seasonLength: 12,
    nets: [
      { inputLength: 24, hidden: 16, seed: 1 },
      { inputLength: 36, hidden: 16, seed: 2 },
      { inputLength: 24, hidden: 16, seed: 3 },
    ],
    steps: 400,
    batchSize: 64,
    learningRate: 3e-3,
  });

  it('learns the shared pattern and forecasts a fresh series at a level it never saw', () => {
    const fresh = Float64Array.from({ length: 100 }, (_, t) => 3000 * Math.exp(0.2 * shape(t)));
    const out = new Float64Array(6);
    forecastGlobalMlp(model, [fresh], 6, out);
    for (let k = 1; k <= 6; k++) expect(Math.abs(out[k - 1]! / (3000 * Math.exp(0.2 * shape(99 + k))) - 1)).toBeLessThan(0.03);
  });

  it('is a plain JSON object that forecasts the same after a round trip, and deterministic per seed', () => {
    const copy = JSON.parse(JSON.stringify(model)) as typeof model;
    const a = new Float64Array(12);
    const b = new Float64Array(12);
    forecastGlobalMlp(model, series.slice(0, 2), 6, a);
    forecastGlobalMlp(copy, series.slice(0, 2), 6, b);
    expect(Array.from(b)).toEqual(Array.from(a));
    const again = trainGlobalMlp(series, {
      horizon: 6,
      seasonLength: 12,
      nets: [{ inputLength: 24, hidden: 16, seed: 1 }],
      steps: 20,
      batchSize: 16,
    });
    const twice = trainGlobalMlp(series, {
      horizon: 6,
      seasonLength: 12,
      nets: [{ inputLength: 24, hidden: 16, seed: 1 }],
      steps: 20,
      batchSize: 16,
    });
    expect(twice.nets[0]!.weights).toBe(again.nets[0]!.weights);
  });

  it('leaves NaN for a series it cannot take the log of, and refuses a longer horizon', () => {
    const out = new Float64Array(12);
    forecastGlobalMlp(model, [series[0]!, Float64Array.from({ length: 50 }, (_, t) => t - 10)], 6, out);
    expect(out.subarray(0, 6).every(Number.isFinite)).toBe(true);
    expect(out.subarray(6).every(Number.isNaN)).toBe(true);
    expect(() => forecastGlobalMlp(model, [series[0]!], 7, new Float64Array(7))).toThrow(/horizon ≤ 6/);
  });
});
