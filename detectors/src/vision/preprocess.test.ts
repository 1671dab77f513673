import { describe, expect, it } from 'vitest';
import { letterboxNearest, rgb24ToPlanar } from './preprocess.js';

describe('rgb24ToPlanar', () => {
  const pixels = Uint8Array.from([10, 20, 30, 40, 50, 60]); // 2×1: two pixels

  it('writes RGB planes at the offset, 0..255', () => {
    const out = new Float32Array(8).fill(-1);
    rgb24ToPlanar(pixels, 2, 1, out, 2, 'rgb', 1);
    expect([...out]).toEqual([-1, -1, 10, 40, 20, 50, 30, 60]);
  });

  it('writes BGR planes scaled to 0..1', () => {
    const out = new Float32Array(6);
    rgb24ToPlanar(pixels, 2, 1, out, 0, 'bgr', 1 / 255);
    expect([...out].map((v) => Math.round(v * 255))).toEqual([30, 60, 20, 50, 10, 40]);
  });

  it('gives the same planes from aligned words and from unaligned bytes, tail pixels included', () => {
    const width = 7;
    const height = 3; // 21 pixels: five 4-pixel words groups and one left over
    const backing = new Uint8Array(width * height * 3 + 1);
    for (let i = 0; i < backing.length; i++) backing[i] = (i * 37 + 11) & 255;
    for (const pixels of [backing.subarray(0, width * height * 3), backing.subarray(1)]) {
      for (const order of ['rgb', 'bgr'] as const) {
        const out = new Float32Array(width * height * 3);
        rgb24ToPlanar(pixels, width, height, out, 0, order, 2);
        const plane = width * height;
        const expected = new Float32Array(plane * 3);
        for (let i = 0; i < plane; i++) {
          expected[(order === 'rgb' ? 0 : 2 * plane) + i] = pixels[i * 3]! * 2;
          expected[plane + i] = pixels[i * 3 + 1]! * 2;
          expected[(order === 'rgb' ? 2 * plane : 0) + i] = pixels[i * 3 + 2]! * 2;
        }
        expect([...out], `byteOffset ${pixels.byteOffset}, ${order}`).toEqual([...expected]);
      }
    }
  });
});

describe('letterboxNearest', () => {
  it('fits a wide frame into a square, top-left or centred, padding with 114', () => {
    // 4×2 frame, each pixel's R = its x.
    const src = new Uint8Array(4 * 2 * 3);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 4; x++) src[(y * 4 + x) * 3] = x;
    const out = new Uint8Array(2 * 2 * 3);
    expect(letterboxNearest(src, 4, 2, out, 2, 2, 'top-left')).toEqual({ scale: 0.5, padX: 0, padY: 0 });
    // Each output pixel samples the source at its centre: source x 1 and 3.
    expect([out[0], out[3], out[6], out[9]]).toEqual([1, 3, 114, 114]);
    const tall = new Uint8Array(4 * 4 * 3);
    expect(letterboxNearest(src, 4, 2, tall, 4, 4, 'center')).toEqual({ scale: 1, padX: 0, padY: 1 });
    expect(tall[0]).toBe(114);
    expect(tall[(1 * 4 + 3) * 3]).toBe(3);
  });
});
