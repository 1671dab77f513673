import { DetectorError } from '../errors.js';
import type { ByCadenceConfig } from './detector-config.js';
import { BY_CADENCE_DEFAULTS } from './detector-config.js';
import { concatCheckpoints, EnsembleDetector, splitCheckpoints } from './ensemble-detector.js';
import { RollingRobustDetector } from './rolling-robust-detector.js';
import { SeriesState } from './series-state.js';
import {
  ownScorer,
  type DetectorRuntimeOptions,
  type DetectorStats,
  type PredictionCounts,
  type ScoreDetail,
  type SeriesScorer,
  type TimeseriesDetector,
} from './timeseries-detector.js';
import { DEFAULT_LEVELS_BY_DETECTOR } from './warning-policy.js';

/**
 * The cadence router: each series is scored by the detector that suits how often it reports.
 *
 * The robust z (`fast`) keeps a window of recent values and is right for a sensor reporting every
 * few seconds, over which the daily cycle is locally flat. Its window is a count of readings, so
 * at one reading per 5 minutes it spans most of a day and the daily cycle itself becomes the
 * anomaly: on NAB's series (5-minute readings) it scores 0, no better than raising nothing. The
 * ensemble (`slow`) learns daily and weekly profiles and the series' own dynamics, but counts its
 * memory in readings too: at one a second it needs most of an hour to know a series, and it runs
 * at a tenth of the speed. Measured on the demo city replayed at several cadences (README), the
 * two are even at one reading a minute, so the router hands a series to `slow` when the median
 * of its first `cadenceSamples` intervals is at least `slowFromIntervalMs`.
 *
 * Until its cadence is known a series is scored by the robust z, and its readings are kept; a
 * series routed to the ensemble gets its ensemble state only then (≈ 37 KB a series, so a city of
 * fast sensors does not carry it), and the kept readings are replayed into it first, so the
 * ensemble knows the series from its first reading. A reset (`resetSeries`) forgets the cadence
 * too; a gap only resets the route's own state.
 *
 * One scale for the worker: scores are reported on the robust z's scale, the ensemble's through a
 * piecewise-linear map that sends its threshold and warning-level lines onto the robust z's, so
 * an ensemble-routed series opens and raises exactly the warnings the ensemble would. The worker
 * explains a point through `seriesScorer`, in the routed detector's own score and words.
 */

export const BY_CADENCE_VERSION = '1.0.0';

const ROUTE = { undecided: 0, fast: 1, slow: 2 } as const;
/** A point's route in a batch: undecided, and its series was routed to the ensemble on it. */
const REPLAY = 3;

function routerFields(samples: number) {
  return {
    route: { stride: 1, kind: 'i32', init: ROUTE.undecided },
    /** The series' index in the ensemble, allocated when it is first routed there; -1 before. */
    slowIndex: { stride: 1, kind: 'i32', init: -1 },
    /** The series' scale floor, for the ensemble series allocated later. */
    floor: { stride: 1, kind: 'f64', init: Number.NaN },
    /** Readings in time order while undecided (samples + 1 of them give `samples` intervals), for the ensemble to learn from if it takes over. */
    bufferTs: { stride: samples + 1, kind: 'f64', init: 0 },
    bufferValues: { stride: samples + 1, kind: 'f64', init: 0 },
    buffered: { stride: 1, kind: 'i32', init: 0 },
  } as const;
}

/** Knots of a monotone piecewise-linear map from one score scale to another. */
export interface ScoreMap {
  readonly from: readonly number[];
  readonly to: readonly number[];
}

/**
 * The map from the ensemble's scale to the robust z's: 0 to 0, threshold to threshold, then each
 * warning-level line the two scales share (yellow, orange, red) to its counterpart. Lines that do
 * not rise past the thresholds (a config that moved a threshold above a line) are left out, so the
 * knots always rise on both sides. Beyond the last knot the last segment's slope continues.
 */
export function ensembleToRobustZ(slowThreshold: number, fastThreshold: number): ScoreMap {
  const slowLines = DEFAULT_LEVELS_BY_DETECTOR['ensemble']!;
  const fastLines = DEFAULT_LEVELS_BY_DETECTOR['rolling-robust-z']!;
  const from = [0, slowThreshold];
  const to = [0, fastThreshold];
  for (const line of slowLines) {
    const counterpart = fastLines.find((l) => l.level === line.level);
    if (counterpart === undefined || line.minScore <= from.at(-1)! || counterpart.minScore <= to.at(-1)!) continue;
    from.push(line.minScore);
    to.push(counterpart.minScore);
  }
  return { from, to };
}

/** `x` through the map (`inverse`: back); signed, NaN stays NaN. */
export function mapScore(map: ScoreMap, x: number, inverse = false): number {
  if (x !== x) return x;
  const from = inverse ? map.to : map.from;
  const to = inverse ? map.from : map.to;
  const a = Math.abs(x);
  let k = 1;
  while (k < from.length - 1 && a > from[k]!) k++;
  const y = to[k - 1]! + ((a - from[k - 1]!) * (to[k]! - to[k - 1]!)) / (from[k]! - from[k - 1]!);
  return x < 0 ? -y : y;
}

function addStats(into: DetectorStats, s: DetectorStats, sign: number): void {
  into.pointsScored += sign * s.pointsScored;
  into.pointsWarmingUp += sign * s.pointsWarmingUp;
  into.skippedNan += sign * s.skippedNan;
  into.skippedOutOfOrder += sign * s.skippedOutOfOrder;
  into.skippedDuplicate += sign * s.skippedDuplicate;
  into.gapResets += sign * s.gapResets;
  into.stuckPoints += sign * s.stuckPoints;
}

function zeroStats(): DetectorStats {
  return { pointsScored: 0, pointsWarmingUp: 0, skippedNan: 0, skippedOutOfOrder: 0, skippedDuplicate: 0, gapResets: 0, stuckPoints: 0 };
}

/** Scratch columns for one route's share of a batch, grown as needed. */
class Lane {
  at: Int32Array = new Int32Array(0);
  series: Int32Array = new Int32Array(0);
  values: Float64Array = new Float64Array(0);
  ts: Float64Array = new Float64Array(0);
  out: Float64Array = new Float64Array(0);
  expected: Float64Array = new Float64Array(0);
  scale: Float64Array = new Float64Array(0);
  status: Uint8Array = new Uint8Array(0);
  members: Float64Array = new Float64Array(0);
  n = 0;

  constructor(private readonly membersPerPoint: number) {}

  reset(capacity: number): void {
    this.n = 0;
    if (this.at.length >= capacity) return;
    this.at = new Int32Array(capacity);
    this.series = new Int32Array(capacity);
    this.values = new Float64Array(capacity);
    this.ts = new Float64Array(capacity);
    this.out = new Float64Array(capacity);
    this.expected = new Float64Array(capacity);
    this.scale = new Float64Array(capacity);
    this.status = new Uint8Array(capacity);
    this.members = new Float64Array(capacity * this.membersPerPoint);
  }

  push(i: number, series: number, value: number, ts: number): void {
    const k = this.n++;
    this.at[k] = i;
    this.series[k] = series;
    this.values[k] = value;
    this.ts[k] = ts;
  }

  score(detector: TimeseriesDetector, withDetail: boolean): void {
    const n = this.n;
    if (n === 0) return;
    const detail = withDetail
      ? {
          expected: this.expected.subarray(0, n),
          scale: this.scale.subarray(0, n),
          status: this.status.subarray(0, n),
          members: this.members.subarray(0, n * this.membersPerPoint),
        }
      : undefined;
    detector.scoreBatch(this.series.subarray(0, n), this.values.subarray(0, n), this.ts.subarray(0, n), this.out.subarray(0, n), detail);
  }
}

export class CadenceRoutedDetector implements TimeseriesDetector {
  readonly type = 'by-cadence';
  readonly version = BY_CADENCE_VERSION;
  readonly threshold: number;
  readonly config: Readonly<ByCadenceConfig>;
  readonly fast: RollingRobustDetector;
  readonly slow: EnsembleDetector;
  /** The ensemble's members, so an ensemble-routed point can say which of them fired (NaN on fast points). */
  readonly memberNames: readonly string[];
  readonly scoreMap: ScoreMap;
  private readonly state: SeriesState<ReturnType<typeof routerFields>>;
  /** What the ensemble counted for replayed points (already reported by the robust z). */
  private readonly replayStats = zeroStats();
  private readonly fastLane = new Lane(0);
  private readonly slowLane: Lane;
  private readonly replayLane: Lane;
  private readonly fastScorer: SeriesScorer;
  private readonly slowScorer: SeriesScorer;
  /** Each point's route in the batch being scored. */
  private pointRoutes = new Uint8Array(0);

  constructor(config: Readonly<ByCadenceConfig> = BY_CADENCE_DEFAULTS, initialCapacity = 64) {
    this.config = config;
    this.fast = new RollingRobustDetector(config.fast, initialCapacity);
    this.slow = new EnsembleDetector(config.slow);
    this.threshold = this.fast.threshold;
    this.memberNames = this.slow.memberNames;
    this.scoreMap = ensembleToRobustZ(this.slow.threshold, this.fast.threshold);
    this.state = new SeriesState(routerFields(config.cadenceSamples), initialCapacity);
    this.slowLane = new Lane(this.memberNames.length);
    this.replayLane = new Lane(this.memberNames.length);
    this.fastScorer = ownScorer(this.fast);
    const slow = ownScorer(this.slow);
    this.slowScorer = { ...slow, nativeScore: (score) => mapScore(this.scoreMap, score, true) };
  }

  get seriesCount(): number {
    return this.state.seriesCount;
  }

  /** The route scoring `series` now: 'fast' until its cadence is known. */
  routeOf(series: number): 'fast' | 'slow' | 'undecided' {
    this.state.checkSeries(series);
    const r = this.state.fields.route[series]!;
    return r === ROUTE.slow ? 'slow' : r === ROUTE.fast ? 'fast' : 'undecided';
  }

  seriesScorer(series: number): SeriesScorer {
    return this.state.fields.route[series] === ROUTE.slow ? this.slowScorer : this.fastScorer;
  }

  addSeries(): number {
    const s = this.state.addSeries();
    this.fast.addSeries();
    return s;
  }

  setScaleFloor(series: number, floor: number): void {
    this.fast.setScaleFloor(series, floor);
    this.state.fields.floor[series] = floor;
    const slow = this.state.fields.slowIndex[series]!;
    if (slow >= 0) this.slow.setScaleFloor(slow, floor);
  }

  resetSeries(series: number): void {
    // The ensemble series (if any) is kept for the series and reused if it is routed there again.
    const slow = this.state.fields.slowIndex[series]!;
    const floor = this.state.fields.floor[series]!;
    this.state.reset(series);
    this.state.fields.slowIndex[series] = slow;
    this.state.fields.floor[series] = floor;
    this.fast.resetSeries(series);
    if (slow >= 0) this.slow.resetSeries(slow);
  }

  async open(options?: DetectorRuntimeOptions): Promise<void> {
    await this.slow.open(options);
  }

  async predictAhead(): Promise<void> {
    await this.slow.predictAhead();
  }

  async close(): Promise<void> {
    await this.slow.close();
  }

  predictionCounts(): PredictionCounts {
    return this.slow.predictionCounts();
  }

  probability(score: number): number {
    return this.fast.probability(score);
  }

  describe(): string {
    const minutes = this.config.slowFromIntervalMs / 60_000;
    return `by cadence: series reporting at least every ${minutes} min are scored by ${this.fast.describe()}; slower ones by the ${this.slow.describe()}`;
  }

  stats(): DetectorStats {
    const s = zeroStats();
    addStats(s, this.fast.stats(), 1);
    addStats(s, this.slow.stats(), 1);
    addStats(s, this.replayStats, -1);
    return s;
  }

  scoreBatch(seriesIndex: Int32Array, values: Float64Array, ts: Float64Array, out: Float64Array, detail?: ScoreDetail): void {
    const n = seriesIndex.length;
    const routes = this.routePoints(seriesIndex, values, ts);
    if (routes === ROUTE.fast) {
      // Every point to the robust z (the city at a reading a second): no copies.
      this.fast.scoreBatch(seriesIndex, values, ts, out, detail);
      if (detail?.members !== undefined) detail.members.fill(Number.NaN, 0, n * this.memberNames.length);
      return;
    }
    const fast = this.fastLane;
    const slow = this.slowLane;
    const replay = this.replayLane;
    fast.reset(n);
    slow.reset(n);
    replay.reset(n * (this.config.cadenceSamples + 1));
    const route = this.pointRoutes;
    const slowIndex = this.state.fields.slowIndex;
    for (let i = 0; i < n; i++) {
      const r = route[i]!;
      if (r === ROUTE.slow) slow.push(i, slowIndex[seriesIndex[i]!]!, values[i]!, ts[i]!);
      else if (r === ROUTE.fast) fast.push(i, seriesIndex[i]!, values[i]!, ts[i]!);
      else {
        fast.push(i, seriesIndex[i]!, values[i]!, ts[i]!);
        // The point that made its series' cadence known: the series' kept readings, up to this one.
        if (r === REPLAY) this.pushReplay(replay, seriesIndex[i]!);
      }
    }
    const withDetail = detail !== undefined;
    fast.score(this.fast, withDetail);
    // A series' replayed readings come before its ensemble-routed ones in the batch (its route is
    // decided once), so scoring the replay first keeps each series' points in order.
    const before = this.slow.stats();
    replay.score(this.slow, false);
    addStats(this.replayStats, this.slow.stats(), 1);
    addStats(this.replayStats, before, -1);
    slow.score(this.slow, withDetail);

    const m = this.memberNames.length;
    for (let k = 0; k < fast.n; k++) {
      const i = fast.at[k]!;
      out[i] = fast.out[k]!;
      if (detail === undefined) continue;
      detail.expected[i] = fast.expected[k]!;
      detail.scale[i] = fast.scale[k]!;
      detail.status[i] = fast.status[k]!;
      detail.members?.fill(Number.NaN, i * m, i * m + m);
    }
    for (let k = 0; k < slow.n; k++) {
      const i = slow.at[k]!;
      out[i] = mapScore(this.scoreMap, slow.out[k]!);
      if (detail === undefined) continue;
      detail.expected[i] = slow.expected[k]!;
      detail.scale[i] = slow.scale[k]!;
      detail.status[i] = slow.status[k]!;
      detail.members?.set(slow.members.subarray(k * m, k * m + m), i * m);
    }
  }

  /** Each point's route, in `pointRoutes`; learns cadences on the way. Returns ROUTE.fast when every point goes there. */
  private routePoints(seriesIndex: Int32Array, values: Float64Array, ts: Float64Array): number {
    const n = seriesIndex.length;
    if (this.pointRoutes.length < n) this.pointRoutes = new Uint8Array(Math.max(n, 2 * this.pointRoutes.length));
    const route = this.state.fields.route;
    const seriesCount = this.state.seriesCount;
    let allFast = true;
    for (let i = 0; i < n; i++) {
      const s = seriesIndex[i]!;
      if (!(s >= 0 && s < seriesCount)) {
        throw new DetectorError('invalid-argument', `seriesIndex[${i}]: expected a series 0…${seriesCount - 1}; got ${s}`);
      }
      const r = route[s]!;
      this.pointRoutes[i] = r;
      if (r !== ROUTE.fast) allFast = false;
      if (r === ROUTE.undecided && this.keep(s, values[i]!, ts[i]!) && this.decide(s)) this.pointRoutes[i] = REPLAY;
    }
    return allFast ? ROUTE.fast : ROUTE.undecided;
  }

  /** Keeps an undecided series' reading if it is in time order (only those tell the cadence; the detectors skip and count the rest). */
  private keep(series: number, value: number, t: number): boolean {
    const width = this.config.cadenceSamples + 1;
    const bufferTs = this.state.fields.bufferTs;
    const buffered = this.state.fields.buffered;
    const b = buffered[series]!;
    if (!(t === t) || (b > 0 && !(t > bufferTs[series * width + b - 1]!))) return false;
    bufferTs[series * width + b] = t;
    this.state.fields.bufferValues[series * width + b] = value;
    buffered[series] = b + 1;
    return true;
  }

  /** Routes a series once it has kept enough readings; true when it went to the ensemble. */
  private decide(series: number): boolean {
    const samples = this.config.cadenceSamples;
    if (this.state.fields.buffered[series]! < samples + 1) return false;
    const t = this.state.fields.bufferTs.subarray(series * (samples + 1), (series + 1) * (samples + 1));
    const intervals = Array.from({ length: samples }, (_, k) => t[k + 1]! - t[k]!).sort((a, b) => a - b);
    const median = samples % 2 === 1 ? intervals[(samples - 1) / 2]! : (intervals[samples / 2 - 1]! + intervals[samples / 2]!) / 2;
    if (median < this.config.slowFromIntervalMs) {
      this.state.fields.route[series] = ROUTE.fast;
      return false;
    }
    this.state.fields.route[series] = ROUTE.slow;
    const slowIndex = this.state.fields.slowIndex;
    if (slowIndex[series]! < 0) slowIndex[series] = this.slow.addSeries();
    const floor = this.state.fields.floor[series]!;
    if (floor === floor) this.slow.setScaleFloor(slowIndex[series]!, floor);
    // The robust z keeps nothing it will use.
    this.fast.resetSeries(series);
    return true;
  }

  /** A newly ensemble-routed series' kept readings, for the ensemble to learn from before its next one. */
  private pushReplay(lane: Lane, series: number): void {
    const width = this.config.cadenceSamples + 1;
    const bufferTs = this.state.fields.bufferTs;
    const bufferValues = this.state.fields.bufferValues;
    const slow = this.state.fields.slowIndex[series]!;
    for (let k = 0; k < this.state.fields.buffered[series]!; k++) {
      lane.push(-1, slow, bufferValues[series * width + k]!, bufferTs[series * width + k]!);
    }
  }

  checkpoint(): Uint8Array {
    return concatCheckpoints([this.state.encode(this.identity()), this.fast.checkpoint(), this.slow.checkpoint()]);
  }

  restore(bytes: Uint8Array): void {
    const parts = splitCheckpoints(bytes, 3, this.type);
    // A refused checkpoint changes nothing: what was taken before the refusal is put back.
    const identity = this.identity();
    const before = [this.state.encode(identity), this.fast.checkpoint(), this.slow.checkpoint()] as const;
    try {
      this.state.decode(parts[0]!, identity);
      this.fast.restore(parts[1]!);
      this.slow.restore(parts[2]!);
      // A loop, not Math.max(...): spreading a city's worth of series overflows the call stack.
      let slowNeeded = 0;
      const slowIndex = this.state.fields.slowIndex;
      for (let s = 0; s < this.state.seriesCount; s++) if (slowIndex[s]! + 1 > slowNeeded) slowNeeded = slowIndex[s]! + 1;
      if (this.fast.seriesCount !== this.state.seriesCount || this.slow.seriesCount < slowNeeded) {
        throw new DetectorError(
          'invalid-argument',
          `expected the robust z to hold the router's ${this.state.seriesCount} series and the ensemble at least ${slowNeeded}; got ${this.fast.seriesCount} and ${this.slow.seriesCount}`,
        );
      }
    } catch (e) {
      this.state.decode(before[0], identity);
      this.fast.restore(before[1]);
      this.slow.restore(before[2]);
      throw e;
    }
  }

  private identity() {
    return { type: this.type, version: this.version, config: JSON.stringify(this.config) };
  }
}
