import { describe, expect, it } from 'vitest';
import { EpisodeTracker, type EpisodeDecision } from './episode-tracker.js';
import { DEFAULT_WARNING_POLICY, levelFor, validateWarningPolicy, type Direction } from './warning-policy.js';
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
});
