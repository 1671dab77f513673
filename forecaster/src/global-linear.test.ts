import { describe, expect, it } from 'vitest';
import { forecastGlobalLinear, trainGlobalLinear } from './global-linear.js';
import { gaussian } from './test-series.js';

describe('global linear model', () => {
  it('learns one seasonal pattern shared by series of different levels and scales', () => {
    const noise = gaussian(4);
    const shape = (t: number): number => Math.sin((2 * Math.PI * t) / 12) + 0.5 * Math.cos((2 * Math.PI * t) / 6);
    const series = Array.from({ length: 40 }, (_, j) => {
      const level = 10 + 5 * j;
      const amplitude = 1 + j / 4;
      return Float64Array.from({ length: 200 }, (_, t) => level + amplitude * shape(t) + 0.05 * amplitude * noise());
    });
    const model = trainGlobalLinear(series, { inputLength: 24, horizon: 6, seasonLength: 12, stride: 1, ridge: 1e-6 });
    const fresh = Float64Array.from({ length: 100 }, (_, t) => 1000 + 7 * shape(t));
    const out = new Float64Array(6);
    forecastGlobalLinear(model, [fresh], 6, out);
    for (let k = 1; k <= 6; k++) expect(out[k - 1]).toBeCloseTo(1000 + 7 * shape(99 + k), 0);
  });

  it('refuses a horizon longer than it was trained for', () => {
    const y = Float64Array.from({ length: 100 }, (_, t) => t % 7);
    const model = trainGlobalLinear([y], { inputLength: 14, horizon: 3, seasonLength: 7 });
    expect(() => forecastGlobalLinear(model, [y], 4, new Float64Array(4))).toThrow(/horizon ≤ 3/);
  });
});
