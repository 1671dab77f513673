/**
 * The contract every time-series detector plugin implements. Detectors are plugins keyed by
 * `type` (the Frigate habit): the worker holds a `TimeseriesDetector` and never knows which
 * algorithm is behind it, so a later ensemble or seasonal model replaces this one by config.
 *
 * The hot path is batched and columnar: one call scores many points of many series, passed as
 * parallel typed arrays (struct of arrays), so there is no object per point.
 */

/** What happened to one point, written to `ScoreDetail.status`. */
export const POINT_STATUS = {
  /** Scored against a warm baseline; `out` holds the signed score. */
  scored: 0,
  /** Accepted into the baseline, but the series has too little history to score it yet. */
  warmup: 1,
  /** Value or timestamp not finite (NaN, ±Infinity): skipped, the baseline is untouched. */
  skippedNan: 2,
  /** Timestamp earlier than the series' last accepted one: skipped, counted. */
  skippedOutOfOrder: 3,
  /** Same timestamp as the series' last accepted point (a redelivery): skipped, counted. */
  skippedDuplicate: 4,
  /** The gap since the last point exceeded `maxGapMs`: the baseline was reset, warm-up restarts. */
  gapReset: 5,
  /** Scored, and the series has repeated one exact value long enough to look stuck. */
  stuck: 6,
} as const;
export type PointStatus = (typeof POINT_STATUS)[keyof typeof POINT_STATUS];

/** Optional per-point outputs beside the score, for explaining a decision. */
export interface ScoreDetail {
  /** The baseline's expected value (e.g. the rolling median); NaN when not scored. */
  expected: Float64Array;
  /** The scale one unit of score stands for, in the series' unit; NaN when not scored. */
  scale: Float64Array;
  /** One of POINT_STATUS per point. */
  status: Uint8Array;
  /**
   * Each point's member scores, for detectors that combine several (`memberNames`): point i's
   * are at i·m … i·m + m − 1 (m members, in `memberNames` order), NaN where a member has none
   * yet. Left alone by detectors without members; needs room for m per point.
   */
  members?: Float64Array;
}

export interface DetectorStats {
  /** Points that received a score. */
  pointsScored: number;
  /** Points accepted into a baseline that was still warming up. */
  pointsWarmingUp: number;
  skippedNan: number;
  skippedOutOfOrder: number;
  skippedDuplicate: number;
  /** Times a series' baseline was reset after a gap longer than `maxGapMs`. */
  gapResets: number;
  /** Scored points flagged as part of a stuck (flat-lined) run. */
  stuckPoints: number;
}

/** How a detector with a learned network runs it (see neural-forecast-runtime.ts). */
export interface DetectorRuntimeOptions {
  /** ONNX Runtime execution provider: 'cpu' (default), 'cuda', …; a provider that cannot start falls back to cpu, said in the log. */
  executionProvider?: string;
  /** Threads of the CPU provider; 0 lets ONNX Runtime choose. Default 1. */
  intraOpThreads?: number;
  /** Where the provider choice and any fallback are said. Default console.log. */
  log?: (line: string) => void;
}

export interface PredictionCounts {
  /** Predictions made by the batched runtime call (predictAhead) and used by a point. */
  batched: number;
  /** Predictions made one at a time by the reference forward pass inside scoreBatch. */
  inline: number;
  /** Runtime calls made by predictAhead. */
  runtimeCalls: number;
}

/**
 * Who scores one series and on what scale, for explaining its anomalies. A detector that hands
 * series to inner detectors (the cadence router) answers per series; any other detector is its
 * own scorer for every series (`ownScorer`).
 */
export interface SeriesScorer {
  /** The inner detector's plugin key, recorded in the series' anomalies. */
  readonly type: string;
  readonly version: string;
  /** Its threshold on its own scale. */
  readonly threshold: number;
  readonly expectedBandScales?: number;
  readonly memberNames?: readonly string[];
  /** Its own score for a score the outer detector reported (the identity where the scales agree). */
  nativeScore(score: number): number;
  /** Probability that a point with this own (native) absolute score is a real anomaly. */
  probability(nativeScore: number): number;
  describe(): string;
}

export interface TimeseriesDetector {
  /** The plugin key, e.g. 'rolling-robust-z'; recorded in every Anomaly as `detector`. */
  readonly type: string;
  /** Algorithm version, bumped when scores for the same input change; Anomaly.detector_version. */
  readonly version: string;
  /** Score at or above which a point is anomalous (same unit as `out`'s absolute value). */
  readonly threshold: number;
  /**
   * Half-width of the normal range shown to people, in units of `ScoreDetail.scale` around
   * `expected`. Default `threshold` (right for a z-score, where the two coincide); detectors whose
   * score is a calibrated probability-like value set it (e.g. 3).
   */
  readonly expectedBandScales?: number;
  /**
   * Names of the members whose scores `ScoreDetail.members` receives, for detectors that combine
   * several (the ensemble), so an anomaly can say which of them fired. Absent on single detectors.
   */
  readonly memberNames?: readonly string[];
  readonly seriesCount: number;
  /** Registers a new series and returns its index (0, 1, 2, …). */
  addSeries(): number;
  /**
   * Smallest spread the series can have, in its own unit (e.g. a sensor's resolution), so a
   * flat series does not turn a one-step wiggle into a huge score.
   */
  setScaleFloor(series: number, floor: number): void;
  /** Forgets a series' history (it warms up again); its index stays valid. */
  resetSeries(series: number): void;
  /**
   * Every series' state as bytes, so a restarted worker resumes where it stopped instead of
   * warming up again. Versioned: `restore` refuses bytes of another type, version or config.
   */
  checkpoint(): Uint8Array;
  /**
   * Replaces every series' state (and the series count) with a checkpoint's; throws
   * DetectorError 'invalid-argument' and changes nothing when the bytes do not fit this detector.
   */
  restore(bytes: Uint8Array): void;
  /**
   * Scores points in order. `seriesIndex[i]`, `values[i]`, `ts[i]` (epoch ms) describe point i;
   * `out[i]` receives its signed score (positive = above expected) or NaN when not scored.
   * Points of one series must come in time order within and across calls: late, duplicate
   * and non-finite points are skipped and counted, never thrown on.
   */
  scoreBatch(seriesIndex: Int32Array, values: Float64Array, ts: Float64Array, out: Float64Array, detail?: ScoreDetail): void;
  /**
   * Detectors with a network (the ensemble's learned member) load it into ONNX Runtime here; until
   * then (or without it) they score with their reference forward pass, same results, one series at
   * a time. Absent on purely statistical detectors.
   */
  open?(options?: DetectorRuntimeOptions): Promise<void>;
  /**
   * Runs the network once for every series that received points since the last call, predicting
   * each one's next value in one batched runtime call; the next scoreBatch uses those predictions.
   * Call it after each scoreBatch (the worker and the NAB benchmark do); skipping it only moves
   * the forward pass back into scoreBatch. Absent on purely statistical detectors.
   */
  predictAhead?(): Promise<void>;
  /** Releases what `open` loaded. */
  close?(): Promise<void>;
  /** How the network's predictions were made so far (batched runtime calls vs the reference pass). */
  predictionCounts?(): PredictionCounts;
  /** Probability (0…1) that a point with this absolute score is a real anomaly. */
  probability(score: number): number;
  /**
   * Who scores `series` now, where that differs between series (the cadence router). Absent:
   * the detector itself scores every series (`scorerOf` below answers for both).
   */
  seriesScorer?(series: number): SeriesScorer;
  /** One sentence saying how the score is computed, for reasons shown to people. */
  describe(): string;
  stats(): DetectorStats;
}

/** The scorer of `series`: the detector's own answer, or the detector itself. */
export function scorerOf(detector: TimeseriesDetector, series: number): SeriesScorer {
  return detector.seriesScorer?.(series) ?? ownScorer(detector);
}

const ownScorers = new WeakMap<TimeseriesDetector, SeriesScorer>();

/** A detector as the scorer of all its series, on its own scale. */
export function ownScorer(detector: TimeseriesDetector): SeriesScorer {
  let scorer = ownScorers.get(detector);
  if (scorer === undefined) {
    scorer = {
      type: detector.type,
      version: detector.version,
      threshold: detector.threshold,
      ...(detector.expectedBandScales === undefined ? {} : { expectedBandScales: detector.expectedBandScales }),
      ...(detector.memberNames === undefined ? {} : { memberNames: detector.memberNames }),
      nativeScore: (score) => score,
      probability: (score) => detector.probability(score),
      describe: () => detector.describe(),
    };
    ownScorers.set(detector, scorer);
  }
  return scorer;
}
