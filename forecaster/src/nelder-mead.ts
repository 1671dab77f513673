/**
 * Nelder–Mead simplex minimisation (Nelder & Mead 1965, with the standard coefficients
 * reflection 1, expansion 2, contraction ½, shrink ½) — what R's optim() uses by default and so
 * what the forecast package's ets() fits with. Derivative-free: the ETS likelihood is cheap to
 * evaluate but has no convenient gradient. Callers map bounded parameters onto the real line.
 */

export interface NelderMeadOptions {
  /** Stop after this many function evaluations. Default 400. */
  maxEvaluations: number;
  /** Stop when the simplex's values differ by less than this (relative). Default 1e-8. */
  relativeTolerance: number;
  /** Initial simplex edge along each coordinate. Default 0.5. */
  step: number;
}

export const NELDER_MEAD_DEFAULTS: Readonly<NelderMeadOptions> = { maxEvaluations: 400, relativeTolerance: 1e-8, step: 0.5 };

export interface Minimum {
  x: Float64Array;
  value: number;
  evaluations: number;
}

export function nelderMead(f: (x: Float64Array) => number, start: ArrayLike<number>, options: Partial<NelderMeadOptions> = {}): Minimum {
  const o = { ...NELDER_MEAD_DEFAULTS, ...options };
  const d = start.length;
  if (d === 0) {
    const x = new Float64Array(0);
    return { x, value: f(x), evaluations: 1 };
  }
  const points: Float64Array[] = [];
  const values = new Float64Array(d + 1);
  let evaluations = 0;
  const evaluate = (x: Float64Array): number => {
    evaluations++;
    const v = f(x);
    return Number.isNaN(v) ? Number.POSITIVE_INFINITY : v;
  };
  for (let i = 0; i <= d; i++) {
    const x = Float64Array.from(start);
    if (i > 0) x[i - 1] = x[i - 1]! + o.step;
    points.push(x);
    values[i] = evaluate(x);
  }
  const order = Array.from({ length: d + 1 }, (_, i) => i);
  const centroid = new Float64Array(d);
  const trial = new Float64Array(d);
  const trial2 = new Float64Array(d);
  const along = (to: Float64Array, coefficient: number, worst: Float64Array): void => {
    for (let k = 0; k < d; k++) to[k] = centroid[k]! + coefficient * (worst[k]! - centroid[k]!);
  };
  while (evaluations < o.maxEvaluations) {
    order.sort((a, b) => values[a]! - values[b]!);
    const best = order[0]!;
    const worst = order[d]!;
    const second = order[d - 1]!;
    const spread = Math.abs(values[worst]! - values[best]!);
    if (spread <= o.relativeTolerance * (Math.abs(values[best]!) + o.relativeTolerance)) break;
    centroid.fill(0);
    for (let i = 0; i < d; i++) {
      const p = points[order[i]!]!;
      for (let k = 0; k < d; k++) centroid[k] = centroid[k]! + p[k]! / d;
    }
    const pw = points[worst]!;
    along(trial, -1, pw);
    const vr = evaluate(trial);
    if (vr < values[best]!) {
      along(trial2, -2, pw);
      const ve = evaluate(trial2);
      if (ve < vr) {
        pw.set(trial2);
        values[worst] = ve;
      } else {
        pw.set(trial);
        values[worst] = vr;
      }
      continue;
    }
    if (vr < values[second]!) {
      pw.set(trial);
      values[worst] = vr;
      continue;
    }
    // Contraction: outside if the reflection beat the worst, inside otherwise.
    const outside = vr < values[worst]!;
    along(trial2, outside ? -0.5 : 0.5, pw);
    const vc = evaluate(trial2);
    if (vc < (outside ? vr : values[worst]!)) {
      pw.set(trial2);
      values[worst] = vc;
      continue;
    }
    const pb = points[best]!;
    for (let i = 1; i <= d; i++) {
      const p = points[order[i]!]!;
      for (let k = 0; k < d; k++) p[k] = pb[k]! + 0.5 * (p[k]! - pb[k]!);
      values[order[i]!] = evaluate(p);
    }
  }
  let bi = 0;
  for (let i = 1; i <= d; i++) if (values[i]! < values[bi]!) bi = i;
  return { x: points[bi]!, value: values[bi]!, evaluations };
}
