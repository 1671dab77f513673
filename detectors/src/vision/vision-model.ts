import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { availableParallelism } from 'node:os';
import type { InferenceSession } from 'onnxruntime-node';
import { DetectorError, toDetectorError } from '../errors.js';
import { detectorPlugin, type DetectorPlugin, type OutputLayout } from './detector-plugins.js';
import { classThresholdTable, isTfjsModelPath, parseLabels, parseVisionModelConfig, type VisionModelConfig } from './model-config.js';
import { nanodetOnnxFromTfjsFile } from './nanodet-tfjs.js';
import type { Detection } from './frame-decoder.js';
import { LANE_DEPTH, startInferenceLane, type InferenceLane } from './inference-lane.js';

/**
 * One detector model on ONNX Runtime: the session on the configured execution provider (CPU
 * when that one cannot start, said in a log line), the input/output check against the declared
 * plugin type, batched inference across cameras, and decoding to boxes normalised to the
 * source image.
 *
 * Inference is split in two so a worker can overlap them: `infer` hands a batch to an idle
 * session, which preprocesses and runs it on its own thread (inference-lane.ts); `decode` turns a
 * finished run into boxes on the caller's thread. The worker keeps every session busy while it
 * decodes, tracks and evaluates rules on finished batches.
 *
 * onnxruntime-node is imported lazily here, so importing @cityops/detectors for the time-series
 * worker alone never loads the native binding.
 */

/** One rgb24 frame and how its pixels map to the source image (from its CameraFrameHeader). */
export interface VisionFrame {
  pixels: Uint8Array;
  width: number;
  height: number;
  /** Frame px = source px · scale + pad. */
  scale: number;
  padX: number;
  padY: number;
  sourceWidth: number;
  sourceHeight: number;
}

export type { Detection } from './frame-decoder.js';

/** A run in flight or done. */
export interface InferenceRun {
  readonly frames: number;
  /** Resolves to each frame's detections, in the order given. */
  readonly done: Promise<Detection[][]>;
}

export interface VisionModel {
  /** The name cameras refer to it by. */
  readonly name: string;
  readonly config: VisionModelConfig;
  readonly labels: readonly string[];
  /** `<type>/<file>#<sha256 prefix>`: what VisionDetection.model_version carries. */
  readonly version: string;
  /** The execution provider the session actually runs on. */
  readonly provider: string;
  /** Frames per ORT run: the configured maximum with a dynamic batch dim, else the model's fixed batch. */
  readonly batchSize: number;
  readonly dynamicBatch: boolean;
  /** Most frames `infer` takes at once: the batch size. */
  readonly maxFramesPerCall: number;
  /** ONNX Runtime sessions that can run at once (each on its own thread). */
  readonly sessions: number;
  /** Batches `infer` can take now: room on the sessions' queues (each holds one running and one waiting). */
  readonly freeSlots: number;
  /** Frames that were not the model's input size and were resized here (the camera source should be configured for this model). */
  readonly framesResized: number;
  infer(frames: readonly VisionFrame[]): InferenceRun;
  release(): Promise<void>;
}

export interface LoadVisionModelOptions {
  /** Name cameras use to choose this model. Default 'default'. */
  name?: string;
  /** Where operator-facing lines go (provider chosen, fallback, batching). Default console.log. */
  log?: (line: string) => void;
  /** Model bytes instead of reading config.modelPath (generated models in tests and doctor). */
  modelBytes?: Uint8Array;
}

/** Loads and checks a model; throws DetectorError ('invalid-config' for a mismatch, 'start-failed' for a file or runtime that cannot load). */
export async function loadVisionModel(
  input: VisionModelConfig | Record<string, unknown>,
  options: LoadVisionModelOptions = {},
): Promise<VisionModel> {
  const config = parseVisionModelConfig(input);
  const name = options.name ?? 'default';
  const log = options.log ?? ((line: string) => console.log(line));
  const plugin = detectorPlugin(config.type);

  try {
    // Checked here, where the error is plain; the sessions themselves open on their lanes' threads.
    await import('onnxruntime-node');
  } catch (e) {
    throw toDetectorError('start-failed', 'expected ONNX Runtime (onnxruntime-node) to load on this platform', e, false);
  }

  let labels: string[] = [...config.labels];
  if (config.labelsPath !== '') {
    try {
      labels = parseLabels(await readFile(config.labelsPath, 'utf8'));
    } catch (e) {
      throw toDetectorError('start-failed', `expected a labels file (one class name per line) at ${config.labelsPath}`, e, false);
    }
    if (labels.length === 0) throw new DetectorError('invalid-config', `expected class names in ${config.labelsPath}; the file is empty`);
  }
  const thresholds = classThresholdTable(config, labels);
  let minThreshold = Number.POSITIVE_INFINITY;
  for (const t of thresholds) minThreshold = Math.min(minThreshold, t);

  let bytes: Uint8Array;
  if (options.modelBytes !== undefined) bytes = options.modelBytes;
  else if (isTfjsModelPath(config.modelPath)) {
    // Converted in memory at every load: ≈ 1 s for NanoDet-g, less than the session set-up is worth caching.
    const c = await nanodetOnnxFromTfjsFile(config.modelPath, labels.length);
    const t = c.timings;
    log(
      `vision: model '${name}': converted TF.js graph model ${config.modelPath} to ONNX in ${Math.round(t.readMs + t.convertMs + t.encodeMs)} ms ` +
        `(read ${Math.round(t.readMs)}, convert ${Math.round(t.convertMs)}, encode ${Math.round(t.encodeMs)}; ${(c.bytes.length / 1e6).toFixed(1)} MB)`,
    );
    bytes = c.bytes;
  } else {
    try {
      bytes = await readFile(config.modelPath);
    } catch (e) {
      throw toDetectorError('start-failed', `expected an ONNX model file at ${config.modelPath}`, e, false);
    }
  }
  const version = `${config.type}/${basename(config.modelPath)}#${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}`;

  const { sessions, intraOpThreads } = laneShape(config);
  const lanes = await startLanes(bytes, config, sessions, intraOpThreads, name, log);
  try {
    const io = checkIo(lanes[0]!, config, plugin, labels.length);
    const provider = lanes[0]!.provider;
    const model = new OrtVisionModel(lanes, { name, config, labels, version, provider, thresholds, minThreshold, plugin, ...io });
    log(
      `vision: model '${name}' ${version} on ${provider}: input ${config.inputWidth}×${config.inputHeight} ${config.channelOrder} ×${fmtScale(config.pixelScale)}, ` +
        `${config.letterbox} letterbox, ${labels.length} classes; ` +
        (io.dynamicBatch
          ? `dynamic batch, up to ${model.batchSize} frames per run`
          : `fixed batch of ${io.fixedBatch}: frames are run ${io.fixedBatch === 1 ? 'one at a time' : `${io.fixedBatch} at a time`} (no dynamic batch dimension in the file)`) +
        `; ${sessions} session${sessions === 1 ? '' : 's'} on ${sessions === 1 ? 'its own thread' : 'threads of their own'}, ` +
        `${intraOpThreads === 0 ? 'ORT default' : intraOpThreads} intra-op thread${intraOpThreads === 1 ? '' : 's'} each`,
    );
    return model;
  } catch (e) {
    await Promise.all(lanes.map((l) => l.release().catch(() => undefined)));
    throw e;
  }
}

/**
 * How many sessions run at once and with how many intra-op threads: configured, or on cpu one
 * session per core (up to 4) sharing the cores out; elsewhere one session with ORT's default.
 */
export function laneShape(
  config: Pick<VisionModelConfig, 'sessions' | 'intraOpThreads' | 'executionProvider'>,
  cores = availableParallelism(),
): {
  sessions: number;
  intraOpThreads: number;
} {
  const cpu = config.executionProvider === 'cpu';
  const sessions = config.sessions > 0 ? config.sessions : cpu ? Math.max(1, Math.min(4, cores)) : 1;
  const intraOpThreads = config.intraOpThreads > 0 ? config.intraOpThreads : cpu ? Math.max(1, Math.floor(cores / sessions)) : 0;
  return { sessions, intraOpThreads };
}

/** Opens the lanes: the first decides the provider (falling back to cpu, logged), the rest follow it. */
async function startLanes(
  bytes: Uint8Array,
  config: VisionModelConfig,
  sessions: number,
  intraOpThreads: number,
  name: string,
  log: (line: string) => void,
): Promise<InferenceLane[]> {
  const wanted = config.executionProvider;
  let first: InferenceLane;
  try {
    first = await startInferenceLane({ bytes, provider: wanted, allowCpuFallback: true, intraOpThreads });
  } catch (e) {
    const after = wanted === 'cpu' ? '' : ` (on cpu, after '${wanted}' failed)`;
    throw toDetectorError('start-failed', `expected ONNX Runtime to load model ${config.modelPath}${after}`, e, false);
  }
  if (first.fallback !== '')
    log(`vision: model '${name}': execution provider '${wanted}' could not start (${first.fallback}); falling back to cpu`);
  const lanes = [first];
  try {
    for (let i = 1; i < sessions; i++) {
      lanes.push(await startInferenceLane({ bytes, provider: first.provider, allowCpuFallback: false, intraOpThreads }));
    }
  } catch (e) {
    await Promise.all(lanes.map((l) => l.release().catch(() => undefined)));
    throw toDetectorError('start-failed', `expected ONNX Runtime to open ${sessions} sessions of model ${config.modelPath}`, e, false);
  }
  return lanes;
}

function fmtScale(s: number): string {
  return s === 1 ? '1' : Math.abs(s - 1 / 255) < 1e-9 ? '1/255' : String(s);
}

interface IoCheck {
  inputName: string;
  outputName: string;
  dynamicBatch: boolean;
  fixedBatch: number;
  layout: OutputLayout;
}

function tensorMeta(meta: InferenceSession.ValueMetadata): { shape: readonly (number | string)[]; type: string } | undefined {
  return meta.isTensor ? { shape: meta.shape, type: meta.type } : undefined;
}

function checkIo(
  session: Pick<InferenceLane, 'inputs' | 'outputs'>,
  config: VisionModelConfig,
  plugin: DetectorPlugin,
  classCount: number,
): IoCheck {
  const pick = (
    kind: 'input' | 'output',
    wanted: string,
    metas: readonly InferenceSession.ValueMetadata[],
  ): InferenceSession.ValueMetadata => {
    const names = metas.map((m) => m.name);
    if (wanted !== '') {
      const m = metas.find((x) => x.name === wanted);
      if (m === undefined)
        throw new DetectorError(
          'invalid-config',
          `model ${config.modelPath}: expected an ${kind} named '${wanted}'; the file has ${names.join(', ')}`,
        );
      return m;
    }
    if (metas.length !== 1) {
      throw new DetectorError(
        'invalid-config',
        `model ${config.modelPath}: expected one ${kind} (or '${kind}Name' set); the file has ${metas.length}: ${names.join(', ')}`,
      );
    }
    return metas[0]!;
  };
  const inMeta = pick('input', config.inputName, session.inputs);
  const outMeta = pick('output', config.outputName, session.outputs);
  const input = tensorMeta(inMeta);
  const expectedIn = `float32 [N, 3, ${config.inputHeight}, ${config.inputWidth}]`;
  const [n, c, h, w] = input?.shape ?? [];
  const sized = (d: number | string | undefined, want: number): boolean => typeof d !== 'number' || d <= 0 || d === want;
  if (
    input === undefined ||
    input.type !== 'float32' ||
    input.shape.length !== 4 ||
    c !== 3 ||
    !sized(h, config.inputHeight) ||
    !sized(w, config.inputWidth)
  ) {
    throw new DetectorError(
      'invalid-config',
      `model ${config.modelPath} (type '${config.type}'): expected input '${inMeta.name}' ${expectedIn}; the file has ` +
        (input === undefined ? 'a non-tensor input' : `${input.type} [${input.shape.join(', ')}]`) +
        (typeof h === 'number' && typeof w === 'number' && h > 0 && w > 0 && c === 3 ? ` (set inputWidth ${w}, inputHeight ${h})` : ''),
    );
  }
  const dynamicBatch = typeof n !== 'number' || n <= 0;
  const output = tensorMeta(outMeta);
  if (output === undefined || output.type !== 'float32') {
    throw new DetectorError(
      'invalid-config',
      `model ${config.modelPath}: expected output '${outMeta.name}' to be a float32 tensor; got ${output === undefined ? 'a non-tensor' : output.type}`,
    );
  }
  const layout = plugin.layout(output.shape, {
    classCount,
    inputWidth: config.inputWidth,
    inputHeight: config.inputHeight,
    strides: config.strides,
    centerOffset: config.centerOffset,
    modelPath: config.modelPath,
    outputName: outMeta.name,
  });
  return { inputName: inMeta.name, outputName: outMeta.name, dynamicBatch, fixedBatch: typeof n === 'number' && n > 0 ? n : 0, layout };
}

interface ModelParts extends IoCheck {
  name: string;
  config: VisionModelConfig;
  labels: readonly string[];
  version: string;
  provider: string;
  thresholds: Float32Array;
  minThreshold: number;
  plugin: DetectorPlugin;
}

class OrtVisionModel implements VisionModel {
  readonly name: string;
  readonly config: VisionModelConfig;
  readonly labels: readonly string[];
  readonly version: string;
  readonly provider: string;
  readonly batchSize: number;
  readonly dynamicBatch: boolean;
  readonly maxFramesPerCall: number;
  readonly sessions: number;
  framesResized = 0;
  private readonly parts: ModelParts;

  constructor(
    private readonly lanes: readonly InferenceLane[],
    parts: ModelParts,
  ) {
    this.parts = parts;
    this.name = parts.name;
    this.config = parts.config;
    this.labels = parts.labels;
    this.version = parts.version;
    this.provider = parts.provider;
    this.dynamicBatch = parts.dynamicBatch;
    this.batchSize = parts.dynamicBatch ? parts.config.maxBatchSize : parts.fixedBatch;
    this.maxFramesPerCall = this.batchSize;
    this.sessions = lanes.length;
    const { config } = parts;
    for (const lane of lanes) {
      lane.configure(
        {
          modelName: parts.name,
          inputName: parts.inputName,
          outputName: parts.outputName,
          width: config.inputWidth,
          height: config.inputHeight,
          channelOrder: config.channelOrder,
          pixelScale: config.pixelScale,
          letterbox: config.letterbox,
          // Each lane learns a symbolic anchor count itself: its own copy of the layout.
          decode: {
            type: config.type,
            layout: parts.layout,
            thresholds: parts.thresholds,
            minThreshold: parts.minThreshold,
            nmsIouThreshold: config.nmsIouThreshold,
            maxDetectionsPerFrame: config.maxDetectionsPerFrame,
            labels: parts.labels,
          },
        },
        this.batchSize,
      );
    }
  }

  get freeSlots(): number {
    let n = 0;
    for (const l of this.lanes) n += LANE_DEPTH - l.queued;
    return n;
  }

  infer(frames: readonly VisionFrame[]): InferenceRun {
    // The least loaded session: an idle one before one with a run to finish first.
    let lane: InferenceLane | undefined;
    for (const l of this.lanes) if (l.queued < LANE_DEPTH && (lane === undefined || l.queued < lane.queued)) lane = l;
    if (lane === undefined)
      throw new DetectorError(
        'invalid-state',
        `model '${this.name}': expected room on a session; all ${this.lanes.length} hold ${LANE_DEPTH} batches`,
      );
    if (frames.length === 0 || frames.length > this.maxFramesPerCall) {
      throw new DetectorError(
        'invalid-argument',
        `model '${this.name}': expected 1…${this.maxFramesPerCall} frames per infer(); got ${frames.length}`,
      );
    }
    return { frames: frames.length, done: this.run(lane, frames) };
  }

  private async run(lane: InferenceLane, frames: readonly VisionFrame[]): Promise<Detection[][]> {
    const { config } = this.parts;
    for (const f of frames) if (f.width !== config.inputWidth || f.height !== config.inputHeight) this.framesResized++;
    const n = this.dynamicBatch ? frames.length : this.batchSize;
    try {
      return await lane.run(frames, n);
    } catch (e) {
      throw toDetectorError('invalid-state', `model '${this.name}': expected ONNX Runtime to run a batch of ${n}`, e, true);
    }
  }

  async release(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.release()));
  }
}
