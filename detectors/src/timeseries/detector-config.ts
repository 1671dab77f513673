import { DetectorError } from '../errors.js';

/**
 * Detector configs: one interface per plugin `type`, a union over all of them, and a strict
 * parser that rejects unknown keys and out-of-range values with what was expected — a typo in
 * a config file must fail at start-up, not silently fall back to a default.
 */

/** Config of the rolling robust z-score detector (see rolling-robust-detector.ts). */
export interface RollingRobustZConfig {
  type: 'rolling-robust-z';
  /** Values in the rolling baseline window per series. Default 120. */
  windowSize: number;
  /**
   * Least time between two values that enter the window, in ms: a reading sooner after the last
   * one that entered is scored against the window but does not enter it. The window then spans
   * a time, not a count, wherever readings come faster than this: at one a second, 120 slots of
   * 5 s are the last 10 minutes, long enough that a jam or overload ramping up over 2–4 minutes
   * does not become its own baseline (as it did in a window of the last 120 seconds); at one a
   * minute or slower every reading enters. 0: every reading enters. Default 5000.
   */
  slotMs: number;
  /** Readings before a series is scored (each enters the window, slots or not). Default 30. */
  warmupPoints: number;
  /** Robust z at or above which a point is anomalous. Default 5. */
  threshold: number;
  /** Floor on the MAD in the series' unit, so a flat series does not explode. Default 1e-3. */
  madFloor: number;
  /** Floor on the MAD as a fraction of |median| (scale-free series). Default 1e-3. */
  madFloorRelative: number;
  /** A gap longer than this (ms) resets the series' baseline. Default 3,600,000 (1 h). */
  maxGapMs: number;
  /** Exactly repeated values in a row that count as a stuck sensor; 0 disables. Default 60. */
  stuckPoints: number;
  /**
   * A run is called stuck only if the series' MAD before the run was at least this many times
   * its floor (the sensor's resolution): a sensor whose noise is below its resolution repeats
   * values legitimately, and one that always reads the same value is not "stuck". Default 1.
   */
  stuckMinScaleRatio: number;
  /** Robust z at which the anomaly probability is 0.5. Default 3 (the classic 3-sigma rule). */
  probabilityMidpoint: number;
  /** Steepness of the logistic from robust z to probability, per unit of z. Default 1.5. */
  probabilitySlope: number;
}

/** Settings shared by the streaming detectors' anomaly likelihood and refractory step. */
export interface LikelihoodConfig {
  /** EWMA weight of the short average of surprise (0.2 ≈ the last 10 points). Default 0.2. */
  shortAlpha: number;
  /** Slowest EWMA weight of the surprise's long-run mean and variance (≈ 1/history). Default 0.0003. */
  longAlpha: number;
  /** Tail decades that map to score 1 (log10 tail / −decades). Default 10. */
  tailDecades: number;
  /** Floor on the surprise's long-run spread, as a fraction of its mean. Default 0.1. */
  minRelativeSpread: number;
  /** Per-point decay of the last reported peak score (refractory.ts). Default 0.995. */
  refractoryDecay: number;
  /** Factor on scores below the decayed peak. Default 0.25. */
  suppressedFactor: number;
}

/** Config of the seasonal robust detector (see seasonal-robust-detector.ts). */
export interface SeasonalRobustConfig extends LikelihoodConfig {
  type: 'seasonal-robust';
  /**
   * Most time-of-day bins of the daily profile; a series gets one bin per sampling step up to
   * this (5-minute data: 288, hourly: 24). Default 288.
   */
  maxBinsPerDay: number;
  /** Smallest per-visit EWMA weight of a profile bin. Default 0.1. */
  profileAlpha: number;
  /** EWMA weight of the local level. Default 0.1. */
  levelAlpha: number;
  /** Slowest EWMA weight of each forecast's mean absolute error. Default 0.01. */
  scaleAlpha: number;
  /** Points a series needs before it is scored. Default 100. */
  warmupPoints: number;
  /** Robust z (and flatness) at which a point's surprise is capped and scale updates winsorised. Default 8. */
  surpriseCap: number;
  /** ε in the flatness surprise −ln(|Δx| / typical |Δx| + ε). Default 0.01. */
  flatEpsilon: number;
  /** Floor on the scale in the series' unit (the sensor's resolution; setScaleFloor overrides). Default 1e-6. */
  scaleFloor: number;
  /** Floor on the scale as a fraction of |level|. Default 1e-4. */
  scaleFloorRelative: number;
  /** Exact repeats in a row after which an unusual flat run is flagged stuck; 0 disables. Default 12. */
  stuckPoints: number;
  /** A gap longer than this (ms) restarts the series. Default 2,592,000,000 (30 days). */
  maxGapMs: number;
  /** Score at or above which a point is anomalous. Default 0.5. */
  threshold: number;
}

/** Config of the online autoregressive detector (see online-ar-detector.ts). */
export interface OnlineArConfig extends LikelihoodConfig {
  type: 'online-ar';
  /** Past values the model sees. Default 8. */
  lags: number;
  /** RLS forgetting factor λ; memory ≈ 1 / (1 − λ) points. Default 0.999. */
  forgetting: number;
  /** Initial diagonal of the RLS inverse correlation matrix (large = learn fast at first). Default 10. */
  initialCovariance: number;
  /** Slowest EWMA weight of the normalising mean and spread. Default 0.001. */
  normAlpha: number;
  /** Slowest EWMA weight of the prediction's mean absolute error. Default 0.01. */
  scaleAlpha: number;
  /** Floor on the error scale in normalised units (a perfectly learnt series). Default 0.01. */
  minErrorScale: number;
  /** EWMA weight of the normalised time-of-day profile per visit. Default 0.05. */
  profileAlpha: number;
  /** Error z at which the surprise is capped and the fit winsorised. Default 8. */
  surpriseCap: number;
  /** Points a series needs before it is scored. Default 100. */
  warmupPoints: number;
  /** Floor on the normalising spread in the series' unit (setScaleFloor overrides). Default 1e-6. */
  scaleFloor: number;
  /** A gap longer than this (ms) restarts the series. Default 2,592,000,000 (30 days). */
  maxGapMs: number;
  /** Score at or above which a point is anomalous. Default 0.5. */
  threshold: number;
}

/** Config of the nearest-neighbour distance detector (see knn-distance-detector.ts). */
export interface KnnDistanceConfig extends LikelihoodConfig {
  type: 'knn-distance';
  /** Values in the compared window (the pattern's length). Default 8. */
  window: number;
  /** Past points whose windows are searched for neighbours; cost per point ∝ memory · window. Default 1000. */
  memory: number;
  /** Nearest windows whose mean distance is the surprise. Default 3. */
  neighbours: number;
  /**
   * Compare every this-many-th past window only (newest first): cost per point ∝ memory · window /
   * searchStride. Default 4.
   */
  searchStride: number;
  /** Slowest EWMA weight of the normalising mean and spread. Default 0.001. */
  normAlpha: number;
  /** Distance (in normalised units) at which the surprise is capped. Default 50. */
  surpriseCap: number;
  /** Points a series needs before it is scored. Default 100. */
  warmupPoints: number;
  /** Floor on the normalising spread in the series' unit (setScaleFloor overrides). Default 1e-6. */
  scaleFloor: number;
  /** A gap longer than this (ms) restarts the series. Default 2,592,000,000 (30 days). */
  maxGapMs: number;
  /** Score at or above which a point is anomalous. Default 0.5. */
  threshold: number;
}

/** Config of the neural forecast detector, the learned member (see neural-forecast-detector.ts). */
export interface NeuralForecastConfig extends LikelihoodConfig {
  type: 'neural-forecast';
  /** Slowest EWMA weight of the series' long-run mean and spread (the error-scale floor's reference). Default 0.001. */
  normAlpha: number;
  /** Slowest EWMA weight of the prediction's mean absolute error. Default 0.01. */
  scaleAlpha: number;
  /** Floor on the error scale as a fraction of the series' long-run spread. Default 0.01. */
  minErrorScale: number;
  /** Error z at which the surprise is capped and the error scale's update winsorised. Default 8. */
  surpriseCap: number;
  /** Points a series needs before it is scored (at least the network's window). Default 100. */
  warmupPoints: number;
  /** Floor on the window's spread in the series' unit (setScaleFloor overrides). Default 1e-6. */
  scaleFloor: number;
  /** A gap longer than this (ms) restarts the series. Default 2,592,000,000 (30 days). */
  maxGapMs: number;
  /** Score at or above which a point is anomalous. Default 0.5. */
  threshold: number;
}

/**
 * Config of the ensemble (see ensemble-detector.ts): the three members' configs (partial, over
 * their defaults) and how their calibrated scores combine.
 */
export interface EnsembleConfig {
  type: 'ensemble';
  seasonal: SeasonalRobustConfig;
  learned: OnlineArConfig;
  neighbour: KnnDistanceConfig;
  neural: NeuralForecastConfig;
  /**
   * Weight of the neural forecast member in the forecast members' mean (the rest is shared by the
   * seasonal and AR members as `learnedWeight` says); it does not join their maximum. 0 leaves the
   * member out (it is then not run). Default 1/3 (an equal share of the three forecast members).
   */
  neuralWeight: number;
  /**
   * Share of the dynamics members' scores (online AR, neural) kept back while the neighbour member
   * finds the current shape familiar (its score below `noveltyGateReference`), in proportion: a
   * forecast error on a pattern the series has made before is less surprising. The seasonal member
   * is not gated. 0 disables. Default 0.5.
   */
  noveltyGate: number;
  /** Neighbour-member score at and above which the gate is fully open. Default 0.2. */
  noveltyGateReference: number;
  /** Weight of the learned member in the mean of the members' scores (0…1). Default 0.5. */
  learnedWeight: number;
  /** Blend between that mean (0) and the members' maximum (1). Default 0.5. */
  maxBlend: number;
  /** Per-point decay of the last reported peak (refractory.ts). Default 0.995. */
  refractoryDecay: number;
  /** Factor on scores below the decayed peak. Default 0.25. */
  suppressedFactor: number;
  /**
   * Alarm onsets per point a series may raise before its scores are discounted: a series alarming
   * r times this rate loses log10(r) / 10 of score (its alarms are r times less surprising than
   * the members' tails say). 0 disables. Default 0.001 (one onset per 1,000 points).
   */
  expectedAlarmRate: number;
  /** Slowest EWMA weight of a series' alarm-onset rate (≈ 1 / points remembered). Default 0.002. */
  alarmRateAlpha: number;
  /**
   * Alarm episodes a series must have had before its alarms are measured against them: from then
   * on, an alarm whose severity (distance from the seasonal expectation, in scales) is not above
   * the `familiarAlarmQuantile` of its last `familiarAlarmMemory` episodes' peaks is scaled down
   * by `suppressedFactor`. 0 disables. Default 12.
   */
  familiarAlarmEpisodes: number;
  /** Quantile of the remembered episode peaks an alarm must exceed once familiar. Default 0.5 (their median). */
  familiarAlarmQuantile: number;
  /** Alarm episodes remembered per series. Default 32. */
  familiarAlarmMemory: number;
  /** Score at or above which a point is anomalous. Default 0.5. */
  threshold: number;
}

/**
 * Config of the cadence router (see cadence-router.ts): each series is scored by `fast` or by
 * `slow`, chosen by how often it reports.
 */
export interface ByCadenceConfig {
  type: 'by-cadence';
  /**
   * Median interval between a series' readings at and above which `slow` scores it. Default
   * 120,000 (2 min): on the demo city replayed at one reading per 15 s the robust z finds more
   * incidents, at one per minute the two are even, at one per 5 min the ensemble finds 1.7 times
   * as many with a thirteenth of the false warnings (detectors/README.md).
   */
  slowFromIntervalMs: number;
  /** Intervals between readings a series' cadence is judged on; both detectors score it until then. Default 8. */
  cadenceSamples: number;
  /** The detector of series that report often. Default: rolling-robust-z with its defaults. */
  fast: RollingRobustZConfig;
  /** The detector of series that report seldom. Default: the ensemble with its defaults. */
  slow: EnsembleConfig;
}

/** Every detector plugin's config; the union grows as plugins are added. */
export type TimeseriesDetectorConfig =
  | RollingRobustZConfig
  | SeasonalRobustConfig
  | OnlineArConfig
  | KnnDistanceConfig
  | NeuralForecastConfig
  | EnsembleConfig
  | ByCadenceConfig;
export type TimeseriesDetectorType = TimeseriesDetectorConfig['type'];

export const ROLLING_ROBUST_Z_DEFAULTS: Readonly<RollingRobustZConfig> = {
  type: 'rolling-robust-z',
  windowSize: 120,
  slotMs: 5000,
  warmupPoints: 30,
  threshold: 5,
  madFloor: 1e-3,
  madFloorRelative: 1e-3,
  maxGapMs: 3_600_000,
  stuckPoints: 60,
  stuckMinScaleRatio: 1,
  probabilityMidpoint: 3,
  probabilitySlope: 1.5,
};

/** Inclusive numeric bounds of one key; `integer` keys must be whole numbers. */
interface Rule {
  min: number;
  max: number;
  integer: boolean;
}

const ROLLING_ROBUST_Z_RULES: Readonly<Record<Exclude<keyof RollingRobustZConfig, 'type'>, Rule>> = {
  windowSize: { min: 8, max: 4096, integer: true },
  slotMs: { min: 0, max: 86_400_000, integer: false },
  warmupPoints: { min: 3, max: 4096, integer: true },
  threshold: { min: 0.5, max: 1000, integer: false },
  madFloor: { min: Number.MIN_VALUE, max: Number.MAX_VALUE, integer: false },
  madFloorRelative: { min: 0, max: 1, integer: false },
  maxGapMs: { min: 1, max: Number.POSITIVE_INFINITY, integer: false },
  stuckPoints: { min: 0, max: 1_000_000, integer: true },
  stuckMinScaleRatio: { min: 0, max: 1e6, integer: false },
  probabilityMidpoint: { min: 0, max: 1000, integer: false },
  probabilitySlope: { min: Number.MIN_VALUE, max: 100, integer: false },
};

const LIKELIHOOD_DEFAULTS: Readonly<LikelihoodConfig> = {
  shortAlpha: 0.2,
  longAlpha: 0.0003,
  tailDecades: 10,
  minRelativeSpread: 0.1,
  refractoryDecay: 0.995,
  suppressedFactor: 0.25,
};

const LIKELIHOOD_RULES: Readonly<Record<keyof LikelihoodConfig, Rule>> = {
  shortAlpha: { min: 1e-4, max: 1, integer: false },
  longAlpha: { min: 1e-7, max: 1, integer: false },
  tailDecades: { min: 1, max: 300, integer: false },
  minRelativeSpread: { min: 0, max: 100, integer: false },
  refractoryDecay: { min: 0, max: 1, integer: false },
  suppressedFactor: { min: 0, max: 1, integer: false },
};

export const SEASONAL_ROBUST_DEFAULTS: Readonly<SeasonalRobustConfig> = {
  type: 'seasonal-robust',
  ...LIKELIHOOD_DEFAULTS,
  maxBinsPerDay: 288,
  profileAlpha: 0.1,
  levelAlpha: 0.1,
  scaleAlpha: 0.01,
  warmupPoints: 100,
  surpriseCap: 8,
  flatEpsilon: 0.01,
  scaleFloor: 1e-6,
  scaleFloorRelative: 1e-4,
  stuckPoints: 12,
  maxGapMs: 2_592_000_000,
  threshold: 0.5,
};

const SEASONAL_ROBUST_RULES: Readonly<Record<Exclude<keyof SeasonalRobustConfig, 'type'>, Rule>> = {
  ...LIKELIHOOD_RULES,
  maxBinsPerDay: { min: 24, max: 288, integer: true },
  profileAlpha: { min: 1e-4, max: 1, integer: false },
  levelAlpha: { min: 1e-4, max: 1, integer: false },
  scaleAlpha: { min: 1e-5, max: 1, integer: false },
  warmupPoints: { min: 2, max: 1_000_000, integer: true },
  surpriseCap: { min: 1, max: 1000, integer: false },
  flatEpsilon: { min: 1e-9, max: 1, integer: false },
  scaleFloor: { min: Number.MIN_VALUE, max: Number.MAX_VALUE, integer: false },
  scaleFloorRelative: { min: 0, max: 1, integer: false },
  stuckPoints: { min: 0, max: 1_000_000, integer: true },
  maxGapMs: { min: 1, max: Number.POSITIVE_INFINITY, integer: false },
  threshold: { min: 0, max: 1, integer: false },
};

export const ONLINE_AR_DEFAULTS: Readonly<OnlineArConfig> = {
  type: 'online-ar',
  ...LIKELIHOOD_DEFAULTS,
  lags: 8,
  forgetting: 0.999,
  initialCovariance: 10,
  normAlpha: 0.001,
  scaleAlpha: 0.01,
  minErrorScale: 0.01,
  profileAlpha: 0.05,
  surpriseCap: 8,
  warmupPoints: 100,
  scaleFloor: 1e-6,
  maxGapMs: 2_592_000_000,
  threshold: 0.5,
};

const ONLINE_AR_RULES: Readonly<Record<Exclude<keyof OnlineArConfig, 'type'>, Rule>> = {
  ...LIKELIHOOD_RULES,
  lags: { min: 0, max: 64, integer: true },
  forgetting: { min: 0.5, max: 1, integer: false },
  initialCovariance: { min: 1e-6, max: 1e6, integer: false },
  normAlpha: { min: 1e-7, max: 1, integer: false },
  scaleAlpha: { min: 1e-5, max: 1, integer: false },
  minErrorScale: { min: 1e-9, max: 100, integer: false },
  profileAlpha: { min: 0, max: 1, integer: false },
  surpriseCap: { min: 1, max: 1000, integer: false },
  warmupPoints: { min: 2, max: 1_000_000, integer: true },
  scaleFloor: { min: Number.MIN_VALUE, max: Number.MAX_VALUE, integer: false },
  maxGapMs: { min: 1, max: Number.POSITIVE_INFINITY, integer: false },
  threshold: { min: 0, max: 1, integer: false },
};

export const KNN_DISTANCE_DEFAULTS: Readonly<KnnDistanceConfig> = {
  type: 'knn-distance',
  ...LIKELIHOOD_DEFAULTS,
  window: 8,
  memory: 1000,
  neighbours: 3,
  searchStride: 4,
  normAlpha: 0.001,
  surpriseCap: 50,
  warmupPoints: 100,
  scaleFloor: 1e-6,
  maxGapMs: 2_592_000_000,
  threshold: 0.5,
};

const KNN_DISTANCE_RULES: Readonly<Record<Exclude<keyof KnnDistanceConfig, 'type'>, Rule>> = {
  ...LIKELIHOOD_RULES,
  window: { min: 1, max: 256, integer: true },
  memory: { min: 16, max: 100_000, integer: true },
  neighbours: { min: 1, max: 64, integer: true },
  searchStride: { min: 1, max: 64, integer: true },
  normAlpha: { min: 1e-7, max: 1, integer: false },
  surpriseCap: { min: 1e-3, max: 1e6, integer: false },
  warmupPoints: { min: 2, max: 1_000_000, integer: true },
  scaleFloor: { min: Number.MIN_VALUE, max: Number.MAX_VALUE, integer: false },
  maxGapMs: { min: 1, max: Number.POSITIVE_INFINITY, integer: false },
  threshold: { min: 0, max: 1, integer: false },
};

export const NEURAL_FORECAST_DEFAULTS: Readonly<NeuralForecastConfig> = {
  type: 'neural-forecast',
  ...LIKELIHOOD_DEFAULTS,
  normAlpha: 0.001,
  scaleAlpha: 0.01,
  minErrorScale: 0.01,
  surpriseCap: 8,
  warmupPoints: 100,
  scaleFloor: 1e-6,
  maxGapMs: 2_592_000_000,
  threshold: 0.5,
};

const NEURAL_FORECAST_RULES: Readonly<Record<Exclude<keyof NeuralForecastConfig, 'type'>, Rule>> = {
  ...LIKELIHOOD_RULES,
  normAlpha: { min: 1e-7, max: 1, integer: false },
  scaleAlpha: { min: 1e-5, max: 1, integer: false },
  minErrorScale: { min: 1e-9, max: 100, integer: false },
  surpriseCap: { min: 1, max: 1000, integer: false },
  warmupPoints: { min: 2, max: 1_000_000, integer: true },
  scaleFloor: { min: Number.MIN_VALUE, max: Number.MAX_VALUE, integer: false },
  maxGapMs: { min: 1, max: Number.POSITIVE_INFINITY, integer: false },
  threshold: { min: 0, max: 1, integer: false },
};

export const ENSEMBLE_DEFAULTS: Readonly<EnsembleConfig> = {
  type: 'ensemble',
  seasonal: SEASONAL_ROBUST_DEFAULTS,
  learned: ONLINE_AR_DEFAULTS,
  neighbour: KNN_DISTANCE_DEFAULTS,
  neural: NEURAL_FORECAST_DEFAULTS,
  neuralWeight: 0.2,
  noveltyGate: 0.5,
  noveltyGateReference: 0.2,
  learnedWeight: 0.5,
  maxBlend: 0.5,
  refractoryDecay: LIKELIHOOD_DEFAULTS.refractoryDecay,
  suppressedFactor: LIKELIHOOD_DEFAULTS.suppressedFactor,
  expectedAlarmRate: 0.001,
  alarmRateAlpha: 0.002,
  familiarAlarmEpisodes: 12,
  familiarAlarmQuantile: 0.5,
  familiarAlarmMemory: 32,
  threshold: 0.5,
};

const ENSEMBLE_RULES: Readonly<Record<Exclude<keyof EnsembleConfig, 'type' | 'seasonal' | 'learned' | 'neighbour' | 'neural'>, Rule>> = {
  neuralWeight: { min: 0, max: 1, integer: false },
  noveltyGate: { min: 0, max: 1, integer: false },
  noveltyGateReference: { min: 1e-3, max: 1, integer: false },
  learnedWeight: { min: 0, max: 1, integer: false },
  maxBlend: { min: 0, max: 1, integer: false },
  refractoryDecay: LIKELIHOOD_RULES.refractoryDecay,
  suppressedFactor: LIKELIHOOD_RULES.suppressedFactor,
  expectedAlarmRate: { min: 0, max: 1, integer: false },
  alarmRateAlpha: { min: 1e-7, max: 1, integer: false },
  familiarAlarmEpisodes: { min: 0, max: 1_000_000, integer: true },
  familiarAlarmQuantile: { min: 0, max: 1, integer: false },
  familiarAlarmMemory: { min: 1, max: 1024, integer: true },
  threshold: { min: 0, max: 1, integer: false },
};

export const BY_CADENCE_DEFAULTS: Readonly<ByCadenceConfig> = {
  type: 'by-cadence',
  slowFromIntervalMs: 120_000,
  cadenceSamples: 8,
  fast: ROLLING_ROBUST_Z_DEFAULTS,
  slow: ENSEMBLE_DEFAULTS,
};

const BY_CADENCE_RULES: Readonly<Record<Exclude<keyof ByCadenceConfig, 'type' | 'fast' | 'slow'>, Rule>> = {
  slowFromIntervalMs: { min: 1, max: Number.POSITIVE_INFINITY, integer: false },
  cadenceSamples: { min: 1, max: 1024, integer: true },
};

const DETECTOR_TYPES: readonly TimeseriesDetectorType[] = [
  'rolling-robust-z',
  'seasonal-robust',
  'online-ar',
  'knn-distance',
  'neural-forecast',
  'ensemble',
  'by-cadence',
];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates a detector config (from a file, env or code) and fills documented defaults.
 * `type` may be omitted and defaults to 'rolling-robust-z'. Throws DetectorError
 * 'invalid-config' listing every problem. The result's type follows `type` where it is a literal.
 */
export function parseTimeseriesDetectorConfig<T extends TimeseriesDetectorType = 'rolling-robust-z'>(
  input?: Readonly<{ type?: T }> & Readonly<Partial<Omit<Extract<TimeseriesDetectorConfig, { type: T }>, 'type'>>>,
): Extract<TimeseriesDetectorConfig, { type: T }>;
export function parseTimeseriesDetectorConfig(input?: unknown): TimeseriesDetectorConfig;
export function parseTimeseriesDetectorConfig(input: unknown = {}): TimeseriesDetectorConfig {
  if (!isRecord(input)) {
    throw new DetectorError('invalid-config', `expected a detector config object; got ${input === null ? 'null' : typeof input}`);
  }
  const type: unknown = input['type'] ?? 'rolling-robust-z';
  switch (type) {
    case 'rolling-robust-z': {
      const problems: string[] = [];
      const config = parseNumbers(input, ROLLING_ROBUST_Z_DEFAULTS, ROLLING_ROBUST_Z_RULES, problems);
      if (problems.length === 0 && config.warmupPoints > config.windowSize) {
        problems.push(`'warmupPoints': expected at most windowSize (${config.windowSize}); got ${config.warmupPoints}`);
      }
      return finish(type, config, problems);
    }
    case 'seasonal-robust': {
      const problems: string[] = [];
      return finish(type, parseNumbers(input, SEASONAL_ROBUST_DEFAULTS, SEASONAL_ROBUST_RULES, problems), problems);
    }
    case 'online-ar': {
      const problems: string[] = [];
      return finish(type, parseNumbers(input, ONLINE_AR_DEFAULTS, ONLINE_AR_RULES, problems), problems);
    }
    case 'knn-distance': {
      const problems: string[] = [];
      const config = parseNumbers(input, KNN_DISTANCE_DEFAULTS, KNN_DISTANCE_RULES, problems);
      if (problems.length === 0 && config.memory <= config.window + config.neighbours) {
        problems.push(`'memory': expected more than window + neighbours (${config.window + config.neighbours}); got ${config.memory}`);
      }
      if (problems.length === 0 && config.memory < config.searchStride * config.neighbours * 2) {
        // The coarse pass must see a few candidates per neighbour, or the refine step has nothing to refine.
        problems.push(
          `'searchStride': expected at most memory / (2 · neighbours) (${Math.floor(config.memory / (2 * config.neighbours))}); got ${config.searchStride}`,
        );
      }
      return finish(type, config, problems);
    }
    case 'neural-forecast': {
      const problems: string[] = [];
      return finish(type, parseNumbers(input, NEURAL_FORECAST_DEFAULTS, NEURAL_FORECAST_RULES, problems), problems);
    }
    case 'ensemble': {
      const problems: string[] = [];
      const { seasonal, learned, neighbour, neural, ...rest } = input;
      const config = parseNumbers(rest, ENSEMBLE_DEFAULTS, ENSEMBLE_RULES, problems);
      config.seasonal = parseMember(seasonal, 'seasonal', SEASONAL_ROBUST_DEFAULTS, SEASONAL_ROBUST_RULES, problems);
      config.learned = parseMember(learned, 'learned', ONLINE_AR_DEFAULTS, ONLINE_AR_RULES, problems);
      config.neighbour = parseMember(neighbour, 'neighbour', KNN_DISTANCE_DEFAULTS, KNN_DISTANCE_RULES, problems);
      config.neural = parseMember(neural, 'neural', NEURAL_FORECAST_DEFAULTS, NEURAL_FORECAST_RULES, problems);
      return finish(type, config, problems);
    }
    case 'by-cadence': {
      const problems: string[] = [];
      const { fast, slow, ...rest } = input;
      const config = parseNumbers(rest, BY_CADENCE_DEFAULTS, BY_CADENCE_RULES, problems);
      config.fast = parseRoute(fast, 'fast', ROLLING_ROBUST_Z_DEFAULTS, problems);
      config.slow = parseRoute(slow, 'slow', ENSEMBLE_DEFAULTS, problems);
      return finish(type, config, problems);
    }
    default:
      throw new DetectorError('invalid-config', `expected detector type one of ${DETECTOR_TYPES.join(', ')}; got ${JSON.stringify(type)}`);
  }
}

function finish<C>(type: string, config: C, problems: readonly string[]): C {
  if (problems.length > 0) {
    throw new DetectorError('invalid-config', `invalid ${type} detector config: ${problems.join('; ')}`);
  }
  return config;
}

/** A route's config inside the cadence router's: a config of the route's type (which may be left out), or absent. */
function parseRoute<C extends RollingRobustZConfig | EnsembleConfig>(
  input: unknown,
  name: string,
  defaults: Readonly<C>,
  problems: string[],
): C {
  if (input === undefined) return defaults;
  if (!isRecord(input)) {
    problems.push(`'${name}': expected an object of ${defaults.type} settings; got ${JSON.stringify(input)}`);
    return defaults;
  }
  if (input['type'] !== undefined && input['type'] !== defaults.type) {
    problems.push(`'${name}.type': expected ${defaults.type} (or no type); got ${JSON.stringify(input['type'])}`);
    return defaults;
  }
  try {
    return parseTimeseriesDetectorConfig({ ...input, type: defaults.type }) as C;
  } catch (e) {
    problems.push(`'${name}': ${(e as Error).message}`);
    return defaults;
  }
}

/** A member's config inside the ensemble's: an object of the member's keys, or absent. */
function parseMember<C extends { type: string }>(
  input: unknown,
  name: string,
  defaults: Readonly<C>,
  rules: Readonly<Record<string, Rule>>,
  problems: string[],
): C {
  if (input === undefined) return { ...defaults };
  if (!isRecord(input)) {
    problems.push(`'${name}': expected an object of ${defaults.type} settings; got ${JSON.stringify(input)}`);
    return { ...defaults };
  }
  if (input['type'] !== undefined && input['type'] !== defaults.type) {
    problems.push(`'${name}.type': expected ${defaults.type} (or no type); got ${JSON.stringify(input['type'])}`);
  }
  return parseNumbers(input, defaults, rules, problems, `${name}.`);
}

/** Copies the defaults, then every numeric key of `input` that its rule allows; collects problems. */
function parseNumbers<C extends { type: string }>(
  input: Readonly<Record<string, unknown>>,
  defaults: Readonly<C>,
  rules: Readonly<Record<string, Rule>>,
  problems: string[],
  prefix = '',
): C {
  const config: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(input)) {
    if (key === 'type') continue;
    const rule = Object.hasOwn(rules, key) ? rules[key] : undefined;
    if (rule === undefined) {
      problems.push(`unknown key '${prefix}${key}' (expected one of ${Object.keys(rules).join(', ')})`);
    } else if (typeof value !== 'number' || Number.isNaN(value)) {
      problems.push(`'${prefix}${key}': expected a number; got ${JSON.stringify(value)}`);
    } else if (value < rule.min || value > rule.max) {
      problems.push(`'${prefix}${key}': expected ${rule.min}…${rule.max}; got ${value}`);
    } else if (rule.integer && !Number.isInteger(value)) {
      problems.push(`'${prefix}${key}': expected a whole number; got ${value}`);
    } else {
      config[key] = value;
    }
  }
  return config as C;
}
