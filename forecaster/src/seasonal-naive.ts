import type { Indicator } from '@cityops/schemas';
import { ForecastError } from './errors.js';
import { normalQuantile } from './normal.js';

/**
 * Seasonal-naive forecasts with empirical prediction intervals, batched over many indicators.
 *
 * The point forecast repeats the last observed season: ŷ(T+h) = y(T+h−m(k+1)), k = ⌊(h−1)/m⌋
 * (Hyndman & Athanasopoulos, Forecasting: Principles and Practice, 3rd ed., §5.2). It is the
 * benchmark every later model must beat (M4 scores methods against it), cheap enough to run
 * for every indicator on every tick, and exact on a purely seasonal series.
 *
 * The interval comes from the model's own one-season-back errors, the residuals
 * e(t) = y(t) − y(t−m): their empirical 2.5% and 97.5% quantiles, widened by √(k+1) for
 * horizons k whole seasons out — the seasonal-naive σ_h = σ̂·√(k+1) of FPP3 §5.5, applied to
 * quantiles instead of a normal σ so skewed errors stay skewed. The quantiles are the order
 * statistics of rank ⌊(n+1)·α/2⌋ and ⌈(n+1)·(1−α/2)⌉, the split-conformal choice (Vovk et al.
 * 2005; Lei et al. 2018) that covers at least 1−α in finite samples when errors are
 * exchangeable; plain sample quantiles under-cover with few residuals (about 91% from 50).
 * With too few residuals for those ranks, a normal interval from their root mean square.
 *
 * With less than a season of history (plus two points) it falls back to naive, ŷ(T+h) = y(T)
 * with errors y(t) − y(t−1) widened by √h (the random-walk σ_h = σ̂·√h).
 *
 * State is struct-of-arrays: one ring of the last `historyCapacity` values per indicator, in
 * one Float64Array. Quantiles use quickselect (O(n)) on a scratch copy, never a full sort.
 */

export type Frequency = Indicator['frequency'];

/** Season length in observations per frequency: the conventional M4 choices, hourly per day… */
export const SEASON_LENGTH_BY_FREQUENCY: Readonly<Record<Frequency, number>> = {
  /** An hour of minutes: intraday markets repeat within the hour more reliably than across days. */
  minute: 60,
  hour: 24,
  day: 7,
  week: 52,
  month: 12,
};

/** Nominal step per frequency; a month is the mean Gregorian month (30.436875 days). */
export const STEP_MS_BY_FREQUENCY: Readonly<Record<Frequency, number>> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
  month: 2_629_746_000,
};

/** How one indicator's forecast was made, in `ForecastOutput.method`. */
export const FORECAST_METHOD = {
  /** Fewer than three observations: no forecast (outputs are NaN). */
  none: 0,
  naive: 1,
  seasonalNaive: 2,
} as const;
export type ForecastMethod = (typeof FORECAST_METHOD)[keyof typeof FORECAST_METHOD];

export interface SeasonalNaiveOptions {
  /** Observations kept per indicator. Default 512; must hold at least two seasons. */
  historyCapacity: number;
  /** Central coverage of the prediction interval. Default 0.95. */
  coverage: number;
  /**
   * Residuals needed to use their empirical quantiles; with fewer, a normal interval. Default 40,
   * the fewest whose conformal ranks exist for 95% coverage.
   */
  minResidualsForEmpirical: number;
}

export const SEASONAL_NAIVE_DEFAULTS: Readonly<SeasonalNaiveOptions> = {
  historyCapacity: 512,
  coverage: 0.95,
  minResidualsForEmpirical: 40,
};

/** Outputs for `indices.length` indicators × `horizon` steps, row-major (indicator, then step). */
export interface ForecastOutput {
  mean: Float64Array;
  lower: Float64Array;
  upper: Float64Array;
  /** One FORECAST_METHOD per indicator. */
  method: Uint8Array;
}

export class SeasonalNaiveForecaster {
  readonly options: Readonly<SeasonalNaiveOptions>;
  private readonly cap: number;
  private capacity: number;
  private indicators = 0;
  private ring: Float64Array;
  private count: Int32Array;
  private head: Int32Array;
  private season: Int32Array;
  private hist: Float64Array;
  private res: Float64Array;
  /** z of the normal fallback interval, e.g. 1.96 for 95%. */
  private readonly zCoverage: number;

  constructor(options: Partial<SeasonalNaiveOptions> = {}, initialCapacity = 64) {
    this.options = validateOptions({ ...SEASONAL_NAIVE_DEFAULTS, ...options });
    this.cap = this.options.historyCapacity;
    this.capacity = Math.max(1, initialCapacity);
    this.ring = new Float64Array(this.capacity * this.cap);
    this.count = new Int32Array(this.capacity);
    this.head = new Int32Array(this.capacity);
    this.season = new Int32Array(this.capacity);
    this.hist = new Float64Array(this.cap);
    this.res = new Float64Array(this.cap);
    this.zCoverage = normalQuantile((1 + this.options.coverage) / 2);
  }

  get indicatorCount(): number {
    return this.indicators;
  }

  /** Registers an indicator with its season length (1 = no seasonality) and returns its index. */
  addIndicator(seasonLength: number): number {
    this.checkSeason(seasonLength);
    if (this.indicators === this.capacity) this.grow(this.capacity * 2);
    const i = this.indicators++;
    this.season[i] = seasonLength;
    return i;
  }

  setSeasonLength(indicator: number, seasonLength: number): void {
    this.checkIndicator(indicator);
    this.checkSeason(seasonLength);
    this.season[indicator] = seasonLength;
  }

  seasonLength(indicator: number): number {
    this.checkIndicator(indicator);
    return this.season[indicator]!;
  }

  /** Observations held for an indicator (at most historyCapacity). */
  historyLength(indicator: number): number {
    this.checkIndicator(indicator);
    return this.count[indicator]!;
  }

  /** Appends one observation. The caller keeps time order; non-finite values are refused. */
  push(indicator: number, value: number): void {
    this.checkIndicator(indicator);
    if (!Number.isFinite(value)) {
      throw new ForecastError('invalid-argument', `expected a finite observation for indicator ${indicator}; got ${value}`);
    }
    const h = this.head[indicator]!;
    this.ring[indicator * this.cap + h] = value;
    this.head[indicator] = h + 1 === this.cap ? 0 : h + 1;
    if (this.count[indicator]! < this.cap) this.count[indicator] = this.count[indicator]! + 1;
  }

  /**
   * Forecasts `horizon` steps for each indicator in `indices`. Outputs for indicator j, step h
   * (1-based) are at [j·horizon + h − 1]; an indicator with too little history gets NaN and
   * method `none`.
   */
  forecastBatch(indices: Int32Array, horizon: number, out: ForecastOutput): void {
    if (!Number.isInteger(horizon) || horizon < 1) {
      throw new ForecastError('invalid-argument', `expected a whole horizon ≥ 1; got ${horizon}`);
    }
    const total = indices.length * horizon;
    if (out.mean.length < total || out.lower.length < total || out.upper.length < total || out.method.length < indices.length) {
      throw new ForecastError(
        'invalid-argument',
        `expected output arrays of at least ${total} values (${indices.length} indicators × ${horizon} steps)`,
      );
    }
    const cap = this.cap;
    const ring = this.ring;
    const hist = this.hist;
    const res = this.res;
    const coverage = this.options.coverage;
    const minEmpirical = this.options.minResidualsForEmpirical;
    const z = this.zCoverage;
    for (let j = 0; j < indices.length; j++) {
      const i = indices[j]!;
      this.checkIndicator(i);
      const n = this.count[i]!;
      const m = this.season[i]!;
      const row = j * horizon;
      if (n < 3) {
        out.method[j] = FORECAST_METHOD.none;
        out.mean.fill(Number.NaN, row, row + horizon);
        out.lower.fill(Number.NaN, row, row + horizon);
        out.upper.fill(Number.NaN, row, row + horizon);
        continue;
      }
      // History in time order: the oldest held value is at head − n (mod capacity).
      const base = i * cap;
      let p = this.head[i]! - n;
      if (p < 0) p += cap;
      for (let t = 0; t < n; t++) {
        hist[t] = ring[base + p]!;
        p = p + 1 === cap ? 0 : p + 1;
      }
      // Seasonal needs two residuals one season back; otherwise naive (lag 1).
      const seasonal = m > 1 && n >= m + 2;
      const lag = seasonal ? m : 1;
      const r = n - lag;
      for (let t = 0; t < r; t++) res[t] = hist[t + lag]! - hist[t]!;
      let qLo: number;
      let qHi: number;
      const loRank = Math.floor(((r + 1) * (1 - coverage)) / 2);
      const hiRank = Math.ceil(((r + 1) * (1 + coverage)) / 2);
      if (r >= minEmpirical && loRank >= 1 && hiRank <= r) {
        qLo = orderStatisticInPlace(res, r, loRank);
        qHi = orderStatisticInPlace(res, r, hiRank);
      } else {
        let ss = 0;
        for (let t = 0; t < r; t++) ss += res[t]! * res[t]!;
        const rms = Math.sqrt(ss / r);
        qLo = -z * rms;
        qHi = z * rms;
      }
      out.method[j] = seasonal ? FORECAST_METHOD.seasonalNaive : FORECAST_METHOD.naive;
      for (let h = 1; h <= horizon; h++) {
        let mean: number;
        let widen: number;
        if (seasonal) {
          const k = Math.floor((h - 1) / m);
          mean = hist[n - m + ((h - 1) % m)]!;
          widen = Math.sqrt(k + 1);
        } else {
          mean = hist[n - 1]!;
          widen = Math.sqrt(h);
        }
        out.mean[row + h - 1] = mean;
        out.lower[row + h - 1] = mean + qLo * widen;
        out.upper[row + h - 1] = mean + qHi * widen;
      }
    }
  }

  private checkIndicator(indicator: number): void {
    if (!(indicator >= 0 && indicator < this.indicators) || !Number.isInteger(indicator)) {
      throw new ForecastError(
        'invalid-argument',
        `expected an indicator index 0…${this.indicators - 1} (from addIndicator); got ${indicator}`,
      );
    }
  }

  private checkSeason(m: number): void {
    // Two seasons in the ring: one to repeat, one (plus two points) to measure its errors.
    const max = Math.floor((this.cap - 2) / 2);
    if (!Number.isInteger(m) || m < 1 || m > max) {
      throw new ForecastError(
        'invalid-argument',
        `expected a season length 1…${max} (historyCapacity ${this.cap} holds two seasons); got ${m}`,
      );
    }
  }

  private grow(capacity: number): void {
    const ring = new Float64Array(capacity * this.cap);
    ring.set(this.ring);
    this.ring = ring;
    const grow32 = (a: Int32Array): Int32Array => {
      const next = new Int32Array(capacity);
      next.set(a);
      return next;
    };
    this.count = grow32(this.count);
    this.head = grow32(this.head);
    this.season = grow32(this.season);
    this.capacity = capacity;
  }
}

function validateOptions(o: SeasonalNaiveOptions): SeasonalNaiveOptions {
  const problems: string[] = [];
  if (!Number.isInteger(o.historyCapacity) || o.historyCapacity < 8 || o.historyCapacity > 1_000_000) {
    problems.push(`'historyCapacity': expected a whole number 8…1000000; got ${o.historyCapacity}`);
  }
  if (!(o.coverage > 0 && o.coverage < 1)) problems.push(`'coverage': expected a fraction strictly between 0 and 1; got ${o.coverage}`);
  if (!Number.isInteger(o.minResidualsForEmpirical) || o.minResidualsForEmpirical < 2) {
    problems.push(`'minResidualsForEmpirical': expected a whole number ≥ 2; got ${o.minResidualsForEmpirical}`);
  }
  if (problems.length > 0) throw new ForecastError('invalid-config', `invalid seasonal-naive options: ${problems.join('; ')}`);
  return o;
}

/**
 * The rank-th smallest (1-based) of the first n values of `a`, reordering them: quickselect,
 * O(n) expected, no full sort.
 */
export function orderStatisticInPlace(a: Float64Array, n: number, rank: number): number {
  if (!(rank >= 1 && rank <= n) || !Number.isInteger(rank)) {
    throw new ForecastError('invalid-argument', `expected a rank 1…${n}; got ${rank}`);
  }
  return select(a, 0, n - 1, rank - 1);
}

/** Hoare-style quickselect: reorders a[left…right] so a[k] is its k-th smallest; returns it. */
function select(a: Float64Array, left: number, right: number, k: number): number {
  let l = left;
  let r = right;
  while (r > l) {
    // Median of three as the pivot keeps sorted and reverse-sorted input linear.
    const mid = (l + r) >>> 1;
    const x = a[l]!;
    const y = a[mid]!;
    const z = a[r]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = l;
    let j = r;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) r = j;
    else if (k >= i) l = i;
    else return a[k]!;
  }
  return a[k]!;
}
