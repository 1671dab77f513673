import { describe, expect, it } from 'vitest';
import { Candidates, iou } from './nms.js';

describe('class-aware NMS', () => {
  it('suppresses overlapping boxes of the same class only, best score first', () => {
    const c = new Candidates(2); // grows past its first capacity
    c.pushCenter(50, 50, 20, 20, 0.9, 0); // A
    c.pushCenter(52, 50, 20, 20, 0.8, 0); // overlaps A (IoU 0.82): suppressed
    c.pushCenter(52, 50, 20, 20, 0.7, 1); // same place, other class: kept
    c.pushCenter(90, 90, 10, 10, 0.6, 0); // far away: kept
    c.pushCenter(60, 50, 20, 20, 0.5, 0); // IoU with A 0.33 < 0.45: kept
    expect(c.nms(0.45, 100)).toEqual([0, 2, 3, 4]);
    expect(c.nms(0.3, 100)).toEqual([0, 2, 3]);
    expect(c.nms(0.45, 2)).toEqual([0, 2]);
  });

  it('is deterministic for equal scores (lower index first)', () => {
    const c = new Candidates();
    c.pushCenter(10, 10, 10, 10, 0.5, 0);
    c.pushCenter(11, 10, 10, 10, 0.5, 0);
    expect(c.nms(0.45, 10)).toEqual([0]);
  });

  it('computes IoU of corner boxes', () => {
    expect(iou({ x1: 0, y1: 0, x2: 2, y2: 2 }, { x1: 1, y1: 0, x2: 3, y2: 2 })).toBeCloseTo(1 / 3);
    expect(iou({ x1: 0, y1: 0, x2: 1, y2: 1 }, { x1: 2, y1: 2, x2: 3, y2: 3 })).toBe(0);
  });
});
