import { describe, expect, it } from 'vitest';
import { mase, maseScale, msis, owa, scoreAll, smape } from './m4-metrics.js';

describe('M4 measures', () => {
  it('computes sMAPE, MASE and MSIS by their M4 definitions', () => {
    expect(smape([100, 200], [110, 180])).toBeCloseTo(100 * (10 / 210 + 20 / 380), 10);
    expect(maseScale([1, 3, 2, 6], 1)).toBeCloseTo((2 + 1 + 4) / 3, 12);
    expect(mase([10, 12], [11, 10], 2)).toBeCloseTo(0.75, 12);
    // Width 4 each step; step 2 misses above by 1: + 2/0.05 · 1 = 40.
    expect(msis([5, 8], [3, 3], [7, 7], 2)).toBeCloseTo((4 + 4 + 40) / 2 / 2, 12);
  });

  it('gives OWA 1 to the reference itself and averages before dividing', () => {
    const actuals = [Float64Array.of(10, 10), Float64Array.of(100, 100)];
    const f = [Float64Array.of(11, 11), Float64Array.of(90, 90)];
    const s = scoreAll(actuals, f, [1, 10]);
    expect(owa(s, s)).toBe(1);
    expect(owa({ smape: s.smape / 2, mase: s.mase }, s)).toBeCloseTo(0.75, 12);
  });
});
