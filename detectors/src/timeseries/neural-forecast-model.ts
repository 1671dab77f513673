import { readFileSync } from 'node:fs';
import { encodeModel, type GraphNode, type Initializer } from '@cityops/ml';
import { DetectorError } from '../errors.js';

/**
 * The learned member's network: one small global MLP shared by every series, trained offline on
 * series the project generates (neural-forecast-training.ts; never on benchmark data) and
 * shipped as a weights file (detectors/models/neural-forecast.json).
 *
 * Input: a series' last `window` values, normalised by the window's own mean and spread (so one
 * network serves every unit and level). Output: the next value in the same normalised units.
 *
 *     h1 = tanh(u · W1 + b1)
 *     h2 = tanh(h1 · W2 + b2)
 *     û  = h2 · W3 + b3 + u · Ws        (Ws: a linear skip, so persistence and trends are easy)
 *
 * The same weights run two ways: as an ONNX graph built here with `encodeModel` (what the worker
 * runs through ONNX Runtime, a dynamic batch of series per call) and as the TypeScript reference
 * forward pass below (what scores a point whose batched prediction is not there, and what the
 * test compares ONNX Runtime's outputs with).
 */

export const NEURAL_FORECAST_FORMAT = 'cityops-neural-forecast';

/** One dense layer, weights row-major [inputs][outputs]. */
export interface DenseLayer {
  inputs: number;
  outputs: number;
  weights: Float32Array;
  bias: Float32Array;
}

export interface NeuralForecastWeights {
  /** Normalised values in the input window. */
  window: number;
  hidden1: DenseLayer;
  hidden2: DenseLayer;
  output: DenseLayer;
  /** Linear skip from the input window to the output ([window][1], no bias). */
  skip: Float32Array;
  /** How the weights were made (command, seed, loss), recorded in the file for people. */
  provenance: Readonly<Record<string, unknown>>;
}

/** The shipped weights, beside the package's sources and build (detectors/models/). */
export const DEFAULT_NEURAL_FORECAST_WEIGHTS_URL = new URL('../../models/neural-forecast.json', import.meta.url);

/** Inputs are clipped to ±this after normalisation: a window's outlier must not saturate every unit. */
export const MAX_ABS_NORMALISED = 10;

/** Reads and checks a weights file (JSON written by `weightsToJson`). */
export function loadNeuralForecastWeights(path: string | URL = DEFAULT_NEURAL_FORECAST_WEIGHTS_URL): NeuralForecastWeights {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DetectorError('invalid-config', `expected a neural forecast weights file at ${String(path)}; it could not be read`, {
      cause: e,
    });
  }
  return parseNeuralForecastWeights(JSON.parse(text) as unknown, String(path));
}

export function parseNeuralForecastWeights(json: unknown, source = 'weights'): NeuralForecastWeights {
  const fail = (what: string): never => {
    throw new DetectorError('invalid-config', `${source}: expected ${NEURAL_FORECAST_FORMAT} weights; ${what}`);
  };
  if (typeof json !== 'object' || json === null) return fail(`got ${typeof json}`);
  const j = json as Record<string, unknown>;
  if (j['format'] !== NEURAL_FORECAST_FORMAT) fail(`got format ${JSON.stringify(j['format'])}`);
  const window = j['window'];
  if (typeof window !== 'number' || !Number.isInteger(window) || window < 2) return fail(`got window ${JSON.stringify(window)}`);
  const layer = (name: string, inputs: number, outputs: number | undefined): DenseLayer => {
    const l = j[name] as Record<string, unknown> | undefined;
    const w = l?.['weights'];
    const b = l?.['bias'];
    if (!Array.isArray(w) || !Array.isArray(b)) return fail(`'${name}' has no weights and bias arrays`);
    const out = outputs ?? b.length;
    if (w.length !== inputs * out || b.length !== out)
      fail(`'${name}': expected ${inputs}×${out} weights and ${out} biases; got ${w.length} and ${b.length}`);
    return { inputs, outputs: out, weights: finite(w, name), bias: finite(b, name) };
  };
  const finite = (values: unknown[], name: string): Float32Array => {
    const a = Float32Array.from(values as number[]);
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) fail(`'${name}'[${i}] is not a finite number`);
    return a;
  };
  const hidden1 = layer('hidden1', window, undefined);
  const hidden2 = layer('hidden2', hidden1.outputs, undefined);
  const output = layer('output', hidden2.outputs, 1);
  const skip = j['skip'];
  if (!Array.isArray(skip) || skip.length !== window) return fail(`'skip': expected ${window} weights`);
  const provenance = (typeof j['provenance'] === 'object' && j['provenance'] !== null ? j['provenance'] : {}) as Record<string, unknown>;
  return { window, hidden1, hidden2, output, skip: finite(skip, 'skip'), provenance };
}

/** The weights as the JSON file stores them (float32 values, so the file round-trips exactly). */
export function weightsToJson(w: NeuralForecastWeights): string {
  const layer = (l: DenseLayer) => ({ weights: Array.from(l.weights), bias: Array.from(l.bias) });
  return `${JSON.stringify({
    format: NEURAL_FORECAST_FORMAT,
    window: w.window,
    provenance: w.provenance,
    hidden1: layer(w.hidden1),
    hidden2: layer(w.hidden2),
    output: layer(w.output),
    skip: Array.from(w.skip),
  })}\n`;
}

/**
 * The reference forward pass for `n` rows of `input` ([n][window], normalised), into `out`
 * (n values). Float64 arithmetic on the float32 weights: ONNX Runtime's float32 result agrees to
 * about 1e-6.
 */
export function forwardReference(
  w: NeuralForecastWeights,
  input: Float32Array | Float64Array,
  n: number,
  out: Float64Array,
  scratch?: Float64Array,
): void {
  const h1n = w.hidden1.outputs;
  const h2n = w.hidden2.outputs;
  const buf = scratch !== undefined && scratch.length >= h1n + h2n ? scratch : new Float64Array(h1n + h2n);
  for (let r = 0; r < n; r++) out[r] = forwardRow(w, input, r * w.window, buf);
}

/** One row's forward pass; `buf` holds both hidden layers. */
export function forwardRow(w: NeuralForecastWeights, input: Float32Array | Float64Array, at: number, buf: Float64Array): number {
  const win = w.window;
  const l1 = w.hidden1;
  const l2 = w.hidden2;
  const h1n = l1.outputs;
  const h2n = l2.outputs;
  const w1 = l1.weights;
  const w2 = l2.weights;
  for (let j = 0; j < h1n; j++) buf[j] = l1.bias[j]!;
  let skip = 0;
  for (let i = 0; i < win; i++) {
    const u = input[at + i]!;
    skip += u * w.skip[i]!;
    const row = i * h1n;
    for (let j = 0; j < h1n; j++) buf[j] = buf[j]! + u * w1[row + j]!;
  }
  for (let j = 0; j < h1n; j++) buf[j] = Math.tanh(buf[j]!);
  for (let k = 0; k < h2n; k++) buf[h1n + k] = l2.bias[k]!;
  for (let j = 0; j < h1n; j++) {
    const h = buf[j]!;
    const row = j * h2n;
    for (let k = 0; k < h2n; k++) buf[h1n + k] = buf[h1n + k]! + h * w2[row + k]!;
  }
  let y = w.output.bias[0]! + skip;
  const w3 = w.output.weights;
  for (let k = 0; k < h2n; k++) y += Math.tanh(buf[h1n + k]!) * w3[k]!;
  return y;
}

/** Names of the ONNX graph's input and output. */
export const NEURAL_FORECAST_INPUT = 'window';
export const NEURAL_FORECAST_OUTPUT = 'next';

/** The network as an ONNX model (opset 13) with a dynamic batch dimension: [batch, window] → [batch, 1]. */
export function buildNeuralForecastOnnx(w: NeuralForecastWeights): Uint8Array {
  const init = (name: string, dims: number[], data: Float32Array): Initializer => ({ name, dims, data });
  const initializers: Initializer[] = [
    init('w1', [w.window, w.hidden1.outputs], w.hidden1.weights),
    init('b1', [w.hidden1.outputs], w.hidden1.bias),
    init('w2', [w.hidden1.outputs, w.hidden2.outputs], w.hidden2.weights),
    init('b2', [w.hidden2.outputs], w.hidden2.bias),
    init('w3', [w.hidden2.outputs, 1], w.output.weights),
    init('b3', [1], w.output.bias),
    init('ws', [w.window, 1], w.skip),
  ];
  const nodes: GraphNode[] = [
    { op: 'MatMul', inputs: [NEURAL_FORECAST_INPUT, 'w1'], outputs: ['z1'] },
    { op: 'Add', inputs: ['z1', 'b1'], outputs: ['a1'] },
    { op: 'Tanh', inputs: ['a1'], outputs: ['h1'] },
    { op: 'MatMul', inputs: ['h1', 'w2'], outputs: ['z2'] },
    { op: 'Add', inputs: ['z2', 'b2'], outputs: ['a2'] },
    { op: 'Tanh', inputs: ['a2'], outputs: ['h2'] },
    { op: 'MatMul', inputs: ['h2', 'w3'], outputs: ['z3'] },
    { op: 'Add', inputs: ['z3', 'b3'], outputs: ['y0'] },
    { op: 'MatMul', inputs: [NEURAL_FORECAST_INPUT, 'ws'], outputs: ['ys'] },
    { op: 'Add', inputs: ['y0', 'ys'], outputs: [NEURAL_FORECAST_OUTPUT] },
  ];
  return encodeModel({
    name: 'cityops-neural-forecast',
    nodes,
    initializers,
    inputs: [{ name: NEURAL_FORECAST_INPUT, shape: ['batch', w.window] }],
    outputs: [{ name: NEURAL_FORECAST_OUTPUT, shape: ['batch', 1] }],
  });
}

/** Where a window was centred and how it was scaled (to map a prediction back to the series' unit). */
export interface WindowNormalisation {
  center: number;
  scale: number;
}

/**
 * Writes the window `src[from … from + window)` normalised by its own mean and standard deviation
 * into `dst[at …]` (clipped to ±MAX_ABS_NORMALISED) and returns that mean and deviation in `norm`.
 * The deviation is floored by `floor` (the sensor's resolution) and 1e-4 of |mean|, so a flat
 * window does not turn a one-step wiggle into a huge input. Training and scoring both use this.
 */
export function normaliseWindow(
  src: Float64Array,
  from: number,
  window: number,
  floor: number,
  dst: Float32Array | Float64Array,
  at: number,
  norm: WindowNormalisation,
): void {
  let sum = 0;
  for (let i = 0; i < window; i++) sum += src[from + i]!;
  const mean = sum / window;
  let ss = 0;
  for (let i = 0; i < window; i++) {
    const d = src[from + i]! - mean;
    ss += d * d;
  }
  let scale = Math.sqrt(ss / window);
  const rel = 1e-4 * (mean < 0 ? -mean : mean);
  if (scale < floor) scale = floor;
  if (scale < rel) scale = rel;
  const inv = 1 / scale;
  for (let i = 0; i < window; i++) {
    let u = (src[from + i]! - mean) * inv;
    if (u > MAX_ABS_NORMALISED) u = MAX_ABS_NORMALISED;
    else if (u < -MAX_ABS_NORMALISED) u = -MAX_ABS_NORMALISED;
    dst[at + i] = u;
  }
  norm.center = mean;
  norm.scale = scale;
}
