import { describe, expect, it } from 'vitest';
import { classicalSeasonalIndices, isSeasonal, seasonalAdjust } from './seasonality.js';
import { gaussian, seasonalSeries } from './test-series.js';

describe('M4 seasonal adjustment', () => {
  it('finds a daily cycle and recovers its multiplicative indices', () => {
    const y = seasonalSeries(24 * 20, 24, 2, 100, 0.3, 0.5);
    expect(isSeasonal(y, 24)).toBe(true);
    const index = classicalSeasonalIndices(y, 24);
    for (let p = 0; p < 24; p++) expect(index[p]).toBeCloseTo(1 + 0.3 * Math.sin((2 * Math.PI * p) / 24), 1);
  });

  it('leaves white noise and short series alone', () => {
    const noise = gaussian(9);
    const y = Float64Array.from({ length: 500 }, () => 100 + noise());
    expect(isSeasonal(y, 24)).toBe(false);
    expect(seasonalAdjust(y.subarray(0, 50), 24).seasonal).toBe(false);
  });
});
