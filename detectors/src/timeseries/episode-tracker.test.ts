import { describe, expect, it } from 'vitest';
import { EpisodeTracker, type EpisodeDecision } from './episode-tracker.js';
import {
  DEFAULT_PHYSICAL_LINES_BY_KIND,
  DEFAULT_WARNING_POLICY,
  levelFor,
  physicalLevelOf,
  powerLoadLines,
  validatePhysicalLines,
  validateWarningPolicy,
  type Direction,
} from './warning-policy.js';
import { DetectorError } from '../errors.js';

const MINUTE = 60_000;

function feed(
  tracker: EpisodeTracker,
  points: readonly { score: number; direction?: Direction; anomalous?: boolean }[],
  kind: 'water_level' | 'traffic_speed' = 'water_level',
): (EpisodeDecision | undefined)[] {
  return points.map((p, i) =>
    tracker.observe(0, kind, {
      ts: i * MINUTE,
      anomalous: p.anomalous ?? p.score >= 5,
      direction: p.direction ?? 'high',
      score: p.score,
      anomalyId: `a${i}`,
    }),
  );
}

const normal = { score: 1, anomalous: false } as const;

describe('episode hysteresis', () => {
  it('reports an episode closed by normal points as an all-clear, once, and not one ended by a reset', () => {
    const tracker = new EpisodeTracker(DEFAULT_WARNING_POLICY);
    const close = DEFAULT_WARNING_POLICY.closeAfterPoints;
    feed(tracker, [normal, { score: 6 }, { score: 6 }, { score: 9 }, ...Array.from({ length: close }, () => normal)]);
    expect(tracker.takeClosed()).toEqual([
      { series: 0, event: 'waterlogging', level: 'yellow', direction: 'high', startTs: MINUTE, endTs: (3 + close) * MINUTE, peakScore: 9 },
    ]);
    expect(tracker.takeClosed()).toEqual([]);
    expect(tracker.activeCount).toBe(0);

    feed(tracker, [{ score: 6 }, { score: 6 }, { score: 6 }]);
    expect(tracker.activeCount).toBe(1);
    tracker.end(0);
    expect(tracker.activeCount).toBe(0);
    expect(tracker.takeClosed()).toEqual([]);
  });

  it('opens after N consecutive anomalous points and not before', () => {
    const tracker = new EpisodeTracker(DEFAULT_WARNING_POLICY);
    const out = feed(tracker, [normal, { score: 6 }, { score: 6 }, normal, { score: 6 }, { score: 6 }, { score: 6 }, { score: 6 }]);
    const decisions = out.filter((d) => d !== undefined);
    expect(decisions).toHaveLength(1);
    expect(out[6]).toMatchObject({
      type: 'opened',
      event: 'waterlogging',
      level: 'blue',
      startTs: 4 * MINUTE,
      anomalousPoints: 3,
      evidenceIds: ['a4', 'a5', 'a6'],
    });
    expect(tracker.activeCount).toBe(1);
  });

  it('emits again only when the level rises, never lowers it, and closes after M normal points', () => {
    const tracker = new EpisodeTracker(DEFAULT_WARNING_POLICY);
    const out = feed(tracker, [
      { score: 6 },
      { score: 6 },
      { score: 6 }, // opens blue
      { score: 9 }, // yellow
      { score: 7 }, // stays yellow
      { score: 13 }, // orange
      { score: 6 },
      normal,
      normal,
      normal,
      normal,
      normal, // closes
      { score: 6 },
      { score: 6 },
      { score: 6 }, // a new episode
    ]);
    const decisions = out.flatMap((d, i) =>
      d === undefined ? [] : [{ i, type: d.type, level: d.level, previous: d.previousLevel, start: d.startTs }],
    );
    expect(decisions).toEqual([
      { i: 2, type: 'opened', level: 'blue', previous: undefined, start: 0 },
      { i: 3, type: 'raised', level: 'yellow', previous: 'blue', start: 0 },
      { i: 5, type: 'raised', level: 'orange', previous: 'yellow', start: 0 },
      { i: 14, type: 'opened', level: 'blue', previous: undefined, start: 12 * MINUTE },
    ]);
  });

  it('decides the same after a snapshot → JSON → restore as without the restart, wherever it is cut', () => {
    const points: { score: number; direction?: Direction; anomalous?: boolean }[] = [
      normal,
      { score: 6 },
      { score: 6 },
      { score: 6 }, // opens blue
      { score: 9 }, // yellow
      normal,
      normal,
      { score: 13 }, // orange, same episode
      ...Array.from({ length: DEFAULT_WARNING_POLICY.closeAfterPoints }, () => normal), // closes
      { score: 6, direction: 'low' },
      { score: 6, direction: 'low' },
    ];
    const observe = (t: EpisodeTracker, from: number, to: number) =>
      points.slice(from, to).map((p, k) =>
        t.observe(0, 'water_level', {
          ts: (from + k) * MINUTE,
          anomalous: p.anomalous ?? p.score >= 5,
          direction: p.direction ?? 'high',
          score: p.score,
          anomalyId: `a${from + k}`,
        }),
      );
    const whole = new EpisodeTracker(DEFAULT_WARNING_POLICY);
    const expected = observe(whole, 0, points.length);
    const expectedClosed = whole.takeClosed();
    for (let cut = 1; cut < points.length; cut++) {
      const before = new EpisodeTracker(DEFAULT_WARNING_POLICY);
      const first = observe(before, 0, cut);
      const closedBefore = before.takeClosed();
      const after = new EpisodeTracker(DEFAULT_WARNING_POLICY);
      after.restore(JSON.parse(JSON.stringify(before.snapshot())) as ReturnType<EpisodeTracker['snapshot']>, () => undefined);
      expect(after.activeCount).toBe(before.activeCount);
      expect([...first, ...observe(after, cut, points.length)]).toEqual(expected);
      expect([...closedBefore, ...after.takeClosed()]).toEqual(expectedClosed);
    }
  });

  it('raises the level with duration alone', () => {
    const tracker = new EpisodeTracker(DEFAULT_WARNING_POLICY);
    const out = feed(
      tracker,
      Array.from({ length: 12 }, () => ({ score: 5.5 })),
    );
    expect(out.filter((d) => d !== undefined).map((d) => d?.level)).toEqual(['blue', 'yellow']);
    expect(out[10]).toMatchObject({ type: 'raised', level: 'yellow', durationMs: 10 * MINUTE });
  });

  it('maps kind and direction to events, and stuck sensors to sensor_fault capped at yellow', () => {
    const congestion = new EpisodeTracker(DEFAULT_WARNING_POLICY);
    expect(
      feed(
        congestion,
        [
          { score: 6, direction: 'low' },
          { score: 6, direction: 'low' },
          { score: 6, direction: 'low' },
        ],
        'traffic_speed',
      )[2]?.event,
    ).toBe('congestion');
    const stuck = new EpisodeTracker(DEFAULT_WARNING_POLICY);
    const out = feed(
      stuck,
      Array.from({ length: 40 }, () => ({ score: 25, direction: 'flat' as const, anomalous: true })),
    );
    const levels = out.filter((d) => d !== undefined).map((d) => [d?.event, d?.level]);
    expect(levels).toEqual([['sensor_fault', 'yellow']]);
  });

  it('does not call the return to normal after a hazard episode a sensor fault', () => {
    const tracker = new EpisodeTracker(DEFAULT_WARNING_POLICY);
    const hazard = Array.from({ length: 4 }, () => ({ score: 6 }));
    const closing = Array.from({ length: 5 }, () => normal);
    const recovery = Array.from({ length: 4 }, () => ({ score: 6, direction: 'low' as const }));
    const out = feed(tracker, [...hazard, ...closing, ...recovery]);
    expect(out.filter((d) => d !== undefined).map((d) => d?.event)).toEqual(['waterlogging']);
    // Without a preceding hazard the same low excursion is a fault.
    const fresh = new EpisodeTracker(DEFAULT_WARNING_POLICY);
    expect(
      feed(fresh, recovery)
        .filter((d) => d !== undefined)
        .map((d) => d?.event),
    ).toEqual(['sensor_fault']);
  });

  it('bounds evidence ids', () => {
    const tracker = new EpisodeTracker({ ...DEFAULT_WARNING_POLICY, maxEvidenceIds: 4 });
    const out = feed(tracker, [...Array.from({ length: 6 }, () => ({ score: 6 })), { score: 30 }]);
    expect(out[6]?.evidenceIds).toEqual(['a3', 'a4', 'a5', 'a6']);
  });
});

describe('episode hysteresis at one reading a second', () => {
  const SECOND = 1000;
  /** Feeds points a second apart from `fromS`; returns the decisions. */
  function feedSeconds(
    tracker: EpisodeTracker,
    fromS: number,
    points: readonly { score: number; direction?: Direction; anomalous?: boolean }[],
  ) {
    return points.map((p, k) =>
      tracker.observe(0, 'water_level', {
        ts: (fromS + k) * SECOND,
        anomalous: p.anomalous ?? p.score >= 5,
        direction: p.direction ?? 'high',
        score: p.score,
      }),
    );
  }
  const repeat = <T>(n: number, p: T): T[] => Array.from({ length: n }, () => p);

  it('closes an episode only after 5 normal readings and 5 minutes without one that continues it', () => {
    const tracker = new EpisodeTracker(DEFAULT_WARNING_POLICY);
    feedSeconds(tracker, 0, repeat(3, { score: 6 }));
    // Statistics that dip for 30 s while the water stays high: still one episode, nothing re-opened.
    const dip = feedSeconds(tracker, 3, [...repeat(30, normal), ...repeat(3, { score: 6 })]);
    expect(dip.filter((d) => d !== undefined)).toEqual([]);
    expect(tracker.activeCount).toBe(1);
    feedSeconds(tracker, 36, repeat(299, normal));
    expect(tracker.takeClosed()).toEqual([]);
    feedSeconds(tracker, 335, [normal]);
    expect(tracker.takeClosed()).toMatchObject([{ startTs: 0, endTs: 335 * SECOND }]);
  });

  it('guards against reading the recovery as a sensor fault for 15 minutes, not only 120 readings', () => {
    const tracker = new EpisodeTracker(DEFAULT_WARNING_POLICY);
    feedSeconds(tracker, 0, [...repeat(3, { score: 6 }), ...repeat(300, normal)]);
    expect(tracker.takeClosed()).toHaveLength(1);
    // 10 minutes (600 readings, past the 120-reading guard) later the median still remembers the
    // high water, and the return to normal reads as a dip below it.
    feedSeconds(tracker, 303, repeat(597, normal));
    const recovery = feedSeconds(tracker, 900, repeat(5, { score: 6, direction: 'low' }));
    expect(recovery.filter((d) => d !== undefined)).toEqual([]);
    // After the 15 minutes a low excursion is a fault again.
    feedSeconds(tracker, 905, repeat(395, normal));
    const later = feedSeconds(tracker, 1300, repeat(5, { score: 6, direction: 'low' }));
    expect(later.filter((d) => d !== undefined).map((d) => d.event)).toEqual(['sensor_fault']);
  });

  it('takes a reading repeated exactly during a hazard as the hazard holding, not a stuck sensor', () => {
    const tracker = new EpisodeTracker(DEFAULT_WARNING_POLICY);
    feedSeconds(tracker, 0, repeat(3, { score: 6 }));
    const still = feedSeconds(tracker, 3, repeat(400, { score: 5, direction: 'flat', anomalous: true }));
    expect(still.filter((d) => d?.event === 'sensor_fault')).toEqual([]);
    expect(tracker.activeCount).toBe(1);
    expect(tracker.takeClosed()).toEqual([]);
  });
});

describe('warning policy', () => {
  it('documents its level lines', () => {
    expect(levelFor(DEFAULT_WARNING_POLICY, 'pollution', 5, 0)).toBe('blue');
    expect(levelFor(DEFAULT_WARNING_POLICY, 'pollution', 8, 0)).toBe('yellow');
    expect(levelFor(DEFAULT_WARNING_POLICY, 'pollution', 12, 0)).toBe('orange');
    expect(levelFor(DEFAULT_WARNING_POLICY, 'pollution', 20, 0)).toBe('red');
    expect(levelFor(DEFAULT_WARNING_POLICY, 'pollution', 5, 31 * MINUTE)).toBe('orange');
    expect(levelFor(DEFAULT_WARNING_POLICY, 'pollution', 5, 1e9)).toBe('orange');
    expect(levelFor(DEFAULT_WARNING_POLICY, 'sensor_fault', 50, 0)).toBe('yellow');
  });

  it('rejects lines out of order', () => {
    expect(() =>
      validateWarningPolicy({
        ...DEFAULT_WARNING_POLICY,
        levels: [
          { level: 'red', minScore: 20, minDurationMs: 0 },
          { level: 'blue', minScore: 0, minDurationMs: 0 },
        ],
      }),
    ).toThrow(DetectorError);
  });

  it('takes the physical line an episode reached as its level, and caps one that reached none', () => {
    // Statistically mild, physically serious: a water level 50 cm deep is orange whatever the score.
    expect(levelFor(DEFAULT_WARNING_POLICY, 'waterlogging', 5, 0, 'orange')).toBe('orange');
    // Statistically extreme, physically harmless: capped at maxLevelBelowPhysicalLines (yellow).
    expect(levelFor(DEFAULT_WARNING_POLICY, 'waterlogging', 25, 0, 'below')).toBe('yellow');
    // The higher of the two wins; a sensor without lines (null) keeps the score's level.
    expect(levelFor(DEFAULT_WARNING_POLICY, 'waterlogging', 25, 0, 'blue')).toBe('red');
    expect(levelFor(DEFAULT_WARNING_POLICY, 'waterlogging', 25, 0, null)).toBe('red');
  });

  it('reads physical lines in their hazard direction: rising water and PM2.5, falling speed, % of a feeder rating', () => {
    const water = DEFAULT_PHYSICAL_LINES_BY_KIND.water_level!;
    expect([10, 20, 35, 50, 80].map((v) => physicalLevelOf(water, v))).toEqual([undefined, 'blue', 'yellow', 'orange', 'red']);
    const pm = DEFAULT_PHYSICAL_LINES_BY_KIND.air_quality_pm25!;
    expect([60, 80, 120, 160, 300].map((v) => physicalLevelOf(pm, v))).toEqual([undefined, 'blue', 'yellow', 'orange', 'red']);
    const speed = DEFAULT_PHYSICAL_LINES_BY_KIND.traffic_speed!;
    expect([50, 25, 15, 8, 3].map((v) => physicalLevelOf(speed, v))).toEqual([undefined, 'blue', 'yellow', 'orange', 'red']);
    const feeder = powerLoadLines(120);
    expect([90, 96, 108, 120, 132].map((v) => physicalLevelOf(feeder, v))).toEqual([undefined, 'blue', 'yellow', 'orange', 'red']);
    expect(() => powerLoadLines(0)).toThrow(/expected a positive finite rated load in MW; got 0/);
    expect(() =>
      validatePhysicalLines(
        {
          direction: 'low',
          lines: [
            { level: 'blue', value: 10 },
            { level: 'yellow', value: 20 },
          ],
          basis: 'x',
        },
        'sensor s1',
      ),
    ).toThrow(/invalid physical lines for sensor s1: .*values falling; got blue 10 before yellow 20/);
  });

  it('raises an episode by the most extreme value its points reached, and says which line', () => {
    const tracker = new EpisodeTracker(DEFAULT_WARNING_POLICY);
    const lines = DEFAULT_PHYSICAL_LINES_BY_KIND.water_level!;
    const values = [22, 24, 26, 32, 47];
    const out = values.map((value, i) =>
      tracker.observe(0, 'water_level', {
        ts: i * MINUTE,
        anomalous: true,
        direction: 'high',
        score: 0.6,
        value,
        lines,
        anomalyId: `a${i}`,
      }),
    );
    expect(out.map((d) => d?.level)).toEqual([undefined, undefined, 'blue', 'yellow', 'orange']);
    expect(out[4]?.physical).toMatchObject({ reading: 'orange', peakValue: 47 });
  });
});
