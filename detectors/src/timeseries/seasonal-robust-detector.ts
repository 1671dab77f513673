import type { SeasonalRobustConfig } from './detector-config.js';
import { SEASONAL_ROBUST_DEFAULTS } from './detector-config.js';
import { LIKELIHOOD_STRIDE, likelihoodStep, likelihoodOptionsOf, calibratedProbability } from './likelihood.js';
import type { LikelihoodOptions } from './likelihood.js';
import { refractoryStep } from './refractory.js';
import { StreamingDetector } from './streaming-detector.js';

/**
 * Seasonal robust detector: the statistical member of the ensemble, and a plugin of its own.
 *
 * Each series keeps three cheap forecasts of its next value and learns online which one it
 * follows best (the smallest running mean absolute error wins):
 *
 *   - local level: an EWMA of recent values (series without a cycle, random walks);
 *   - daily profile: an EWMA per time-of-day bin, read by linear interpolation between the two
 *     bins around the point's time (cycles tied to the clock: traffic, load, temperature);
 *   - weekly profile: the same per hour-of-week bin (weekday/weekend patterns). It only competes
 *     once each of its bins has been visited, i.e. after a week.
 *
 * Bins are by wall-clock time, not by step count, so irregular sampling and gaps keep their
 * phase. The residual of the chosen forecast, over its mean absolute error (× √(π/2), which
 * makes it σ for normal noise), is the point's robust z. Two surprises come out of it:
 *
 *   - |z|, capped: a spike, a level shift (many large |z| in a row), growing variance;
 *   - flatness: −ln(|Δx| / typical |Δx| + ε): a series that stopped moving (a stuck or
 *     flat-lined sensor, a vanished cycle) is as surprising as one that jumped.
 *
 * Each surprise goes through the anomaly likelihood (likelihood.ts), the score is the larger of
 * the two, and a refractory step (refractory.ts) keeps one event from raising an alarm per point.
 * Scale updates are winsorised at `surpriseCap` σ so one outlier does not widen the baseline for
 * hundreds of points; every point still enters the level and profiles (a lasting shift is adopted).
 */

/** 1.1.0: each profile bin's visits sit beside its value (a 1.0.0 checkpoint is refused by identity). */
export const SEASONAL_ROBUST_VERSION = '1.1.0';

/** √(π/2): mean absolute deviation → σ for normal noise. */
const MAE_TO_SIGMA = 1.2533141373155003;
const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
/** Daily bins never exceed this (one per 5 minutes); the config may ask for fewer. */
export const MAX_BINS_PER_DAY = 288;
const MIN_BINS_PER_DAY = 24;
const WEEK_BINS_PER_DAY = 48;
const DAY_STRIDE = MAX_BINS_PER_DAY;
const WEEK_STRIDE = 7 * WEEK_BINS_PER_DAY;
/** Points whose spacing sets a series' bins per day. */
const STEP_PROBE_POINTS = 16;

/** Forecasts, in the order of their slots in `mae`. */
const LEVEL = 0;
const DAILY = 1;
const WEEKLY = 2;
const FORECASTS = 3;

/** Surprise signals, in the order of their likelihood slots. */
const SIGNALS = 2;

export function seasonalRobustFields() {
  return {
    level: { stride: 1, kind: 'f64', init: 0 },
    prev: { stride: 1, kind: 'f64', init: 0 },
    dayBins: { stride: 1, kind: 'f64', init: 0 },
    minDt: { stride: 1, kind: 'f64', init: Number.POSITIVE_INFINITY },
    profileTs: { stride: 1, kind: 'f64', init: Number.NaN },
    /** Per daily bin its EWMA and its visits, side by side: one cache line per point, not two. */
    daily: { stride: 2 * DAY_STRIDE, kind: 'f32', init: 0 },
    /** The same per hour-of-week bin. */
    weekly: { stride: 2 * WEEK_STRIDE, kind: 'f32', init: 0 },
    /** Running mean absolute error per forecast (NaN until it has one). */
    mae: { stride: FORECASTS, kind: 'f64', init: Number.NaN },
    /** Running mean |Δx| between consecutive points. */
    maeDiff: { stride: 1, kind: 'f64', init: Number.NaN },
    /** Exactly repeated values in a row ending at the last point. */
    run: { stride: 1, kind: 'f64', init: 0 },
    likelihood: { stride: SIGNALS * LIKELIHOOD_STRIDE, kind: 'f64', init: 0 },
    peak: { stride: 1, kind: 'f64', init: 0 },
  } as const;
}

export class SeasonalRobustDetector extends StreamingDetector<ReturnType<typeof seasonalRobustFields>> {
  readonly type = 'seasonal-robust';
  readonly version = SEASONAL_ROBUST_VERSION;
  readonly threshold: number;
  readonly config: Readonly<SeasonalRobustConfig>;
  private readonly likelihoodOptions: LikelihoodOptions;

  constructor(config: Readonly<SeasonalRobustConfig> = SEASONAL_ROBUST_DEFAULTS, initialCapacity = 64) {
    super(seasonalRobustFields(), config.maxGapMs, config.scaleFloor, initialCapacity);
    this.config = config;
    this.threshold = config.threshold;
    this.likelihoodOptions = likelihoodOptionsOf(config);
  }

  protected configJson(): string {
    return JSON.stringify(this.config);
  }

  probability(score: number): number {
    return calibratedProbability(score);
  }

  describe(): string {
    return `seasonal robust z (level, daily and weekly profiles, the best-fitting one per series) and flatness, through the anomaly likelihood (threshold ${this.threshold})`;
  }

  scorePoint(s: number, x: number, t: number): number {
    const c = this.config;
    const st = this.state.fields;
    const n = st.accepted[s]!;
    const prevArr = st.prev;
    const level = st.level;
    const mae = st.mae;
    const maeDiff = st.maeDiff;
    const run = st.run;
    const o = this.outcome;

    const bins = this.binsOf(s, t);
    if (n === 1) {
      level[s] = x;
      prevArr[s] = x;
      o.expected = Number.NaN;
      o.scale = Number.NaN;
      o.stuck = false;
      o.raw = Number.NaN;
      return Number.NaN;
    }

    // Forecasts made before seeing x.
    const fLevel = level[s]!;
    // Profile slots of this point's time of day and of week (−1 while the bins are unknown).
    const db = bins === 0 ? -1 : 2 * (s * DAY_STRIDE + dayBin(t, bins));
    const wb = bins === 0 ? -1 : 2 * (s * WEEK_STRIDE + weekBin(t, bins));
    const daily = st.daily;
    const weekly = st.weekly;
    const fDaily = db < 0 || daily[db + 1]! === 0 ? Number.NaN : daily[db]!;
    const fWeekly = wb < 0 || weekly[wb + 1]! === 0 ? Number.NaN : weekly[wb]!;
    const m = s * FORECASTS;
    let bestMae = mae[m + LEVEL]!;
    let expected = fLevel;
    if (fDaily === fDaily && mae[m + DAILY]! < bestMae) {
      bestMae = mae[m + DAILY]!;
      expected = fDaily;
    }
    if (fWeekly === fWeekly && mae[m + WEEKLY]! < bestMae) {
      bestMae = mae[m + WEEKLY]!;
      expected = fWeekly;
    }

    const floor = st.floor[s]!;
    const absLevel = fLevel < 0 ? -fLevel : fLevel;
    let minScale = c.scaleFloorRelative * absLevel;
    if (minScale < floor) minScale = floor;
    let scale = MAE_TO_SIGMA * (bestMae === bestMae ? bestMae : 0);
    if (scale < minScale) scale = minScale;
    const z = (x - expected) / scale;

    const prev = prevArr[s]!;
    const dx = x - prev < 0 ? prev - x : x - prev;
    let diffScale = MAE_TO_SIGMA * (maeDiff[s]! === maeDiff[s]! ? maeDiff[s] : 0);
    if (diffScale < minScale) diffScale = minScale;

    // Surprises.
    const cap = c.surpriseCap;
    const az = z < 0 ? -z : z;
    const pointSurprise = az < cap ? az : cap;
    let flatSurprise = -Math.log(dx / diffScale + c.flatEpsilon);
    if (flatSurprise < 0) flatSurprise = 0;

    const lik = st.likelihood;
    const base = s * SIGNALS * LIKELIHOOD_STRIDE;
    const l1 = likelihoodStep(lik, base, pointSurprise, this.likelihoodOptions);
    // Stuck: an exact repeat run long enough, in a series that used to move (its typical step
    // was above its floor). Only then does flatness count: on its own, a quiet spell in a noisy
    // series is common and alarming on it costs more false alarms than it finds.
    const r = x === prev ? run[s]! + 1 : 0;
    run[s] = r;
    const stuckRun = c.stuckPoints > 0 && r >= c.stuckPoints && diffScale > floor;
    const l2 = likelihoodStep(lik, base + LIKELIHOOD_STRIDE, flatSurprise, this.likelihoodOptions, stuckRun);
    o.stuck = stuckRun && l2 >= this.threshold;
    const raw = stuckRun && l2 > l1 ? l2 : l1;
    o.raw = raw;
    const score = refractoryStep(st.peak, s, raw, c.refractoryDecay, c.suppressedFactor, this.threshold);

    // Learn from x: forecast errors (winsorised), level, profiles, step size.
    const clip = cap * scale;
    const a = c.scaleAlpha;
    // Running averages start as plain means (1/n), then forget at rate a.
    const w = n - 1 < 1 / a ? 1 / (n - 1) : a;
    learnMae(mae, m + LEVEL, x - fLevel, clip, w);
    if (fDaily === fDaily) learnMae(mae, m + DAILY, x - fDaily, clip, w);
    if (fWeekly === fWeekly) learnMae(mae, m + WEEKLY, x - fWeekly, clip, w);
    learnMae(maeDiff, s, dx, cap * diffScale, w);
    level[s] = fLevel + c.levelAlpha * (x - fLevel);
    prevArr[s] = x;
    if (db >= 0) {
      learnProfile(daily, db, x, c.profileAlpha);
      learnProfile(weekly, wb, x, c.profileAlpha);
    }

    o.expected = expected;
    o.scale = scale;
    if (n <= c.warmupPoints) return Number.NaN;
    return z < 0 ? -score : score;
  }

  /**
   * Bins per day, fixed once per series from its sampling step (the smallest interval among
   * its first points): one bin per step up to `maxBinsPerDay`, so each bin holds "this time of
   * day" and a daily jump stays a jump instead of being smeared across a wide bin. 0 until known.
   */
  private binsOf(s: number, t: number): number {
    const st = this.state.fields;
    const bins = st.dayBins;
    let b = bins[s]!;
    if (b > 0) return b;
    const minDt = st.minDt;
    const last = st.profileTs[s]!;
    if (last === last && t - last < minDt[s]!) minDt[s] = t - last;
    st.profileTs[s] = t;
    if (st.accepted[s]! < STEP_PROBE_POINTS) return 0;
    const perDay = Math.round(DAY_MS / minDt[s]!);
    b = perDay > this.config.maxBinsPerDay ? this.config.maxBinsPerDay : perDay < MIN_BINS_PER_DAY ? MIN_BINS_PER_DAY : perDay;
    bins[s] = b;
    return b;
  }
}

/** Winsorised running mean absolute error: |e| is clipped at `clip` before it enters. */
function learnMae(mae: Float64Array, at: number, e: number, clip: number, w: number): void {
  let ae = e < 0 ? -e : e;
  if (ae > clip) ae = clip;
  const cur = mae[at]!;
  mae[at] = cur === cur ? cur + w * (ae - cur) : ae;
}

/** A profile bin's EWMA (at `at`, its visits at `at + 1`), a plain mean over its first 1/alpha visits. */
function learnProfile(profile: Float32Array, at: number, x: number, alpha: number): void {
  const n = profile[at + 1]! + 1;
  profile[at + 1] = n;
  const w = 1 / n > alpha ? 1 / n : alpha;
  profile[at] = profile[at]! + w * (x - profile[at]!);
}

function dayBin(t: number, bins: number): number {
  return Math.floor(((((t % DAY_MS) + DAY_MS) % DAY_MS) * bins) / DAY_MS);
}

/** Hour-of-week bin, at most 48 per day (memory: the weekly profile is 7× the daily one). */
function weekBin(t: number, dayBins: number): number {
  const perDay = dayBins < WEEK_BINS_PER_DAY ? dayBins : WEEK_BINS_PER_DAY;
  return Math.floor(((((t % WEEK_MS) + WEEK_MS) % WEEK_MS) * perDay) / DAY_MS);
}
