import { describe, expect, it } from 'vitest';
import { fitSes, sesAt } from './ses.js';
import { fitTheta, linearTrend, thetaForecast } from './theta.js';
import { gaussian } from './test-series.js';

describe('Theta', () => {
  it('is SES with drift b/2 on a linear series (Hyndman & Billah 2003)', () => {
    const y = Float64Array.from({ length: 50 }, (_, t) => 3 + 0.8 * t);
    const fit = fitTheta(y, 1);
    const out = new Float64Array(10);
    thetaForecast(fit, 10, out);
    // SES on a straight line tracks its last value (α → 1); the drift is half the slope.
    for (let k = 1; k <= 10; k++) expect(out[k - 1]).toBeCloseTo(y[49]! + (0.8 / 2) * k, 2);
  });

  it('equals SES with drift on a noisy series, with the drift formula of Hyndman & Billah', () => {
    const noise = gaussian(11);
    const y = Float64Array.from({ length: 200 }, (_, t) => 50 + 0.1 * t + 3 * noise());
    const fit = fitTheta(y, 1);
    const { slope } = linearTrend(y);
    const n = y.length;
    // The θ=2 line is linear in the data, so SES on it (same α) is 2·SES(y) − SES(trend line).
    const sesY = sesAt(y, fit.alpha);
    const line = Float64Array.from({ length: n }, (_, t) => fit.intercept + slope * t);
    const sesLine = sesAt(line, fit.alpha);
    const out = new Float64Array(6);
    thetaForecast(fit, 6, out);
    for (let k = 1; k <= 6; k++) {
      const expected = 0.5 * (2 * sesY.level - sesLine.level) + 0.5 * (fit.intercept + slope * (n - 1 + k));
      expect(out[k - 1]).toBeCloseTo(expected, 6);
    }
  });

  it('fits SES by least squares: no α on a fine grid does better', () => {
    const noise = gaussian(5);
    let level = 10;
    const y = Float64Array.from({ length: 300 }, () => (level += 0.3 * noise()) + noise());
    const best = fitSes(y);
    for (let a = 0.01; a < 1; a += 0.01) expect(sesAt(y, a).sse).toBeGreaterThanOrEqual(best.sse - 1e-9);
  });
});
