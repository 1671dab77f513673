import { describe, expect, it } from 'vitest';
import { ByteTracker } from './byte-tracker.js';
import type { Detection } from './vision-model.js';

function det(x: number, y: number, score = 0.9, className = 'person', size = 0.1): Detection {
  return { classId: className === 'person' ? 0 : 1, className, score, x1: x, y1: y, x2: x + size, y2: y + size };
}

describe('ByteTracker', () => {
  it('keeps one id for an object moving steadily, even faster than its box width per frame with velocity', () => {
    const tracker = new ByteTracker();
    const ids: string[] = [];
    for (let k = 0; k < 20; k++) {
      // 0.04 per frame at 5 fps; the prediction carries it once the velocity is learnt.
      const { active } = tracker.update([det(0.05 + 0.04 * k, 0.4)], 1000 + 200 * k);
      if (active[0] !== undefined) ids.push(active[0].id);
    }
    expect(ids.length).toBe(19); // the first frame is tentative (minHits 2)
    expect(new Set(ids)).toEqual(new Set(['1']));
  });

  it('continues a track with a low-score detection (stage two) but never starts one from it', () => {
    const tracker = new ByteTracker();
    tracker.update([det(0.1, 0.1)], 0);
    expect(tracker.update([det(0.1, 0.1)], 200).active.map((t) => t.id)).toEqual(['1']);
    // Occluded: score 0.3 (< highScore 0.5) still continues track 1.
    const occluded = tracker.update([det(0.1, 0.1, 0.3)], 400);
    expect(occluded.active.map((t) => [t.id, t.score])).toEqual([['1', 0.3]]);
    // A low-score box elsewhere starts nothing.
    expect(tracker.update([det(0.1, 0.1), det(0.7, 0.7, 0.3)], 600).active.map((t) => t.id)).toEqual(['1']);
    expect(tracker.size).toBe(1);
  });

  it('gives separate ids to separate objects and does not match across classes', () => {
    const tracker = new ByteTracker({ minHits: 1 });
    const first = tracker.update([det(0.1, 0.1), det(0.5, 0.5, 0.9, 'car')], 0);
    expect(first.active.map((t) => `${t.className}:${t.id}`)).toEqual(['person:1', 'car:2']);
    // A car where the person was: not the person's track.
    const second = tracker.update([det(0.1, 0.1, 0.9, 'car')], 200);
    expect(second.active.map((t) => `${t.className}:${t.id}`)).toEqual(['car:3']);
  });

  it('finds a lost track again within the timeout, and removes it after', () => {
    const tracker = new ByteTracker({ minHits: 1, lostTimeoutMs: 1000 });
    tracker.update([det(0.3, 0.3)], 0);
    expect(tracker.update([], 500).active).toEqual([]);
    expect(tracker.update([det(0.3, 0.3)], 900).active.map((t) => t.id)).toEqual(['1']);
    tracker.update([], 1500);
    const gone = tracker.update([], 2000);
    expect(gone.removed.map((t) => t.id)).toEqual(['1']);
    expect(tracker.update([det(0.3, 0.3)], 2200).active.map((t) => t.id)).toEqual(['2']);
  });

  it('drops an unconfirmed track that is not seen again and rejects bad settings', () => {
    const tracker = new ByteTracker();
    tracker.update([det(0.3, 0.3)], 0);
    expect(tracker.update([], 200).removed.map((t) => t.state)).toEqual(['tentative']);
    expect(() => new ByteTracker({ lowScore: 0.8, highScore: 0.5 })).toThrow(/'lowScore' \(0.8\): expected at most highScore \(0.5\)/);
  });
});
