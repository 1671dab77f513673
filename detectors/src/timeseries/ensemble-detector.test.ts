import { describe, expect, it } from 'vitest';
import { DetectorError } from '../errors.js';
import { parseTimeseriesDetectorConfig } from './detector-config.js';
import { EnsembleDetector } from './ensemble-detector.js';
import { OnlineArDetector } from './online-ar-detector.js';
import { createTimeseriesDetector } from './registry.js';
import { SeasonalRobustDetector } from './seasonal-robust-detector.js';
import type { TimeseriesDetector } from './timeseries-detector.js';
import { POINT_STATUS } from './timeseries-detector.js';

const STEP_MS = 300_000;
const T0 = Date.UTC(2026, 0, 5);
/** Points before the anomaly: ten days of 5-minute data, well past every warm-up. */
const ONSET = 2880;

/** Deterministic N(0, 1) noise (mulberry32 + Box–Muller), so the tests do not flake. */
function noise(seed: number): () => number {
  let state = seed;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** A daily cycle (amplitude 10) around 100 with unit noise; `change` alters point i from ONSET on. */
function series(length: number, change: (i: number, normal: number, previous: number) => number = (_, v) => v, seed = 7): Float64Array {
  const g = noise(seed);
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const normal = 100 + 10 * Math.sin((2 * Math.PI * i) / 288) + g();
    out[i] = i >= ONSET ? change(i, normal, out[i - 1]!) : normal;
  }
  return out;
}

function run(detector: TimeseriesDetector, values: Float64Array, from = 0, series = 0): { scores: Float64Array; status: Uint8Array } {
  const n = values.length - from;
  const idx = new Int32Array(n).fill(series);
  const ts = Float64Array.from({ length: n }, (_, i) => T0 + (from + i) * STEP_MS);
  const scores = new Float64Array(n);
  const detail = { expected: new Float64Array(n), scale: new Float64Array(n), status: new Uint8Array(n) };
  detector.scoreBatch(idx, values.subarray(from), ts, scores, detail);
  return { scores, status: detail.status };
}

function maxAbs(a: Float64Array, from: number, to: number): number {
  let m = 0;
  for (let i = from; i < to; i++) if (Math.abs(a[i]!) > m) m = Math.abs(a[i]!);
  return m;
}

const detectors: [string, () => TimeseriesDetector][] = [
  ['seasonal-robust', () => createTimeseriesDetector({ type: 'seasonal-robust' })],
  ['online-ar', () => createTimeseriesDetector({ type: 'online-ar' })],
  ['ensemble', () => createTimeseriesDetector({ type: 'ensemble' })],
];

describe.each(detectors)('%s', (_name, make) => {
  function scoresFor(values: Float64Array): Float64Array {
    const d = make();
    d.addSeries();
    return run(d, values).scores;
  }

  it('stays quiet on its normal behaviour and rises on a spike', () => {
    const scores = scoresFor(series(ONSET + 50, (i, v) => (i === ONSET ? v + 15 : v)));
    const d = make();
    expect(maxAbs(scores, ONSET - 1000, ONSET)).toBeLessThan(d.threshold);
    expect(Math.abs(scores[ONSET]!)).toBeGreaterThanOrEqual(d.threshold);
    expect(scores[ONSET]!).toBeGreaterThan(0);
  });

  it('rises on a level shift', () => {
    const scores = scoresFor(series(ONSET + 100, (_, v) => v + 8));
    expect(maxAbs(scores, ONSET, ONSET + 20)).toBeGreaterThanOrEqual(make().threshold);
  });

  it('rises on a variance change', () => {
    const g = noise(99);
    const scores = scoresFor(series(ONSET + 200, (_, v) => v + 5 * g()));
    expect(maxAbs(scores, ONSET, ONSET + 50)).toBeGreaterThanOrEqual(make().threshold);
  });

  it('gives identical scores after checkpoint → restore as without the restart', () => {
    const values = series(ONSET + 400, (i, v) => (i % 97 === 0 ? v + 12 : v));
    const uninterrupted = make();
    uninterrupted.addSeries();
    uninterrupted.addSeries();
    const expected = run(uninterrupted, values, 0, 1).scores;

    const first = make() as TimeseriesDetector & { checkpoint(): Uint8Array };
    first.addSeries();
    first.addSeries();
    run(first, values.subarray(0, ONSET), 0, 1);
    const bytes = first.checkpoint();
    const second = make() as TimeseriesDetector & { restore(b: Uint8Array): void };
    second.restore(bytes);
    expect(second.seriesCount).toBe(2);
    const resumed = run(second, values, ONSET, 1).scores;
    expect(Array.from(resumed)).toEqual(Array.from(expected.subarray(ONSET)));
  });

  it('skips and counts NaN, duplicate and out-of-order points without disturbing the series', () => {
    const values = series(600);
    const clean = make();
    clean.addSeries();
    const cleanScores = run(clean, values).scores;

    const d = make();
    d.addSeries();
    run(d, values.subarray(0, 300));
    const t = (i: number): number => T0 + i * STEP_MS;
    const bad = { idx: new Int32Array(3), values: Float64Array.of(Number.NaN, 1e9, -1e9), ts: Float64Array.of(t(300), t(299), t(250)) };
    const out = new Float64Array(3);
    const detail = { expected: new Float64Array(3), scale: new Float64Array(3), status: new Uint8Array(3) };
    d.scoreBatch(bad.idx, bad.values, bad.ts, out, detail);
    expect(Array.from(out).every(Number.isNaN)).toBe(true);
    expect(Array.from(detail.status)).toEqual([POINT_STATUS.skippedNan, POINT_STATUS.skippedDuplicate, POINT_STATUS.skippedOutOfOrder]);
    expect(d.stats()).toMatchObject({ skippedNan: 1, skippedDuplicate: 1, skippedOutOfOrder: 1 });
    const rest = run(d, values, 300).scores;
    expect(Array.from(rest)).toEqual(Array.from(cleanScores.subarray(300)));
  });

  it('rejects a checkpoint of another detector type', () => {
    const other = createTimeseriesDetector({ type: 'seasonal-robust', warmupPoints: 50 }) as SeasonalRobustDetector;
    other.addSeries();
    const d = make() as TimeseriesDetector & { restore(b: Uint8Array): void };
    expect(() => d.restore(other.checkpoint())).toThrow(DetectorError);
  });
});

describe('flat-lined sensors', () => {
  for (const [name, make] of detectors.filter(([n]) => n !== 'online-ar')) {
    it(`${name}: a series stuck at one value scores and is flagged stuck`, () => {
      const d = make();
      d.addSeries();
      const { scores, status } = run(
        d,
        series(ONSET + 100, (_, __, previous) => previous),
      );
      expect(maxAbs(scores, ONSET, ONSET + 40)).toBeGreaterThanOrEqual(d.threshold);
      expect(Array.from(status.subarray(ONSET)).includes(POINT_STATUS.stuck)).toBe(true);
      expect(d.stats().stuckPoints).toBeGreaterThan(0);
    });
  }

  it('a series that never moved is not called stuck', () => {
    const d = createTimeseriesDetector({ type: 'ensemble' });
    d.addSeries();
    const { scores, status } = run(d, new Float64Array(ONSET).fill(42));
    expect(maxAbs(scores, 0, ONSET)).toBeLessThan(d.threshold);
    expect(Array.from(status).includes(POINT_STATUS.stuck)).toBe(false);
  });
});

describe('online-ar', () => {
  it('learns an AR(1) process: its one-step forecast approaches the innovation noise', () => {
    const g = noise(3);
    const n = 4000;
    const values = new Float64Array(n);
    for (let i = 1; i < n; i++) values[i] = 0.9 * values[i - 1]! + g();
    const d = new OnlineArDetector();
    d.addSeries();
    const idx = new Int32Array(n);
    const ts = Float64Array.from({ length: n }, (_, i) => T0 + i * STEP_MS);
    const detail = { expected: new Float64Array(n), scale: new Float64Array(n), status: new Uint8Array(n) };
    d.scoreBatch(idx, values, ts, new Float64Array(n), detail);
    let err = 0;
    for (let i = n - 1000; i < n; i++) err += Math.abs(values[i]! - detail.expected[i]!);
    // E|N(0, 1)| ≈ 0.80 is the best one-step error; predicting the mean would give ≈ 1.83.
    expect(err / 1000).toBeLessThan(0.95);
  });
});

describe('ensemble', () => {
  it('beats neither member on silence: both must warm up before it scores', () => {
    const d = new EnsembleDetector();
    d.addSeries();
    const { status } = run(d, series(150));
    expect(status[0]).toBe(POINT_STATUS.warmup);
    expect(status[149]).toBe(POINT_STATUS.scored);
  });
});

describe('ensemble member scores', () => {
  it('reports every member score per point, and the spike lifts the members that see it', () => {
    const d = new EnsembleDetector();
    d.addSeries();
    const values = series(ONSET + 10, (i, v) => (i === ONSET ? v + 25 : v));
    const n = values.length;
    const m = d.memberNames.length;
    expect(d.memberNames).toEqual(['seasonal profile', 'online AR', 'nearest-neighbour novelty', 'neural forecast']);
    const detail = {
      expected: new Float64Array(n),
      scale: new Float64Array(n),
      status: new Uint8Array(n),
      members: new Float64Array(n * m).fill(-1),
    };
    const scores = new Float64Array(n);
    d.scoreBatch(
      new Int32Array(n),
      values,
      Float64Array.from({ length: n }, (_, i) => T0 + i * STEP_MS),
      scores,
      detail,
    );
    const at = (i: number) => Array.from(detail.members.subarray(i * m, (i + 1) * m));
    // Every point got its members written (NaN only while a member warms up), all on one [0, 1] scale.
    expect(detail.members.includes(-1)).toBe(false);
    expect(at(ONSET - 1).every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(Math.max(...at(ONSET - 1))).toBeLessThan(d.threshold);
    expect(Math.abs(scores[ONSET]!)).toBeGreaterThanOrEqual(d.threshold);
    // A 25σ spike: the forecast members see it; the combined score came from at least one of them.
    expect(at(ONSET)[0]).toBeGreaterThanOrEqual(d.threshold);
    expect(at(ONSET)[1]).toBeGreaterThanOrEqual(d.threshold);
  });

  it('refuses a members array too short for the batch', () => {
    const d = new EnsembleDetector();
    d.addSeries();
    const detail = { expected: new Float64Array(2), scale: new Float64Array(2), status: new Uint8Array(2), members: new Float64Array(3) };
    expect(() =>
      d.scoreBatch(new Int32Array(2), Float64Array.of(1, 2), Float64Array.of(T0, T0 + STEP_MS), new Float64Array(2), detail),
    ).toThrow(/expected detail.members to hold 4 scores for each of 2 points; got 3/);
  });
});

describe('ensemble alarm-rate discount', () => {
  /** A spike of a new, random height every 150 points: a series that alarms far more than 1 in 1,000. */
  function restless(length: number): Float64Array {
    const g = noise(11);
    const values = series(length);
    for (let i = 300; i < length; i += 150) values[i] = values[i]! + 15 + 10 * Math.abs(g());
    return values;
  }

  function outcomes(d: EnsembleDetector, values: Float64Array): Float64Array {
    d.addSeries();
    const raw = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) {
      d.acceptOne(0, values[i]!, T0 + i * STEP_MS);
      raw[i] = d.outcome.raw;
    }
    return raw;
  }

  it('discounts a series that alarms often, and leaves a quiet one alone', () => {
    const values = restless(ONSET + 600);
    const plain = outcomes(new EnsembleDetector(parseTimeseriesDetectorConfig({ type: 'ensemble', expectedAlarmRate: 0 })), values);
    const discounted = outcomes(new EnsembleDetector(), values);
    let lower = 0;
    for (let i = ONSET; i < values.length; i++) if (discounted[i]! < plain[i]! - 1e-9) lower++;
    expect(lower).toBeGreaterThan(100);
    for (let i = ONSET; i < values.length; i++) expect(discounted[i]!).toBeLessThanOrEqual(plain[i]! + 1e-12);

    const quiet = series(ONSET + 50, (i, v) => (i === ONSET ? v + 15 : v));
    const a = outcomes(new EnsembleDetector(parseTimeseriesDetectorConfig({ type: 'ensemble', expectedAlarmRate: 0 })), quiet);
    const b = outcomes(new EnsembleDetector(), quiet);
    expect(b[ONSET]).toBeCloseTo(a[ONSET]!, 6);
  });

  it('scales down an alarm no more severe than the series has made before (familiar alarms), and only such', () => {
    const values = restless(ONSET);
    const config = (extra: object) => parseTimeseriesDetectorConfig({ type: 'ensemble', expectedAlarmRate: 0, ...extra });
    const unfiltered = outcomes(new EnsembleDetector(config({ familiarAlarmEpisodes: 0 })), values);
    // Judged from the second episode on, so that this short series has something to judge.
    const filtered = outcomes(new EnsembleDetector(config({ familiarAlarmEpisodes: 1 })), values);
    let scaled = 0;
    for (let i = 0; i < values.length; i++) {
      if (Object.is(filtered[i], unfiltered[i])) continue;
      // Only alarm points change, and only by the refractory's factor.
      expect(unfiltered[i]!).toBeGreaterThanOrEqual(0.5);
      expect(filtered[i]).toBeCloseTo(unfiltered[i]! * 0.25, 12);
      scaled++;
    }
    expect(scaled).toBeGreaterThan(0);
    // The first episode (the spike at 300) has nothing to be compared with.
    for (let i = 0; i < 450; i++) expect(filtered[i]).toBe(unfiltered[i]);
  });
});

describe('config', () => {
  it('fills defaults per type', () => {
    expect(parseTimeseriesDetectorConfig({ type: 'ensemble' })).toMatchObject({
      type: 'ensemble',
      threshold: 0.5,
      seasonal: { type: 'seasonal-robust' },
    });
    expect(parseTimeseriesDetectorConfig({ type: 'online-ar', lags: 4 })).toMatchObject({ lags: 4, forgetting: 0.999 });
  });

  it('rejects unknown keys, also inside a member, saying what was expected', () => {
    expect(() => parseTimeseriesDetectorConfig({ type: 'seasonal-robust', windowSize: 10 })).toThrow(
      /unknown key 'windowSize' \(expected one of .*maxBinsPerDay/,
    );
    expect(() => parseTimeseriesDetectorConfig({ type: 'ensemble', learned: { lag: 3 } })).toThrow(/unknown key 'learned\.lag'/);
    expect(() => parseTimeseriesDetectorConfig({ type: 'ensemble', seasonal: 5 })).toThrow(/'seasonal': expected an object/);
    expect(() => parseTimeseriesDetectorConfig({ type: 'ensemble', seasonal: { type: 'online-ar' } })).toThrow(
      /'seasonal\.type': expected seasonal-robust/,
    );
  });

  it('rejects out-of-range and non-numeric values', () => {
    expect(() => parseTimeseriesDetectorConfig({ type: 'online-ar', forgetting: 1.5, lags: 2.5 })).toThrow(
      /'forgetting': expected 0\.5…1; got 1\.5.*'lags': expected a whole number/,
    );
    expect(() => parseTimeseriesDetectorConfig({ type: 'ensemble', maxBlend: 'max' })).toThrow(/'maxBlend': expected a number/);
  });

  it('builds each type through the registry', () => {
    expect(createTimeseriesDetector({ type: 'seasonal-robust' })).toBeInstanceOf(SeasonalRobustDetector);
    expect(createTimeseriesDetector({ type: 'online-ar' })).toBeInstanceOf(OnlineArDetector);
    expect(createTimeseriesDetector({ type: 'ensemble' })).toBeInstanceOf(EnsembleDetector);
  });
});

describe('novelty gate', () => {
  /** A daily cycle with a 3-point burst of +30 every 100 points, and from ONSET one burst of +90. */
  function bursty(): Float64Array {
    const g = noise(5);
    const out = new Float64Array(ONSET + 50);
    for (let i = 0; i < out.length; i++) {
      const burst = i % 100 < 3 ? 30 : 0;
      out[i] = 100 + 10 * Math.sin((2 * Math.PI * i) / 288) + burst + g() + (i >= ONSET + 1 && i < ONSET + 4 ? 60 : 0);
    }
    return out;
  }

  /** The combined score before the refractory step, point by point. */
  function rawScores(d: EnsembleDetector, values: Float64Array): Float64Array {
    d.addSeries();
    const raw = new Float64Array(values.length);
    const out = new Float64Array(1);
    for (let i = 0; i < values.length; i++) {
      d.scoreBatch(Int32Array.of(0), values.subarray(i, i + 1), Float64Array.of(T0 + i * STEP_MS), out);
      raw[i] = d.outcome.raw;
    }
    return raw;
  }

  it('keeps back part of a dynamics alarm on a burst the series has made before, not on a new one', () => {
    const values = bursty();
    // Without the alarm-rate discount, whose memory of past crossings would differ between the two.
    const gated = rawScores(new EnsembleDetector(parseTimeseriesDetectorConfig({ type: 'ensemble', expectedAlarmRate: 0 })), values);
    const open = rawScores(
      new EnsembleDetector(parseTimeseriesDetectorConfig({ type: 'ensemble', expectedAlarmRate: 0, noveltyGate: 0 })),
      values,
    );
    let familiarGated = 0;
    let familiarOpen = 0;
    for (let i = 1500; i < ONSET; i++) {
      if (i % 100 >= 6) continue;
      expect(gated[i]).toBeLessThanOrEqual(open[i]! + 1e-12);
      familiarGated += gated[i]!;
      familiarOpen += open[i]!;
    }
    expect(familiarGated).toBeLessThan(0.9 * familiarOpen);
    // The burst three times the usual size has no near neighbour: the gate is open and it alarms.
    expect(maxAbs(gated, ONSET, ONSET + 10)).toBeGreaterThanOrEqual(0.5);
  });
});
