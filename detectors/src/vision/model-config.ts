import { DetectorError } from '../errors.js';

/**
 * Vision detector plugin configs: one `type` per output format, a strict parser that rejects
 * unknown keys and out-of-range values with what was expected (a typo in a config file must
 * fail at start-up, not silently fall back to a default) — the time-series detector-config.ts
 * habit, and Frigate's detector `type` key.
 *
 * The input layout (size, letterbox placement, channel order, pixel scale) belongs to the model:
 * it is what the model was trained on, so the plugin's defaults follow the reference
 * implementations and the camera source asks ffmpeg for the same layout (see input-layout.ts).
 */

export const VISION_MODEL_TYPES = ['yolox', 'yolov5', 'yolov8', 'nanodet'] as const;
/**
 * - `yolox`: YOLOX (Ge et al. 2021) export: [N, anchors, 5 + C], grid-relative boxes decoded per
 *   stride, sigmoid objectness and class scores.
 * - `yolov5`: Ultralytics YOLOv5: [N, anchors, 5 + C], boxes in input px (cx, cy, w, h), objectness.
 * - `yolov8`: Ultralytics YOLOv8 and YOLO11: [N, 4 + C, anchors] (channels first), boxes in
 *   input px, no objectness.
 * - `nanodet`: NanoDet's GFL head (Li et al. 2020): [N, anchors, C + 4·(R + 1)], class scores
 *   (sigmoid-ed) then per side a distribution over R + 1 distance bins; grid decoding per stride.
 *   The built-in default (see default-vision-model.ts) is NanoDet-g converted from TF.js.
 */
export type VisionModelType = (typeof VISION_MODEL_TYPES)[number];
export const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'tensorrt', 'webgpu'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];
export type LetterboxPlacement = 'top-left' | 'center';
export type ChannelOrder = 'rgb' | 'bgr';

export interface VisionModelConfig {
  type: VisionModelType;
  /**
   * Path of the .onnx file. Required. Type `nanodet` also takes a TF.js graph model's
   * `model.json`, converted to ONNX at load (see tfjs-to-onnx.ts).
   */
  modelPath: string;
  /** Class names, index = class id, as a file with one name per line. One of labelsPath or labels is required. */
  labelsPath: string;
  /** Class names inline, index = class id. */
  labels: readonly string[];
  /** Input tensor name; '' = the model's only input. Default ''. */
  inputName: string;
  /** Output tensor name; '' = the model's only output. Default ''. */
  outputName: string;
  /** Model input width, px (checked against the file). Default 416 for yolox, 640 otherwise. */
  inputWidth: number;
  /** Model input height, px. Default 416 for yolox, 640 otherwise. */
  inputHeight: number;
  /** Where the resized picture sits in the input. Default 'top-left' for yolox (its preproc), 'center' otherwise (Ultralytics LetterBox). */
  letterbox: LetterboxPlacement;
  /** Channel order of the input tensor. Default 'bgr' for yolox (trained on OpenCV BGR), 'rgb' otherwise. */
  channelOrder: ChannelOrder;
  /** Input value per 8-bit pixel value: 1 (0..255, yolox) or 1/255 (0..1, Ultralytics). */
  pixelScale: number;
  /** Score at or above which a detection is kept, unless its class has its own. Default 0.3. */
  scoreThreshold: number;
  /** Per-class score thresholds by class name, e.g. { person: 0.4, car: 0.35 }. Default {}. */
  classThresholds: Readonly<Record<string, number>>;
  /** Only these class names are reported; [] = all. Default []. */
  classes: readonly string[];
  /** IoU above which a lower-scored box of the same class is suppressed. Default 0.45. */
  nmsIouThreshold: number;
  /** Most detections kept per frame after NMS. Default 100. */
  maxDetectionsPerFrame: number;
  /** ONNX Runtime execution provider; one that cannot start falls back to 'cpu' (logged). Default 'cpu'. */
  executionProvider: ExecutionProvider;
  /** Most frames per inference call when the model has a dynamic batch dimension. Default 8. */
  maxBatchSize: number;
  /**
   * ONNX Runtime sessions that run at once, each on its own thread (an inference lane); 0 = auto:
   * on cpu one per core up to 4, on other providers 1. Default 0.
   */
  sessions: number;
  /** ONNX Runtime intra-op threads per session; 0 = auto: on cpu the cores shared out among the sessions, elsewhere ORT's default. Default 0. */
  intraOpThreads: number;
  /** Output strides of the grid-decoded types (yolox, nanodet), finest first. Default [8, 16, 32]. */
  strides: readonly number[];
  /**
   * nanodet: where a grid cell's anchor point sits, in cells: 0.5 = the cell centre (NanoDet 0.x
   * GFL head, the built-in model), 0 = its top-left corner (NanoDet-Plus). Default 0.5.
   */
  centerOffset: number;
}

interface PluginDefaults {
  inputWidth: number;
  inputHeight: number;
  letterbox: LetterboxPlacement;
  channelOrder: ChannelOrder;
  pixelScale: number;
}

/** Defaults per type, from the reference preprocessing of each family. */
export const MODEL_TYPE_DEFAULTS: Readonly<Record<VisionModelType, PluginDefaults>> = {
  // YOLOX demo `preproc`: top-left placement, pad 114, BGR, no normalisation.
  yolox: { inputWidth: 416, inputHeight: 416, letterbox: 'top-left', channelOrder: 'bgr', pixelScale: 1 },
  // Ultralytics LetterBox(center=True), pad 114, RGB / 255.
  yolov5: { inputWidth: 640, inputHeight: 640, letterbox: 'center', channelOrder: 'rgb', pixelScale: 1 / 255 },
  yolov8: { inputWidth: 640, inputHeight: 640, letterbox: 'center', channelOrder: 'rgb', pixelScale: 1 / 255 },
  // NanoDet trains on OpenCV BGR with its mean/std normalisation; the converted model carries
  // that normalisation inside the graph, so it takes BGR 0…255 like YOLOX. Its resize keeps the
  // aspect ratio, centred.
  nanodet: { inputWidth: 416, inputHeight: 416, letterbox: 'center', channelOrder: 'bgr', pixelScale: 1 },
};

const COMMON_DEFAULTS = {
  labelsPath: '',
  labels: [] as readonly string[],
  inputName: '',
  outputName: '',
  scoreThreshold: 0.3,
  classThresholds: {},
  classes: [] as readonly string[],
  nmsIouThreshold: 0.45,
  maxDetectionsPerFrame: 100,
  executionProvider: 'cpu' as ExecutionProvider,
  maxBatchSize: 8,
  sessions: 0,
  intraOpThreads: 0,
  strides: [8, 16, 32] as readonly number[],
  centerOffset: 0.5,
};

interface NumberRule {
  kind: 'number';
  min: number;
  max: number;
  integer: boolean;
}
type Rule =
  | NumberRule
  | { kind: 'string'; allowEmpty: boolean }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'strings' }
  | { kind: 'thresholds' }
  | { kind: 'strides' };

const RULES: Readonly<Record<Exclude<keyof VisionModelConfig, 'type'>, Rule>> = {
  modelPath: { kind: 'string', allowEmpty: false },
  labelsPath: { kind: 'string', allowEmpty: true },
  labels: { kind: 'strings' },
  inputName: { kind: 'string', allowEmpty: true },
  outputName: { kind: 'string', allowEmpty: true },
  inputWidth: { kind: 'number', min: 32, max: 4096, integer: true },
  inputHeight: { kind: 'number', min: 32, max: 4096, integer: true },
  letterbox: { kind: 'enum', values: ['top-left', 'center'] },
  channelOrder: { kind: 'enum', values: ['rgb', 'bgr'] },
  pixelScale: { kind: 'number', min: Number.MIN_VALUE, max: 1, integer: false },
  scoreThreshold: { kind: 'number', min: 0, max: 1, integer: false },
  classThresholds: { kind: 'thresholds' },
  classes: { kind: 'strings' },
  nmsIouThreshold: { kind: 'number', min: 0, max: 1, integer: false },
  maxDetectionsPerFrame: { kind: 'number', min: 1, max: 10_000, integer: true },
  executionProvider: { kind: 'enum', values: EXECUTION_PROVIDERS },
  maxBatchSize: { kind: 'number', min: 1, max: 256, integer: true },
  sessions: { kind: 'number', min: 0, max: 64, integer: true },
  intraOpThreads: { kind: 'number', min: 0, max: 256, integer: true },
  strides: { kind: 'strides' },
  centerOffset: { kind: 'number', min: 0, max: 1, integer: false },
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates a vision model config and fills the documented defaults of its `type` (required:
 * `type`, `modelPath`, and `labelsPath` or `labels`). Throws DetectorError 'invalid-config'
 * listing every problem.
 */
export function parseVisionModelConfig(input: unknown): VisionModelConfig {
  if (!isRecord(input)) {
    throw new DetectorError('invalid-config', `expected a vision model config object; got ${input === null ? 'null' : typeof input}`);
  }
  const type = input['type'];
  if (typeof type !== 'string' || !(VISION_MODEL_TYPES as readonly string[]).includes(type)) {
    throw new DetectorError(
      'invalid-config',
      `expected vision model type one of ${VISION_MODEL_TYPES.join(', ')} (YOLO11 exports use 'yolov8'); got ${JSON.stringify(type)}`,
    );
  }
  const t = type as VisionModelType;
  const config: Record<string, unknown> = { type: t, modelPath: '', ...COMMON_DEFAULTS, ...MODEL_TYPE_DEFAULTS[t] };
  const problems: string[] = [];
  for (const [key, value] of Object.entries(input)) {
    if (key === 'type') continue;
    const rule = Object.hasOwn(RULES, key) ? RULES[key as keyof typeof RULES] : undefined;
    if (rule === undefined) {
      problems.push(`unknown key '${key}' (expected one of type, ${Object.keys(RULES).join(', ')})`);
      continue;
    }
    const problem = check(key, value, rule);
    if (problem !== undefined) problems.push(problem);
    else config[key] = value;
  }
  if (config['modelPath'] === '') problems.push(`'modelPath': expected the path of the .onnx file; got none`);
  else if (isTfjsModelPath(config['modelPath'] as string) && t !== 'nanodet')
    problems.push(`'modelPath': expected an .onnx file for type ${t} (TF.js model.json files are converted for type nanodet only)`);
  const labels = config['labels'] as readonly string[];
  if (config['labelsPath'] === '' && labels.length === 0)
    problems.push(`expected 'labelsPath' (a file, one class name per line) or 'labels'; got neither`);
  if (config['labelsPath'] !== '' && labels.length > 0) problems.push(`expected one of 'labelsPath' or 'labels'; got both`);
  // A parsed config carries every default, so only a value other than the default is a mistake
  // (parsing a parsed config again — as visionInputLayout does — must give it back unchanged).
  if (t !== 'yolox' && t !== 'nanodet' && Object.hasOwn(input, 'strides') && !sameNumbers(input['strides'], COMMON_DEFAULTS.strides))
    problems.push(`'strides': only yolox and nanodet decode a grid; ${t} outputs boxes in input pixels`);
  if (t !== 'nanodet' && Object.hasOwn(input, 'centerOffset') && input['centerOffset'] !== COMMON_DEFAULTS.centerOffset)
    problems.push(`'centerOffset': only nanodet has anchor points; got it for ${t}`);
  if (problems.length > 0) throw new DetectorError('invalid-config', `invalid ${t} vision model config: ${problems.join('; ')}`);
  return config as unknown as VisionModelConfig;
}

function sameNumbers(value: unknown, expected: readonly number[]): boolean {
  return Array.isArray(value) && value.length === expected.length && value.every((v, i) => v === expected[i]);
}

function check(key: string, value: unknown, rule: Rule): string | undefined {
  switch (rule.kind) {
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return `'${key}': expected a number; got ${JSON.stringify(value)}`;
      if (value < rule.min || value > rule.max) return `'${key}': expected ${rule.min}…${rule.max}; got ${value}`;
      if (rule.integer && !Number.isInteger(value)) return `'${key}': expected a whole number; got ${value}`;
      return undefined;
    case 'string':
      if (typeof value !== 'string') return `'${key}': expected a string; got ${JSON.stringify(value)}`;
      if (!rule.allowEmpty && value === '') return `'${key}': expected a non-empty string; got ''`;
      return undefined;
    case 'enum':
      return typeof value === 'string' && rule.values.includes(value)
        ? undefined
        : `'${key}': expected one of ${rule.values.join(', ')}; got ${JSON.stringify(value)}`;
    case 'strings':
      return Array.isArray(value) && value.every((v) => typeof v === 'string' && v !== '')
        ? undefined
        : `'${key}': expected an array of non-empty strings; got ${JSON.stringify(value)}`;
    case 'thresholds':
      if (!isRecord(value)) return `'${key}': expected an object of class name → score threshold; got ${JSON.stringify(value)}`;
      for (const [name, v] of Object.entries(value)) {
        if (typeof v !== 'number' || !(v >= 0 && v <= 1)) return `'${key}.${name}': expected a score 0…1; got ${JSON.stringify(v)}`;
      }
      return undefined;
    case 'strides':
      return Array.isArray(value) && value.length > 0 && value.every((v) => Number.isInteger(v) && (v as number) > 0)
        ? undefined
        : `'${key}': expected an array of positive whole numbers; got ${JSON.stringify(value)}`;
  }
}

/** Whether a model path names a TF.js graph model (its model.json) rather than an ONNX file. */
export function isTfjsModelPath(path: string): boolean {
  return path.toLowerCase().endsWith('.json');
}

/** Class names from a labels file: one per line, blank lines at the end ignored. */
export function parseLabels(text: string): string[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * Per-class score thresholds as an array indexed by class id (Infinity for classes not
 * reported), after checking that every class named in the config exists in the labels.
 */
export function classThresholdTable(config: VisionModelConfig, labels: readonly string[]): Float32Array {
  const problems: string[] = [];
  const known = new Set(labels);
  for (const name of [...Object.keys(config.classThresholds), ...config.classes]) {
    if (!known.has(name)) problems.push(`'${name}'`);
  }
  if (problems.length > 0) {
    throw new DetectorError(
      'invalid-config',
      `classThresholds/classes name classes the labels do not have: ${problems.join(', ')} (labels: ${labels.slice(0, 12).join(', ')}${labels.length > 12 ? ', …' : ''})`,
    );
  }
  const only = config.classes.length > 0 ? new Set(config.classes) : undefined;
  const table = new Float32Array(labels.length);
  labels.forEach((name, i) => {
    table[i] = only !== undefined && !only.has(name) ? Number.POSITIVE_INFINITY : (config.classThresholds[name] ?? config.scoreThreshold);
  });
  return table;
}

/** What a camera source must produce for a model: the frame size and letterbox placement ffmpeg applies. */
export interface VisionInputLayout {
  width: number;
  height: number;
  letterbox: LetterboxPlacement;
  /** Applied by the worker when it builds the input tensor (frames travel as rgb24). */
  channelOrder: ChannelOrder;
  pixelScale: number;
}

/**
 * The input layout of a model config, without loading the model: the entry point passes it to
 * the camera source (`startCameraSource({ width, height, letterbox })`) so frames arrive ready
 * to be converted to the input tensor in one pass.
 */
export function visionInputLayout(input: VisionModelConfig | Record<string, unknown>): VisionInputLayout {
  const c = parseVisionModelConfig(input);
  return { width: c.inputWidth, height: c.inputHeight, letterbox: c.letterbox, channelOrder: c.channelOrder, pixelScale: c.pixelScale };
}
