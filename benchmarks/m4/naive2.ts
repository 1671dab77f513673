import { seasonalAdjust } from '@cityops/forecaster';

/**
 * M4's Naive2 benchmark (the OWA reference): the last value of the seasonally adjusted series,
 * reseasonalised — seasonal adjustment by the organisers' test and classical multiplicative
 * indices (Makridakis, Spiliotis & Assimakopoulos, IJF 36(1), 2020, §2.4).
 */
export function naive2(y: ArrayLike<number>, m: number, h: number): Float64Array {
  const { adjusted, index } = seasonalAdjust(y, m);
  const n = y.length;
  const out = new Float64Array(h);
  for (let k = 1; k <= h; k++) out[k - 1] = adjusted[n - 1]! * index[(n - 1 + k) % index.length]!;
  return out;
}
