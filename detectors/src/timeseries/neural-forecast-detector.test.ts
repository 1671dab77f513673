import { describe, expect, it } from 'vitest';
import { parseTimeseriesDetectorConfig } from './detector-config.js';
import { NeuralForecastDetector } from './neural-forecast-detector.js';
import { SeededRandom, generateSeries } from './neural-forecast-training.js';

const STEP_MS = 300_000;
const T0 = Date.UTC(2026, 0, 5);

/** Generated series of a few families (seeds the network was not trained on), one per series index. */
function generated(series: number, length: number): Float64Array[] {
  const rng = new SeededRandom(777);
  const families = ['seasonal', 'ar', 'trend-seasonal', 'plateaus'] as const;
  return Array.from({ length: series }, (_, s) => generateSeries(rng, families[s % families.length]!, length));
}

/** Feeds every series one point per tick, one scoreBatch per tick, optionally with predictAhead after each (as the worker does). */
async function run(d: NeuralForecastDetector, data: readonly Float64Array[], batched: boolean): Promise<Float64Array[]> {
  for (let s = 0; s < data.length; s++) d.addSeries();
  const length = data[0]!.length;
  const idx = Int32Array.from(data, (_, s) => s);
  const values = new Float64Array(data.length);
  const ts = new Float64Array(data.length);
  const out = new Float64Array(data.length);
  const scores = data.map(() => new Float64Array(length));
  for (let t = 0; t < length; t++) {
    for (let s = 0; s < data.length; s++) values[s] = data[s]![t]!;
    ts.fill(T0 + t * STEP_MS);
    d.scoreBatch(idx, values, ts, out);
    for (let s = 0; s < data.length; s++) scores[s]![t] = out[s]!;
    if (batched) await d.predictAhead();
  }
  return scores;
}

describe('neural-forecast', () => {
  it('flags a burst injected into generated series, scoring it above everything before it', async () => {
    const data = generated(4, 1600);
    // Five points 10 typical steps (mean |Δx|) above the series, from point 1400 of every series.
    for (const x of data) {
      let step = 0;
      for (let t = 1; t < 1400; t++) step += Math.abs(x[t]! - x[t - 1]!);
      step /= 1399;
      for (let t = 1400; t < 1405; t++) x[t] = x[t]! + 10 * step;
    }
    const d = new NeuralForecastDetector(parseTimeseriesDetectorConfig({ type: 'neural-forecast' }));
    const scores = await run(d, data, false);
    for (const s of scores) {
      let before = 0;
      for (let t = 600; t < 1400; t++) before = Math.max(before, Math.abs(s[t]!));
      let after = 0;
      for (let t = 1400; t < 1410; t++) after = Math.max(after, Math.abs(s[t]!));
      expect(after).toBeGreaterThanOrEqual(d.threshold);
      expect(before).toBeLessThan(after);
    }
  });

  it('scores the same with predictions batched through ONNX Runtime as with the reference pass, one runtime call per tick', async () => {
    const data = generated(16, 400);
    const reference = new NeuralForecastDetector();
    const inline = await run(reference, data, false);
    const batchedDetector = new NeuralForecastDetector();
    await batchedDetector.open({ log: () => undefined });
    try {
      const batched = await run(batchedDetector, data, true);
      let worst = 0;
      for (let s = 0; s < data.length; s++) {
        for (let t = 0; t < 400; t++) {
          const a = inline[s]![t]!;
          const b = batched[s]![t]!;
          expect(Number.isNaN(a)).toBe(Number.isNaN(b));
          if (a === a) worst = Math.max(worst, Math.abs(a - b));
        }
      }
      expect(worst).toBeLessThan(1e-4);
      const counts = batchedDetector.predictionCounts();
      // Every point after the first full window used a batched prediction: 16 series × (400 − 24) points.
      expect(counts.batched).toBe(16 * (400 - 24));
      expect(counts.inline).toBe(0);
      expect(counts.runtimeCalls).toBe(400 - 23);
      expect(reference.predictionCounts().inline).toBe(16 * (400 - 24));
    } finally {
      await batchedDetector.close();
    }
  });

  it('uses the reference pass for a second point of a series in one batch (its batched prediction is for the first)', async () => {
    const data = generated(1, 200)[0]!;
    const d = new NeuralForecastDetector();
    await d.open({ log: () => undefined });
    try {
      d.addSeries();
      const ts = Float64Array.from({ length: 200 }, (_, i) => T0 + i * STEP_MS);
      const out = new Float64Array(200);
      d.scoreBatch(new Int32Array(100), data.subarray(0, 100), ts.subarray(0, 100), out);
      await d.predictAhead();
      d.scoreBatch(new Int32Array(2), data.subarray(100, 102), ts.subarray(100, 102), out);
      const counts = d.predictionCounts();
      expect(counts.batched).toBe(1);
      expect(counts.inline).toBe(100 - 24 + 1);
    } finally {
      await d.close();
    }
  });

  it('resumes from a checkpoint exactly as if it had not stopped', async () => {
    const data = generated(2, 600);
    const whole = await run(new NeuralForecastDetector(), data, false);
    const first = new NeuralForecastDetector();
    await run(
      first,
      data.map((x) => x.subarray(0, 300)),
      false,
    );
    const resumed = new NeuralForecastDetector();
    resumed.addSeries();
    resumed.addSeries();
    resumed.restore(first.checkpoint());
    const idx = Int32Array.from([0, 1]);
    const out = new Float64Array(2);
    for (let t = 300; t < 600; t++) {
      resumed.scoreBatch(idx, Float64Array.from([data[0]![t]!, data[1]![t]!]), new Float64Array(2).fill(T0 + t * STEP_MS), out);
      expect(out[0]).toBe(whole[0]![t]);
      expect(out[1]).toBe(whole[1]![t]);
    }
  });
});
