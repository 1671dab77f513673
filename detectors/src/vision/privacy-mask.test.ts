import { describe, expect, it } from 'vitest';
import { maskPrivateRegions, privateRegions } from './privacy-mask.js';

describe('privacy masking', () => {
  it('derives the head of a person and the plate area of a vehicle from their boxes', () => {
    const rects = privateRegions(100, 100, [
      { className: 'person', x1: 0.1, y1: 0.1, x2: 0.3, y2: 0.6 },
      { className: 'car', x1: 0.5, y1: 0.5, x2: 0.9, y2: 0.8 },
      { className: 'dog', x1: 0, y1: 0, x2: 1, y2: 1 },
    ]);
    expect(rects).toEqual([
      { x: 10, y: 10, w: 20, h: 10 }, // top fifth of 50 px
      { x: 50, y: 68, w: 40, h: 12 }, // bottom 40% of 30 px
    ]);
  });

  it('pixelates those regions in place and leaves the rest alone', () => {
    const w = 32;
    const h = 32;
    const pixels = new Uint8Array(w * h * 3);
    // A checkerboard: any region that was masked becomes flat per block.
    for (let i = 0; i < w * h; i++) pixels.fill(((i % w) + Math.floor(i / w)) % 2 === 0 ? 255 : 0, i * 3, i * 3 + 3);
    const before = pixels.slice();
    const n = maskPrivateRegions(pixels, w, h, [{ className: 'person', x1: 0, y1: 0, x2: 0.5, y2: 1 }], { blockPx: 4 });
    expect(n).toBe(1);
    // Head region: x 0..15, y 0..6 (top fifth of 32, rounded out) → each 4×4 block is one colour.
    const at = (x: number, y: number) => pixels[(y * w + x) * 3];
    expect(at(0, 0)).toBe(at(1, 0));
    expect(at(0, 0)).toBe(128);
    // Outside: untouched.
    expect(pixels.slice((10 * w + 0) * 3, (10 * w + 32) * 3)).toEqual(before.slice((10 * w + 0) * 3, (10 * w + 32) * 3));
    expect(() => maskPrivateRegions(new Uint8Array(5), 2, 2, [])).toThrow(/expected 2×2×3 = 12 bytes of rgb24; got 5/);
  });
});
