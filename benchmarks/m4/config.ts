import type { EnsembleTrainOptions } from '@cityops/forecaster';

/**
 * One configuration per M4 frequency, fixed before looking at any test data and never per
 * series. Season lengths are M4's (Hourly 24; Weekly 1 — M4 treats weekly data as non-seasonal
 * for its benchmarks and its MASE). The global model reads two weeks of hours (both the daily and
 * the weekly cycle) or a year of weeks; its windows are taken every 8th hour (neighbouring hourly
 * windows are nearly the same) but every week.
 */
export const M4_FREQUENCIES = {
  Hourly: {
    prefix: 'H',
    train: { name: 'm4-hourly', seasonLength: 24, horizon: 48, global: { inputLength: 336, stride: 8, ridge: 1e-3, log: true } },
  },
  Weekly: {
    prefix: 'W',
    train: { name: 'm4-weekly', seasonLength: 1, horizon: 13, global: { inputLength: 52, stride: 1, ridge: 1e-3, log: true } },
  },
} as const satisfies Record<string, { prefix: string; train: EnsembleTrainOptions }>;

export type M4Frequency = keyof typeof M4_FREQUENCIES;

export function parseFrequency(value: string | undefined): M4Frequency {
  if (value === 'Hourly' || value === 'Weekly') return value;
  throw new Error(`expected --freq Hourly or Weekly; got ${String(value)}`);
}
