import { describe, expect, it } from 'vitest';
import { DetectorError } from '../errors.js';
import { defaultNeuralForecastWeights } from './neural-forecast-detector.js';
import { forwardReference, parseNeuralForecastWeights, weightsToJson } from './neural-forecast-model.js';
import { openNeuralForecastRuntime } from './neural-forecast-runtime.js';
import { SeededRandom } from './neural-forecast-training.js';

function randomRows(rows: number, window: number, seed: number): Float32Array {
  const rng = new SeededRandom(seed);
  const input = new Float32Array(rows * window);
  for (let i = 0; i < input.length; i++) input[i] = 2 * rng.gaussian();
  return input;
}

describe('neural forecast network', () => {
  it('gives the same predictions in a real ONNX Runtime session as the TypeScript reference pass, for any batch size', async () => {
    const weights = defaultNeuralForecastWeights();
    const lines: string[] = [];
    const runtime = await openNeuralForecastRuntime(weights, { log: (l) => lines.push(l) });
    try {
      expect(runtime.provider).toBe('cpu');
      expect(lines.join('\n')).toContain("execution provider 'cpu'");
      for (const rows of [1, 7, 500]) {
        const input = randomRows(rows, weights.window, rows);
        const fromOrt = await runtime.run(input, rows);
        const reference = new Float64Array(rows);
        forwardReference(weights, input, rows, reference);
        expect(fromOrt.length).toBe(rows);
        let worst = 0;
        for (let r = 0; r < rows; r++) worst = Math.max(worst, Math.abs(fromOrt[r]! - reference[r]!));
        expect(worst).toBeLessThan(1e-4);
        // Not a constant: the rows differ, and so do their predictions.
        if (rows > 1) expect(new Set(Array.from(fromOrt, (v) => v.toFixed(3))).size).toBeGreaterThan(1);
      }
    } finally {
      await runtime.release();
    }
  });

  it('falls back to cpu with a log line when the configured execution provider cannot start', async () => {
    const lines: string[] = [];
    const runtime = await openNeuralForecastRuntime(defaultNeuralForecastWeights(), {
      executionProvider: 'no-such-provider',
      log: (l) => lines.push(l),
    });
    try {
      expect(runtime.provider).toBe('cpu');
      expect(lines[0]).toMatch(/execution provider 'no-such-provider' could not start .*; falling back to cpu/);
    } finally {
      await runtime.release();
    }
  });

  it('round-trips its weights file exactly and rejects a file of the wrong shape, saying what it expected', () => {
    const weights = defaultNeuralForecastWeights();
    const again = parseNeuralForecastWeights(JSON.parse(weightsToJson(weights)));
    expect(Array.from(again.hidden1.weights)).toEqual(Array.from(weights.hidden1.weights));
    expect(Array.from(again.skip)).toEqual(Array.from(weights.skip));
    const broken = JSON.parse(weightsToJson(weights)) as Record<string, { weights: number[] }>;
    broken['hidden2']!.weights.pop();
    expect(() => parseNeuralForecastWeights(broken, 'broken.json')).toThrow(DetectorError);
    expect(() => parseNeuralForecastWeights(broken, 'broken.json')).toThrow(/broken\.json: expected .*'hidden2': expected 32×32 weights/);
  });
});
