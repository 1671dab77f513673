import { WARNING_LEVELS, levelRank, type EventKind, type SensorKind, type WarningLevel } from '@cityops/schemas';
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

/**
 * Physical level lines of one sensor (or, by default, of its kind): values in the kind's unit that
 * mean a level whatever the statistics say — a water gauge above its warning stage, PM2.5 in a
 * pollution band, a feeder above its rated load. `direction` is the hazard's (traffic speed falls
 * into congestion, the others rise); lines are in rising level order, each reached when the value
 * is at or beyond it (≥ for 'high', ≤ for 'low').
 */
export interface PhysicalLines {
  direction: 'high' | 'low';
  lines: readonly { level: WarningLevel; value: number }[];
  /** Where the lines come from, for a warning's reasons (e.g. 'PM2.5 bands of HJ 633-2012'). */
  basis: string;
  /**
   * The lowest level whose line opens an episode by itself; below it, the lines only continue an
   * episode the statistics have under way and set its level. Default: the first line (water over
   * a street is a hazard whatever its cause). Red for traffic: recurrent congestion (the rush
   * hour) crosses the lower lines every day, and operators want the congestion that is not usual
   * for that road at that time, which the statistics flag; a lane at 70 % occupancy or traffic at
   * 5 km/h is worth a warning however it came about. On a demo-city day, traffic lines that all
   * opened episodes made 191 of the 195 false warnings; from orange, 21 more than from red.
   */
  opensEpisodesFrom?: WarningLevel;
}

/**
 * Default lines per kind, in the kind's unit. Sites differ (a river gauge's warning stage, a
 * feeder's rating, a motorway's free-flow speed), so a deployment sets its own per sensor
 * (`physicalLinesBySensor` in the worker config); these are city-street defaults:
 *
 * - water_level (cm at a street drain or underpass gauge; the demo city's gauges idle at 3–15 cm):
 *   20 / 30 / 45 / 60 cm — ~15 cm of standing water starts to hinder traffic, ~30 cm reaches a
 *   car's exhaust, ~50 cm stalls cars (the depths Chinese urban waterlogging rules warn at).
 * - air_quality_pm25 (µg/m³): the AQI bands of HJ 633-2012 — light 75, moderate 115, heavy 150,
 *   severe 250. Those are for 24-hour means; a reading is an instant, so a short spike above a
 *   band counts only once the episode's hysteresis (3 readings) holds.
 * - traffic_occupancy (%): 25 / 35 / 50 / 70 — detector occupancy above ~25–30 % is the usual onset
 *   of congestion on signalised streets.
 * - traffic_speed (km/h, hazard = low): 30 / 20 / 10 / 5 — urban arterial bands (smooth > 30,
 *   slow, congested < 20, severe < 10, standstill < 5).
 * - power_load: none by default — a line is a percentage of the feeder's rating, which only the
 *   deployment knows; `powerLoadLines(ratedMw)` makes them (80 / 90 / 100 / 110 % of rating).
 */
export const DEFAULT_PHYSICAL_LINES_BY_KIND: Readonly<Partial<Record<SensorKind, PhysicalLines>>> = {
  water_level: {
    direction: 'high',
    lines: [
      { level: 'blue', value: 20 },
      { level: 'yellow', value: 30 },
      { level: 'orange', value: 45 },
      { level: 'red', value: 60 },
    ],
    basis: 'street waterlogging depth lines 20/30/45/60 cm',
  },
  air_quality_pm25: {
    direction: 'high',
    lines: [
      { level: 'blue', value: 75 },
      { level: 'yellow', value: 115 },
      { level: 'orange', value: 150 },
      { level: 'red', value: 250 },
    ],
    basis: 'PM2.5 bands of HJ 633-2012 (75/115/150/250 µg/m³)',
  },
  traffic_occupancy: {
    direction: 'high',
    lines: [
      { level: 'blue', value: 25 },
      { level: 'yellow', value: 35 },
      { level: 'orange', value: 50 },
      { level: 'red', value: 70 },
    ],
    basis: 'lane occupancy congestion lines 25/35/50/70 %',
    opensEpisodesFrom: 'red',
  },
  traffic_speed: {
    direction: 'low',
    lines: [
      { level: 'blue', value: 30 },
      { level: 'yellow', value: 20 },
      { level: 'orange', value: 10 },
      { level: 'red', value: 5 },
    ],
    basis: 'urban arterial speed bands 30/20/10/5 km/h',
    opensEpisodesFrom: 'red',
  },
};

/** Lines at 80 / 90 / 100 / 110 % of a feeder's rated load (blue / yellow / orange / red). */
export function powerLoadLines(ratedMw: number): PhysicalLines {
  if (!(ratedMw > 0) || !Number.isFinite(ratedMw)) {
    throw new DetectorError('invalid-config', `expected a positive finite rated load in MW; got ${ratedMw}`);
  }
  const at = (pct: number): number => Math.round(ratedMw * pct) / 100;
  return {
    direction: 'high',
    lines: [
      { level: 'blue', value: at(80) },
      { level: 'yellow', value: at(90) },
      { level: 'orange', value: at(100) },
      { level: 'red', value: at(110) },
    ],
    basis: `80/90/100/110 % of the rated ${ratedMw} MW`,
  };
}

/** The highest level whose line `value` reaches, or undefined below the first line. */
export function physicalLevelOf(p: PhysicalLines, value: number): WarningLevel | undefined {
  let level: WarningLevel | undefined;
  for (const line of p.lines) {
    if (p.direction === 'high' ? value >= line.value : value <= line.value) level = line.level;
  }
  return level;
}

export function validatePhysicalLines(p: PhysicalLines, name: string): PhysicalLines {
  const problems: string[] = [];
  if (p.direction !== 'high' && p.direction !== 'low')
    problems.push(`'direction': expected 'high' or 'low'; got ${JSON.stringify(p.direction)}`);
  if (p.lines.length === 0) problems.push(`'lines': expected at least one line`);
  for (let i = 0; i < p.lines.length; i++) {
    const cur = p.lines[i]!;
    if (!Number.isFinite(cur.value)) problems.push(`'lines[${i}].value': expected a finite number; got ${cur.value}`);
    if (i === 0) continue;
    const prev = p.lines[i - 1]!;
    const rising = p.direction === 'high' ? cur.value > prev.value : cur.value < prev.value;
    if (levelRank(cur.level) <= levelRank(prev.level) || !rising) {
      problems.push(
        `'lines': expected rising levels with values ${p.direction === 'high' ? 'rising' : 'falling'}; got ${prev.level} ${prev.value} before ${cur.level} ${cur.value}`,
      );
    }
  }
  if (problems.length > 0) throw new DetectorError('invalid-config', `invalid physical lines for ${name}: ${problems.join('; ')}`);
  return p;
}

export interface WarningPolicy {
  /** Consecutive anomalous points, same direction, that open a warning. Default 3. */
  openAfterPoints: number;
  /** Consecutive non-anomalous points that close an open episode. Default 5. */
  closeAfterPoints: number;
  /**
   * …and the least time since the last point that continued it (an off-delay, in ms). At one
   * reading a second, 5 readings are 5 s: an incident whose statistics dip under the threshold
   * for a few seconds while the condition holds closed its warning and opened a new one, 5.3
   * times per incident on a demo-city day. Readings minutes apart reach it with
   * `closeAfterPoints` alone. Default 300 000 (5 min).
   */
  closeAfterMs: number;
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
  /**
   * …and for at least this long after it closed (ms). 120 readings are 2 minutes at one a second,
   * while the window the median forgets the hazard level over spans 10 (120 slots of 5 s): on a
   * demo-city day the recoveries then read as 300 sensor-fault warnings inside incidents.
   * Default 900 000 (15 min).
   */
  guardAfterEpisodeMs: number;
  /** Anomaly ids carried in a warning's evidence_ids (the most recent). Default 50, at most 100. */
  maxEvidenceIds: number;
  /**
   * Highest level of a hazard episode whose values never reached its sensor's first physical line
   * (for sensors that have lines): a statistically extreme but physically harmless excursion — 8 cm
   * of water where there is usually 3 — is worth a look, not an emergency. Default 'yellow'.
   */
  maxLevelBelowPhysicalLines: WarningLevel;
  /**
   * Time constant of the moving average (exponential, by timestamp) that physical lines compare,
   * in ms; 0 compares each reading. Lines mean a sustained condition (a lane congested, a street
   * flooded), not one noisy reading: at one reading a second, a lane whose occupancy hovers near its
   * 25 % line crossed it every few seconds and opened and closed a warning each time. Averaged
   * over a minute, noise of σ shrinks to about σ/11 while a real rise of Δ still crosses a line Δ/5
   * above normal within about 13 s. Readings minutes apart are barely averaged. Default 60 000.
   */
  physicalSmoothingMs: number;
  /**
   * Deadband of a line once an episode is open, as a fraction of the first line's value: the
   * episode goes on while the average is within it (water at 19.2 cm still continues a 20 cm
   * episode), so an average that settles on a line does not close and reopen it. Default 0.05.
   */
  physicalDeadband: number;
}

export const DEFAULT_WARNING_POLICY: Readonly<WarningPolicy> = {
  openAfterPoints: 3,
  closeAfterPoints: 5,
  closeAfterMs: 300_000,
  levels: [
    { level: 'blue', minScore: 0, minDurationMs: 0 },
    { level: 'yellow', minScore: 8, minDurationMs: 10 * 60_000 },
    { level: 'orange', minScore: 12, minDurationMs: 30 * 60_000 },
    { level: 'red', minScore: 20, minDurationMs: Number.POSITIVE_INFINITY },
  ],
  maxLevelByEvent: { sensor_fault: 'yellow' },
  guardAfterEpisodePoints: 120,
  guardAfterEpisodeMs: 900_000,
  maxEvidenceIds: 50,
  maxLevelBelowPhysicalLines: 'yellow',
  physicalSmoothingMs: 60_000,
  physicalDeadband: 0.05,
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
  // Reports every series on the robust z's scale (cadence-router.ts maps the ensemble's onto it).
  'by-cadence': DEFAULT_WARNING_POLICY.levels,
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
  if (!(p.closeAfterMs >= 0 && p.closeAfterMs <= 86_400_000)) {
    problems.push(`'closeAfterMs': expected 0…86400000 ms; got ${p.closeAfterMs}`);
  }
  positiveInt('maxEvidenceIds', p.maxEvidenceIds, 100);
  if (!(p.guardAfterEpisodeMs >= 0 && p.guardAfterEpisodeMs <= 86_400_000)) {
    problems.push(`'guardAfterEpisodeMs': expected 0…86400000 ms; got ${p.guardAfterEpisodeMs}`);
  }
  if (!Number.isInteger(p.guardAfterEpisodePoints) || p.guardAfterEpisodePoints < 0) {
    problems.push(`'guardAfterEpisodePoints': expected a whole number ≥ 0; got ${p.guardAfterEpisodePoints}`);
  }
  if (!(WARNING_LEVELS as readonly string[]).includes(p.maxLevelBelowPhysicalLines)) {
    problems.push(
      `'maxLevelBelowPhysicalLines': expected one of ${WARNING_LEVELS.join(', ')}; got ${JSON.stringify(p.maxLevelBelowPhysicalLines)}`,
    );
  }
  if (!(p.physicalSmoothingMs >= 0 && p.physicalSmoothingMs <= 86_400_000)) {
    problems.push(`'physicalSmoothingMs': expected 0…86400000 ms; got ${p.physicalSmoothingMs}`);
  }
  if (!(p.physicalDeadband >= 0 && p.physicalDeadband < 1)) {
    problems.push(`'physicalDeadband': expected a fraction 0 ≤ d < 1; got ${p.physicalDeadband}`);
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

/**
 * What the sensor's physical lines say of an episode: `null` when the sensor has no lines (or the
 * episode is not its hazard), 'below' when its most extreme value reached none, else the level.
 */
export type PhysicalReading = WarningLevel | 'below' | null;

/**
 * The level an episode reaches: the highest of its peak score's line, its duration's line and its
 * most extreme value's physical line; capped at `maxLevelBelowPhysicalLines` when the sensor has
 * physical lines and the episode reached none, and capped for its event kind.
 */
export function levelFor(
  policy: WarningPolicy,
  event: EventKind,
  peakScore: number,
  durationMs: number,
  physical: PhysicalReading = null,
): WarningLevel {
  let level: WarningLevel = policy.levels[0]?.level ?? 'blue';
  for (const line of policy.levels) {
    if (peakScore >= line.minScore || durationMs >= line.minDurationMs) level = line.level;
  }
  if (physical === 'below') {
    const cap = policy.maxLevelBelowPhysicalLines;
    if (levelRank(cap) < levelRank(level)) level = cap;
  } else if (physical !== null && levelRank(physical) > levelRank(level)) {
    level = physical;
  }
  const cap = policy.maxLevelByEvent[event];
  return cap !== undefined && levelRank(cap) < levelRank(level) ? cap : level;
}

/** What the physical lines contributed to a level, for its description. */
export interface PhysicalContext {
  lines: PhysicalLines;
  reading: PhysicalReading;
  /** The episode's most extreme value in the hazard direction. */
  peakValue: number;
  unit: string;
}

/** The line that made `level`, in words, for a warning's reasons. */
export function describeLevel(policy: WarningPolicy, level: WarningLevel, event: EventKind, physical?: PhysicalContext): string {
  const line = policy.levels.find((l) => l.level === level);
  const cap = policy.maxLevelByEvent[event];
  const parts: string[] = [];
  const reading = physical?.reading ?? null;
  if (physical !== undefined && reading !== null && reading !== 'below' && reading === level) {
    const crossed = physical.lines.lines.find((l) => l.level === level);
    parts.push(
      `${physical.lines.direction === 'high' ? 'peak' : 'lowest'} ${measure(policy)} ${fmtValue(physical.peakValue)} ${physical.unit} ${physical.lines.direction === 'high' ? '≥' : '≤'} the ${level} line ${fmtValue(crossed?.value ?? Number.NaN)} ${physical.unit} (${physical.lines.basis})`,
    );
  }
  if (line !== undefined) {
    if (line.minScore > 0) parts.push(`peak score ≥ ${line.minScore}`);
    if (Number.isFinite(line.minDurationMs) && line.minDurationMs > 0)
      parts.push(`lasting ≥ ${Math.round(line.minDurationMs / 60_000)} min`);
  }
  const rule = parts.length > 0 ? parts.join(' or ') : `${policy.openAfterPoints} consecutive anomalous readings`;
  let note = cap === level ? ` (capped at ${cap} for ${event})` : '';
  if (physical !== undefined && reading === 'below' && level === policy.maxLevelBelowPhysicalLines) {
    note += ` (capped at ${level}: ${physical.lines.direction === 'high' ? 'peak' : 'lowest'} ${measure(policy)} ${fmtValue(physical.peakValue)} ${physical.unit} has not reached the first physical line ${fmtValue(physical.lines.lines[0]?.value ?? Number.NaN)} ${physical.unit}, ${physical.lines.basis})`;
  }
  return `level ${level}: ${rule}${note}`;
}

/** What the lines compare, in words: '1-min average' (its time constant) or 'value'. */
function measure(policy: WarningPolicy): string {
  const ms = policy.physicalSmoothingMs;
  if (!(ms > 0)) return 'value';
  return `${ms % 60_000 === 0 ? `${ms / 60_000}-min` : `${Math.round(ms / 1000)}-s`} average`;
}

/** True when `value` is at or beyond the first line, or within `deadband` (a fraction of the line) of it. */
export function reachesFirstLine(lines: PhysicalLines, value: number, deadband = 0): boolean {
  const first = lines.lines[0];
  if (first === undefined) return false;
  const margin = Math.abs(first.value) * deadband;
  return lines.direction === 'high' ? value >= first.value - margin : value <= first.value + margin;
}

function fmtValue(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2).replace(/0+$/, '').replace(/\.$/, '');
}
