import { describe, expect, it } from 'vitest';
import { breachProbability } from './forecast-worker.js';
import { applyScaledQuantiles, intervalScale, intervalScales, scaledErrorQuantiles, seriesScale } from './intervals.js';
import { gaussian } from './test-series.js';

describe('pooled scaled-error intervals', () => {
  it('cover close to 95% of fresh errors from the same process', () => {
    const noise = gaussian(21);
    const h = 4;
    const calibration = Float64Array.from({ length: 400 * h }, (_, i) => noise() * Math.sqrt((i % h) + 1));
    const q = scaledErrorQuantiles(calibration, h, 0.95, 0);
    let inside = 0;
    let total = 0;
    const lower = new Float64Array(h);
    const upper = new Float64Array(h);
    for (let trial = 0; trial < 5000; trial++) {
      applyScaledQuantiles(q, [0, 0, 0, 0], 1, false, lower, upper);
      for (let k = 0; k < h; k++) {
        const e = noise() * Math.sqrt(k + 1);
        total++;
        if (e >= lower[k]! && e <= upper[k]!) inside++;
      }
    }
    expect(inside / total).toBeGreaterThan(0.935);
    expect(inside / total).toBeLessThan(0.965);
    // Wider further out, as the errors are.
    expect(q.upper[3]! - q.lower[3]!).toBeGreaterThan(q.upper[0]! - q.lower[0]!);
  });

  it('scales by the series and floors the lower bound at zero for non-negative series', () => {
    expect(seriesScale([1, 2, 1, 2, 1, 2], 2)).toBe(1);
    const q = { coverage: 0.95, lower: [-3], upper: [3] };
    const lower = new Float64Array(1);
    const upper = new Float64Array(1);
    applyScaledQuantiles(q, [1], 1, true, lower, upper);
    expect([lower[0], upper[0]]).toEqual([0, 4]);
  });

  it('mixes the recent scale into the interval scale by the chosen share', () => {
    // Calm for 100 steps (changes of 1), turbulent for the last 20 (changes of 5).
    const y = Float64Array.from({ length: 120 }, (_, t) => (t < 100 ? t % 2 : 5 * (t % 2)));
    const whole = seriesScale(y, 1);
    expect(intervalScale(y, 1, { recentShare: 0, recentLength: 20 })).toBe(whole);
    expect(intervalScale(y, 1, { recentShare: 1, recentLength: 19 })).toBeCloseTo(5, 12);
    expect(intervalScale(y, 1, { recentShare: 0.5, recentLength: 19 })).toBeCloseTo(0.5 * whole + 2.5, 12);
  });

  it('scales each step by the k-step change when asked: √k for a random walk, flat for noise, by season for seasonal data', () => {
    const noise = gaussian(5);
    let level = 1000;
    const walk = Float64Array.from({ length: 5000 }, () => (level += noise()));
    const flat = Float64Array.from({ length: 5000 }, () => 1000 + noise());
    const spec = { recentShare: 0, recentLength: 1, perStep: true };
    const w = intervalScales(walk, 1, spec, 13);
    const f = intervalScales(flat, 1, spec, 13);
    expect(w[0]).toBeCloseTo(seriesScale(walk, 1), 12);
    for (let k = 1; k <= 13; k++) {
      expect(w[k - 1]! / w[0]! / Math.sqrt(k)).toBeGreaterThan(0.85);
      expect(w[k - 1]! / w[0]! / Math.sqrt(k)).toBeLessThan(1.15);
      expect(f[k - 1]! / f[0]!).toBeGreaterThan(0.9);
      expect(f[k - 1]! / f[0]!).toBeLessThan(1.1);
    }
    // Seasonal: steps 1…m share the one-season scale; m+1…2m that of two seasons.
    const s = intervalScales(walk, 12, spec, 24);
    expect(new Set(Array.from(s.subarray(0, 12))).size).toBe(1);
    expect(new Set(Array.from(s.subarray(12))).size).toBe(1);
    expect(s[12]! / s[0]!).toBeCloseTo(Math.SQRT2, 0);
    // Without perStep every step has the one scale.
    expect(Array.from(intervalScales(walk, 1, { recentShare: 0, recentLength: 1 }, 3))).toEqual(Array(3).fill(seriesScale(walk, 1)));
  });

  it('gives a breach probability that falls as the risk line moves away', () => {
    let last = 1;
    for (let line = 9; line <= 16; line += 0.5) {
      const p = breachProbability(8, 12, { lower: -1e9, upper: line });
      expect(p).toBeLessThanOrEqual(last);
      last = p;
    }
    expect(breachProbability(8, 12, { lower: -1e9, upper: 10 })).toBeCloseTo(0.5, 6);
  });
});
