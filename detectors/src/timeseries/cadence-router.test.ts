import { describe, expect, it } from 'vitest';
import { DetectorError } from '../errors.js';
import { CadenceRoutedDetector, ensembleToRobustZ, mapScore } from './cadence-router.js';
import { parseTimeseriesDetectorConfig } from './detector-config.js';
import { EnsembleDetector } from './ensemble-detector.js';
import { createTimeseriesDetector } from './registry.js';
import { RollingRobustDetector } from './rolling-robust-detector.js';
import { scorerOf, type ScoreDetail, type TimeseriesDetector } from './timeseries-detector.js';

const T0 = Date.UTC(2026, 0, 5);

/** A daily cycle around 100 with deterministic noise, one point every `stepMs`. */
function points(length: number, stepMs: number, spikeAt = -1): { values: Float64Array; ts: Float64Array } {
  const values = new Float64Array(length);
  const ts = new Float64Array(length);
  let seed = 11;
  for (let i = 0; i < length; i++) {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    ts[i] = T0 + i * stepMs;
    values[i] = 100 + 10 * Math.sin((2 * Math.PI * ts[i]!) / 86_400_000) + (seed / 2 ** 32 - 0.5) + (i === spikeAt ? 80 : 0);
  }
  return { values, ts };
}

/** Scores series `s` of `detector` one batch of `batch` points at a time; returns every output. */
function run(detector: TimeseriesDetector, s: number, p: { values: Float64Array; ts: Float64Array }, batch = 7) {
  const n = p.values.length;
  const out = new Float64Array(n);
  const m = detector.memberNames?.length ?? 0;
  const detail: Required<ScoreDetail> = {
    expected: new Float64Array(n),
    scale: new Float64Array(n),
    status: new Uint8Array(n),
    members: new Float64Array(n * m),
  };
  for (let from = 0; from < n; from += batch) {
    const to = Math.min(n, from + batch);
    detector.scoreBatch(new Int32Array(to - from).fill(s), p.values.subarray(from, to), p.ts.subarray(from, to), out.subarray(from, to), {
      expected: detail.expected.subarray(from, to),
      scale: detail.scale.subarray(from, to),
      status: detail.status.subarray(from, to),
      members: detail.members.subarray(from * m, to * m),
    });
  }
  return { out, detail };
}

describe('the cadence router', () => {
  it('scores a sensor reporting every second exactly as the robust z alone', () => {
    const router = new CadenceRoutedDetector();
    const alone = new RollingRobustDetector();
    const p = points(600, 1000, 400);
    const routed = run(router, router.addSeries(), p);
    const reference = run(alone, alone.addSeries(), p);
    expect(router.routeOf(0)).toBe('fast');
    expect(Array.from(routed.out)).toEqual(Array.from(reference.out));
    expect(Array.from(routed.detail.status)).toEqual(Array.from(reference.detail.status));
    expect(routed.out[400]!).toBeGreaterThanOrEqual(router.threshold);
    expect(router.stats()).toEqual(alone.stats());
    // Fast series get no ensemble state at all.
    expect(router.slow.seriesCount).toBe(0);
    expect(scorerOf(router, 0).type).toBe('rolling-robust-z');
  });

  it('hands a sensor reporting every 5 minutes to the ensemble, which then scores it as it would alone', () => {
    const router = new CadenceRoutedDetector();
    const alone = new EnsembleDetector();
    const p = points(1500, 300_000, 1200);
    const routed = run(router, router.addSeries(), p);
    const reference = run(alone, alone.addSeries(), p);
    expect(router.routeOf(0)).toBe('slow');
    // The ensemble saw the readings kept while the cadence was learnt: from then on the two agree,
    // the ensemble's scores carried onto the robust z's scale.
    const after = (a: Float64Array) => Array.from(a.subarray(9));
    expect(after(routed.out)).toEqual(after(reference.out).map((x) => mapScore(router.scoreMap, x)));
    expect(after(routed.detail.expected)).toEqual(after(reference.detail.expected));
    expect(Array.from(routed.detail.members.subarray(9 * router.memberNames.length))).toEqual(
      Array.from(reference.detail.members.subarray(9 * router.memberNames.length)),
    );
    expect(Math.abs(routed.out[1200]!)).toBeGreaterThanOrEqual(router.threshold);
    expect(reference.out[1200]!).toBeGreaterThanOrEqual(alone.threshold);
    const scorer = scorerOf(router, 0);
    expect(scorer.type).toBe('ensemble');
    expect(scorer.nativeScore(routed.out[1200]!)).toBeCloseTo(reference.out[1200]!, 9);
    expect(scorer.probability(scorer.nativeScore(routed.out[1200]!))).toBe(alone.probability(reference.out[1200]!));
    expect(router.stats().pointsScored + router.stats().pointsWarmingUp).toBe(p.values.length);
  });

  it('maps the ensemble threshold and warning-level lines onto the robust z ones, monotonically', () => {
    const map = ensembleToRobustZ(0.5, 5);
    expect(map).toEqual({ from: [0, 0.5, 0.8, 0.95, 0.995], to: [0, 5, 8, 12, 20] });
    for (const [x, y] of [
      [0.5, 5],
      [0.8, 8],
      [0.95, 12],
      [0.995, 20],
      [-0.8, -8],
    ] as const) {
      expect(mapScore(map, x)).toBeCloseTo(y, 12);
      expect(mapScore(map, y, true)).toBeCloseTo(x, 12);
    }
    let last = -Infinity;
    for (let x = 0; x <= 1.2; x += 0.001) {
      expect(mapScore(map, x)).toBeGreaterThan(last);
      last = mapScore(map, x);
    }
    // A threshold moved above a line drops that line rather than folding the map.
    expect(ensembleToRobustZ(0.9, 5)).toEqual({ from: [0, 0.9, 0.95, 0.995], to: [0, 5, 12, 20] });
  });

  it('keeps routes and both routes\u2019 state through a checkpoint, and refuses another config', () => {
    const router = new CadenceRoutedDetector();
    const fastSeries = router.addSeries();
    const slowSeries = router.addSeries();
    const fastPoints = points(200, 1000);
    const slowPoints = points(300, 300_000);
    run(router, fastSeries, fastPoints);
    run(router, slowSeries, slowPoints);
    // A fresh router's own checkpoint (no series yet) restores, as a worker's first start does.
    const copy = new CadenceRoutedDetector();
    copy.restore(copy.checkpoint());
    copy.restore(router.checkpoint());
    expect([copy.routeOf(0), copy.routeOf(1)]).toEqual(['fast', 'slow']);
    const next = points(201, 1000);
    const a = run(router, fastSeries, { values: next.values.subarray(200), ts: next.ts.subarray(200) });
    const b = run(copy, fastSeries, { values: next.values.subarray(200), ts: next.ts.subarray(200) });
    expect(b.out[0]).toBe(a.out[0]);
    const other = createTimeseriesDetector({ type: 'by-cadence', slowFromIntervalMs: 60_000 });
    expect(() => other.restore(router.checkpoint())).toThrow(DetectorError);
    expect(other.seriesCount).toBe(0);
  });

  it('restores a checkpoint of more series than a call can take as arguments', () => {
    // 130,000 series: past V8's limit for spreading an array into Math.max (≈ 125,000 here).
    const config = parseTimeseriesDetectorConfig({ type: 'by-cadence', fast: { windowSize: 8, warmupPoints: 3 } });
    const router = createTimeseriesDetector(config);
    for (let s = 0; s < 130_000; s++) router.addSeries();
    const copy = createTimeseriesDetector(config);
    copy.restore(router.checkpoint());
    expect(copy.seriesCount).toBe(130_000);
  });

  it('learns the cadence again after a reset, and skips readings out of time order without counting them as intervals', () => {
    const router = new CadenceRoutedDetector();
    const s = router.addSeries();
    const slowPoints = points(20, 300_000);
    run(router, s, slowPoints);
    expect(router.routeOf(s)).toBe('slow');
    router.resetSeries(s);
    expect(router.routeOf(s)).toBe('undecided');
    const ts = new Float64Array([T0, T0 + 1000, T0 + 500, T0 + 2000, T0 + 3000, T0 + 4000, T0 + 5000, T0 + 6000, T0 + 7000, T0 + 8000]);
    run(router, s, { values: new Float64Array(ts.length).fill(5), ts }, 3);
    expect(router.routeOf(s)).toBe('fast');
    expect(router.stats().skippedOutOfOrder).toBe(1);
  });

  it('is configured by type, with each route checked as its own detector', () => {
    expect(parseTimeseriesDetectorConfig({ type: 'by-cadence', fast: { windowSize: 240 }, slow: { threshold: 0.6 } })).toMatchObject({
      fast: { type: 'rolling-robust-z', windowSize: 240 },
      slow: { type: 'ensemble', threshold: 0.6 },
    });
    expect(() => parseTimeseriesDetectorConfig({ type: 'by-cadence', fast: { windowSize: 2 } })).toThrow(/'fast': .*windowSize/);
    expect(() => parseTimeseriesDetectorConfig({ type: 'by-cadence', slow: { type: 'online-ar' } })).toThrow(
      /'slow.type': expected ensemble/,
    );
    expect(() => parseTimeseriesDetectorConfig({ type: 'by-cadence', cadenceSamples: 0 })).toThrow(/cadenceSamples/);
  });
});
