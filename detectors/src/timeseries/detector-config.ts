import { DetectorError } from '../errors.js';

/**
 * Detector configs: one interface per plugin `type`, a union over all of them, and a strict
 * parser that rejects unknown keys and out-of-range values with what was expected — a typo in
 * a config file must fail at start-up, not silently fall back to a default.
 */

/** Config of the rolling robust z-score detector (see rolling-robust-detector.ts). */
export interface RollingRobustZConfig {
  type: 'rolling-robust-z';
  /** Points in the rolling baseline window per series. Default 120. */
  windowSize: number;
  /** Points a series needs before it is scored. Default 30. */
  warmupPoints: number;
  /** Robust z at or above which a point is anomalous. Default 5. */
  threshold: number;
  /** Floor on the MAD in the series' unit, so a flat series does not explode. Default 1e-3. */
  madFloor: number;
  /** Floor on the MAD as a fraction of |median| (scale-free series). Default 1e-3. */
  madFloorRelative: number;
  /** A gap longer than this (ms) resets the series' baseline. Default 3,600,000 (1 h). */
  maxGapMs: number;
  /** Exactly repeated values in a row that count as a stuck sensor; 0 disables. Default 60. */
  stuckPoints: number;
  /**
   * A run is called stuck only if the series' MAD before the run was at least this many times
   * its floor (the sensor's resolution): a sensor whose noise is below its resolution repeats
   * values legitimately, and one that always reads the same value is not "stuck". Default 1.
   */
  stuckMinScaleRatio: number;
  /** Robust z at which the anomaly probability is 0.5. Default 3 (the classic 3-sigma rule). */
  probabilityMidpoint: number;
  /** Steepness of the logistic from robust z to probability, per unit of z. Default 1.5. */
  probabilitySlope: number;
}

/** Every detector plugin's config; the union grows as plugins are added. */
export type TimeseriesDetectorConfig = RollingRobustZConfig;
export type TimeseriesDetectorType = TimeseriesDetectorConfig['type'];

export const ROLLING_ROBUST_Z_DEFAULTS: Readonly<RollingRobustZConfig> = {
  type: 'rolling-robust-z',
  windowSize: 120,
  warmupPoints: 30,
  threshold: 5,
  madFloor: 1e-3,
  madFloorRelative: 1e-3,
  maxGapMs: 3_600_000,
  stuckPoints: 60,
  stuckMinScaleRatio: 1,
  probabilityMidpoint: 3,
  probabilitySlope: 1.5,
};

/** Inclusive numeric bounds per key; `integer` keys must be whole numbers. */
const ROLLING_ROBUST_Z_RULES: Readonly<
  Record<Exclude<keyof RollingRobustZConfig, 'type'>, { min: number; max: number; integer: boolean }>
> = {
  windowSize: { min: 8, max: 4096, integer: true },
  warmupPoints: { min: 3, max: 4096, integer: true },
  threshold: { min: 0.5, max: 1000, integer: false },
  madFloor: { min: Number.MIN_VALUE, max: Number.MAX_VALUE, integer: false },
  madFloorRelative: { min: 0, max: 1, integer: false },
  maxGapMs: { min: 1, max: Number.POSITIVE_INFINITY, integer: false },
  stuckPoints: { min: 0, max: 1_000_000, integer: true },
  stuckMinScaleRatio: { min: 0, max: 1e6, integer: false },
  probabilityMidpoint: { min: 0, max: 1000, integer: false },
  probabilitySlope: { min: Number.MIN_VALUE, max: 100, integer: false },
};

const DETECTOR_TYPES: readonly TimeseriesDetectorType[] = ['rolling-robust-z'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates a detector config (from a file, env or code) and fills documented defaults.
 * `type` may be omitted and defaults to 'rolling-robust-z'. Throws DetectorError
 * 'invalid-config' listing every problem.
 */
export function parseTimeseriesDetectorConfig(input: unknown = {}): TimeseriesDetectorConfig {
  if (!isRecord(input)) {
    throw new DetectorError('invalid-config', `expected a detector config object; got ${input === null ? 'null' : typeof input}`);
  }
  const type = input['type'] ?? 'rolling-robust-z';
  if (type !== 'rolling-robust-z') {
    throw new DetectorError('invalid-config', `expected detector type one of ${DETECTOR_TYPES.join(', ')}; got ${JSON.stringify(type)}`);
  }
  const problems: string[] = [];
  const config: RollingRobustZConfig = { ...ROLLING_ROBUST_Z_DEFAULTS };
  for (const [key, value] of Object.entries(input)) {
    if (key === 'type') continue;
    if (!Object.hasOwn(ROLLING_ROBUST_Z_RULES, key)) {
      problems.push(`unknown key '${key}' (expected one of ${Object.keys(ROLLING_ROBUST_Z_RULES).join(', ')})`);
      continue;
    }
    const k = key as keyof typeof ROLLING_ROBUST_Z_RULES;
    const rule = ROLLING_ROBUST_Z_RULES[k];
    if (typeof value !== 'number' || Number.isNaN(value)) {
      problems.push(`'${key}': expected a number; got ${JSON.stringify(value)}`);
    } else if (value < rule.min || value > rule.max) {
      problems.push(`'${key}': expected ${rule.min}…${rule.max}; got ${value}`);
    } else if (rule.integer && !Number.isInteger(value)) {
      problems.push(`'${key}': expected a whole number; got ${value}`);
    } else {
      config[k] = value;
    }
  }
  if (problems.length === 0 && config.warmupPoints > config.windowSize) {
    problems.push(`'warmupPoints': expected at most windowSize (${config.windowSize}); got ${config.warmupPoints}`);
  }
  if (problems.length > 0) {
    throw new DetectorError('invalid-config', `invalid ${type} detector config: ${problems.join('; ')}`);
  }
  return config;
}
