import { levelRank, type EventKind, type SensorKind, type WarningLevel } from '@cityops/schemas';
import type { Direction, PhysicalLines, PhysicalReading, WarningPolicy } from './warning-policy.js';
import { EVENT_BY_KIND, levelFor, physicalLevelOf } from './warning-policy.js';

/**
 * Hysteresis from anomalous points to warning episodes, per series. Pure and synchronous: the
 * worker feeds it every scored point in order and publishes what it decides.
 *
 * - An episode opens after `openAfterPoints` consecutive anomalous points in one direction
 *   (one stray point is noise, not an event) and emits a warning.
 * - While open, its level only rises; each rise emits one more warning. Nothing is re-emitted
 *   for points that do not raise it — the wall must not flood with copies.
 * - It closes after `closeAfterPoints` consecutive points that do not continue it.
 * - The level is the highest reached by the peak score, the duration, and — for a sensor with
 *   physical lines (warning-policy.ts) — the most extreme value in the hazard direction. The worker
 *   also feeds points beyond a physical line as anomalous, so a level that rose too slowly for the
 *   statistics (and that they have adopted as normal) still opens and holds an episode.
 */

export interface ObservedPoint {
  ts: number;
  anomalous: boolean;
  direction: Direction;
  /** Absolute score of the point (robust z). */
  score: number;
  /** Id of the Anomaly record emitted for it, if anomalous. */
  anomalyId?: string;
  /** The reading's value (for the physical lines). */
  value?: number;
  /** The sensor's physical lines, if it has any. */
  lines?: PhysicalLines | undefined;
}

export interface EpisodeDecision {
  type: 'opened' | 'raised';
  event: EventKind;
  level: WarningLevel;
  /** The level before a raise. */
  previousLevel?: WarningLevel;
  direction: Direction;
  /** Timestamp of the episode's first anomalous point: with the level, the warning's identity. */
  startTs: number;
  durationMs: number;
  peakScore: number;
  /** Anomalous points in the episode so far. */
  anomalousPoints: number;
  /** Most recent anomaly ids, oldest first, at most `maxEvidenceIds`. */
  evidenceIds: readonly string[];
  /** The sensor's physical lines and what they said of the episode; absent for a sensor without lines. */
  physical?: { lines: PhysicalLines; reading: PhysicalReading; peakValue: number };
}

/** An episode that closed because its series came back to normal (not one ended by a reset). */
export interface EpisodeClosure {
  series: number;
  event: EventKind;
  level: WarningLevel;
  direction: Direction;
  /** Timestamp of the episode's first anomalous point (its identity, with the series). */
  startTs: number;
  /** Timestamp of the normal point that closed it. */
  endTs: number;
  peakScore: number;
}

/**
 * One series' episode state as plain data, for the worker's checkpoint: everything but the
 * physical lines, which come from config and are looked up again on restore.
 */
export type EpisodeSnapshot = Omit<SeriesEpisode, 'lines' | 'runDirection' | 'runExtreme'> & {
  series: number;
  runDirection: Direction | null;
  /** NaN (no extreme yet) is written as null: the snapshot travels as JSON. */
  runExtreme: number | null;
};

interface SeriesEpisode {
  runDirection: Direction | undefined;
  runCount: number;
  runStartTs: number;
  runPeak: number;
  /** Most extreme value of the run in the physical lines' direction; NaN when none seen. */
  runExtreme: number;
  lines: PhysicalLines | undefined;
  evidence: string[];
  active: boolean;
  event: EventKind;
  level: WarningLevel;
  normalCount: number;
  /** Timestamp of the last point that continued the open episode (for `closeAfterMs`). */
  lastContinuedTs: number;
  /** Points left during which an excursion opposite to the last hazard opens no sensor_fault. */
  guardRemaining: number;
  /** …and until this timestamp (`guardAfterEpisodeMs` after the hazard episode closed). */
  guardUntilTs: number;
}

export class EpisodeTracker {
  private readonly episodes: (SeriesEpisode | undefined)[] = [];
  private active = 0;
  private closures: EpisodeClosure[] = [];

  constructor(private readonly policy: WarningPolicy) {}

  /** Episodes currently open. */
  get activeCount(): number {
    return this.active;
  }

  /** True while the series has an open episode. */
  isOpen(series: number): boolean {
    return this.episodes[series]?.active === true;
  }

  /** True while the series has an open episode or a run of anomalous points in `direction`. */
  isUnderWay(series: number, direction: Direction): boolean {
    const e = this.episodes[series];
    return e !== undefined && e.runDirection === direction && (e.active || e.runCount > 0);
  }

  /**
   * Episodes closed by normal points since the last call, oldest first: each is an all-clear
   * (WarningCleared) for the warnings its episode raised.
   */
  takeClosed(): EpisodeClosure[] {
    if (this.closures.length === 0) return NO_CLOSURES;
    const closed = this.closures;
    this.closures = [];
    return closed;
  }

  /**
   * Every series' episode state that differs from a fresh one, oldest series first. Closures not
   * yet taken are not included: the worker takes them in the same batch that made them.
   */
  snapshot(): EpisodeSnapshot[] {
    const out: EpisodeSnapshot[] = [];
    for (let series = 0; series < this.episodes.length; series++) {
      const e = this.episodes[series];
      if (e === undefined || (!e.active && e.runCount === 0 && e.guardRemaining === 0 && e.guardUntilTs === 0)) continue;
      out.push({
        series,
        runDirection: e.runDirection ?? null,
        runCount: e.runCount,
        runStartTs: e.runStartTs,
        runPeak: e.runPeak,
        runExtreme: e.runExtreme === e.runExtreme ? e.runExtreme : null,
        evidence: [...e.evidence],
        active: e.active,
        event: e.event,
        level: e.level,
        normalCount: e.normalCount,
        lastContinuedTs: e.lastContinuedTs,
        guardRemaining: e.guardRemaining,
        guardUntilTs: e.guardUntilTs,
      });
    }
    return out;
  }

  /**
   * Replaces all episode state with a snapshot's, so open episodes stay open across a restart
   * (no second warning for a condition already warned of). `linesOf` gives each series' physical
   * lines as configured now.
   */
  restore(snapshot: readonly EpisodeSnapshot[], linesOf: (series: number) => PhysicalLines | undefined): void {
    this.episodes.length = 0;
    this.active = 0;
    this.closures = [];
    for (const x of snapshot) {
      this.episodes[x.series] = {
        runDirection: x.runDirection ?? undefined,
        runCount: x.runCount,
        runStartTs: x.runStartTs,
        runPeak: x.runPeak,
        runExtreme: x.runExtreme ?? Number.NaN,
        lines: linesOf(x.series),
        evidence: x.evidence.slice(-this.policy.maxEvidenceIds),
        active: x.active,
        event: x.event,
        level: x.level,
        normalCount: x.normalCount,
        lastContinuedTs: x.lastContinuedTs,
        guardRemaining: x.guardRemaining,
        guardUntilTs: x.guardUntilTs,
      };
      if (x.active) this.active++;
    }
  }

  observe(series: number, kind: SensorKind, point: ObservedPoint): EpisodeDecision | undefined {
    if (!point.anomalous) {
      this.observeNormal(series, point.ts);
      return undefined;
    }
    const e = (this.episodes[series] ??= freshEpisode());
    const p = this.policy;
    if (e.active) {
      // A reading repeated exactly during a hazard is the hazard holding still (a lane jammed
      // solid, a gauge at its high-water mark), not a broken sensor: it continues the episode.
      if (point.direction === e.runDirection || (point.direction === 'flat' && e.event !== 'sensor_fault')) {
        e.normalCount = 0;
        e.lastContinuedTs = point.ts;
        e.runCount++;
        if (point.score > e.runPeak) e.runPeak = point.score;
        trackExtreme(e, point);
        this.addEvidence(e, point.anomalyId);
        const level = levelFor(p, e.event, e.runPeak, point.ts - e.runStartTs, physicalReading(e));
        if (levelRank(level) > levelRank(e.level)) {
          const previousLevel = e.level;
          e.level = level;
          return { ...this.decision(e, 'raised', point.ts), previousLevel };
        }
        return undefined;
      }
      this.notContinued(series, e, point.ts);
      return undefined;
    }

    if (e.guardRemaining > 0) e.guardRemaining--;
    if (point.direction !== e.runDirection) {
      e.runDirection = point.direction;
      e.runCount = 0;
      e.runStartTs = point.ts;
      e.runPeak = 0;
      e.runExtreme = Number.NaN;
      e.evidence.length = 0;
    }
    e.runCount++;
    if (point.score > e.runPeak) e.runPeak = point.score;
    trackExtreme(e, point);
    this.addEvidence(e, point.anomalyId);
    if (e.runCount < p.openAfterPoints) return undefined;
    const event = eventFor(kind, point.direction);
    if (event === 'sensor_fault' && point.direction !== 'flat' && (e.guardRemaining > 0 || point.ts < e.guardUntilTs)) return undefined;
    e.active = true;
    e.event = event;
    e.normalCount = 0;
    e.lastContinuedTs = point.ts;
    e.level = levelFor(p, event, e.runPeak, point.ts - e.runStartTs, physicalReading(e));
    this.active++;
    return this.decision(e, 'opened', point.ts);
  }

  /**
   * `observe` of a point that is not anomalous (it never decides anything), without the point
   * object: this is nearly every point, and the worker calls it once per reading.
   */
  observeNormal(series: number, ts: number): void {
    const e = this.episodes[series];
    // A series with no anomalous point yet has nothing to count: its state is a fresh episode's.
    if (e === undefined) return;
    if (e.active) {
      this.notContinued(series, e, ts);
      return;
    }
    if (e.guardRemaining > 0) e.guardRemaining--;
    clearRun(e);
  }

  /**
   * Ends a series' episode without a warning and without an all-clear (e.g. its baseline was
   * reset after a gap): nobody saw the condition end, so nothing may be verified by it.
   */
  end(series: number): void {
    const e = this.episodes[series];
    if (e === undefined) return;
    if (e.active) this.close(e);
    clearRun(e);
  }

  /**
   * A point of an open episode that does not continue it: enough of them in a row, over long
   * enough, close it.
   */
  private notContinued(series: number, e: SeriesEpisode, ts: number): void {
    e.normalCount++;
    if (e.normalCount < this.policy.closeAfterPoints || ts - e.lastContinuedTs < this.policy.closeAfterMs) return;
    this.closures.push({
      series,
      event: e.event,
      level: e.level,
      direction: e.runDirection ?? 'flat',
      startTs: e.runStartTs,
      endTs: ts,
      peakScore: e.runPeak,
    });
    this.close(e, ts);
  }

  private close(e: SeriesEpisode, ts?: number): void {
    e.active = false;
    this.active--;
    if (e.event !== 'sensor_fault') {
      e.guardRemaining = this.policy.guardAfterEpisodePoints;
      // A reset (no ts) ends the episode unseen: the point guard alone.
      e.guardUntilTs = ts === undefined ? 0 : ts + this.policy.guardAfterEpisodeMs;
    }
    clearRun(e);
  }

  private addEvidence(e: SeriesEpisode, id: string | undefined): void {
    if (id === undefined) return;
    e.evidence.push(id);
    if (e.evidence.length > this.policy.maxEvidenceIds) e.evidence.shift();
  }

  private decision(e: SeriesEpisode, type: 'opened' | 'raised', ts: number): EpisodeDecision {
    const reading = physicalReading(e);
    return {
      ...(reading === null || e.lines === undefined ? {} : { physical: { lines: e.lines, reading, peakValue: e.runExtreme } }),
      type,
      event: e.event,
      level: e.level,
      direction: e.runDirection ?? 'flat',
      startTs: e.runStartTs,
      durationMs: ts - e.runStartTs,
      peakScore: e.runPeak,
      anomalousPoints: e.runCount,
      evidenceIds: [...e.evidence],
    };
  }
}

const NO_CLOSURES: EpisodeClosure[] = [];

/**
 * Forgets the run in progress. The evidence list is emptied in place rather than replaced (no
 * allocation per point): it never leaves the tracker, decisions copy it.
 */
function clearRun(e: SeriesEpisode): void {
  e.runDirection = undefined;
  e.runCount = 0;
  e.runExtreme = Number.NaN;
  e.evidence.length = 0;
}

/** Keeps the run's most extreme value in its sensor's hazard direction. */
function trackExtreme(e: SeriesEpisode, point: ObservedPoint): void {
  const lines = point.lines;
  e.lines = lines;
  const v = point.value;
  if (lines === undefined || v === undefined || point.direction !== lines.direction) return;
  const x = e.runExtreme;
  if (x !== x || (lines.direction === 'high' ? v > x : v < x)) e.runExtreme = v;
}

/** What the physical lines say of the run: null without lines or off their direction (a fault). */
function physicalReading(e: SeriesEpisode): PhysicalReading {
  const lines = e.lines;
  if (lines === undefined || e.runDirection !== lines.direction || e.event === 'sensor_fault') return null;
  const x = e.runExtreme;
  if (x !== x) return 'below';
  return physicalLevelOf(lines, x) ?? 'below';
}

export function eventFor(kind: SensorKind, direction: Direction): EventKind {
  return direction === 'flat' ? 'sensor_fault' : EVENT_BY_KIND[kind][direction];
}

function freshEpisode(): SeriesEpisode {
  return {
    runDirection: undefined,
    runCount: 0,
    runStartTs: 0,
    runPeak: 0,
    runExtreme: Number.NaN,
    lines: undefined,
    evidence: [],
    active: false,
    event: 'sensor_fault',
    level: 'blue',
    normalCount: 0,
    lastContinuedTs: 0,
    guardRemaining: 0,
    guardUntilTs: 0,
  };
}
