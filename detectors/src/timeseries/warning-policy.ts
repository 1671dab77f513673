import { levelRank, type EventKind, type SensorKind, type WarningLevel } from '@cityops/schemas';
import { DetectorError } from '../errors.js';

/**
 * How sustained anomalies become early warnings (预警): which event a sensor's excursion means,
 * when an episode opens and closes (hysteresis), and which level it reaches.
 */

/** Which way a point left its expected range; 'flat' is a stuck sensor. */
export type Direction = 'high' | 'low' | 'flat';

/**
 * The event a sensor kind's excursion in a direction stands for. High water is waterlogging,
 * slow traffic or full lanes are congestion, and so on; the other direction of each kind is
 * most often a broken or drifting sensor (a water gauge dropping below its dry level, PM2.5
 * falling to zero), so it maps to sensor_fault — see `guardAfterEpisodePoints` for the one
 * case where it is not.
 */
export const EVENT_BY_KIND: Readonly<Record<SensorKind, Readonly<Record<'high' | 'low', EventKind>>>> = {
  water_level: { high: 'waterlogging', low: 'sensor_fault' },
  traffic_speed: { high: 'sensor_fault', low: 'congestion' },
  traffic_occupancy: { high: 'congestion', low: 'sensor_fault' },
  air_quality_pm25: { high: 'pollution', low: 'sensor_fault' },
  power_load: { high: 'power_overload', low: 'sensor_fault' },
};

/** A level is reached when the episode's peak score OR its duration reaches the level's line. */
export interface LevelLine {
  level: WarningLevel;
  /** Peak robust z in the episode at or above which this level applies. */
  minScore: number;
  /** Episode duration (ms since its first anomalous point) at or above which it applies. */
  minDurationMs: number;
}

export interface WarningPolicy {
  /** Consecutive anomalous points, same direction, that open a warning. Default 3. */
  openAfterPoints: number;
  /** Consecutive non-anomalous points that close an open episode. Default 5. */
  closeAfterPoints: number;
  /**
   * Level lines, ascending. Defaults (peak robust z / duration):
   * blue   — any opened episode;
   * yellow — z ≥ 8  or lasting ≥ 10 min;
   * orange — z ≥ 12 or lasting ≥ 30 min;
   * red    — z ≥ 20 (duration alone never makes red: a long but mild excursion is not a
   *          "especially serious" event).
   */
  levels: readonly LevelLine[];
  /**
   * Highest level per event kind. Default: sensor_fault at most yellow — a broken sensor needs
   * maintenance, not an emergency response.
   */
  maxLevelByEvent: Readonly<Partial<Record<EventKind, WarningLevel>>>;
  /**
   * Points after a hazard episode (high water, congestion…) during which an excursion the other
   * way does not open a sensor_fault warning. When an episode outlasts half the window the
   * median adopts the hazard level, and the return to normal then reads as an excursion in the
   * other direction; that is recovery, not a fault. Default 120 (one default window).
   */
  guardAfterEpisodePoints: number;
  /** Anomaly ids carried in a warning's evidence_ids (the most recent). Default 50, at most 100. */
  maxEvidenceIds: number;
}

export const DEFAULT_WARNING_POLICY: Readonly<WarningPolicy> = {
  openAfterPoints: 3,
  closeAfterPoints: 5,
  levels: [
    { level: 'blue', minScore: 0, minDurationMs: 0 },
    { level: 'yellow', minScore: 8, minDurationMs: 10 * 60_000 },
    { level: 'orange', minScore: 12, minDurationMs: 30 * 60_000 },
    { level: 'red', minScore: 20, minDurationMs: Number.POSITIVE_INFINITY },
  ],
  maxLevelByEvent: { sensor_fault: 'yellow' },
  guardAfterEpisodePoints: 120,
  maxEvidenceIds: 50,
};

/**
 * Level lines on the score scale of each detector type. The rolling robust z is unbounded, so
 * its lines are z values; the calibrated members and the ensemble score in [0, 1] (0.5 is a
 * one-in-100,000 surprise under the series' own recent behaviour, see likelihood.ts), so their
 * lines climb towards 1. Durations are the same for all: a long excursion is serious whatever
 * scored it.
 */
export const DEFAULT_LEVELS_BY_DETECTOR: Readonly<Record<string, readonly LevelLine[]>> = {
  'rolling-robust-z': DEFAULT_WARNING_POLICY.levels,
  'seasonal-robust': calibratedLevels(),
  'online-ar': calibratedLevels(),
  'knn-distance': calibratedLevels(),
  ensemble: calibratedLevels(),
};

function calibratedLevels(): readonly LevelLine[] {
  return [
    { level: 'blue', minScore: 0, minDurationMs: 0 },
    { level: 'yellow', minScore: 0.8, minDurationMs: 10 * 60_000 },
    { level: 'orange', minScore: 0.95, minDurationMs: 30 * 60_000 },
    { level: 'red', minScore: 0.995, minDurationMs: Number.POSITIVE_INFINITY },
  ];
}

/** The default policy for a detector type: its level lines, the rest as DEFAULT_WARNING_POLICY. */
export function defaultWarningPolicyFor(detectorType: string): WarningPolicy {
  return { ...DEFAULT_WARNING_POLICY, levels: DEFAULT_LEVELS_BY_DETECTOR[detectorType] ?? DEFAULT_WARNING_POLICY.levels };
}

export function validateWarningPolicy(p: WarningPolicy): WarningPolicy {
  const problems: string[] = [];
  const positiveInt = (name: string, v: number, max: number): void => {
    if (!Number.isInteger(v) || v < 1 || v > max) problems.push(`'${name}': expected a whole number 1…${max}; got ${v}`);
  };
  positiveInt('openAfterPoints', p.openAfterPoints, 10_000);
  positiveInt('closeAfterPoints', p.closeAfterPoints, 10_000);
  positiveInt('maxEvidenceIds', p.maxEvidenceIds, 100);
  if (!Number.isInteger(p.guardAfterEpisodePoints) || p.guardAfterEpisodePoints < 0) {
    problems.push(`'guardAfterEpisodePoints': expected a whole number ≥ 0; got ${p.guardAfterEpisodePoints}`);
  }
  if (p.levels.length === 0) problems.push(`'levels': expected at least one level line`);
  for (let i = 1; i < p.levels.length; i++) {
    const prev = p.levels[i - 1]!;
    const cur = p.levels[i]!;
    if (levelRank(cur.level) <= levelRank(prev.level) || cur.minScore < prev.minScore || cur.minDurationMs < prev.minDurationMs) {
      problems.push(`'levels': expected lines in rising level, score and duration order; got ${prev.level} before ${cur.level}`);
    }
  }
  if (problems.length > 0) throw new DetectorError('invalid-config', `invalid warning policy: ${problems.join('; ')}`);
  return p;
}

/** The level an episode with this peak score and duration reaches, capped for its event kind. */
export function levelFor(policy: WarningPolicy, event: EventKind, peakScore: number, durationMs: number): WarningLevel {
  let level: WarningLevel = policy.levels[0]?.level ?? 'blue';
  for (const line of policy.levels) {
    if (peakScore >= line.minScore || durationMs >= line.minDurationMs) level = line.level;
  }
  const cap = policy.maxLevelByEvent[event];
  return cap !== undefined && levelRank(cap) < levelRank(level) ? cap : level;
}

/** The line that made `level`, in words, for a warning's reasons. */
export function describeLevel(policy: WarningPolicy, level: WarningLevel, event: EventKind): string {
  const line = policy.levels.find((l) => l.level === level);
  const cap = policy.maxLevelByEvent[event];
  const parts: string[] = [];
  if (line !== undefined) {
    if (line.minScore > 0) parts.push(`peak score ≥ ${line.minScore}`);
    if (Number.isFinite(line.minDurationMs) && line.minDurationMs > 0)
      parts.push(`lasting ≥ ${Math.round(line.minDurationMs / 60_000)} min`);
  }
  const rule = parts.length > 0 ? parts.join(' or ') : `${policy.openAfterPoints} consecutive anomalous readings`;
  return `level ${level}: ${rule}${cap === level ? ` (capped at ${cap} for ${event})` : ''}`;
}
