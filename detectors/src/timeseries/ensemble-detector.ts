import { DetectorError } from '../errors.js';
import type { EnsembleConfig } from './detector-config.js';
import { ENSEMBLE_DEFAULTS } from './detector-config.js';
import { isFamiliarAlarm, type FamiliarAlarmSettings } from './familiar-alarms.js';
import { KnnDistanceDetector } from './knn-distance-detector.js';
import { NeuralForecastDetector } from './neural-forecast-detector.js';
import { OnlineArDetector } from './online-ar-detector.js';
import { refractoryStep } from './refractory.js';
import { SeasonalRobustDetector } from './seasonal-robust-detector.js';
import { StreamingDetector } from './streaming-detector.js';
import type { DetectorRuntimeOptions, PredictionCounts } from './timeseries-detector.js';
import { calibratedProbability } from './likelihood.js';

/**
 * The ensemble: the seasonal robust detector (statistical), the online AR detector (learned per
 * series), the neural forecast detector (a global network through ONNX Runtime, batched across
 * series by `predictAhead`) and the nearest-neighbour distance detector (novelty, joined by maximum
 * below). All score every point, each through its own anomaly likelihood; their calibrated scores
 * are combined, discounted
 * for a series that alarms far more often than `expectedAlarmRate`, scaled down where the series
 * has made such alarms often (familiar-alarms.ts), then go through one refractory step.
 *
 * All members' scores are tail scores on one scale (log10 tail / −10), which is what makes
 * combining them meaningful. The combination blends their weighted mean — an alarm both members
 * support, which suppresses each one's idiosyncratic false alarms — with their maximum, which
 * keeps an anomaly only one of them can see (a vanished daily cycle is invisible to the short
 * AR model; a broken trajectory within the normal range is invisible to the profiles).
 *
 * The ensemble owns point intake (skips, gaps) and passes members only accepted points, so its
 * stats are the ones that count. A checkpoint holds the ensemble's state and its members'.
 */

export const ENSEMBLE_VERSION = '1.4.0';

export function ensembleFields(familiarAlarmMemory: number) {
  return {
    peak: { stride: 1, kind: 'f64', init: 0 },
    /** The combined score of the previous point (an onset is a crossing of the threshold). */
    lastRaw: { stride: 1, kind: 'f64', init: 0 },
    /** EWMA of threshold crossings per point; NaN until the series' first scored point. */
    alarmRate: { stride: 1, kind: 'f64', init: Number.NaN },
    /** Severities of the series' last `familiarAlarmMemory` alarm episodes, a ring. */
    episodeSeverities: { stride: familiarAlarmMemory, kind: 'f64', init: 0 },
    /** Alarm episodes recorded so far (the ring's next slot is this modulo its size). */
    episodes: { stride: 1, kind: 'f64', init: 0 },
    /** Peak severity of the episode under way; NaN while none is. */
    episodeSeverity: { stride: 1, kind: 'f64', init: Number.NaN },
  } as const;
}

export class EnsembleDetector extends StreamingDetector<ReturnType<typeof ensembleFields>> {
  readonly type = 'ensemble';
  readonly version = ENSEMBLE_VERSION;
  readonly threshold: number;
  readonly config: Readonly<EnsembleConfig>;
  readonly seasonal: SeasonalRobustDetector;
  readonly learned: OnlineArDetector;
  readonly neighbour: KnnDistanceDetector;
  /** The neural forecast member; undefined when `neuralWeight` is 0 (then it is not run). */
  readonly neural: NeuralForecastDetector | undefined;
  readonly memberNames: readonly string[];
  protected override readonly memberOutcome: Float64Array;
  private readonly familiarAlarms: FamiliarAlarmSettings;
  /** Scratch for the quantile of past episode severities. */
  private readonly severityScratch: Float64Array;

  constructor(config: Readonly<EnsembleConfig> = ENSEMBLE_DEFAULTS, initialCapacity = 64) {
    // The members' own gap rules never fire: the ensemble resets them (onReset) on its own.
    super(
      ensembleFields(config.familiarAlarmMemory),
      Math.min(config.seasonal.maxGapMs, config.learned.maxGapMs),
      config.seasonal.scaleFloor,
      initialCapacity,
    );
    this.config = config;
    this.threshold = config.threshold;
    this.seasonal = new SeasonalRobustDetector(config.seasonal, initialCapacity);
    this.learned = new OnlineArDetector(config.learned, initialCapacity);
    this.neighbour = new KnnDistanceDetector(config.neighbour, initialCapacity);
    this.neural = config.neuralWeight > 0 ? new NeuralForecastDetector(config.neural, initialCapacity) : undefined;
    this.memberNames = [
      'seasonal profile',
      'online AR',
      'nearest-neighbour novelty',
      ...(this.neural === undefined ? [] : ['neural forecast']),
    ];
    this.memberOutcome = new Float64Array(this.memberNames.length);
    this.familiarAlarms = {
      minEpisodes: config.familiarAlarmEpisodes,
      quantile: config.familiarAlarmQuantile,
      memory: config.familiarAlarmMemory,
      threshold: config.threshold,
    };
    this.severityScratch = new Float64Array(config.familiarAlarmMemory);
  }

  /** Loads the neural member's network into ONNX Runtime (see TimeseriesDetector.open). */
  async open(options?: DetectorRuntimeOptions): Promise<void> {
    await this.neural?.open(options);
  }

  /** One batched runtime call predicting every touched series' next value (see TimeseriesDetector.predictAhead). */
  async predictAhead(): Promise<void> {
    await this.neural?.predictAhead();
  }

  async close(): Promise<void> {
    await this.neural?.close();
  }

  predictionCounts(): PredictionCounts {
    return this.neural?.predictionCounts() ?? { batched: 0, inline: 0, runtimeCalls: 0 };
  }

  protected configJson(): string {
    return JSON.stringify(this.config);
  }

  override addSeries(): number {
    const s = super.addSeries();
    this.seasonal.addSeries();
    this.learned.addSeries();
    this.neighbour.addSeries();
    this.neural?.addSeries();
    return s;
  }

  override setScaleFloor(series: number, floor: number): void {
    super.setScaleFloor(series, floor);
    this.seasonal.setScaleFloor(series, floor);
    this.learned.setScaleFloor(series, floor);
    this.neighbour.setScaleFloor(series, floor);
    this.neural?.setScaleFloor(series, floor);
  }

  protected override onReset(series: number): void {
    this.seasonal.resetSeries(series);
    this.learned.resetSeries(series);
    this.neighbour.resetSeries(series);
    this.neural?.resetSeries(series);
  }

  probability(score: number): number {
    return calibratedProbability(score);
  }

  describe(): string {
    const neural = this.neural === undefined ? '' : `, ${this.neural.describe()}`;
    return `ensemble of ${this.seasonal.describe()}, ${this.learned.describe()}${neural} and ${this.neighbour.describe()}; calibrated scores blended (threshold ${this.threshold})`;
  }

  scorePoint(s: number, x: number, t: number): number {
    // Members keep their own clocks: feed them the same accepted point.
    const a = this.seasonal.acceptOne(s, x, t);
    const sOut = this.seasonal.outcome;
    const rawA = sOut.raw;
    const b = this.learned.acceptOne(s, x, t);
    const rawB = this.learned.outcome.raw;
    this.neighbour.acceptOne(s, x, t);
    const rawC = this.neighbour.outcome.raw;
    let rawD = 0;
    const members = this.memberOutcome;
    members[0] = rawA;
    members[1] = rawB;
    members[2] = rawC;
    if (this.neural !== undefined) {
      this.neural.acceptOne(s, x, t);
      const d = this.neural.outcome.raw;
      members[3] = d;
      rawD = d === d ? d : 0;
    }
    const o = this.outcome;
    o.expected = sOut.expected;
    o.scale = sOut.scale;
    o.stuck = sOut.stuck;
    if (a !== a || b !== b) {
      o.raw = Number.NaN;
      return Number.NaN;
    }
    const c = this.config;
    const w = c.learnedWeight;
    const v = c.neuralWeight;
    // The neural member joins the mean only: it supports or undermines what the other forecast
    // members see. Joined by maximum as well, its own false alarms added more than its detections
    // (NAB: 67.7 against 68.6, see the README).
    // Novelty gate: a short-term forecast error on a shape the series has made before (the
    // neighbour member's score low) is less surprising than the dynamics members (online AR,
    // neural) say — CAD-OSE's and KNN-CAD's premise that an anomaly is a context not seen before.
    // Up to `noveltyGate` of their scores is kept back until the neighbour score reaches
    // `noveltyGateReference`. The seasonal member is not gated: a vanished cycle or a flat-lined
    // sensor is made of familiar shapes.
    let g = 1;
    if (c.noveltyGate > 0) g = 1 - c.noveltyGate * (1 - (rawC < c.noveltyGateReference ? rawC / c.noveltyGateReference : 1));
    const gb = rawB * g;
    const mean = (1 - v) * ((1 - w) * rawA + w * gb) + v * rawD * g;
    const max = rawA > gb ? rawA : gb;
    const gated = c.maxBlend * max + (1 - c.maxBlend) * mean;
    // The novelty member joins by maximum: it fires where a forecast error is ordinary for the
    // series but the pattern is new, and otherwise stays low (its own likelihood calibrates it).
    let raw = rawC > gated ? rawC : gated;
    const undiscounted = raw;
    if (c.expectedAlarmRate > 0) raw = this.discountByAlarmRate(s, raw);
    const episodeSeverity = this.state.fields.episodeSeverity;
    // Only points in or just after an alarm episode have anything to do with it.
    if (c.familiarAlarmEpisodes > 0 && (undiscounted >= this.threshold || episodeSeverity[s] === episodeSeverity[s])) {
      const state = { severities: this.state.fields.episodeSeverities, episodes: this.state.fields.episodes, current: episodeSeverity };
      // Severity: how far the value is from what the seasonal member expected, in its scales.
      const severity = Math.abs(x - sOut.expected) / sOut.scale;
      // A familiar alarm is scaled like a score the refractory step holds back: heard, not alarmed on.
      if (isFamiliarAlarm(this.familiarAlarms, state, s, undiscounted, severity, this.severityScratch)) raw *= c.suppressedFactor;
    }
    o.raw = raw;
    const score = refractoryStep(this.state.fields.peak, s, raw, c.refractoryDecay, c.suppressedFactor, this.threshold);
    // Direction: the statistical member's (the residual against the expected value it reports).
    return a < 0 ? -score : score;
  }

  /**
   * A label-free brake on series that alarm all the time (NAB's tweet volumes: every burst is
   * "a 1-in-100,000 event" to the members, and bursts come daily). The combined score is a
   * −log10 tail / 10; if a series crosses the threshold r times as often as `expectedAlarmRate`,
   * its crossings are r times less rare than the tail says, so log10(r) / 10 is taken off. The rate
   * counts crossings of the undiscounted score, so the discount does not feed back into it.
   */
  private discountByAlarmRate(s: number, raw: number): number {
    const c = this.config;
    const st = this.state.fields;
    const lastArr = st.lastRaw;
    const rateArr = st.alarmRate;
    const onset = raw >= this.threshold && lastArr[s]! < this.threshold ? 1 : 0;
    lastArr[s] = raw;
    // Start from the expected rate, so a young series is neither punished nor favoured.
    const kept = rateArr[s]!;
    const prior = kept === kept ? kept : c.expectedAlarmRate;
    const rate = prior + c.alarmRateAlpha * (onset - prior);
    rateArr[s] = rate;
    const ratio = prior / c.expectedAlarmRate;
    if (!(ratio > 1)) return raw;
    const discounted = raw - Math.log10(ratio) / 10;
    return discounted > 0 ? discounted : 0;
  }

  override checkpoint(): Uint8Array {
    const parts = [super.checkpoint(), this.seasonal.checkpoint(), this.learned.checkpoint(), this.neighbour.checkpoint()];
    if (this.neural !== undefined) parts.push(this.neural.checkpoint());
    return concatCheckpoints(parts);
  }

  override restore(bytes: Uint8Array): void {
    const parts = splitCheckpoints(bytes, this.neural === undefined ? 4 : 5);
    // Restore into the members first: each validates its part, and a failure leaves the ensemble's own state untouched.
    this.seasonal.restore(parts[1]!);
    this.learned.restore(parts[2]!);
    this.neighbour.restore(parts[3]!);
    this.neural?.restore(parts[4]!);
    super.restore(parts[0]!);
  }
}

/** A checkpoint made of other checkpoints: u32 count, then per part a u32 length and its bytes. */
export function concatCheckpoints(parts: readonly Uint8Array[]): Uint8Array {
  const total = 4 + parts.reduce((n, p) => n + 4 + p.byteLength, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, parts.length, true);
  let at = 4;
  for (const p of parts) {
    view.setUint32(at, p.byteLength, true);
    out.set(p, at + 4);
    at += 4 + p.byteLength;
  }
  return out;
}

/** The parts of a `concatCheckpoints` result; throws DetectorError naming `owner` unless there are `expected` of them. */
export function splitCheckpoints(bytes: Uint8Array, expected: number, owner = 'ensemble'): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (what: string): never => {
    throw new DetectorError('invalid-argument', `expected an ${owner} checkpoint of ${expected} parts; ${what}`);
  };
  if (bytes.byteLength < 4) fail(`got ${bytes.byteLength} bytes`);
  const count = view.getUint32(0, true);
  if (count !== expected) fail(`got ${count} parts`);
  const parts: Uint8Array[] = [];
  let at = 4;
  for (let i = 0; i < count; i++) {
    if (at + 4 > bytes.byteLength) fail(`it ends inside part ${i}`);
    const n = view.getUint32(at, true);
    if (at + 4 + n > bytes.byteLength) fail(`part ${i} runs past the end`);
    parts.push(bytes.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return parts;
}
