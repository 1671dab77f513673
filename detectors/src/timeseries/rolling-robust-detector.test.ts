import { describe, expect, it } from 'vitest';
import { DetectorError } from '../errors.js';
import { parseTimeseriesDetectorConfig } from './detector-config.js';
import { createTimeseriesDetector } from './registry.js';
import { MAD_TO_SIGMA, RollingRobustDetector, madOfSorted } from './rolling-robust-detector.js';
import type { ScoreDetail, TimeseriesDetector } from './timeseries-detector.js';
import { POINT_STATUS } from './timeseries-detector.js';

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

/** Deterministic noise: mulberry32 + Box–Muller. */
function rng(seed: number): { uniform: () => number; gaussian: () => number } {
  let s = seed;
  const uniform = (): number => {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const gaussian = (): number => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, gaussian };
}

function detail(n: number): ScoreDetail {
  return { expected: new Float64Array(n), scale: new Float64Array(n), status: new Uint8Array(n) };
}

/** Scores one series' values (one per minute) in one batch. */
function scoreSeries(
  detector: TimeseriesDetector,
  values: readonly number[],
  series = detector.addSeries(),
): { z: Float64Array; d: ScoreDetail } {
  const n = values.length;
  const z = new Float64Array(n);
  const d = detail(n);
  const ts = Float64Array.from(values, (_, i) => T0 + i * MINUTE);
  detector.scoreBatch(new Int32Array(n).fill(series), Float64Array.from(values), ts, z, d);
  return { z, d };
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

describe('rolling robust z detector', () => {
  it('flags an injected level shift in a seasonal noisy series within a few points', () => {
    const { gaussian } = rng(1);
    const shiftAt = 1500;
    // Daily cycle at one reading per minute, amplitude 10σ, then a +8σ level shift.
    const values = Array.from(
      { length: 1600 },
      (_, i) => 50 + 10 * Math.sin((2 * Math.PI * i) / 1440) + gaussian() + (i >= shiftAt ? 8 : 0),
    );
    const detector = createTimeseriesDetector();
    const { z } = scoreSeries(detector, values);
    const firstFlag = z.findIndex((v, i) => i >= shiftAt && Math.abs(v) >= detector.threshold);
    expect(firstFlag).toBeGreaterThanOrEqual(shiftAt);
    expect(firstFlag - shiftAt).toBeLessThanOrEqual(2);
    // Sustained and upward: most readings after the shift stay flagged (the seasonal slope
    // inflates the MAD a little, so an 8σ shift scores about 6, not 8).
    const after = Array.from(z.subarray(shiftAt, shiftAt + 20));
    expect(after.filter((v) => v >= detector.threshold).length).toBeGreaterThanOrEqual(16);
    const falseAlarms = Array.from(z.subarray(0, shiftAt)).filter((v) => Math.abs(v) >= detector.threshold).length;
    expect(falseAlarms).toBeLessThanOrEqual(1);
  });

  it('keeps one value per 5 s slot, so at one reading a second a ramp over minutes is not its own baseline', () => {
    const { gaussian } = rng(8);
    // A feeder at 100 MW ± 2, readings a second apart; from minute 20 it ramps +50 % over 3 minutes.
    const rampStart = 1200;
    const values = Array.from({ length: rampStart + 420 }, (_, i) => {
      const ramp = Math.min(1, Math.max(0, (i - rampStart) / 180));
      return 100 * (1 + 0.5 * ramp) + 2 * gaussian();
    });
    const scoreAtOneHz = (config: object): { z: Float64Array; detector: TimeseriesDetector } => {
      const detector = createTimeseriesDetector({ type: 'rolling-robust-z', ...config });
      const series = detector.addSeries();
      const n = values.length;
      const z = new Float64Array(n);
      const ts = Float64Array.from(values, (_, i) => T0 + i * 1000);
      detector.scoreBatch(new Int32Array(n).fill(series), Float64Array.from(values), ts, z);
      return { z, detector };
    };
    const maxZ = (z: Float64Array, from: number, to: number) => Math.max(...Array.from(z.subarray(from, to), (v) => (v === v ? v : 0)));

    const slotted = scoreAtOneHz({});
    expect(maxZ(slotted.z, 0, rampStart)).toBeLessThan(5);
    expect(maxZ(slotted.z, rampStart, rampStart + 240)).toBeGreaterThanOrEqual(5);
    // Warm-up takes every reading (30 s here); slots start once the series is warm.
    expect(slotted.detector.stats().pointsWarmingUp).toBe(30);

    // Every reading entering (a window of the last 120 s) adopts the ramp as it goes.
    const everyReading = scoreAtOneHz({ slotMs: 0 });
    expect(maxZ(everyReading.z, rampStart, rampStart + 240)).toBeLessThan(5);
  });

  it('stays quiet on clean noise', () => {
    const { gaussian } = rng(2);
    const detector = createTimeseriesDetector();
    const { z } = scoreSeries(
      detector,
      Array.from({ length: 50_000 }, () => 100 + 3 * gaussian()),
    );
    const scored = Array.from(z).filter((v) => !Number.isNaN(v));
    const flagged = scored.filter((v) => Math.abs(v) >= detector.threshold).length;
    expect(scored.length).toBe(50_000 - 30);
    expect(flagged / scored.length).toBeLessThan(2e-4);
  });

  it('warms up before scoring', () => {
    const detector = createTimeseriesDetector({ warmupPoints: 30 });
    const { z, d } = scoreSeries(
      detector,
      Array.from({ length: 40 }, (_, i) => i % 7),
    );
    expect(Array.from(z.subarray(0, 30)).every(Number.isNaN)).toBe(true);
    expect(Array.from(d.status.subarray(0, 30)).every((s) => s === POINT_STATUS.warmup)).toBe(true);
    expect(Array.from(z.subarray(30)).every(Number.isFinite)).toBe(true);
    expect(detector.stats()).toMatchObject({ pointsWarmingUp: 30, pointsScored: 10 });
  });

  it('scores a batch of many series exactly as it scores them one point at a time', () => {
    const { uniform, gaussian } = rng(3);
    const seriesCount = 40;
    const points = 6000;
    const seriesIndex = new Int32Array(points);
    const values = new Float64Array(points);
    const ts = new Float64Array(points);
    const clock = new Float64Array(seriesCount).fill(T0);
    for (let i = 0; i < points; i++) {
      const s = Math.floor(uniform() * seriesCount);
      seriesIndex[i] = s;
      const r = uniform();
      // Mostly well-formed, with NaN, duplicates, late points and spikes mixed in.
      if (r < 0.01) {
        values[i] = Number.NaN;
        ts[i] = clock[s]! + MINUTE;
      } else if (r < 0.02) {
        values[i] = 1;
        ts[i] = clock[s]!;
      } else if (r < 0.03) {
        values[i] = 1;
        ts[i] = clock[s]! - 5 * MINUTE;
      } else {
        clock[s] = clock[s]! + MINUTE;
        values[i] = s * 10 + gaussian() + (r > 0.995 ? 25 : 0);
        ts[i] = clock[s]!;
      }
    }
    const batched = new RollingRobustDetector(parseTimeseriesDetectorConfig({ windowSize: 50, warmupPoints: 10 }), 4);
    const single = new RollingRobustDetector(parseTimeseriesDetectorConfig({ windowSize: 50, warmupPoints: 10 }), 4);
    for (let s = 0; s < seriesCount; s++) {
      batched.addSeries();
      single.addSeries();
    }
    const outB = new Float64Array(points);
    const dB = detail(points);
    // Batched in uneven chunks, to cross chunk boundaries mid-series.
    for (let start = 0; start < points;) {
      const end = Math.min(points, start + 1 + Math.floor(uniform() * 700));
      batched.scoreBatch(
        seriesIndex.subarray(start, end),
        values.subarray(start, end),
        ts.subarray(start, end),
        outB.subarray(start, end),
        {
          expected: dB.expected.subarray(start, end),
          scale: dB.scale.subarray(start, end),
          status: dB.status.subarray(start, end),
        },
      );
      start = end;
    }
    const outS = new Float64Array(points);
    const dS = detail(points);
    for (let i = 0; i < points; i++) {
      single.scoreBatch(seriesIndex.subarray(i, i + 1), values.subarray(i, i + 1), ts.subarray(i, i + 1), outS.subarray(i, i + 1), {
        expected: dS.expected.subarray(i, i + 1),
        scale: dS.scale.subarray(i, i + 1),
        status: dS.status.subarray(i, i + 1),
      });
    }
    expect(Array.from(outB)).toEqual(Array.from(outS));
    expect(Array.from(dB.expected)).toEqual(Array.from(dS.expected));
    expect(Array.from(dB.scale)).toEqual(Array.from(dS.scale));
    expect(Array.from(dB.status)).toEqual(Array.from(dS.status));
    expect(batched.stats()).toEqual(single.stats());
    expect(batched.stats().pointsScored).toBeGreaterThan(5000);
  });

  it('keeps the exact rolling median and MAD of the last W values', () => {
    const { uniform } = rng(4);
    const w = 25;
    const detector = createTimeseriesDetector({ windowSize: w, warmupPoints: w, madFloor: 1e-12, madFloorRelative: 0 });
    // Rounded values so ties and repeated values exercise the sorted window's edge cases.
    const values = Array.from({ length: 400 }, () => Math.round(uniform() * 20) / 2);
    const { d } = scoreSeries(detector, values);
    for (let i = w; i < values.length; i++) {
      const win = values.slice(i - w, i);
      const med = median(win);
      const mad = median(win.map((v) => Math.abs(v - med)));
      expect(d.expected[i]).toBe(med);
      expect(d.scale[i]).toBeCloseTo(MAD_TO_SIGMA * Math.max(mad, 1e-12), 12);
    }
  });

  it('computes the MAD of a sorted block without sorting, for odd and even sizes', () => {
    const { uniform } = rng(5);
    for (let trial = 0; trial < 2000; trial++) {
      const n = 1 + Math.floor(uniform() * 30);
      const values = Array.from({ length: n }, () => (uniform() < 0.3 ? Math.round(uniform() * 4) : uniform() * 10));
      const sorted = Float64Array.from(values).sort();
      const block = new Float64Array(n + 6);
      block.set(sorted, 3);
      const med = median(values);
      expect(madOfSorted(block, 3, n, med)).toBeCloseTo(median(values.map((v) => Math.abs(v - med))), 12);
    }
  });

  it('counts NaN, duplicate and out-of-order points instead of crashing, and leaves the baseline untouched', () => {
    const clean = createTimeseriesDetector({ warmupPoints: 5 });
    const dirty = createTimeseriesDetector({ warmupPoints: 5 });
    const s = clean.addSeries();
    dirty.addSeries();
    const good = Array.from({ length: 20 }, (_, i) => ({ ts: T0 + i * MINUTE, v: (i * 7) % 5 }));
    const noisy: { ts: number; v: number }[] = [];
    for (const [i, p] of good.entries()) {
      noisy.push(p);
      if (i === 8) noisy.push({ ts: p.ts, v: 99 }); // duplicate timestamp
      if (i === 9) noisy.push({ ts: p.ts - 3 * MINUTE, v: 99 }); // late
      if (i === 10) noisy.push({ ts: p.ts + 1, v: Number.NaN });
      if (i === 11) noisy.push({ ts: p.ts + 1, v: Number.POSITIVE_INFINITY });
      if (i === 12) noisy.push({ ts: Number.NaN, v: 1 });
    }
    const run = (d: TimeseriesDetector, pts: { ts: number; v: number }[]): { z: Float64Array; st: Uint8Array } => {
      const z = new Float64Array(pts.length);
      const det = detail(pts.length);
      d.scoreBatch(
        new Int32Array(pts.length).fill(s),
        Float64Array.from(pts, (p) => p.v),
        Float64Array.from(pts, (p) => p.ts),
        z,
        det,
      );
      return { z, st: det.status };
    };
    const a = run(clean, good);
    const b = run(dirty, noisy);
    const kept = Array.from(b.z).filter(
      (_, i) =>
        b.st[i] !== POINT_STATUS.skippedNan && b.st[i] !== POINT_STATUS.skippedDuplicate && b.st[i] !== POINT_STATUS.skippedOutOfOrder,
    );
    expect(kept).toEqual(Array.from(a.z));
    expect(dirty.stats()).toMatchObject({ skippedNan: 3, skippedDuplicate: 1, skippedOutOfOrder: 1 });
    expect(Array.from(b.st).filter((x) => x === POINT_STATUS.skippedNan)).toHaveLength(3);
  });

  it('restarts warm-up after a gap longer than maxGapMs', () => {
    const detector = createTimeseriesDetector({ warmupPoints: 5, maxGapMs: 10 * MINUTE });
    const s = detector.addSeries();
    const ts = Float64Array.from([0, 1, 2, 3, 4, 5, 6, 30, 31, 32, 33, 34, 35], (m) => T0 + m * MINUTE);
    const values = Float64Array.from(ts, (_, i) => i % 3);
    const z = new Float64Array(ts.length);
    const d = detail(ts.length);
    detector.scoreBatch(new Int32Array(ts.length).fill(s), values, ts, z, d);
    expect(d.status[7]).toBe(POINT_STATUS.gapReset);
    expect(Array.from(d.status.subarray(8, 12))).toEqual([1, 1, 1, 1]);
    expect(d.status[12]).toBe(POINT_STATUS.scored);
    expect(detector.stats().gapResets).toBe(1);
  });

  it('floors the MAD so a flat series gives finite, sensible scores', () => {
    const detector = createTimeseriesDetector();
    const s = detector.addSeries();
    detector.setScaleFloor(s, 0.5);
    const { z } = scoreSeries(detector, [...Array.from({ length: 100 }, () => 10), 10.5, 25], s);
    expect(z[100]).toBeCloseTo(0.5 / (MAD_TO_SIGMA * 0.5), 9);
    expect(Math.abs(z[100]!)).toBeLessThan(detector.threshold);
    expect(z[101]).toBeGreaterThan(detector.threshold);
    expect(Number.isFinite(z[101])).toBe(true);
  });

  it('marks a sensor stuck on one exact value after it used to vary', () => {
    const { gaussian } = rng(6);
    const detector = createTimeseriesDetector({ stuckPoints: 40 });
    const values = [...Array.from({ length: 200 }, () => 20 + 2 * gaussian()), ...Array.from({ length: 60 }, () => 20.25)];
    const { d } = scoreSeries(detector, values);
    const stuckAt = Array.from(d.status).indexOf(POINT_STATUS.stuck);
    expect(stuckAt).toBe(200 + 40 - 1);
    expect(Array.from(d.status.subarray(stuckAt)).every((s) => s === POINT_STATUS.stuck)).toBe(true);
    // A series that never varied is not "stuck".
    const flat = createTimeseriesDetector({ stuckPoints: 40 });
    const flatRun = scoreSeries(
      flat,
      Array.from({ length: 200 }, () => 0),
    );
    expect(Array.from(flatRun.d.status)).not.toContain(POINT_STATUS.stuck);
  });

  it('maps scores to probabilities through a logistic in z', () => {
    const detector = createTimeseriesDetector();
    expect(detector.probability(3)).toBeCloseTo(0.5, 12);
    expect(detector.probability(5)).toBeGreaterThan(0.9);
    expect(detector.probability(0)).toBeLessThan(0.05);
  });

  it('grows past its initial capacity without losing state', () => {
    const detector = new RollingRobustDetector(parseTimeseriesDetectorConfig({ warmupPoints: 3 }), 1);
    const a = detector.addSeries();
    scoreSeries(detector, [1, 2, 3, 4], a);
    for (let i = 0; i < 10; i++) detector.addSeries();
    const z = new Float64Array(1);
    detector.scoreBatch(Int32Array.of(a), Float64Array.of(2.5), Float64Array.of(T0 + 10 * MINUTE), z);
    expect(z[0]).toBe(0);
    expect(detector.seriesCount).toBe(11);
  });

  it('resumes from a checkpoint exactly as if it had not stopped, past its initial capacity', () => {
    const { gaussian } = rng(5);
    const seriesCount = 70; // more than the initial capacity of 64: restore has to grow
    const length = 400;
    const values = Array.from({ length: seriesCount }, (_, s) =>
      Array.from({ length }, (_, i) => 20 + s + 3 * Math.sin(i / 30) + gaussian() + (i % 91 === 0 ? 9 : 0)),
    );
    const scoreRange = (d: TimeseriesDetector, from: number, to: number): number[] => {
      const n = (to - from) * seriesCount;
      const idx = new Int32Array(n);
      const v = new Float64Array(n);
      const ts = new Float64Array(n);
      let k = 0;
      for (let i = from; i < to; i++) {
        for (let s = 0; s < seriesCount; s++, k++) {
          idx[k] = s;
          v[k] = values[s]![i]!;
          ts[k] = T0 + i * MINUTE;
        }
      }
      const z = new Float64Array(n);
      d.scoreBatch(idx, v, ts, z);
      return Array.from(z);
    };
    const uninterrupted = createTimeseriesDetector();
    for (let s = 0; s < seriesCount; s++) uninterrupted.addSeries();
    scoreRange(uninterrupted, 0, 250);
    const expected = scoreRange(uninterrupted, 250, length);

    const first = createTimeseriesDetector();
    for (let s = 0; s < seriesCount; s++) first.addSeries();
    first.setScaleFloor(3, 0.5);
    uninterrupted.setScaleFloor(3, 0.5);
    scoreRange(first, 0, 250);
    const resumed = createTimeseriesDetector();
    resumed.restore(first.checkpoint());
    expect(resumed.seriesCount).toBe(seriesCount);
    expect(scoreRange(resumed, 250, length)).toEqual(expected);
    expect(resumed.stats().pointsWarmingUp).toBe(0);
    // A series added after the restore starts fresh, not with a stale slot's state.
    const added = resumed.addSeries();
    expect(scoreSeries(resumed, [1, 2, 3], added).d.status[0]).toBe(POINT_STATUS.warmup);
  });

  it('refuses a checkpoint of another config and keeps its own state', () => {
    const other = createTimeseriesDetector({ type: 'rolling-robust-z', windowSize: 60, warmupPoints: 30 });
    other.addSeries();
    const d = createTimeseriesDetector();
    d.addSeries();
    expect(() => d.restore(other.checkpoint())).toThrow(/expected a checkpoint of config/);
    expect(() => d.restore(new Uint8Array(3))).toThrow(DetectorError);
    expect(d.seriesCount).toBe(1);
  });

  it('rejects a series index it never issued', () => {
    const detector = createTimeseriesDetector();
    detector.addSeries();
    const call = (): void => detector.scoreBatch(Int32Array.of(3), Float64Array.of(1), Float64Array.of(T0), new Float64Array(1));
    expect(call).toThrow(DetectorError);
    expect(call).toThrow(/expected a series index 0…0/);
  });
});

describe('detector config', () => {
  it('fills documented defaults', () => {
    expect(parseTimeseriesDetectorConfig({})).toMatchObject({ type: 'rolling-robust-z', windowSize: 120, warmupPoints: 30, threshold: 5 });
  });

  it('rejects unknown keys, wrong types and out-of-range values, naming each', () => {
    let error: unknown;
    try {
      parseTimeseriesDetectorConfig({ windowsize: 10, threshold: 'high', warmupPoints: 2.5, maxGapMs: -1 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DetectorError);
    const e = error as DetectorError;
    expect(e.code).toBe('invalid-config');
    expect(e.retriable).toBe(false);
    expect(e.message).toMatch(/unknown key 'windowsize'/);
    expect(e.message).toMatch(/'threshold': expected a number; got "high"/);
    expect(e.message).toMatch(/'warmupPoints': expected 3…4096; got 2.5/);
    expect(e.message).toMatch(/'maxGapMs': expected 1…Infinity; got -1/);
  });

  it('rejects an unknown detector type', () => {
    expect(() => parseTimeseriesDetectorConfig({ type: 'isolation-forest' })).toThrow(
      /expected detector type one of rolling-robust-z, seasonal-robust, online-ar, knn-distance, neural-forecast, ensemble, by-cadence; got "isolation-forest"/,
    );
  });

  it('rejects a warm-up longer than the window', () => {
    expect(() => parseTimeseriesDetectorConfig({ windowSize: 20, warmupPoints: 30 })).toThrow(/at most windowSize \(20\)/);
  });
});
