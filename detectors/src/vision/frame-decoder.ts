import { DetectorError } from '../errors.js';
import { detectorPlugin, type DetectorPlugin, type OutputLayout } from './detector-plugins.js';
import type { VisionModelType } from './model-config.js';
import { Candidates } from './nms.js';

/**
 * From a model's raw output to boxes on the source picture: the plugin's decoding, per-class
 * thresholds, NMS, and the letterbox undone. It runs where the run ran (an inference lane's
 * thread), so only the boxes cross back to the main thread, not the output tensor (1.2 MB a
 * frame for YOLOX at 416).
 */

/** A detection with its box normalised to 0…1 of the source image. */
export interface Detection {
  classId: number;
  className: string;
  score: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** What decoding needs to know about a model; plain data, so it can be sent to a thread. */
export interface DecodeParams {
  type: VisionModelType;
  layout: OutputLayout;
  /** Per class id: score to reach (Infinity = not reported). */
  thresholds: Float32Array;
  minThreshold: number;
  nmsIouThreshold: number;
  maxDetectionsPerFrame: number;
  labels: readonly string[];
}

/** Where a frame sits in the model input: model px = source px · scale + pad. */
export interface FramePlacement {
  scale: number;
  padX: number;
  padY: number;
  sourceWidth: number;
  sourceHeight: number;
}

export class FrameDecoder {
  private readonly plugin: DetectorPlugin;
  private readonly candidates = new Candidates();

  constructor(
    private readonly params: DecodeParams,
    /** Names the model in errors. */
    private readonly modelName: string,
  ) {
    this.plugin = detectorPlugin(params.type);
  }

  /** Boxes of each frame of one run's output (`dims` as the runtime returned them). */
  decode(data: Float32Array, dims: readonly number[], frames: readonly FramePlacement[]): Detection[][] {
    this.adoptRuntimeShape(dims);
    const { layout, thresholds, minThreshold, nmsIouThreshold, maxDetectionsPerFrame, labels } = this.params;
    const perFrame = layout.anchors * layout.depth;
    const c = this.candidates;
    return frames.map((frame, i) => {
      c.clear();
      this.plugin.decode(data, i * perFrame, layout, thresholds, minThreshold, c);
      const keep = c.nms(nmsIouThreshold, maxDetectionsPerFrame);
      const { scale, padX, padY } = frame;
      const sx = 1 / (scale * frame.sourceWidth);
      const sy = 1 / (scale * frame.sourceHeight);
      const detections: Detection[] = [];
      for (const k of keep) {
        const x1 = clamp01((c.x1[k]! - padX) * sx);
        const y1 = clamp01((c.y1[k]! - padY) * sy);
        const x2 = clamp01((c.x2[k]! - padX) * sx);
        const y2 = clamp01((c.y2[k]! - padY) * sy);
        // A box entirely in the padding maps to nothing.
        if (x2 <= x1 || y2 <= y1) continue;
        const classId = c.classId[k]!;
        detections.push({ classId, className: labels[classId] ?? `class_${classId}`, score: c.score[k]!, x1, y1, x2, y2 });
      }
      return detections;
    });
  }

  /** A symbolic anchor count is learnt from the first output; later outputs must agree. */
  private adoptRuntimeShape(dims: readonly number[]): void {
    const layout = this.params.layout;
    const anchors = layout.channelsFirst ? dims[2] : dims[1];
    const depth = layout.channelsFirst ? dims[1] : dims[2];
    if (depth !== layout.depth || anchors === undefined || (layout.anchors !== 0 && anchors !== layout.anchors)) {
      const expected = layout.channelsFirst
        ? `[N, ${layout.depth}, ${layout.anchors || 'anchors'}]`
        : `[N, ${layout.anchors || 'anchors'}, ${layout.depth}]`;
      throw new DetectorError(
        'invalid-state',
        `model '${this.modelName}': expected output ${expected}; the run returned [${dims.join(', ')}]`,
      );
    }
    layout.anchors = anchors;
  }
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}
