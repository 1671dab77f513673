import { describe, expect, it } from 'vitest';
import { DetectorError } from '../errors.js';
import { parseTimeseriesDetectorConfig } from './detector-config.js';
import { KnnDistanceDetector } from './knn-distance-detector.js';
import { createTimeseriesDetector } from './registry.js';

const STEP_MS = 300_000;
const T0 = Date.UTC(2026, 0, 5);

/** Deterministic bursty series: a daily cycle with unit noise and a recurring burst every 100 points. */
function bursty(length: number, seed = 3): Float64Array {
  let state = seed;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const burst = i % 100 < 3 ? 30 : 0;
    out[i] = 100 + 10 * Math.sin((2 * Math.PI * i) / 288) + burst + (uniform() - 0.5) * 2;
  }
  return out;
}

function score(d: KnnDistanceDetector, values: Float64Array, from = 0): Float64Array {
  const n = values.length - from;
  const out = new Float64Array(n);
  const ts = Float64Array.from({ length: n }, (_, i) => T0 + (from + i) * STEP_MS);
  d.scoreBatch(new Int32Array(n), values.subarray(from), ts, out);
  return out;
}

describe('knn-distance', () => {
  it.each([1, 4])('stays quiet on bursts the series has made before and rises on a new pattern (searchStride %i)', (searchStride) => {
    const values = bursty(3000);
    // A burst three times the usual size: a shape with no near neighbour in memory.
    for (let i = 2851; i < 2854; i++) values[i] = values[i]! + 90;
    const d = new KnnDistanceDetector(parseTimeseriesDetectorConfig({ type: 'knn-distance', searchStride }));
    d.addSeries();
    const s = score(d, values);
    let quiet = 0;
    for (let i = 1500; i < 2850; i++) quiet = Math.max(quiet, Math.abs(s[i]!));
    let alarm = 0;
    for (let i = 2851; i < 2860; i++) alarm = Math.max(alarm, Math.abs(s[i]!));
    expect(quiet).toBeLessThan(d.threshold);
    expect(alarm).toBeGreaterThanOrEqual(d.threshold);
  });

  it('resumes from a checkpoint exactly as if it had not stopped', () => {
    const values = bursty(1500);
    const whole = new KnnDistanceDetector();
    whole.addSeries();
    const expected = score(whole, values);
    const first = new KnnDistanceDetector();
    first.addSeries();
    score(first, values.subarray(0, 900));
    const resumed = new KnnDistanceDetector();
    resumed.restore(first.checkpoint());
    const rest = score(resumed, values, 900);
    expect(Array.from(rest)).toEqual(Array.from(expected.subarray(900)));
  });

  it('is registered and its config is validated', () => {
    expect(createTimeseriesDetector({ type: 'knn-distance' }).type).toBe('knn-distance');
    expect(() => parseTimeseriesDetectorConfig({ type: 'knn-distance', memory: 8 })).toThrow(DetectorError);
    expect(() => parseTimeseriesDetectorConfig({ type: 'knn-distance', searchStride: 0 })).toThrow(DetectorError);
    expect(() => parseTimeseriesDetectorConfig({ type: 'knn-distance', memory: 40, searchStride: 8 })).toThrow(
      /'searchStride': expected at most/,
    );
    expect(() => parseTimeseriesDetectorConfig({ type: 'ensemble', neighbour: { window: 0 } })).toThrow(DetectorError);
  });
});
