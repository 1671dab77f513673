import { describe, expect, it } from 'vitest';
import { ForecastError } from './errors.js';
import { breachProbability } from './forecast-worker.js';
import { normalCdf, normalQuantile } from './normal.js';
import { FORECAST_METHOD, SeasonalNaiveForecaster, orderStatisticInPlace, type ForecastOutput } from './seasonal-naive.js';

function rng(seed: number): { uniform: () => number; gaussian: () => number } {
  let s = seed;
  const uniform = (): number => {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { uniform, gaussian: () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform()) };
}

function output(indicators: number, horizon: number): ForecastOutput {
  return {
    mean: new Float64Array(indicators * horizon),
    lower: new Float64Array(indicators * horizon),
    upper: new Float64Array(indicators * horizon),
    method: new Uint8Array(indicators),
  };
}

describe('seasonal naive', () => {
  it('forecasts a purely seasonal series exactly, with zero-width intervals', () => {
    const pattern = [3, 5, 9, 4, 1, 7, 8, 2, 6, 0, 11, 10];
    const model = new SeasonalNaiveForecaster();
    const i = model.addIndicator(12);
    for (let t = 0; t < 12 * 10 + 5; t++) model.push(i, 100 + pattern[t % 12]!);
    const horizon = 30;
    const out = output(1, horizon);
    model.forecastBatch(Int32Array.of(i), horizon, out);
    expect(out.method[0]).toBe(FORECAST_METHOD.seasonalNaive);
    for (let h = 1; h <= horizon; h++) {
      const truth = 100 + pattern[(12 * 10 + 5 + h - 1) % 12]!;
      expect(out.mean[h - 1]).toBe(truth);
      expect(out.lower[h - 1]).toBe(truth);
      expect(out.upper[h - 1]).toBe(truth);
    }
  });

  it('covers about 95% of future values on noisy seasonal data', () => {
    const { gaussian, uniform } = rng(7);
    const indicators = 2000;
    const m = 24;
    const history = 480;
    const horizon = 12;
    const model = new SeasonalNaiveForecaster({ historyCapacity: 512 });
    const futures: number[][] = [];
    for (let k = 0; k < indicators; k++) {
      const i = model.addIndicator(m);
      const amplitude = 1 + 20 * uniform();
      const sigma = 0.1 + 3 * uniform();
      const phase = uniform() * 2 * Math.PI;
      const y = (t: number): number => 50 + amplitude * Math.sin((2 * Math.PI * t) / m + phase) + sigma * gaussian();
      for (let t = 0; t < history; t++) model.push(i, y(t));
      futures.push(Array.from({ length: horizon }, (_, h) => y(history + h)));
    }
    const out = output(indicators, horizon);
    model.forecastBatch(
      Int32Array.from({ length: indicators }, (_, k) => k),
      horizon,
      out,
    );
    let covered = 0;
    for (let k = 0; k < indicators; k++) {
      for (let h = 0; h < horizon; h++) {
        const v = futures[k]![h]!;
        if (v >= out.lower[k * horizon + h]! && v <= out.upper[k * horizon + h]!) covered++;
      }
    }
    const coverage = covered / (indicators * horizon);
    expect(coverage).toBeGreaterThan(0.93);
    expect(coverage).toBeLessThan(0.97);
  });

  it('falls back to naive with less than a season of history, and still covers about 95% of a random walk', () => {
    const { gaussian } = rng(8);
    const indicators = 2000;
    const horizon = 12;
    const model = new SeasonalNaiveForecaster();
    const futures: number[][] = [];
    let last = 0;
    for (let k = 0; k < indicators; k++) {
      const i = model.addIndicator(60);
      let y = 100;
      for (let t = 0; t < 50; t++) {
        y += gaussian();
        model.push(i, y);
      }
      last = y;
      futures.push(Array.from({ length: horizon }, () => (y += gaussian())));
    }
    const out = output(indicators, horizon);
    model.forecastBatch(
      Int32Array.from({ length: indicators }, (_, k) => k),
      horizon,
      out,
    );
    expect(Array.from(out.method).every((x) => x === FORECAST_METHOD.naive)).toBe(true);
    expect(out.mean[(indicators - 1) * horizon]).toBe(last);
    let covered = 0;
    for (let k = 0; k < indicators; k++) {
      for (let h = 0; h < horizon; h++) {
        const v = futures[k]![h]!;
        if (v >= out.lower[k * horizon + h]! && v <= out.upper[k * horizon + h]!) covered++;
      }
    }
    const coverage = covered / (indicators * horizon);
    expect(coverage).toBeGreaterThan(0.92);
    expect(coverage).toBeLessThan(0.97);
  });

  it('widens intervals by √(k+1) for whole seasons ahead (Hyndman, FPP3 §5.5)', () => {
    const { gaussian } = rng(9);
    const model = new SeasonalNaiveForecaster();
    const i = model.addIndicator(4);
    for (let t = 0; t < 200; t++) model.push(i, 10 + (t % 4) + gaussian());
    const out = output(1, 12);
    model.forecastBatch(Int32Array.of(i), 12, out);
    const width = (h: number): number => out.upper[h - 1]! - out.lower[h - 1]!;
    expect(width(5) / width(1)).toBeCloseTo(Math.SQRT2, 12);
    expect(width(9) / width(1)).toBeCloseTo(Math.sqrt(3), 12);
    expect(width(4)).toBeCloseTo(width(1), 12);
  });

  it('gives no forecast from fewer than three observations', () => {
    const model = new SeasonalNaiveForecaster();
    const i = model.addIndicator(7);
    model.push(i, 1);
    model.push(i, 2);
    const out = output(1, 3);
    model.forecastBatch(Int32Array.of(i), 3, out);
    expect(out.method[0]).toBe(FORECAST_METHOD.none);
    expect(Array.from(out.mean).every(Number.isNaN)).toBe(true);
  });

  it('forecasts a batch of indicators exactly as one at a time, across the ring wrap', () => {
    const { gaussian, uniform } = rng(10);
    const model = new SeasonalNaiveForecaster({ historyCapacity: 64 });
    const n = 50;
    for (let k = 0; k < n; k++) {
      const i = model.addIndicator(1 + Math.floor(uniform() * 20));
      const len = Math.floor(uniform() * 200);
      for (let t = 0; t < len; t++) model.push(i, gaussian() * 5 + (t % 7));
    }
    const horizon = 9;
    const all = output(n, horizon);
    const indices = Int32Array.from({ length: n }, (_, k) => n - 1 - k);
    model.forecastBatch(indices, horizon, all);
    for (let j = 0; j < n; j++) {
      const one = output(1, horizon);
      model.forecastBatch(indices.subarray(j, j + 1), horizon, one);
      expect(one.method[0]).toBe(all.method[j]);
      expect(Array.from(one.mean)).toEqual(Array.from(all.mean.subarray(j * horizon, (j + 1) * horizon)));
      expect(Array.from(one.lower)).toEqual(Array.from(all.lower.subarray(j * horizon, (j + 1) * horizon)));
      expect(Array.from(one.upper)).toEqual(Array.from(all.upper.subarray(j * horizon, (j + 1) * horizon)));
    }
  });

  it('selects order statistics without sorting', () => {
    const { uniform } = rng(11);
    for (let trial = 0; trial < 3000; trial++) {
      const n = 1 + Math.floor(uniform() * 50);
      const values = Array.from({ length: n }, () => (uniform() < 0.3 ? Math.round(uniform() * 3) : uniform()));
      const rank = 1 + Math.floor(uniform() * n);
      const sorted = [...values].sort((a, b) => a - b);
      expect(orderStatisticInPlace(Float64Array.from(values), n, rank)).toBe(sorted[rank - 1]);
    }
  });

  it('rejects bad options and arguments with ForecastError', () => {
    expect(() => new SeasonalNaiveForecaster({ coverage: 1.5 })).toThrow(ForecastError);
    expect(() => new SeasonalNaiveForecaster({ coverage: 1.5 })).toThrow(
      /'coverage': expected a fraction strictly between 0 and 1; got 1.5/,
    );
    const model = new SeasonalNaiveForecaster({ historyCapacity: 100 });
    expect(() => model.addIndicator(60)).toThrow(/expected a season length 1…49/);
    const i = model.addIndicator(7);
    expect(() => model.push(i, Number.NaN)).toThrow(/expected a finite observation/);
    expect(() => model.push(5, 1)).toThrow(/expected an indicator index 0…0/);
  });
});

describe('normal distribution and breach probability', () => {
  it('matches known values', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 6);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(-3)).toBeCloseTo(0.0013499, 6);
  });

  it('reads an interval as a normal and measures its mass beyond the risk lines', () => {
    const band = { lower: 0, upper: 100 };
    expect(breachProbability(90, 110, band)).toBeCloseTo(0.5, 6);
    expect(breachProbability(40, 60, band)).toBeLessThan(1e-6);
    expect(breachProbability(-10, 10, band)).toBeCloseTo(0.5, 6);
    expect(breachProbability(95, 115, band)).toBeCloseTo(1 - normalCdf(-5 / (10 / 1.959964)), 5);
    expect(breachProbability(120, 120, band)).toBe(1);
    expect(breachProbability(50, 50, band)).toBe(0);
  });
});
