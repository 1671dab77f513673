import { WARNING_LEVEL_INFO, type Priority, type WarningLevel } from '@cityops/schemas';
import type { AreaExposure } from './responsibility-table.js';

/*
 * Severity (0…100) and priority (P1…P4) of an incident from its evidence, with the reasons a
 * commander reads. Additive points, not a model: every point can be traced to one line of the
 * reasons, and the weights below are the policy, reviewed like the responsibility table.
 *
 * - level: the highest warning level (the national four-colour scale) is the base;
 * - spread: independent sources agreeing (several sensors, a camera and a sensor) make it more
 *   certain and larger;
 * - duration: a condition that persists does more harm;
 * - exposure: how many people live in the area and which critical assets are there.
 */

const LEVEL_POINTS: Readonly<Record<WarningLevel, number>> = { blue: 15, yellow: 35, orange: 55, red: 75 };
const POINTS_PER_EXTRA_SOURCE = 3;
const MAX_SPREAD_POINTS = 9;
const POINTS_PER_SOURCE_KIND = 3;
const MAX_DURATION_POINTS = 6;
/** Duration at which the duration points are full. */
const FULL_DURATION_MS = 60 * 60_000;
const POINTS_PER_ASSET = 2;
const MAX_EXPOSURE_POINTS = 6;

export interface SeverityInput {
  level: WarningLevel;
  /** Distinct sources (sensors, cameras, indicators) that raised a warning. */
  sources: number;
  /** Distinct kinds of source: sensor, camera, indicator. */
  sourceKinds: number;
  /** From the first warning to the latest activity. */
  durationMs: number;
  exposure: AreaExposure | undefined;
}

export interface SeverityAssessment {
  severity: number;
  priority: Priority;
  reasons: string[];
}

/** P1 from 75 (a red warning alone), P2 from 55 (orange), P3 from 35 (yellow), else P4. */
export function priorityOf(severity: number): Priority {
  return severity >= 75 ? 'P1' : severity >= 55 ? 'P2' : severity >= 35 ? 'P3' : 'P4';
}

export function assessSeverity(input: SeverityInput): SeverityAssessment {
  const info = WARNING_LEVEL_INFO[input.level];
  const reasons = [`level ${info.level} (${info.roman}): ${LEVEL_POINTS[input.level]}`];
  let points = LEVEL_POINTS[input.level];

  const spread = Math.min(MAX_SPREAD_POINTS, Math.max(0, input.sources - 1) * POINTS_PER_EXTRA_SOURCE);
  if (spread > 0) {
    points += spread;
    reasons.push(`${input.sources} sources agree: +${spread}`);
  }
  const kinds = Math.max(0, input.sourceKinds - 1) * POINTS_PER_SOURCE_KIND;
  if (kinds > 0) {
    points += kinds;
    reasons.push(`${input.sourceKinds} kinds of source (camera, sensor, indicator) corroborate: +${kinds}`);
  }
  const duration = Math.round(Math.min(1, Math.max(0, input.durationMs) / FULL_DURATION_MS) * MAX_DURATION_POINTS);
  if (duration > 0) {
    points += duration;
    reasons.push(`lasting ${Math.round(input.durationMs / 60_000)} min: +${duration}`);
  }
  const e = input.exposure;
  if (e !== undefined) {
    // log10 of population: 10 000 people → 1 point, 1 000 000 → 3; bounded with the assets.
    const people = e.population > 0 ? Math.max(0, Math.log10(e.population) - 3) : 0;
    const exposure = Math.min(MAX_EXPOSURE_POINTS, Math.round(people + e.assets.length * POINTS_PER_ASSET));
    if (exposure > 0) {
      points += exposure;
      const assets = e.assets.length > 0 ? ` and ${e.assets.join(', ')}` : '';
      reasons.push(`exposure: ${e.population.toLocaleString('en-US')} residents${assets}: +${exposure}`);
    }
  }
  const severity = Math.min(100, points);
  const priority = priorityOf(severity);
  reasons.push(`severity ${severity} → ${priority}`);
  return { severity, priority, reasons };
}
