import { DetectorError } from '../errors.js';
import type { VisionModelType } from './model-config.js';
import type { Candidates } from './nms.js';

/**
 * The detector plugin registry, keyed by `type`: each plugin checks that a model file's output
 * is the format its type declares (and says what it found instead), and decodes one frame's
 * slice of the output tensor into candidate boxes in model-input pixels.
 *
 * Formats:
 * - yolox  [N, A, 5 + C]: per row tx, ty, tw, th, objectness, C class scores (sigmoid-ed in the
 *   export). Boxes are grid-relative (YOLOX, Ge et al. 2021, decoupled anchor-free head):
 *   cx = (tx + gx)·s, cy = (ty + gy)·s, w = e^tw·s, h = e^th·s, with A = Σ (W/s)(H/s) over the
 *   strides (8, 16, 32), finest first, row-major over (gy, gx). Score = objectness · class.
 * - yolov5 [N, A, 5 + C]: cx, cy, w, h in input px, objectness, class scores. Score = obj · class.
 * - yolov8 [N, 4 + C, A] (YOLOv8 and YOLO11, channels first): cx, cy, w, h in input px, class
 *   scores; no objectness. Read class-major so the scan walks memory in order.
 * - nanodet [N, A, C + 4·(R + 1)] (NanoDet's GFL head, Li et al. 2020, "Generalized Focal
 *   Loss"): C sigmoid-ed class scores (no objectness), then for left, top, right, bottom a
 *   distribution over R + 1 distance bins (logits). Distance = Σ softmax(bins)·k, in strides;
 *   anchor point ((gx + o)·s, (gy + o)·s) with o = `centerOffset`; A and the anchor order as yolox.
 */

export interface OutputLayout {
  /** Boxes per frame. */
  anchors: number;
  /** Values per box. */
  depth: number;
  /** [N, depth, anchors] (yolov8) rather than [N, anchors, depth]. */
  channelsFirst: boolean;
  objectness: boolean;
  classCount: number;
  /** yolox, nanodet: per anchor gx, gy, stride (3 values each). */
  grid?: Float32Array;
  /** nanodet: distance bins per side (R + 1). */
  bins?: number;
  /** nanodet: anchor point within its cell, in cells. */
  centerOffset?: number;
}

export interface LayoutContext {
  classCount: number;
  inputWidth: number;
  inputHeight: number;
  strides: readonly number[];
  /** nanodet's anchor point within its cell. */
  centerOffset: number;
  /** For messages: the file and output tensor. */
  modelPath: string;
  outputName: string;
}

export interface DetectorPlugin {
  readonly type: VisionModelType;
  /** Checks the output tensor's declared shape; throws DetectorError 'invalid-config' naming expected and found. */
  layout(shape: readonly (number | string)[], ctx: LayoutContext): OutputLayout;
  /**
   * Appends the boxes of one frame whose score reaches its class threshold. `offset` is where
   * the frame's values start in `data`; `thresholds[c]` is class c's threshold (Infinity = not
   * reported) and `minThreshold` their minimum (rows below it are skipped before the class scan).
   */
  decode(data: Float32Array, offset: number, layout: OutputLayout, thresholds: Float32Array, minThreshold: number, out: Candidates): void;
}

function describeShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

function mismatch(
  ctx: LayoutContext,
  type: VisionModelType,
  expected: string,
  shape: readonly (number | string)[],
  hint = '',
): DetectorError {
  return new DetectorError(
    'invalid-config',
    `model ${ctx.modelPath} is declared type '${type}', which expects output ${expected}; the file's output '${ctx.outputName}' is ${describeShape(shape)}${hint}`,
  );
}

/** What a rank-3 output looks like, to help someone who declared the wrong type. */
function guess(shape: readonly (number | string)[], classCount: number): string {
  const [, a, b] = shape;
  if (b === 5 + classCount) return ` (that looks like [N, anchors, 5 + C]: type 'yolox' or 'yolov5')`;
  if (a === 4 + classCount) return ` (that looks like [N, 4 + C, anchors]: type 'yolov8')`;
  if (a === 5 + classCount || b === 4 + classCount) return ' (transposed from what any supported type produces?)';
  return ` (with ${classCount} labels, none of the supported layouts fits: check the labels file has one line per class)`;
}

function dim(v: number | string | undefined): number | undefined {
  return typeof v === 'number' && v > 0 ? v : undefined;
}

/** The YOLOX grid: gx, gy, stride per anchor, finest stride first, row-major. */
export function yoloxGrid(inputWidth: number, inputHeight: number, strides: readonly number[]): Float32Array {
  let anchors = 0;
  for (const s of strides) anchors += Math.floor(inputWidth / s) * Math.floor(inputHeight / s);
  const grid = new Float32Array(anchors * 3);
  let k = 0;
  for (const s of strides) {
    const gw = Math.floor(inputWidth / s);
    const gh = Math.floor(inputHeight / s);
    for (let y = 0; y < gh; y++) {
      for (let x = 0; x < gw; x++) {
        grid[k++] = x;
        grid[k++] = y;
        grid[k++] = s;
      }
    }
  }
  return grid;
}

const yolox: DetectorPlugin = {
  type: 'yolox',
  layout(shape, ctx) {
    const depth = 5 + ctx.classCount;
    const grid = yoloxGrid(ctx.inputWidth, ctx.inputHeight, ctx.strides);
    const anchors = grid.length / 3;
    const expected = `[N, ${anchors}, ${depth}] (anchors = Σ (${ctx.inputWidth}/s)·(${ctx.inputHeight}/s) for strides ${ctx.strides.join(', ')}; 5 + ${ctx.classCount} labels)`;
    if (shape.length !== 3) throw mismatch(ctx, 'yolox', expected, shape);
    const [, a, d] = shape;
    if (d !== depth) throw mismatch(ctx, 'yolox', expected, shape, guess(shape, ctx.classCount));
    if (dim(a) !== undefined && a !== anchors) {
      throw mismatch(ctx, 'yolox', expected, shape, ' (a different input size or strides than configured?)');
    }
    return { anchors, depth, channelsFirst: false, objectness: true, classCount: ctx.classCount, grid };
  },
  decode(data, offset, layout, thresholds, minThreshold, out) {
    const { anchors, depth, classCount } = layout;
    const grid = layout.grid!;
    for (let a = 0; a < anchors; a++) {
      const r = offset + a * depth;
      const obj = data[r + 4]!;
      if (obj < minThreshold) continue;
      const best = bestClassAt(data, r + 5, classCount);
      const score = obj * Math.max(-1, data[r + 5 + best]!);
      if (!(score >= thresholds[best]!)) continue;
      const g = a * 3;
      const s = grid[g + 2]!;
      out.pushCenter(
        (data[r]! + grid[g]!) * s,
        (data[r + 1]! + grid[g + 1]!) * s,
        Math.exp(data[r + 2]!) * s,
        Math.exp(data[r + 3]!) * s,
        score,
        best,
      );
    }
  },
};

/**
 * The index of the highest of `count` class scores from data[first] (the first on a tie; 0 when
 * none is above -1, the scan's floor). Shared by the row-major formats with objectness.
 */
function bestClassAt(data: Float32Array, first: number, count: number): number {
  let best = 0;
  let bestScore = -1;
  for (let c = 0; c < count; c++) {
    const s = data[first + c]!;
    if (s > bestScore) {
      bestScore = s;
      best = c;
    }
  }
  return best;
}

const yolov5: DetectorPlugin = {
  type: 'yolov5',
  layout(shape, ctx) {
    const depth = 5 + ctx.classCount;
    const expected = `[N, anchors, ${depth}] (cx, cy, w, h, objectness + ${ctx.classCount} labels)`;
    if (shape.length !== 3) throw mismatch(ctx, 'yolov5', expected, shape);
    const [, a, d] = shape;
    if (d !== depth) throw mismatch(ctx, 'yolov5', expected, shape, guess(shape, ctx.classCount));
    return { anchors: dim(a) ?? 0, depth, channelsFirst: false, objectness: true, classCount: ctx.classCount };
  },
  decode(data, offset, layout, thresholds, minThreshold, out) {
    const { anchors, depth, classCount } = layout;
    for (let a = 0; a < anchors; a++) {
      const r = offset + a * depth;
      const obj = data[r + 4]!;
      if (obj < minThreshold) continue;
      const best = bestClassAt(data, r + 5, classCount);
      const score = obj * Math.max(-1, data[r + 5 + best]!);
      if (!(score >= thresholds[best]!)) continue;
      out.pushCenter(data[r]!, data[r + 1]!, data[r + 2]!, data[r + 3]!, score, best);
    }
  },
};

/** Per-anchor best class scan buffers for the channels-first layout, grown on demand. */
let bestScore = new Float32Array(0);
let bestClass = new Int32Array(0);

const yolov8: DetectorPlugin = {
  type: 'yolov8',
  layout(shape, ctx) {
    const depth = 4 + ctx.classCount;
    const expected = `[N, ${depth}, anchors] (cx, cy, w, h + ${ctx.classCount} labels, channels first; no objectness)`;
    if (shape.length !== 3) throw mismatch(ctx, 'yolov8', expected, shape);
    const [, d, a] = shape;
    if (d !== depth) throw mismatch(ctx, 'yolov8', expected, shape, guess(shape, ctx.classCount));
    return { anchors: dim(a) ?? 0, depth, channelsFirst: true, objectness: false, classCount: ctx.classCount };
  },
  decode(data, offset, layout, thresholds, minThreshold, out) {
    const { anchors: n, classCount } = layout;
    if (bestScore.length < n) {
      bestScore = new Float32Array(n);
      bestClass = new Int32Array(n);
    }
    bestScore.fill(-1, 0, n);
    for (let c = 0; c < classCount; c++) {
      const row = offset + (4 + c) * n;
      for (let a = 0; a < n; a++) {
        const s = data[row + a]!;
        if (s > bestScore[a]!) {
          bestScore[a] = s;
          bestClass[a] = c;
        }
      }
    }
    for (let a = 0; a < n; a++) {
      const s = bestScore[a]!;
      if (s < minThreshold) continue;
      const c = bestClass[a]!;
      if (!(s >= thresholds[c]!)) continue;
      out.pushCenter(data[offset + a]!, data[offset + n + a]!, data[offset + 2 * n + a]!, data[offset + 3 * n + a]!, s, c);
    }
  },
};

/** Softmax expectation of `bins` logits starting at `at`: the GFL distance, in strides. */
function expectedBin(data: Float32Array, at: number, bins: number): number {
  let max = data[at]!;
  for (let k = 1; k < bins; k++) max = Math.max(max, data[at + k]!);
  let sum = 0;
  let weighted = 0;
  for (let k = 0; k < bins; k++) {
    const e = Math.exp(data[at + k]! - max);
    sum += e;
    weighted += e * k;
  }
  return weighted / sum;
}

const nanodet: DetectorPlugin = {
  type: 'nanodet',
  layout(shape, ctx) {
    const grid = yoloxGrid(ctx.inputWidth, ctx.inputHeight, ctx.strides);
    const anchors = grid.length / 3;
    const expected = `[N, ${anchors}, ${ctx.classCount} + 4·(R + 1)] (anchors = Σ (${ctx.inputWidth}/s)·(${ctx.inputHeight}/s) for strides ${ctx.strides.join(', ')}; ${ctx.classCount} labels, then 4 sides × R + 1 distance bins)`;
    if (shape.length !== 3) throw mismatch(ctx, 'nanodet', expected, shape);
    const [, a, d] = shape;
    const bins = typeof d === 'number' ? (d - ctx.classCount) / 4 : Number.NaN;
    if (!Number.isInteger(bins) || bins < 2) {
      throw mismatch(ctx, 'nanodet', expected, shape, typeof d === 'number' && d > 0 ? guess(shape, ctx.classCount) : '');
    }
    if (dim(a) !== undefined && a !== anchors) {
      throw mismatch(ctx, 'nanodet', expected, shape, ' (a different input size or strides than configured?)');
    }
    return {
      anchors,
      depth: d as number,
      channelsFirst: false,
      objectness: false,
      classCount: ctx.classCount,
      grid,
      bins,
      centerOffset: ctx.centerOffset,
    };
  },
  decode(data, offset, layout, thresholds, minThreshold, out) {
    const { anchors, depth, classCount } = layout;
    const grid = layout.grid!;
    const bins = layout.bins!;
    const o = layout.centerOffset!;
    for (let a = 0; a < anchors; a++) {
      const r = offset + a * depth;
      let best = 0;
      let bestScore = -1;
      for (let c = 0; c < classCount; c++) {
        const s = data[r + c]!;
        if (s > bestScore) {
          bestScore = s;
          best = c;
        }
      }
      if (bestScore < minThreshold || !(bestScore >= thresholds[best]!)) continue;
      const g = a * 3;
      const s = grid[g + 2]!;
      const px = (grid[g]! + o) * s;
      const py = (grid[g + 1]! + o) * s;
      const d = r + classCount;
      const left = expectedBin(data, d, bins) * s;
      const top = expectedBin(data, d + bins, bins) * s;
      const right = expectedBin(data, d + 2 * bins, bins) * s;
      const bottom = expectedBin(data, d + 3 * bins, bins) * s;
      out.pushCenter(px + (right - left) / 2, py + (bottom - top) / 2, left + right, top + bottom, bestScore, best);
    }
  },
};

const PLUGINS: Readonly<Record<VisionModelType, DetectorPlugin>> = { yolox, yolov5, yolov8, nanodet };

export function detectorPlugin(type: VisionModelType): DetectorPlugin {
  return PLUGINS[type];
}
