import { constants, crc32 as zlibCrc32, deflateSync } from 'node:zlib';

/*
 * A minimal PNG encoder for rgb24 pictures (snapshots): the signature, IHDR, one zlib-compressed
 * IDAT of Sub-filtered scanlines, IEND (PNG spec, W3C 2003, §5, §9 and §11). No dependency.
 * It runs on the vision worker's main thread once per warning, and the cores it takes are the
 * inference lanes' (at the pipeline's knee deflate was 7 % of the main thread), so it is tuned for
 * time: on a 416×312 motorway frame, Sub + Huffman-only deflate took 5.6 ms for 235 KB, against
 * 9.6 ms for 204 KB at level 1 (LZ77 matching) and 12 ms for 232 KB with no filter at level 6.
 * The CRC is zlib's (native; the table-driven JS one took ~1 ms a snapshot).
 */

const SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** CRC-32 (ISO 3309) over the bytes, as PNG chunks carry it. */
export function crc32(bytes: Uint8Array): number {
  return zlibCrc32(bytes);
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** PNG bytes of an rgb24 picture. */
export function encodePng(rgb: Uint8Array, width: number, height: number): Uint8Array {
  if (rgb.length !== width * height * 3)
    throw new RangeError(`expected ${width}×${height}×3 = ${width * height * 3} bytes of rgb24; got ${rgb.length}`);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const o = y * (stride + 1);
    const row = y * stride;
    raw[o] = 1; // filter: Sub, each byte less the same channel of the pixel to its left
    for (let x = 0; x < 3 && x < stride; x++) raw[o + 1 + x] = rgb[row + x]!;
    for (let x = 3; x < stride; x++) raw[o + 1 + x] = (rgb[row + x]! - rgb[row + x - 3]!) & 0xff;
  }
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 1, strategy: constants.Z_HUFFMAN_ONLY })),
    chunk('IEND', new Uint8Array(0)),
  ]);
}
