import { DetectorError } from '../errors.js';
import type { FieldSpec } from './series-state.js';
import { SeriesState } from './series-state.js';
import type { DetectorStats, ScoreDetail, TimeseriesDetector } from './timeseries-detector.js';
import { POINT_STATUS } from './timeseries-detector.js';

/**
 * What the streaming detectors (seasonal-robust, online-ar, ensemble) share: the point-intake
 * rules of the plugin contract (non-finite, duplicate and late points are skipped and counted,
 * a long gap restarts a series), per-series state in a SeriesState, and checkpoints of it.
 * A subclass scores one accepted point at a time in `scorePoint`.
 */

/** Per-point outputs a subclass writes beside the score (read right after scorePoint). */
export interface PointOutcome {
  /** The model's expected value; NaN when it has none yet. */
  expected: number;
  /** The spread one unit of raw surprise stands for, in the series' unit; NaN when none. */
  scale: number;
  /** The calibrated score before the refractory step (what an ensemble combines); NaN when none. */
  raw: number;
  /** True while the series repeats one value for longer than its history makes plausible. */
  stuck: boolean;
}

interface F64Field extends FieldSpec {
  kind: 'f64';
}

/** The fields every streaming detector keeps per series, beside its own. */
export interface StreamFields {
  [name: string]: FieldSpec;
  lastTs: F64Field;
  /** Points accepted since the series started (or was reset). */
  accepted: F64Field;
  /** The series' scale floor (setScaleFloor); survives resets. */
  floor: F64Field;
}

export abstract class StreamingDetector<S extends Record<string, FieldSpec>> implements TimeseriesDetector {
  abstract readonly type: string;
  abstract readonly version: string;
  abstract readonly threshold: number;

  protected readonly state: SeriesState<S & StreamFields>;
  readonly outcome: PointOutcome = { expected: Number.NaN, scale: Number.NaN, raw: Number.NaN, stuck: false };
  /** A composing detector's member scores of the last scored point (see TimeseriesDetector.memberNames). */
  protected readonly memberOutcome: Float64Array | undefined = undefined;
  protected readonly counters: DetectorStats = {
    pointsScored: 0,
    pointsWarmingUp: 0,
    skippedNan: 0,
    skippedOutOfOrder: 0,
    skippedDuplicate: 0,
    gapResets: 0,
    stuckPoints: 0,
  };

  constructor(
    fields: S,
    private readonly maxGapMs: number,
    private readonly defaultFloor: number,
    initialCapacity: number,
  ) {
    const stream: StreamFields = {
      lastTs: { stride: 1, kind: 'f64', init: Number.NEGATIVE_INFINITY },
      accepted: { stride: 1, kind: 'f64', init: 0 },
      floor: { stride: 1, kind: 'f64', init: defaultFloor },
    };
    this.state = new SeriesState<S & StreamFields>({ ...fields, ...stream }, initialCapacity);
  }

  get seriesCount(): number {
    return this.state.seriesCount;
  }

  addSeries(): number {
    return this.state.addSeries();
  }

  setScaleFloor(series: number, floor: number): void {
    this.state.checkSeries(series);
    if (!(floor > 0) || !Number.isFinite(floor)) {
      throw new DetectorError('invalid-argument', `expected a positive finite scale floor; got ${floor}`);
    }
    this.state.fields.floor[series] = floor;
  }

  resetSeries(series: number): void {
    this.state.checkSeries(series);
    const floor = this.state.fields.floor[series]!;
    this.state.reset(series);
    this.state.fields.floor[series] = floor;
    this.onReset(series);
  }

  stats(): DetectorStats {
    return { ...this.counters };
  }

  /** The config, as restored checkpoints must match it. */
  protected abstract configJson(): string;

  /** Called after a series' state was put back to initial values (reset or long gap). */
  protected onReset(series: number): void {
    void series;
  }

  /**
   * Scores one accepted point of series `s` (finite, later than the last) and updates its state.
   * Returns the signed score, or NaN while the series is warming up. Writes `this.outcome`.
   */
  abstract scorePoint(s: number, x: number, t: number): number;

  /**
   * Takes one point that a composing detector (the ensemble) has already validated — finite,
   * later than the series' last, after any gap reset — and scores it like scoreBatch would.
   */
  acceptOne(s: number, x: number, t: number): number {
    this.state.fields.lastTs[s] = t;
    const accepted = this.state.fields.accepted;
    accepted[s] = accepted[s]! + 1;
    return this.scorePoint(s, x, t);
  }

  /** Every series' state as bytes; `restore` on a detector of the same type and config resumes it. */
  checkpoint(): Uint8Array {
    return this.state.encode({ type: this.type, version: this.version, config: this.configJson() });
  }

  /** Replaces every series' state with a checkpoint's (see SeriesState for what is checked). */
  restore(bytes: Uint8Array): void {
    this.state.decode(bytes, { type: this.type, version: this.version, config: this.configJson() });
  }

  scoreBatch(seriesIndex: Int32Array, values: Float64Array, ts: Float64Array, out: Float64Array, detail?: ScoreDetail): void {
    const len = seriesIndex.length;
    if (values.length < len || ts.length < len || out.length < len) {
      throw new DetectorError(
        'invalid-argument',
        `expected values, ts and out to hold at least ${len} points (the length of seriesIndex); got ${values.length}, ${ts.length}, ${out.length}`,
      );
    }
    if (detail !== undefined && (detail.expected.length < len || detail.scale.length < len || detail.status.length < len)) {
      throw new DetectorError('invalid-argument', `expected detail arrays to hold at least ${len} points`);
    }
    const memberScores = this.memberOutcome;
    const members = memberScores === undefined ? undefined : detail?.members;
    const m = memberScores?.length ?? 0;
    if (members !== undefined && members.length < len * m) {
      throw new DetectorError(
        'invalid-argument',
        `expected detail.members to hold ${m} scores for each of ${len} points; got ${members.length}`,
      );
    }
    const nSeries = this.state.seriesCount;
    const lastTs = this.state.fields.lastTs;
    const accepted = this.state.fields.accepted;
    const maxGapMs = this.maxGapMs;
    const c = this.counters;
    const o = this.outcome;
    for (let i = 0; i < len; i++) {
      const s = seriesIndex[i]!;
      if (!(s >= 0 && s < nSeries)) {
        throw new DetectorError('invalid-argument', `expected a series index 0…${nSeries - 1} (from addSeries) at point ${i}; got ${s}`);
      }
      const x = values[i]!;
      const t = ts[i]!;
      // `v - v === 0` is false exactly for NaN and ±Infinity.
      if (x - x !== 0 || t - t !== 0) {
        c.skippedNan++;
        out[i] = Number.NaN;
        if (detail !== undefined) writeDetail(detail, i, Number.NaN, Number.NaN, POINT_STATUS.skippedNan);
        continue;
      }
      const last = lastTs[s]!;
      if (t <= last) {
        // A late point cannot join a model that has moved past it, and a same-timestamp point is
        // an at-least-once redelivery: scoring either would double-count.
        const duplicate = t === last;
        if (duplicate) c.skippedDuplicate++;
        else c.skippedOutOfOrder++;
        out[i] = Number.NaN;
        if (detail !== undefined) {
          writeDetail(detail, i, Number.NaN, Number.NaN, duplicate ? POINT_STATUS.skippedDuplicate : POINT_STATUS.skippedOutOfOrder);
        }
        continue;
      }
      let status: number = POINT_STATUS.scored;
      if (accepted[s]! > 0 && t - last > maxGapMs) {
        this.resetSeries(s);
        c.gapResets++;
        status = POINT_STATUS.gapReset;
      }
      lastTs[s] = t;
      accepted[s] = accepted[s]! + 1;
      const score = this.scorePoint(s, x, t);
      out[i] = score;
      if (score - score !== 0) {
        c.pointsWarmingUp++;
        if (status === POINT_STATUS.scored) status = POINT_STATUS.warmup;
      } else {
        c.pointsScored++;
        if (o.stuck) {
          c.stuckPoints++;
          if (status === POINT_STATUS.scored) status = POINT_STATUS.stuck;
        }
      }
      if (detail !== undefined) writeDetail(detail, i, o.expected, o.scale, status);
      if (members !== undefined) members.set(memberScores!, i * m);
    }
  }

  abstract probability(score: number): number;
  abstract describe(): string;
}

function writeDetail(detail: ScoreDetail, i: number, expected: number, scale: number, status: number): void {
  detail.expected[i] = expected;
  detail.scale[i] = scale;
  detail.status[i] = status;
}
