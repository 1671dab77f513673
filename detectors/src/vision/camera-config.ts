import { EVENT_KINDS, WARNING_LEVELS, levelRank, type EventKind, type WarningLevel } from '@cityops/schemas';
import { DetectorError } from '../errors.js';
import { TRACKER_DEFAULTS, validateTrackerConfig, type TrackerConfig } from './byte-tracker.js';
import { polygonArea, type Homography, type Point } from './geometry.js';

/**
 * What the vision worker knows about one camera: which model looks at it, its zones and lines
 * (normalised 0…1 image coordinates), the homography to the map, and its event rules. Parsed
 * strictly: unknown keys, zones that do not exist, polygons outside the image all fail with what
 * was expected, when the camera is added — not silently at the first frame.
 *
 * Every rule measures one value and maps it to a warning level through `levels` (the lowest
 * threshold opens an episode, higher ones raise it):
 *
 * | type            | subject        | value                                         | default kind    |
 * | --------------- | -------------- | --------------------------------------------- | --------------- |
 * | intrusion       | each track     | seconds in the zone (levels { yellow: 0 })     | intrusion       |
 * | loitering       | each track     | seconds in the zone (dwell)                   | intrusion       |
 * | crowd           | the zone       | tracks of the classes in the zone             | crowd           |
 * | queue           | the zone       | tracks of the classes in the zone             | congestion      |
 * | stopped-vehicle | each track     | seconds with speed ≤ maxSpeed in the zone     | stopped_vehicle |
 * | line-crossing   | the line       | crossings in the direction within windowMs    | congestion      |
 */

export const RULE_TYPES = ['intrusion', 'loitering', 'crowd', 'queue', 'stopped-vehicle', 'line-crossing'] as const;
export type RuleType = (typeof RULE_TYPES)[number];
export const CROSSING_DIRECTIONS = ['any', 'left-to-right', 'right-to-left'] as const;
/** Relative to the line drawn from `from` to `to`, as seen on screen. */
export type CrossingDirection = (typeof CROSSING_DIRECTIONS)[number];

export interface ZoneConfig {
  id: string;
  name: string;
  /** At least 3 points, each in 0…1. */
  polygon: readonly Point[];
}

export interface LineConfig {
  id: string;
  name: string;
  from: Point;
  to: Point;
}

/** Value thresholds per level; at least one. */
export type LevelThresholds = Readonly<Partial<Record<WarningLevel, number>>>;

export interface RuleConfig {
  id: string;
  type: RuleType;
  /** Zone id (every type but line-crossing). */
  zone: string;
  /** Line id (line-crossing). */
  line: string;
  /** Class names the rule counts. */
  classes: readonly string[];
  /** Event kind of its warnings. */
  kind: EventKind;
  levels: LevelThresholds;
  /** A level counts only once the value has stayed at or above it this long, ms. */
  holdMs: number;
  /** An episode ends after the value has stayed below the lowest threshold this long, ms. */
  clearMs: number;
  /** stopped-vehicle: largest centre speed still called stopped, in box heights per second. */
  maxSpeed: number;
  /** line-crossing: which direction counts. */
  direction: CrossingDirection;
  /** line-crossing: the counting window, ms. */
  windowMs: number;
}

export interface CameraVisionConfig {
  cameraId: string;
  /** Name of the model that looks at this camera. Default 'default'. */
  model: string;
  /** Area of the camera's warnings; from the Camera dimension when not set. Default ''. */
  areaId: string;
  /** Where the camera is; from the Camera dimension when not set. */
  location: { lon: number; lat: number } | undefined;
  /** Normalised image → lon/lat; without it warnings sit at the camera's location. */
  homography: Homography | undefined;
  zones: readonly ZoneConfig[];
  lines: readonly LineConfig[];
  rules: readonly RuleConfig[];
  /** One VisionDetection per track at most this often, ms (plus its first). Default 1000. */
  detectionSampleMs: number;
  tracker: TrackerConfig;
}

const VEHICLES = ['car', 'bus', 'truck', 'motorbike', 'motorcycle'];

type RuleDefaults = Omit<RuleConfig, 'id' | 'type' | 'zone' | 'line'>;
const base = { holdMs: 0, clearMs: 3000, maxSpeed: 0.1, direction: 'any' as CrossingDirection, windowMs: 60_000 };
export const RULE_DEFAULTS: Readonly<Record<RuleType, RuleDefaults>> = {
  intrusion: { ...base, classes: ['person'], kind: 'intrusion', levels: { yellow: 0 } },
  loitering: { ...base, classes: ['person'], kind: 'intrusion', levels: { blue: 60, yellow: 300 } },
  crowd: { ...base, classes: ['person'], kind: 'crowd', levels: { blue: 10, yellow: 20, orange: 40 }, holdMs: 2000 },
  queue: { ...base, classes: VEHICLES, kind: 'congestion', levels: { blue: 8, yellow: 15 }, holdMs: 5000 },
  'stopped-vehicle': { ...base, classes: VEHICLES, kind: 'stopped_vehicle', levels: { yellow: 30, orange: 120 } },
  'line-crossing': { ...base, classes: VEHICLES, kind: 'congestion', levels: { blue: 60 } },
};

export const CAMERA_DEFAULTS = { model: 'default', areaId: '', detectionSampleMs: 1000 } as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const ID = /^[A-Za-z0-9._:@/-]{1,64}$/;

/**
 * Validates one camera's vision config and fills defaults. `knownClasses` (the model's labels),
 * when given, must contain every class a rule names. Throws DetectorError 'invalid-config'
 * listing every problem.
 */
export function parseCameraVisionConfig(input: unknown, knownClasses?: readonly string[]): CameraVisionConfig {
  const problems: string[] = [];
  if (!isRecord(input)) throw new DetectorError('invalid-config', `expected a camera vision config object; got ${JSON.stringify(input)}`);
  const allowed = ['cameraId', 'model', 'areaId', 'location', 'homography', 'zones', 'lines', 'rules', 'detectionSampleMs', 'tracker'];
  unknownKeys(input, allowed, '', problems);
  const cameraId = input['cameraId'];
  if (typeof cameraId !== 'string' || !ID.test(cameraId))
    problems.push(`'cameraId': expected an id of 1…64 characters [A-Za-z0-9._:@/-]; got ${JSON.stringify(cameraId)}`);
  const model = optString(input, 'model', CAMERA_DEFAULTS.model, problems);
  const areaId = optString(input, 'areaId', CAMERA_DEFAULTS.areaId, problems);
  let location: CameraVisionConfig['location'];
  if (input['location'] !== undefined) {
    const l = input['location'];
    if (
      isRecord(l) &&
      typeof l['lon'] === 'number' &&
      typeof l['lat'] === 'number' &&
      Math.abs(l['lon']) <= 180 &&
      Math.abs(l['lat']) <= 90
    ) {
      location = { lon: l['lon'], lat: l['lat'] };
    } else problems.push(`'location': expected { lon: −180…180, lat: −90…90 }; got ${JSON.stringify(l)}`);
  }
  let homography: Homography | undefined;
  if (input['homography'] !== undefined) {
    const h = input['homography'];
    if (Array.isArray(h) && h.length === 9 && h.every((v) => typeof v === 'number' && Number.isFinite(v)))
      homography = h as unknown as Homography;
    else problems.push(`'homography': expected 9 finite numbers (3×3, row-major, normalised image → lon/lat); got ${JSON.stringify(h)}`);
  }
  const detectionSampleMs = optNumber(input, 'detectionSampleMs', CAMERA_DEFAULTS.detectionSampleMs, 0, 3_600_000, problems);
  let tracker: TrackerConfig = { ...TRACKER_DEFAULTS };
  if (input['tracker'] !== undefined) {
    const t = input['tracker'];
    if (!isRecord(t)) problems.push(`'tracker': expected an object; got ${JSON.stringify(t)}`);
    else {
      unknownKeys(t, Object.keys(TRACKER_DEFAULTS), 'tracker.', problems);
      for (const [k, v] of Object.entries(t))
        if (typeof v !== 'number') problems.push(`'tracker.${k}': expected a number; got ${JSON.stringify(v)}`);
      tracker = { ...TRACKER_DEFAULTS, ...(t as Partial<TrackerConfig>) };
      try {
        validateTrackerConfig(tracker);
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
  }

  const zones = list(input, 'zones', problems).map((z, i) => parseZone(z, `zones[${i}]`, problems));
  const lines = list(input, 'lines', problems).map((l, i) => parseLine(l, `lines[${i}]`, problems));
  const zoneIds = new Set(zones.map((z) => z.id));
  const lineIds = new Set(lines.map((l) => l.id));
  duplicates(
    zones.map((z) => z.id),
    'zone',
    problems,
  );
  duplicates(
    lines.map((l) => l.id),
    'line',
    problems,
  );
  const rules = list(input, 'rules', problems).map((r, i) => parseRule(r, `rules[${i}]`, zoneIds, lineIds, knownClasses, problems));
  duplicates(
    rules.map((r) => r.id),
    'rule',
    problems,
  );

  if (problems.length > 0)
    throw new DetectorError('invalid-config', `invalid vision config for camera ${JSON.stringify(cameraId)}: ${problems.join('; ')}`);
  return { cameraId: cameraId as string, model, areaId, location, homography, zones, lines, rules, detectionSampleMs, tracker };
}

function unknownKeys(o: Record<string, unknown>, allowed: readonly string[], prefix: string, problems: string[]): void {
  for (const k of Object.keys(o))
    if (!allowed.includes(k)) problems.push(`unknown key '${prefix}${k}' (expected one of ${allowed.join(', ')})`);
}

function duplicates(ids: readonly string[], what: string, problems: string[]): void {
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) problems.push(`${what} id '${id}' is used twice`);
    seen.add(id);
  }
}

function optString(o: Record<string, unknown>, key: string, fallback: string, problems: string[], prefix = ''): string {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v === 'string' && v.length <= 64) return v;
  problems.push(`'${prefix}${key}': expected a string of at most 64 characters; got ${JSON.stringify(v)}`);
  return fallback;
}

function optNumber(
  o: Record<string, unknown>,
  key: string,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
  prefix = '',
): number {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v === 'number' && v >= min && v <= max) return v;
  problems.push(`'${prefix}${key}': expected a number ${min}…${max}; got ${JSON.stringify(v)}`);
  return fallback;
}

function list(o: Record<string, unknown>, key: string, problems: string[]): unknown[] {
  const v = o[key];
  if (v === undefined) return [];
  if (Array.isArray(v)) return v;
  problems.push(`'${key}': expected an array; got ${JSON.stringify(v)}`);
  return [];
}

function point(v: unknown, where: string, problems: string[]): Point {
  if (Array.isArray(v) && v.length === 2 && v.every((c) => typeof c === 'number' && c >= 0 && c <= 1))
    return [v[0] as number, v[1] as number];
  problems.push(`'${where}': expected [x, y] normalised to 0…1 of the image; got ${JSON.stringify(v)}`);
  return [0, 0];
}

function parseZone(z: unknown, where: string, problems: string[]): ZoneConfig {
  if (!isRecord(z)) {
    problems.push(`'${where}': expected { id, name?, polygon }; got ${JSON.stringify(z)}`);
    return { id: '', name: '', polygon: [] };
  }
  unknownKeys(z, ['id', 'name', 'polygon'], `${where}.`, problems);
  const id = typeof z['id'] === 'string' && ID.test(z['id']) ? z['id'] : '';
  if (id === '') problems.push(`'${where}.id': expected an id of 1…64 characters [A-Za-z0-9._:@/-]; got ${JSON.stringify(z['id'])}`);
  const name = optString(z, 'name', id, problems, `${where}.`);
  const raw = z['polygon'];
  const polygon = Array.isArray(raw) ? raw.map((p, i) => point(p, `${where}.polygon[${i}]`, problems)) : [];
  if (polygon.length < 3)
    problems.push(`'${where}.polygon': expected at least 3 points; got ${Array.isArray(raw) ? raw.length : JSON.stringify(raw)}`);
  else if (Math.abs(polygonArea(polygon)) < 1e-6)
    problems.push(`'${where}.polygon': expected a polygon with an area; its points are on one line`);
  return { id, name, polygon };
}

function parseLine(l: unknown, where: string, problems: string[]): LineConfig {
  if (!isRecord(l)) {
    problems.push(`'${where}': expected { id, name?, from, to }; got ${JSON.stringify(l)}`);
    return { id: '', name: '', from: [0, 0], to: [0, 0] };
  }
  unknownKeys(l, ['id', 'name', 'from', 'to'], `${where}.`, problems);
  const id = typeof l['id'] === 'string' && ID.test(l['id']) ? l['id'] : '';
  if (id === '') problems.push(`'${where}.id': expected an id; got ${JSON.stringify(l['id'])}`);
  const from = point(l['from'], `${where}.from`, problems);
  const to = point(l['to'], `${where}.to`, problems);
  if (from[0] === to[0] && from[1] === to[1]) problems.push(`'${where}': expected 'from' and 'to' to differ`);
  return { id, name: optString(l, 'name', id, problems, `${where}.`), from, to };
}

function parseRule(
  r: unknown,
  where: string,
  zoneIds: ReadonlySet<string>,
  lineIds: ReadonlySet<string>,
  knownClasses: readonly string[] | undefined,
  problems: string[],
): RuleConfig {
  const fallback = { id: '', type: 'intrusion' as RuleType, zone: '', line: '', ...RULE_DEFAULTS.intrusion };
  if (!isRecord(r)) {
    problems.push(`'${where}': expected a rule object; got ${JSON.stringify(r)}`);
    return fallback;
  }
  const type = r['type'];
  if (typeof type !== 'string' || !(RULE_TYPES as readonly string[]).includes(type)) {
    problems.push(`'${where}.type': expected one of ${RULE_TYPES.join(', ')}; got ${JSON.stringify(type)}`);
    return fallback;
  }
  const t = type as RuleType;
  const d = RULE_DEFAULTS[t];
  // Every RuleConfig key is accepted (a parsed config parses again to itself); keys of other
  // rule types only matter to those types.
  const keys = ['id', 'type', 'classes', 'kind', 'levels', 'holdMs', 'clearMs', 'zone', 'line', 'maxSpeed', 'direction', 'windowMs'];
  unknownKeys(r, keys, `${where}.`, problems);
  const id = typeof r['id'] === 'string' && ID.test(r['id']) ? r['id'] : '';
  if (id === '') problems.push(`'${where}.id': expected an id of 1…64 characters [A-Za-z0-9._:@/-]; got ${JSON.stringify(r['id'])}`);
  let zone = '';
  let line = '';
  if (t === 'line-crossing') {
    line = typeof r['line'] === 'string' ? r['line'] : '';
    if (!lineIds.has(line))
      problems.push(
        `'${where}.line': expected one of the camera's lines (${[...lineIds].join(', ') || 'none defined'}); got ${JSON.stringify(r['line'])}`,
      );
  } else {
    zone = typeof r['zone'] === 'string' ? r['zone'] : '';
    line = '';
    if (!zoneIds.has(zone))
      problems.push(
        `'${where}.zone': expected one of the camera's zones (${[...zoneIds].join(', ') || 'none defined'}); got ${JSON.stringify(r['zone'])}`,
      );
  }
  let classes = d.classes;
  if (r['classes'] !== undefined) {
    const c = r['classes'];
    if (Array.isArray(c) && c.length > 0 && c.every((x) => typeof x === 'string' && x !== '')) classes = c as string[];
    else problems.push(`'${where}.classes': expected a non-empty array of class names; got ${JSON.stringify(c)}`);
  }
  if (knownClasses !== undefined) {
    // Vehicle defaults list both COCO spellings; only explicitly named classes must exist.
    const named = r['classes'] !== undefined ? classes : [];
    const unknown = named.filter((c) => !knownClasses.includes(c));
    if (unknown.length > 0) problems.push(`'${where}.classes': the model has no class ${unknown.map((u) => `'${u}'`).join(', ')}`);
  }
  let kind = d.kind;
  if (r['kind'] !== undefined) {
    if (typeof r['kind'] === 'string' && (EVENT_KINDS as readonly string[]).includes(r['kind'])) kind = r['kind'] as EventKind;
    else problems.push(`'${where}.kind': expected one of ${EVENT_KINDS.join(', ')}; got ${JSON.stringify(r['kind'])}`);
  }
  let levels = d.levels;
  if (r['levels'] !== undefined) {
    const l = r['levels'];
    if (!isRecord(l) || Object.keys(l).length === 0)
      problems.push(
        `'${where}.levels': expected { ${WARNING_LEVELS.join('?, ')}? } with at least one value threshold; got ${JSON.stringify(l)}`,
      );
    else {
      unknownKeys(l, WARNING_LEVELS, `${where}.levels.`, problems);
      const entries = WARNING_LEVELS.filter((k) => l[k] !== undefined).map((k) => [k, l[k]] as const);
      for (const [k, v] of entries)
        if (typeof v !== 'number' || !(v >= 0)) problems.push(`'${where}.levels.${k}': expected a number ≥ 0; got ${JSON.stringify(v)}`);
      // Higher levels need higher thresholds, or the level lines would cross.
      for (let i = 1; i < entries.length; i++) {
        if ((entries[i]![1] as number) <= (entries[i - 1]![1] as number)) {
          problems.push(
            `'${where}.levels': expected thresholds rising with the level (${entries.map(([k]) => k).join(' < ')}); got ${JSON.stringify(l)}`,
          );
          break;
        }
      }
      levels = Object.fromEntries(entries);
    }
  }
  const holdMs = optNumber(r, 'holdMs', d.holdMs, 0, 86_400_000, problems, `${where}.`);
  const clearMs = optNumber(r, 'clearMs', d.clearMs, 0, 86_400_000, problems, `${where}.`);
  const maxSpeed = optNumber(r, 'maxSpeed', d.maxSpeed, 0, 100, problems, `${where}.`);
  const windowMs = optNumber(r, 'windowMs', d.windowMs, 1, 86_400_000, problems, `${where}.`);
  let direction = d.direction;
  if (r['direction'] !== undefined) {
    if (typeof r['direction'] === 'string' && (CROSSING_DIRECTIONS as readonly string[]).includes(r['direction']))
      direction = r['direction'] as CrossingDirection;
    else problems.push(`'${where}.direction': expected one of ${CROSSING_DIRECTIONS.join(', ')}; got ${JSON.stringify(r['direction'])}`);
  }
  return { id, type: t, zone, line, classes, kind, levels, holdMs, clearMs, maxSpeed, direction, windowMs };
}

/** The levels of a rule from lowest to highest threshold. */
export function levelLadder(levels: LevelThresholds): { level: WarningLevel; threshold: number }[] {
  return WARNING_LEVELS.filter((l) => levels[l] !== undefined)
    .map((level) => ({ level, threshold: levels[level]! }))
    .sort((a, b) => a.threshold - b.threshold || levelRank(a.level) - levelRank(b.level));
}
