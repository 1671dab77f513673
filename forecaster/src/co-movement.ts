import type { WarningLevel } from '@cityops/schemas';
import { ForecastError } from './errors.js';

/**
 * Co-movement breaks: indicators that usually move together (pork and feed prices, two fuel
 * grades) and suddenly do not. A break is news even when neither move alone is abnormal — one
 * market is repricing something the other is not (a supply shock on one side, a stale or wrong
 * feed on the other) — so it is watched on its own, beside the single-indicator moves.
 *
 * Streaming, on event time shared by all indicators:
 * - Ticks are cut into bars of `barMs`; an indicator's close in a bar is its last value there
 *   (carried forward when it did not tick). A bar is closed once the newest tick seen is
 *   `latenessMs` past its end, so ticks of other partitions arriving a little later still count.
 * - Per closed bar, each tracked indicator's return is its relative change since the previous
 *   close; a ring keeps the last `usualBars` of them.
 * - For each pair: the usual correlation of returns (Pearson) over the older part of the ring,
 *   and the current one over the last `currentBars`. The usual window excludes the current one
 *   so the break cannot dilute its own baseline. A pair with |usual| ≥ `minUsualCorrelation`
 *   that has moved at least `minDrop` away from it (down for a positive pair, up for a negative)
 *   is a break; the drop sets the level.
 *
 * Cost: pairs × usualBars per closed bar, so tracking is bounded to the first `maxIndicators`
 * indicators seen (64: 2016 pairs, ~0.5 M multiply-adds a bar).
 */

export interface CoMovementPolicy {
  /** Bar length; returns are measured bar to bar. Default 60 000 ms (minute ticks). */
  barMs: number;
  /**
   * How far past a bar's end the newest tick must be before the bar is closed: ticks of other
   * partitions may arrive this much behind the newest (the worker handles a partition's batch
   * at a time), at the price of warnings this much later. Default 300 000 ms.
   */
  latenessMs: number;
  /** Bars of returns kept: the usual window is these less the current ones. Default 240. */
  usualBars: number;
  /** Bars in the current window. Default 30. */
  currentBars: number;
  /** A pair moves together when |usual correlation| is at least this. Default 0.6. */
  minUsualCorrelation: number;
  /** Least distance of the current correlation from the usual one (towards 0 and beyond) that is a break. Default 0.6. */
  minDrop: number;
  /** Share of bars in a window with a return for both indicators, at least. Default 0.8. */
  minValidShare: number;
  /** Indicators tracked, the first seen. Default 64. */
  maxIndicators: number;
  /** Level per drop, ascending. Default blue 0.6, yellow 0.9, orange 1.2, red 1.5. */
  levels: readonly { level: WarningLevel; minDrop: number }[];
}

export const DEFAULT_CO_MOVEMENT_POLICY: Readonly<CoMovementPolicy> = {
  barMs: 60_000,
  latenessMs: 300_000,
  usualBars: 240,
  currentBars: 30,
  minUsualCorrelation: 0.6,
  minDrop: 0.6,
  minValidShare: 0.8,
  maxIndicators: 64,
  levels: [
    { level: 'blue', minDrop: 0.6 },
    { level: 'yellow', minDrop: 0.9 },
    { level: 'orange', minDrop: 1.2 },
    { level: 'red', minDrop: 1.5 },
  ],
};

/** One pair that stopped moving together, as of the end of a closed bar. */
export interface CoMovementBreak {
  /** The pair, in the order they were first seen. */
  a: string;
  b: string;
  /** End of the bar the break was seen at (event time). */
  ts: number;
  /** Pearson correlation of bar returns over the usual window, and over the current one. */
  usual: number;
  current: number;
  /** sign(usual) · (usual − current). */
  drop: number;
  /** Relative change of each over the current window (0.05 = +5%). */
  moveA: number;
  moveB: number;
  /** Each one's current-window move in units of its usual per-bar return spread × √bars. */
  zA: number;
  zB: number;
  /** Bars in each window. */
  usualBars: number;
  currentBars: number;
}

interface Tracked {
  id: string;
  /** Last value seen in each not yet closed bar: (bar, value) in bar order. */
  pending: { bar: number; value: number }[];
  /** Close as of the last closed bar; NaN before the first. */
  close: number;
  /** Closes at the start of each ring slot's bar, for the current window's move. */
  closes: Float64Array;
  returns: Float64Array;
}

export class CoMovementMonitor {
  readonly policy: Readonly<CoMovementPolicy>;
  private readonly tracked: Tracked[] = [];
  private readonly byId = new Map<string, Tracked>();
  /** The next bar to close; NaN until the first tick. */
  private nextBar = Number.NaN;
  private newestTs = Number.NEGATIVE_INFINITY;
  /** Closed bars so far (ring position = closed % usualBars). */
  private closed = 0;

  constructor(policy: Partial<CoMovementPolicy> = {}) {
    this.policy = validateCoMovementPolicy({ ...DEFAULT_CO_MOVEMENT_POLICY, ...policy });
  }

  get trackedCount(): number {
    return this.tracked.length;
  }

  /**
   * One accepted tick (in order per indicator). Returns the breaks seen in the bars this tick
   * closed, usually none.
   */
  observe(indicatorId: string, ts: number, value: number): CoMovementBreak[] {
    const p = this.policy;
    const bar = Math.floor(ts / p.barMs);
    let t = this.byId.get(indicatorId);
    if (t === undefined && this.tracked.length < p.maxIndicators) {
      t = {
        id: indicatorId,
        pending: [],
        close: Number.NaN,
        closes: new Float64Array(p.usualBars).fill(Number.NaN),
        returns: new Float64Array(p.usualBars).fill(Number.NaN),
      };
      this.tracked.push(t);
      this.byId.set(indicatorId, t);
    }
    if (Number.isNaN(this.nextBar)) this.nextBar = bar;
    if (t !== undefined && bar >= this.nextBar) {
      const last = t.pending.at(-1);
      if (last !== undefined && last.bar === bar) last.value = value;
      else t.pending.push({ bar, value });
    }
    // A tick for a bar already closed is too late for it; it still moves the watermark.
    this.newestTs = Math.max(this.newestTs, ts);
    const breaks: CoMovementBreak[] = [];
    while ((this.nextBar + 1) * p.barMs + p.latenessMs <= this.newestTs) {
      const ticked = this.closeBar(this.nextBar);
      this.nextBar++;
      // Bars nobody ticked in (a feed gap, a night) only carry closes forward: nothing to judge.
      if (ticked) breaks.push(...this.pairsBroken(this.nextBar * p.barMs));
    }
    return breaks;
  }

  /** Closes one bar for every tracked indicator; true if any of them ticked in it. */
  private closeBar(bar: number): boolean {
    const slot = this.closed % this.policy.usualBars;
    let ticked = false;
    for (const t of this.tracked) {
      let close = t.close;
      while (t.pending.length > 0 && t.pending[0]!.bar <= bar) {
        close = t.pending.shift()!.value;
        ticked = true;
      }
      t.closes[slot] = t.close;
      // A relative return, so indicators of any size compare; none across a zero or from nothing.
      t.returns[slot] = Number.isFinite(t.close) && t.close !== 0 ? (close - t.close) / Math.abs(t.close) : Number.NaN;
      t.close = close;
    }
    this.closed++;
    return ticked;
  }

  private pairsBroken(ts: number): CoMovementBreak[] {
    const p = this.policy;
    const W = p.usualBars;
    const C = p.currentBars;
    if (this.closed < W) return [];
    const out: CoMovementBreak[] = [];
    // Ring positions, oldest first.
    const start = this.closed % W;
    const usualSlots = Array.from({ length: W - C }, (_, i) => (start + i) % W);
    const currentSlots = Array.from({ length: C }, (_, i) => (start + W - C + i) % W);
    for (let i = 0; i < this.tracked.length; i++) {
      for (let j = i + 1; j < this.tracked.length; j++) {
        const a = this.tracked[i]!;
        const b = this.tracked[j]!;
        const usual = correlation(a.returns, b.returns, usualSlots, p.minValidShare);
        if (!(Math.abs(usual) >= p.minUsualCorrelation)) continue;
        const current = correlation(a.returns, b.returns, currentSlots, p.minValidShare);
        if (Number.isNaN(current)) continue;
        const drop = Math.sign(usual) * (usual - current);
        if (!(drop >= p.minDrop)) continue;
        const first = currentSlots[0]!;
        const moveA = relativeMove(a.closes[first]!, a.close);
        const moveB = relativeMove(b.closes[first]!, b.close);
        out.push({
          a: a.id,
          b: b.id,
          ts,
          usual,
          current,
          drop,
          moveA,
          moveB,
          zA: moveA / (spread(a.returns, usualSlots) * Math.sqrt(C)),
          zB: moveB / (spread(b.returns, usualSlots) * Math.sqrt(C)),
          usualBars: W - C,
          currentBars: C,
        });
      }
    }
    return out;
  }
}

/** Pearson correlation over the given ring slots where both have a return; NaN with too few or no variation. */
function correlation(x: Float64Array, y: Float64Array, slots: readonly number[], minValidShare: number): number {
  let n = 0;
  let sx = 0;
  let sy = 0;
  for (const s of slots) {
    const a = x[s]!;
    const b = y[s]!;
    if (Number.isNaN(a) || Number.isNaN(b)) continue;
    n++;
    sx += a;
    sy += b;
  }
  if (n < Math.max(3, minValidShare * slots.length)) return Number.NaN;
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (const s of slots) {
    const a = x[s]!;
    const b = y[s]!;
    if (Number.isNaN(a) || Number.isNaN(b)) continue;
    sxx += (a - mx) ** 2;
    syy += (b - my) ** 2;
    sxy += (a - mx) * (b - my);
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : Number.NaN;
}

/** Standard deviation of the returns in the slots (NaN skipped). */
function spread(x: Float64Array, slots: readonly number[]): number {
  const v = slots.map((s) => x[s]!).filter((r) => !Number.isNaN(r));
  if (v.length < 2) return Number.NaN;
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  return Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1));
}

function relativeMove(from: number, to: number): number {
  return Number.isFinite(from) && from !== 0 ? (to - from) / Math.abs(from) : Number.NaN;
}

export function validateCoMovementPolicy(p: CoMovementPolicy): CoMovementPolicy {
  const problems: string[] = [];
  const whole = (name: string, v: number, min: number): void => {
    if (!Number.isInteger(v) || v < min) problems.push(`'${name}': expected a whole number ≥ ${min}; got ${v}`);
  };
  whole('barMs', p.barMs, 1);
  whole('currentBars', p.currentBars, 5);
  whole('usualBars', p.usualBars, p.currentBars + 10);
  whole('maxIndicators', p.maxIndicators, 2);
  if (!(p.latenessMs >= 0)) problems.push(`'latenessMs': expected ≥ 0; got ${p.latenessMs}`);
  if (!(p.minUsualCorrelation > 0 && p.minUsualCorrelation <= 1))
    problems.push(`'minUsualCorrelation': expected in (0, 1]; got ${p.minUsualCorrelation}`);
  if (!(p.minDrop > 0 && p.minDrop <= 2)) problems.push(`'minDrop': expected in (0, 2]; got ${p.minDrop}`);
  if (!(p.minValidShare > 0 && p.minValidShare <= 1)) problems.push(`'minValidShare': expected in (0, 1]; got ${p.minValidShare}`);
  if (p.levels.length === 0) problems.push(`'levels': expected at least one line`);
  for (let i = 1; i < p.levels.length; i++) {
    if (p.levels[i]!.minDrop < p.levels[i - 1]!.minDrop)
      problems.push(`'levels': expected rising minDrop; got ${p.levels.map((l) => l.minDrop).join(', ')}`);
  }
  if (problems.length > 0) throw new ForecastError('invalid-config', `invalid co-movement policy: ${problems.join('; ')}`);
  return p;
}
