import { performance } from 'node:perf_hooks';
import { encodeModel, type GraphNode, type Initializer } from '@cityops/ml';
import { DetectorError } from '../errors.js';
import { readTfjsGraphModel, type TfjsGraphModel } from './tfjs-graph-model.js';
import { tfjsToOnnxGraph, type ConvertedGraph } from './tfjs-to-onnx.js';

/**
 * A NanoDet TF.js graph model → an ONNX model in the `nanodet` plugin's format:
 *
 * - NanoDet trains on OpenCV BGR pictures normalised per channel (nanodet/data/transform:
 *   mean 103.53, 116.28, 123.675; std 57.375, 57.12, 58.395). That normalisation is put in front
 *   of the graph, so the model takes BGR 0…255 planes (what the worker's preprocessing writes for
 *   `channelOrder: 'bgr', pixelScale: 1`). Measured on the motorway clip, this beats the
 *   RGB / 255 input that @vladmandic/human feeds it (51 vs 6 car anchors above 0.3 on one frame).
 * - The TF.js export has two outputs per stride, class scores [N, A_s, C] and box distributions
 *   [N, A_s, 4·(R + 1)]. They are joined into one [N, Σ A_s, C + 4·(R + 1)], finest stride first:
 *   the layout NanoDet's own ONNX export has, and the one the plugin decodes.
 */

export const NANODET_BGR_MEAN = [103.53, 116.28, 123.675] as const;
export const NANODET_BGR_STD = [57.375, 57.12, 58.395] as const;
/** Name of the joined output. */
export const NANODET_OUTPUT = 'output';
/** Name of the BGR 0…255 input. */
export const NANODET_INPUT = 'images';

export interface NanodetConversion {
  bytes: Uint8Array;
  /** The graph before the input normalisation and output join (per-stride outputs, TF.js names), for equivalence checks. */
  raw: ConvertedGraph;
  /** ms spent reading + dequantizing the weights, converting, encoding. */
  timings: { readMs: number; convertMs: number; encodeMs: number };
  /** Anchors per stride output, finest first. */
  anchorsPerLevel: number[];
  /** 4·(R + 1) values per anchor after the class scores. */
  boxValues: number;
}

/** Reads a NanoDet model.json (+ weights) and converts it; see the module comment. */
export async function nanodetOnnxFromTfjsFile(modelJsonPath: string, classCount: number): Promise<NanodetConversion> {
  const t0 = performance.now();
  const model = await readTfjsGraphModel(modelJsonPath);
  const readMs = performance.now() - t0;
  const c = nanodetOnnxFromTfjs(model, classCount);
  return { ...c, timings: { ...c.timings, readMs } };
}

/** Converts an already read NanoDet TF.js graph model. */
export function nanodetOnnxFromTfjs(model: TfjsGraphModel, classCount: number): NanodetConversion {
  const t0 = performance.now();
  const raw = tfjsToOnnxGraph(model, { name: 'nanodet' });
  if (raw.inputs.length !== 1) {
    throw new DetectorError('invalid-config', `NanoDet TF.js model: expected one input; got ${raw.inputs.length}`);
  }
  const input = raw.inputs[0]!;
  const [batch, channels, height, width] = input.shape;
  if (channels !== 3) {
    throw new DetectorError(
      'invalid-config',
      `NanoDet TF.js model: expected an NCHW input with 3 channels; got [${input.shape.join(', ')}]`,
    );
  }

  const nodes: GraphNode[] = [];
  const initializers: Initializer[] = [
    { name: 'nanodet_bgr_mean', dims: [1, 3, 1, 1], data: Float32Array.from(NANODET_BGR_MEAN) },
    { name: 'nanodet_bgr_inv_std', dims: [1, 3, 1, 1], data: Float32Array.from(NANODET_BGR_STD, (s) => 1 / s) },
  ];
  nodes.push({ op: 'Sub', inputs: [NANODET_INPUT, 'nanodet_bgr_mean'], outputs: ['nanodet_centred'] });
  nodes.push({ op: 'Mul', inputs: ['nanodet_centred', 'nanodet_bgr_inv_std'], outputs: [input.name] });

  // Pair each stride's class and box outputs by anchor count; finest (most anchors) first.
  const levels = new Map<number, { cls?: string; box?: string; boxValues?: number }>();
  for (const o of raw.outputs) {
    const [, anchors, depth] = o.shape;
    if (o.shape.length !== 3 || typeof anchors !== 'number' || typeof depth !== 'number') {
      throw new DetectorError(
        'invalid-config',
        `NanoDet TF.js model: expected outputs [N, anchors, values]; '${o.name}' is [${o.shape.join(', ')}]`,
      );
    }
    const level = levels.get(anchors) ?? {};
    if (depth === classCount) level.cls = o.name;
    else {
      level.box = o.name;
      level.boxValues = depth;
    }
    levels.set(anchors, level);
  }
  const ordered = [...levels.entries()].sort((a, b) => b[0] - a[0]);
  const boxValues = ordered[0]?.[1].boxValues ?? 0;
  const joined: string[] = [];
  for (const [anchors, level] of ordered) {
    if (level.cls === undefined || level.box === undefined || level.boxValues !== boxValues || boxValues % 4 !== 0) {
      throw new DetectorError(
        'invalid-config',
        `NanoDet TF.js model: expected per stride a class output [N, ${anchors}, ${classCount}] and a box output [N, ${anchors}, 4·(R + 1)]; got ${raw.outputs.map((o) => `${o.name} [${o.shape.join(', ')}]`).join(', ')}`,
      );
    }
    const name = `nanodet_level_${anchors}`;
    nodes.push({ op: 'Concat', inputs: [level.cls, level.box], outputs: [name], attributes: { axis: { int: 2 } } });
    joined.push(name);
  }
  nodes.push({ op: 'Concat', inputs: joined, outputs: [NANODET_OUTPUT], attributes: { axis: { int: 1 } } });
  const totalAnchors = ordered.reduce((n, [a]) => n + a, 0);

  const graph = {
    name: 'nanodet',
    nodes: [...nodes.slice(0, 2), ...raw.nodes, ...nodes.slice(2)],
    initializers: [...initializers, ...raw.initializers],
    inputs: [{ name: NANODET_INPUT, shape: [batch!, 3, height!, width!] }],
    outputs: [{ name: NANODET_OUTPUT, shape: [batch!, totalAnchors, classCount + boxValues] }],
  };
  const t1 = performance.now();
  const bytes = encodeModel(graph);
  const t2 = performance.now();
  return {
    bytes,
    raw,
    timings: { readMs: 0, convertMs: t1 - t0, encodeMs: t2 - t1 },
    anchorsPerLevel: ordered.map(([a]) => a),
    boxValues,
  };
}
