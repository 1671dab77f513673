import { encodeFrame, stableId, type CameraFrameHeader } from '@cityops/schemas';

/**
 * Synthetic frames for the vision tests: a grey (114, the letterbox pad) rgb24 picture with
 * saturated squares painted on it, which the synthetic detector models of
 * src/vision/synthetic-detector-model.ts see as objects (red = class 0, blue = class 1,
 * green = class 2; the score grows with the colour's intensity).
 */

export type Rgb = readonly [number, number, number];
export const RED: Rgb = [255, 0, 0];
export const BLUE: Rgb = [0, 0, 255];

export interface Square {
  /** Top-left corner and edge, px of the frame. */
  x: number;
  y: number;
  size: number;
  color: Rgb;
}

export function paintFrame(width: number, height: number, squares: readonly Square[]): Uint8Array {
  const pixels = new Uint8Array(width * height * 3).fill(114);
  for (const s of squares) {
    for (let y = s.y; y < s.y + s.size && y < height; y++) {
      for (let x = s.x; x < s.x + s.size && x < width; x++) {
        const p = (y * width + x) * 3;
        pixels[p] = s.color[0];
        pixels[p + 1] = s.color[1];
        pixels[p + 2] = s.color[2];
      }
    }
  }
  return pixels;
}

/** A frame message for camera.frames: unscaled (source = frame size, no letterbox). */
export function frameMessage(
  cameraId: string,
  ts: number,
  seq: number,
  size: number,
  squares: readonly Square[],
): { key: string; value: Uint8Array; headers: Record<string, string>; timestampMs: number } {
  const header: CameraFrameHeader = {
    id: stableId(cameraId, ts, seq),
    schema_version: 1,
    camera_id: cameraId,
    ts,
    seq,
    width: size,
    height: size,
    pixel_format: 'rgb24',
    source_width: size,
    source_height: size,
    scale: 1,
    pad_x: 0,
    pad_y: 0,
  };
  const { value, headers } = encodeFrame(header, paintFrame(size, size, squares));
  return { key: cameraId, value, headers, timestampMs: ts };
}
