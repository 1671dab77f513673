/**
 * Seeded generators for the model tests: reproducible series with known structure, so a test can
 * say what a model must recover. Not exported from the package.
 */

export function gaussian(seed: number): () => number {
  let s = seed;
  const uniform = (): number => {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** ETS(A,A,A) simulated from its own state equations with the given parameters. */
export function simulateAaa(
  n: number,
  p: { alpha: number; beta: number; gamma: number; sigma: number; m: number; level: number; trend: number; amplitude: number },
  seed: number,
): Float64Array {
  const noise = gaussian(seed);
  const s = Float64Array.from({ length: p.m }, (_, i) => p.amplitude * Math.sin((2 * Math.PI * i) / p.m));
  let l = p.level;
  let b = p.trend;
  const y = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const e = p.sigma * noise();
    const phase = t % p.m;
    y[t] = l + b + s[phase]! + e;
    const lNew = l + b + p.alpha * e;
    b += p.beta * e;
    s[phase] = s[phase]! + p.gamma * e;
    l = lNew;
  }
  return y;
}

/** Noisy seasonal series with a level: level·(1 + a·sin) + σ·ε. */
export function seasonalSeries(n: number, m: number, seed: number, level = 100, amplitude = 0.2, sigma = 2): Float64Array {
  const noise = gaussian(seed);
  return Float64Array.from({ length: n }, (_, t) => level * (1 + amplitude * Math.sin((2 * Math.PI * t) / m)) + sigma * noise());
}
