import { describe, expect, it } from 'vitest';
import { etsForecast, etsSpecs, etsStates, fitEts, selectEts, specName } from './ets.js';
import { gaussian, simulateAaa } from './test-series.js';

describe('ETS', () => {
  it('recovers the smoothing parameters of a simulated ETS(A,A,A)', () => {
    const truth = { alpha: 0.3, beta: 0.05, gamma: 0.1, sigma: 1, m: 12, level: 50, trend: 0.2, amplitude: 5 };
    const alphas: number[] = [];
    const gammas: number[] = [];
    for (let seed = 1; seed <= 5; seed++) {
      const fit = fitEts(simulateAaa(1200, truth, seed), 12, { error: 'A', trend: 'A', season: 'A' }, 600);
      alphas.push(fit.alpha);
      gammas.push(fit.gamma);
      expect(Math.sqrt(fit.sigma2)).toBeGreaterThan(0.85);
      expect(Math.sqrt(fit.sigma2)).toBeLessThan(1.2);
    }
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(alphas)).toBeGreaterThan(0.22);
    expect(mean(alphas)).toBeLessThan(0.38);
    expect(mean(gammas)).toBeLessThan(0.25);
  });

  it('selects a seasonal trended model by AICc for ETS(A,A,A) data and a flat one for white noise', () => {
    const y = simulateAaa(600, { alpha: 0.2, beta: 0.02, gamma: 0.1, sigma: 1, m: 12, level: 50, trend: 0.3, amplitude: 8 }, 7);
    const fit = selectEts(y, 12);
    expect(fit.spec.season).not.toBe('N');
    expect(fit.spec.trend).not.toBe('N');
    const noise = gaussian(3);
    const flat = Float64Array.from({ length: 400 }, () => 100 + noise());
    const chosen = selectEts(flat, 12);
    expect(chosen.spec).toMatchObject({ trend: 'N', season: 'N' });
  });

  it('forecasts a noiseless linear trend exactly along its line', () => {
    const y = Float64Array.from({ length: 60 }, (_, t) => 10 + 2 * t);
    const fit = fitEts(y, 1, { error: 'A', trend: 'A', season: 'N' });
    const out = new Float64Array(5);
    etsForecast(fit, etsStates(fit, y), 59, 5, out);
    for (let k = 1; k <= 5; k++) expect(out[k - 1]).toBeCloseTo(10 + 2 * (59 + k), 3);
  });

  it('offers no multiplicative model for data that touch zero, and no A-error with M-season', () => {
    expect(etsSpecs(true, false).some((s) => s.error === 'M' || s.season === 'M')).toBe(false);
    const names = etsSpecs(true, true).map(specName);
    expect(names).toHaveLength(15);
    expect(names).not.toContain('ETS(A,N,M)');
  });
});
