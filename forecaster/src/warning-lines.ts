import { levelRank, type EventKind, type WarningLevel } from '@cityops/schemas';
import { ForecastError } from './errors.js';

/**
 * Policy lines from a market signal to an early-warning level, and the cool-down that keeps one
 * indicator from repeating the same warning.
 */

/** Abnormal single moves: the tick-to-tick change against the robust scale of recent changes. */
export interface MovePolicy {
  /** Recent tick-to-tick changes the robust scale is measured over. Default 60. */
  windowTicks: number;
  /** Changes needed before any move is judged. Default 20. */
  minChanges: number;
  /** Robust z of a change at or above which it is abnormal (k). Default 6. */
  threshold: number;
  /** Floor of the change scale as a fraction of the indicator's level (0.1%), so a flat price does not explode. Default 1e-3. */
  scaleFloorRelative: number;
  /** Level per robust z of the move, ascending. Default blue 6, yellow 9, orange 15, red 25. */
  levels: readonly { level: WarningLevel; minScore: number }[];
  /** Abnormal moves within `volatilityWindowTicks` (this one included) that make the warning market_volatility instead of price_shock. Default 3. */
  volatilityMoves: number;
  /** Default 20 ticks. */
  volatilityWindowTicks: number;
}

export const DEFAULT_MOVE_POLICY: Readonly<MovePolicy> = {
  windowTicks: 60,
  minChanges: 20,
  threshold: 6,
  scaleFloorRelative: 1e-3,
  levels: [
    { level: 'blue', minScore: 6 },
    { level: 'yellow', minScore: 9 },
    { level: 'orange', minScore: 15 },
    { level: 'red', minScore: 25 },
  ],
  volatilityMoves: 3,
  volatilityWindowTicks: 20,
};

/**
 * Level per probability that the indicator is beyond its risk line within the horizon. Default:
 * ≥ 0.3 blue, ≥ 0.5 yellow (more likely than not), ≥ 0.7 orange, ≥ 0.9 red.
 */
export const DEFAULT_BREACH_LEVELS: readonly { level: WarningLevel; minProbability: number }[] = [
  { level: 'blue', minProbability: 0.3 },
  { level: 'yellow', minProbability: 0.5 },
  { level: 'orange', minProbability: 0.7 },
  { level: 'red', minProbability: 0.9 },
];

/** The highest level whose line `value` reaches, or undefined below the first. */
export function levelByLine<L extends { level: WarningLevel }>(
  lines: readonly L[],
  value: number,
  lineOf: (l: L) => number,
): L | undefined {
  let hit: L | undefined;
  for (const line of lines) if (value >= lineOf(line)) hit = line;
  return hit;
}

export function validateMovePolicy(p: MovePolicy): MovePolicy {
  const problems: string[] = [];
  const whole = (name: string, v: number, min: number): void => {
    if (!Number.isInteger(v) || v < min) problems.push(`'${name}': expected a whole number ≥ ${min}; got ${v}`);
  };
  whole('windowTicks', p.windowTicks, 3);
  whole('minChanges', p.minChanges, 3);
  whole('volatilityMoves', p.volatilityMoves, 2);
  whole('volatilityWindowTicks', p.volatilityWindowTicks, 2);
  if (p.minChanges > p.windowTicks) problems.push(`'minChanges': expected at most windowTicks (${p.windowTicks}); got ${p.minChanges}`);
  if (!(p.threshold > 0)) problems.push(`'threshold': expected > 0; got ${p.threshold}`);
  if (!(p.scaleFloorRelative >= 0)) problems.push(`'scaleFloorRelative': expected ≥ 0; got ${p.scaleFloorRelative}`);
  checkRising(problems, 'levels', p.levels, (l) => l.minScore);
  if (problems.length > 0) throw new ForecastError('invalid-config', `invalid move policy: ${problems.join('; ')}`);
  return p;
}

export function validateBreachLevels(lines: readonly { level: WarningLevel; minProbability: number }[]): typeof lines {
  const problems: string[] = [];
  checkRising(problems, 'breachLevels', lines, (l) => l.minProbability);
  for (const l of lines) {
    if (!(l.minProbability > 0 && l.minProbability <= 1))
      problems.push(`'breachLevels': expected probabilities in (0, 1]; got ${l.minProbability}`);
  }
  if (problems.length > 0) throw new ForecastError('invalid-config', `invalid breach levels: ${problems.join('; ')}`);
  return lines;
}

function checkRising<L extends { level: WarningLevel }>(
  problems: string[],
  name: string,
  lines: readonly L[],
  value: (l: L) => number,
): void {
  if (lines.length === 0) problems.push(`'${name}': expected at least one line`);
  for (let i = 1; i < lines.length; i++) {
    const a = lines[i - 1]!;
    const b = lines[i]!;
    if (levelRank(b.level) <= levelRank(a.level) || value(b) < value(a)) {
      problems.push(`'${name}': expected lines in rising level and value order; got ${a.level} before ${b.level}`);
    }
  }
}

/**
 * No repeat warning for the same indicator and kind within a cool-down (event time), unless
 * the level rises: a lower or equal level shortly after adds nothing for the people watching.
 */
export class CoolDown {
  private readonly last = new Map<string, { rank: number; ts: number }>();

  constructor(private readonly cooldownMs: number) {
    if (!(cooldownMs >= 0)) throw new ForecastError('invalid-config', `expected cooldownMs ≥ 0; got ${cooldownMs}`);
  }

  /** True (and remembered) if a warning may be emitted now. */
  admit(indicatorId: string, kind: EventKind, level: WarningLevel, ts: number): boolean {
    const key = `${indicatorId}\u0000${kind}`;
    const prev = this.last.get(key);
    const rank = levelRank(level);
    if (prev !== undefined && ts - prev.ts < this.cooldownMs && rank <= prev.rank) return false;
    this.last.set(key, { rank, ts });
    return true;
  }
}
