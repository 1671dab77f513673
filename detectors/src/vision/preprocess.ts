import type { ChannelOrder, LetterboxPlacement } from './model-config.js';

/**
 * Frames arrive as rgb24 already letterboxed to the model input by ffmpeg (the camera source is
 * told the model's layout), so preprocessing is one pass: HWC uint8 → NCHW float32 in the
 * model's channel order and scale, written into a buffer the caller reuses for every batch.
 */

/**
 * Writes one rgb24 frame into `out` at `offset` as three planes in `order`, each value times
 * `scale`. `pixels` must hold width × height × 3 bytes.
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
  // Plane offsets of R, G and B in the output.
  const r0 = offset + (order === 'rgb' ? 0 : 2 * plane);
  const g0 = offset + plane;
  const b0 = offset + (order === 'rgb' ? 2 * plane : 0);
  if (scale === 1) {
    for (let i = 0, p = 0; i < plane; i++, p += 3) {
      out[r0 + i] = pixels[p]!;
      out[g0 + i] = pixels[p + 1]!;
      out[b0 + i] = pixels[p + 2]!;
    }
  } else {
    for (let i = 0, p = 0; i < plane; i++, p += 3) {
      out[r0 + i] = pixels[p]! * scale;
      out[g0 + i] = pixels[p + 1]! * scale;
      out[b0 + i] = pixels[p + 2]! * scale;
    }
  }
}

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
