import { describe, expect, it } from 'vitest';
import { GENERATED_FAMILIES, SeededRandom, generateSeries, trainNeuralForecast } from './neural-forecast-training.js';

describe('neural forecast training', () => {
  it('learns to predict generated series better than "next = last value", deterministically', () => {
    const options = { samples: 30_000, trainSeries: 80, validationSeries: 24, seriesLength: 600 };
    const a = trainNeuralForecast(options);
    const b = trainNeuralForecast(options);
    expect(a.validationLoss).toBeLessThan(a.persistenceLoss);
    expect(Array.from(a.weights.hidden1.weights)).toEqual(Array.from(b.weights.hidden1.weights));
  });

  it('generates finite series of every family', () => {
    const rng = new SeededRandom(1);
    for (const family of GENERATED_FAMILIES) {
      const s = generateSeries(rng, family, 500);
      expect(s.every((v) => Number.isFinite(v))).toBe(true);
    }
  });
});
