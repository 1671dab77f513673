import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, encodePng } from './png.js';

describe('encodePng', () => {
  it('writes a valid PNG whose scanlines give back the pixels', () => {
    const width = 3;
    const height = 2;
    const rgb = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37) % 256);
    const png = Buffer.from(encodePng(rgb, width, height));
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    // IHDR: width, height, 8-bit truecolour, with a CRC over type and data.
    expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
    expect([png.readUInt32BE(16), png.readUInt32BE(20), png[24], png[25]]).toEqual([width, height, 8, 2]);
    expect(png.readUInt32BE(29)).toBe(crc32(png.subarray(12, 29)));
    const idatLength = png.readUInt32BE(33);
    expect(png.subarray(37, 41).toString('latin1')).toBe('IDAT');
    const raw = inflateSync(png.subarray(41, 41 + idatLength));
    const rows = [0, 1].map((y) => raw.subarray(y * (width * 3 + 1), (y + 1) * (width * 3 + 1)));
    // Sub filter: a decoder adds back the same channel of the pixel to the left.
    expect(rows.map((r) => r[0])).toEqual([1, 1]);
    const unfiltered = rows.map((r) => {
      const line = Uint8Array.from(r.subarray(1));
      for (let x = 3; x < line.length; x++) line[x] = (line[x]! + line[x - 3]!) & 0xff;
      return line;
    });
    expect(Buffer.concat(unfiltered)).toEqual(Buffer.from(rgb));
    expect(png.subarray(png.length - 8, png.length - 4).toString('latin1')).toBe('IEND');
  });

  it('computes the standard CRC-32 check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('refuses pixels that do not match the size', () => {
    expect(() => encodePng(new Uint8Array(5), 2, 2)).toThrow(/expected 2×2×3 = 12 bytes of rgb24; got 5/);
  });
});
