import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { DetectorError, toDetectorError } from '../errors.js';
import { detectorPlugin, type DetectorPlugin, type OutputLayout } from './detector-plugins.js';
import { classThresholdTable, isTfjsModelPath, parseLabels, parseVisionModelConfig, type VisionModelConfig } from './model-config.js';
import { nanodetOnnxFromTfjsFile } from './nanodet-tfjs.js';
import { Candidates } from './nms.js';
import { letterboxNearest, rgb24ToPlanar, type FrameMapping } from './preprocess.js';

/**
 * One detector model on ONNX Runtime: the session on the configured execution provider (CPU
 * when that one cannot start, said in a log line), the input/output check against the declared
 * plugin type, batched inference across cameras, and decoding to boxes normalised to the
 * source image.
 *
 * Inference is split in two so a worker can overlap them: `infer` preprocesses into a reused
 * buffer and starts the (async, native-threaded) run; `decode` turns a finished run into boxes.
 * The worker starts batch k+1's run before decoding, tracking and rules of batch k.
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

/** A run in flight or done: per frame, where its output starts and how it maps to the source. */
export interface InferenceRun {
  readonly frames: number;
  /** Resolves to the output tensor data of each ORT run, with each frame's run index and offset. */
  readonly done: Promise<RunOutput>;
}

/** A finished run's raw output, for `decode`. */
export interface RunOutput {
  data: Float32Array[];
  slots: { run: number; offset: number; mapping: FrameMapping; sourceWidth: number; sourceHeight: number }[];
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
  /** Most frames `infer` takes at once (a fixed-batch model runs them one batch after another). */
  readonly maxFramesPerCall: number;
  /** Frames that were not the model's input size and were resized here (the camera source should be configured for this model). */
  readonly framesResized: number;
  infer(frames: readonly VisionFrame[]): InferenceRun;
  decode(run: RunOutput): Detection[][];
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

type Ort = typeof import('onnxruntime-node');

/** Loads and checks a model; throws DetectorError ('invalid-config' for a mismatch, 'start-failed' for a file or runtime that cannot load). */
export async function loadVisionModel(
  input: VisionModelConfig | Record<string, unknown>,
  options: LoadVisionModelOptions = {},
): Promise<VisionModel> {
  const config = parseVisionModelConfig(input);
  const name = options.name ?? 'default';
  const log = options.log ?? ((line: string) => console.log(line));
  const plugin = detectorPlugin(config.type);

  let ort: Ort;
  try {
    ort = await import('onnxruntime-node');
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

  const { session, provider } = await createSession(ort, bytes, config, name, log);
  try {
    const io = checkIo(session, config, plugin, labels.length);
    const model = new OrtVisionModel(ort, session, { name, config, labels, version, provider, thresholds, minThreshold, plugin, ...io });
    log(
      `vision: model '${name}' ${version} on ${provider}: input ${config.inputWidth}×${config.inputHeight} ${config.channelOrder} ×${fmtScale(config.pixelScale)}, ` +
        `${config.letterbox} letterbox, ${labels.length} classes; ` +
        (io.dynamicBatch
          ? `dynamic batch, up to ${model.batchSize} frames per run`
          : `fixed batch of ${io.fixedBatch}: frames are run ${io.fixedBatch === 1 ? 'one at a time' : `${io.fixedBatch} at a time`} (no dynamic batch dimension in the file)`),
    );
    return model;
  } catch (e) {
    await session.release().catch(() => undefined);
    throw e;
  }
}

function fmtScale(s: number): string {
  return s === 1 ? '1' : Math.abs(s - 1 / 255) < 1e-9 ? '1/255' : String(s);
}

async function createSession(
  ort: Ort,
  bytes: Uint8Array,
  config: VisionModelConfig,
  name: string,
  log: (line: string) => void,
): Promise<{ session: InferenceSession; provider: string }> {
  const base: InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    // Errors (3): a provider that cannot load is reported by us in plain words below.
    logSeverityLevel: 3,
    ...(config.intraOpThreads > 0 ? { intraOpNumThreads: config.intraOpThreads } : {}),
  };
  const wanted = config.executionProvider;
  try {
    // Fatal only while trying a GPU provider: its failure is reported below in one plain line.
    const quiet = wanted === 'cpu' ? {} : { logSeverityLevel: 4 as const };
    return { session: await ort.InferenceSession.create(bytes, { ...base, ...quiet, executionProviders: [wanted] }), provider: wanted };
  } catch (e) {
    const why = firstLine(e);
    if (wanted === 'cpu') throw toDetectorError('start-failed', `expected ONNX Runtime to load model ${config.modelPath}`, e, false);
    log(`vision: model '${name}': execution provider '${wanted}' could not start (${why}); falling back to cpu`);
  }
  try {
    return { session: await ort.InferenceSession.create(bytes, { ...base, executionProviders: ['cpu'] }), provider: 'cpu' };
  } catch (e) {
    throw toDetectorError(
      'start-failed',
      `expected ONNX Runtime to load model ${config.modelPath} (on cpu, after '${wanted}' failed)`,
      e,
      false,
    );
  }
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

function checkIo(session: InferenceSession, config: VisionModelConfig, plugin: DetectorPlugin, classCount: number): IoCheck {
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
  const inMeta = pick('input', config.inputName, session.inputMetadata);
  const outMeta = pick('output', config.outputName, session.outputMetadata);
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
  framesResized = 0;
  private readonly parts: ModelParts;
  private readonly frameFloats: number;
  /** One input buffer: at most one run is in flight per model (the worker awaits it before the next). */
  private readonly input: Float32Array;
  private resizeBuffer: Uint8Array | undefined;
  private readonly candidates = new Candidates();
  private inFlight = false;

  constructor(
    private readonly ort: Ort,
    private readonly session: InferenceSession,
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
    this.maxFramesPerCall = parts.dynamicBatch ? this.batchSize : Math.max(this.batchSize, parts.config.maxBatchSize);
    this.frameFloats = 3 * parts.config.inputWidth * parts.config.inputHeight;
    this.input = new Float32Array(this.batchSize * this.frameFloats);
  }

  infer(frames: readonly VisionFrame[]): InferenceRun {
    if (this.inFlight)
      throw new DetectorError('invalid-state', `model '${this.name}': expected the previous run to finish before the next infer()`);
    if (frames.length === 0 || frames.length > this.maxFramesPerCall) {
      throw new DetectorError(
        'invalid-argument',
        `model '${this.name}': expected 1…${this.maxFramesPerCall} frames per infer(); got ${frames.length}`,
      );
    }
    this.inFlight = true;
    const done = this.run(frames).finally(() => {
      this.inFlight = false;
    });
    return { frames: frames.length, done };
  }

  private async run(frames: readonly VisionFrame[]): Promise<RunOutput> {
    const { config, inputName, outputName } = this.parts;
    const W = config.inputWidth;
    const H = config.inputHeight;
    const slots: RunOutput['slots'] = [];
    const data: Float32Array[] = [];
    const perRun = this.batchSize;
    for (let start = 0, runIndex = 0; start < frames.length; start += perRun, runIndex++) {
      const chunk = frames.slice(start, start + perRun);
      // A fixed batch larger than the frames at hand is filled with the last frame (its output is ignored).
      const n = this.dynamicBatch ? chunk.length : perRun;
      for (let i = 0; i < n; i++) {
        const frame = chunk[Math.min(i, chunk.length - 1)]!;
        const mapping = this.write(frame, i * this.frameFloats);
        if (i < chunk.length) {
          slots.push({ run: runIndex, offset: 0, mapping, sourceWidth: frame.sourceWidth, sourceHeight: frame.sourceHeight });
        }
      }
      const tensor = new this.ort.Tensor('float32', this.input.subarray(0, n * this.frameFloats), [n, 3, H, W]);
      let out: Tensor | undefined;
      try {
        out = (await this.session.run({ [inputName]: tensor }))[outputName];
      } catch (e) {
        throw toDetectorError('invalid-state', `model '${this.name}': expected ONNX Runtime to run a batch of ${n}`, e, true);
      }
      if (out === undefined || !(out.data instanceof Float32Array)) {
        throw new DetectorError(
          'invalid-state',
          `model '${this.name}': expected float32 output '${outputName}'; got ${out === undefined ? 'none' : out.type}`,
        );
      }
      this.adoptRuntimeShape(out.dims);
      const perFrame = this.parts.layout.anchors * this.parts.layout.depth;
      for (let i = 0; i < chunk.length; i++) slots[start + i]!.offset = i * perFrame;
      data.push(out.data);
    }
    return { data, slots };
  }

  /** A symbolic anchor count is learnt from the first output; later outputs must agree. */
  private adoptRuntimeShape(dims: readonly number[]): void {
    const layout = this.parts.layout;
    const anchors = layout.channelsFirst ? dims[2] : dims[1];
    const depth = layout.channelsFirst ? dims[1] : dims[2];
    if (depth !== layout.depth || anchors === undefined || (layout.anchors !== 0 && anchors !== layout.anchors)) {
      throw new DetectorError(
        'invalid-state',
        `model '${this.name}': expected output ${layout.channelsFirst ? `[N, ${layout.depth}, ${layout.anchors || 'anchors'}]` : `[N, ${layout.anchors || 'anchors'}, ${layout.depth}]`}; the run returned [${dims.join(', ')}]`,
      );
    }
    layout.anchors = anchors;
  }

  /** Preprocesses one frame into the input buffer; returns how model px map to source px. */
  private write(frame: VisionFrame, offset: number): FrameMapping {
    const { config } = this.parts;
    const W = config.inputWidth;
    const H = config.inputHeight;
    if (frame.width === W && frame.height === H) {
      rgb24ToPlanar(frame.pixels, W, H, this.input, offset, config.channelOrder, config.pixelScale);
      return { scale: frame.scale, padX: frame.padX, padY: frame.padY };
    }
    this.framesResized++;
    this.resizeBuffer ??= new Uint8Array(W * H * 3);
    const m = letterboxNearest(frame.pixels, frame.width, frame.height, this.resizeBuffer, W, H, config.letterbox);
    rgb24ToPlanar(this.resizeBuffer, W, H, this.input, offset, config.channelOrder, config.pixelScale);
    // Compose: model px = (source px · frame.scale + frame.pad) · m.scale + m.pad.
    return { scale: frame.scale * m.scale, padX: frame.padX * m.scale + m.padX, padY: frame.padY * m.scale + m.padY };
  }

  decode(run: RunOutput): Detection[][] {
    const { plugin, layout, thresholds, minThreshold, config, labels } = this.parts;
    const c = this.candidates;
    const result: Detection[][] = [];
    for (const slot of run.slots) {
      c.clear();
      plugin.decode(run.data[slot.run]!, slot.offset, layout, thresholds, minThreshold, c);
      const keep = c.nms(config.nmsIouThreshold, config.maxDetectionsPerFrame);
      const { scale, padX, padY } = slot.mapping;
      const sx = 1 / (scale * slot.sourceWidth);
      const sy = 1 / (scale * slot.sourceHeight);
      const detections: Detection[] = [];
      for (const i of keep) {
        const x1 = clamp01((c.x1[i]! - padX) * sx);
        const y1 = clamp01((c.y1[i]! - padY) * sy);
        const x2 = clamp01((c.x2[i]! - padX) * sx);
        const y2 = clamp01((c.y2[i]! - padY) * sy);
        // A box entirely in the padding maps to nothing.
        if (x2 <= x1 || y2 <= y1) continue;
        const classId = c.classId[i]!;
        detections.push({ classId, className: labels[classId] ?? `class_${classId}`, score: c.score[i]!, x1, y1, x2, y2 });
      }
      result.push(detections);
    }
    return result;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const line = text.split('\n').find((l) => l.trim() !== '') ?? text;
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
