import { describe, expect, it } from 'vitest';
import {
  Anomaly as AnomalySchema,
  EarlyWarning as EarlyWarningSchema,
  WarningCleared as WarningClearedSchema,
  validator,
} from '@cityops/schemas';
import type { Track } from './byte-tracker.js';
import { parseCameraVisionConfig } from './camera-config.js';
import { CameraRules, type RuleContext, type RuleOutput } from './event-rules.js';
import { homographyFromPoints } from './geometry.js';

const T0 = Date.UTC(2026, 5, 1, 8, 0);
const plaza = {
  id: 'plaza',
  name: 'Plaza',
  polygon: [
    [0, 0.5],
    [1, 0.5],
    [1, 1],
    [0, 1],
  ],
};
const ctx: RuleContext = {
  cameraId: 'cam-1',
  cameraName: 'Gate 1',
  sourceWidth: 640,
  sourceHeight: 480,
  modelVersion: 'yolox/test.onnx#abc',
  fallbackLocation: { lon: 121.4, lat: 31.2 },
  evidenceId: (t) => `det-${t.id}`,
};
const checkAnomaly = validator(AnomalySchema);
const checkWarning = validator(EarlyWarningSchema);
const checkCleared = validator(WarningClearedSchema);

/** A track whose box bottom centre is at (x, y). */
function track(id: string, x: number, y: number, className = 'person', v: [number, number] = [0, 0]): Track {
  return {
    id,
    classId: className === 'person' ? 0 : 2,
    className,
    state: 'tracked',
    score: 0.8,
    x1: x - 0.02,
    y1: y - 0.1,
    x2: x + 0.02,
    y2: y,
    vx: v[0],
    vy: v[1],
    hits: 5,
    firstSeenTs: T0,
    lastSeenTs: T0,
    anchorX: x,
    anchorY: y - 0.05,
    matched: true,
  };
}

function valid(out: RuleOutput): RuleOutput {
  for (const a of out.anomalies) expect(checkAnomaly.errors(a)).toEqual([]);
  for (const w of out.warnings) expect(checkWarning.errors(w)).toEqual([]);
  return out;
}

function rulesFor(rules: unknown[], extra: Record<string, unknown> = {}): CameraRules {
  return new CameraRules(
    parseCameraVisionConfig({
      cameraId: 'cam-1',
      areaId: 'huangpu',
      location: { lon: 121.49, lat: 31.24 },
      zones: [plaza],
      lines: [{ id: 'kerb', name: 'Kerb', from: [0, 0.5], to: [1, 0.5] }],
      rules,
      ...extra,
    }),
  );
}

describe('crowd rule', () => {
  it('opens after the hold time, raises once, ends after the clear time, and opens a new episode after', () => {
    const rules = rulesFor([{ id: 'crowd', type: 'crowd', zone: 'plaza', levels: { blue: 3, yellow: 5 }, holdMs: 1000, clearMs: 2000 }]);
    const people = (n: number) => Array.from({ length: n }, (_, i) => track(String(i + 1), 0.1 + 0.1 * i, 0.8));
    const outside = [track('99', 0.5, 0.2)];
    expect(valid(rules.evaluate(T0, [...people(3), ...outside], [], ctx)).warnings).toEqual([]);
    const open = valid(rules.evaluate(T0 + 1000, people(3), [], ctx));
    expect(open.warnings).toHaveLength(1);
    const w = open.warnings[0]!;
    expect(w).toMatchObject({
      level: 'blue',
      kind: 'crowd',
      source_kind: 'camera',
      source_id: 'cam-1',
      area_id: 'huangpu',
      lon: 121.49,
      lat: 31.24,
      machine_made: true,
    });
    expect(w.title).toContain("zone 'Plaza': 3 person");
    expect(w.reasons.join('\n')).toMatch(
      /3 person in zone 'Plaza'.*\n.*crowd rule 'crowd': blue at 3 held 1 s \(levels blue ≥ 3, yellow ≥ 5\)/,
    );
    expect(w.evidence_ids).toEqual([open.anomalies[0]!.id, 'det-1', 'det-2', 'det-3']);
    expect(open.anomalies[0]).toMatchObject({
      metric: 'crowd_count',
      value: 3,
      expected: 3,
      detector: 'vision-rule/crowd',
      source_kind: 'camera',
    });
    expect(rules.evaluate(T0 + 1200, people(3), [], ctx).warnings).toEqual([]);
    // Five people: yellow, but only after its own hold time.
    expect(rules.evaluate(T0 + 1400, people(5), [], ctx).warnings).toEqual([]);
    const raised = rules.evaluate(T0 + 2400, people(5), [], ctx).warnings;
    expect(raised.map((x) => x.level)).toEqual(['yellow']);
    expect(raised[0]!.reasons[2]).toContain('raised from blue');
    // Below the lowest level for the clear time: the episode ends.
    expect(rules.evaluate(T0 + 3000, people(1), [], ctx).cleared).toEqual([]);
    expect(rules.openEpisodes).toBe(1);
    const ended = rules.evaluate(T0 + 5000, people(1), [], ctx).cleared;
    expect(rules.openEpisodes).toBe(0);
    // The end of a warned episode is an all-clear naming its warnings, for incidents to verify with.
    expect(ended).toHaveLength(1);
    expect(checkCleared.errors(ended[0])).toEqual([]);
    expect(ended[0]).toMatchObject({ source_kind: 'camera', source_id: 'cam-1', kind: 'crowd', started_at: T0, ts: T0 + 5000 });
    expect(ended[0]!.warning_ids).toEqual([w.id, raised[0]!.id]);
    expect(ended[0]!.reason).toMatch(/crowd rule 'crowd' on .*: the condition has ended \(not seen for 2 s\)/);
    rules.evaluate(T0 + 6000, people(3), [], ctx);
    const again = rules.evaluate(T0 + 7000, people(3), [], ctx).warnings;
    expect(again).toHaveLength(1);
    expect(again[0]!.id).not.toBe(w.id);
  });
});

describe('per-track rules', () => {
  it('intrusion fires as a person enters the zone, placed on the map by the homography', () => {
    const h = homographyFromPoints(
      [
        [0, 0.5],
        [1, 0.5],
        [1, 1],
        [0, 1],
      ],
      [
        [121.5, 31.201],
        [121.501, 31.201],
        [121.501, 31.2],
        [121.5, 31.2],
      ],
    );
    const rules = rulesFor([{ id: 'no-entry', type: 'intrusion', zone: 'plaza' }], { homography: h });
    expect(rules.evaluate(T0, [track('7', 0.5, 0.4)], [], ctx).warnings).toEqual([]);
    const out = valid(rules.evaluate(T0 + 200, [track('7', 0.5, 0.75)], [], ctx));
    expect(out.warnings).toHaveLength(1);
    expect(out.warnings[0]).toMatchObject({ level: 'yellow', kind: 'intrusion' });
    expect(out.warnings[0]!.lon).toBeCloseTo(121.5005, 6);
    expect(out.warnings[0]!.lat).toBeCloseTo(31.2005, 6);
    expect(out.warnings[0]!.reasons.join('\n')).toMatch(/person #7 inside zone 'Plaza' for 0 s.*homography/s);
    // The same track staying in: no repeat. Another person: their own warning.
    expect(rules.evaluate(T0 + 400, [track('7', 0.5, 0.75), track('8', 0.2, 0.9)], [], ctx).warnings.map((w) => w.title)).toEqual([
      expect.stringContaining('person #8') as unknown,
    ]);
  });

  it('loitering measures dwell time per track, and a removed track ends its episode', () => {
    const rules = rulesFor([{ id: 'loiter', type: 'loitering', zone: 'plaza', levels: { blue: 60, yellow: 120 } }]);
    const levels: string[] = [];
    for (let s = 0; s <= 130; s += 10)
      levels.push(...rules.evaluate(T0 + s * 1000, [track('3', 0.5, 0.9)], [], ctx).warnings.map((w) => `${s}:${w.level}`));
    expect(levels).toEqual(['60:blue', '120:yellow']);
    rules.evaluate(T0 + 140_000, [], [track('3', 0.5, 0.9)], ctx);
    expect(rules.openEpisodes).toBe(0);
  });

  it('stopped vehicle counts only time at (near) zero speed', () => {
    const rules = rulesFor([{ id: 'stopped', type: 'stopped-vehicle', zone: 'plaza', levels: { yellow: 30 } }]);
    const found: number[] = [];
    for (let s = 0; s <= 60; s += 5) {
      // Moving (0.05 image widths/s ≈ 3 box heights/s) for 20 s, then still.
      const v: [number, number] = s < 20 ? [0.05, 0] : [0, 0];
      const out = rules.evaluate(T0 + s * 1000, [track('c1', 0.5, 0.9, 'car', v)], [], ctx);
      found.push(...out.warnings.map(() => s));
      if (out.warnings[0] !== undefined) expect(out.warnings[0]).toMatchObject({ kind: 'stopped_vehicle', level: 'yellow' });
    }
    expect(found).toEqual([50]);
  });
});

describe('queue and line crossing', () => {
  it('queue length is a count of vehicles in the zone, reported as congestion', () => {
    const rules = rulesFor([{ id: 'q', type: 'queue', zone: 'plaza', levels: { blue: 2 }, holdMs: 0 }]);
    const out = valid(rules.evaluate(T0, [track('a', 0.2, 0.9, 'car'), track('b', 0.4, 0.9, 'truck'), track('p', 0.6, 0.9)], [], ctx));
    expect(out.warnings.map((w) => [w.kind, w.level])).toEqual([['congestion', 'blue']]);
    expect(out.anomalies[0]).toMatchObject({ metric: 'queue_length', value: 2 });
  });

  it('counts crossings by direction and fires on the configured direction', () => {
    const rules = rulesFor([
      {
        id: 'wrong-way',
        type: 'line-crossing',
        line: 'kerb',
        classes: ['person'],
        direction: 'right-to-left',
        kind: 'intrusion',
        levels: { yellow: 1 },
      },
    ]);
    // Track 1 walks down across the kerb (from the line's left on screen to its right); track 2 walks up.
    rules.evaluate(T0, [track('1', 0.3, 0.4), track('2', 0.7, 0.6)], [], ctx);
    const out = valid(rules.evaluate(T0 + 200, [track('1', 0.3, 0.6), track('2', 0.7, 0.4)], [], ctx));
    expect(rules.lineCounts.get('kerb')).toEqual({ leftToRight: 1, rightToLeft: 1 });
    expect(out.warnings).toHaveLength(1);
    expect(out.warnings[0]!.evidence_ids).toContain('det-2');
    expect(out.warnings[0]!.reasons[0]).toMatch(/1 person crossed line 'Kerb' right-to-left within 1 min/);
  });
});
