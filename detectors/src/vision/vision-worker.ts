import {
  deadLetter,
  serializer,
  startConsumerLoop,
  Outbox,
  type Bus,
  type ConsumerLoop,
  type MessageBatch,
  type Producer,
} from '@cityops/bus';
import {
  Anomaly as AnomalySchema,
  DEFAULT_PARTITIONS,
  EarlyWarning as EarlyWarningSchema,
  WarningCleared as WarningClearedSchema,
  TOPICS,
  VisionDetection as VisionDetectionSchema,
  decodeDimension,
  decodeFrame,
  encodeSnapshot,
  randomId,
  recordMessage,
  stableId,
  validator,
  type Camera,
  type CameraFrameHeader,
  type Clock,
  type RunningWorker,
  type EarlyWarning,
  type VisionDetection,
  type VisionSnapshot,
  type WorkerHealth,
} from '@cityops/schemas';
import { toDetectorError } from '../errors.js';
import { ByteTracker, type Track } from './byte-tracker.js';
import { parseCameraVisionConfig, type CameraVisionConfig } from './camera-config.js';
import { CameraRules, type RuleContext } from './event-rules.js';
import type { VisionModelConfig } from './model-config.js';
import { loadVisionModel, type Detection, type VisionFrame, type VisionModel } from './vision-model.js';
import { encodePng } from './png.js';
import { DEFAULT_VISION_MODEL_DESCRIPTION, defaultVisionModelConfig } from './default-vision-model.js';
import { maskPrivateRegions } from './privacy-mask.js';

/*
 * The vision role: camera frames in; tracked detections, anomalies and early warnings out.
 *
 * - Frames are perishable. The consumer hands each frame to its camera's slot and returns at
 *   once (the bus commits); a frame that arrives before the previous one of the same camera was
 *   taken replaces it — newest wins, the replaced one counted as dropped. So the bus never backs
 *   up behind inference, and under overload every camera stays current instead of falling behind.
 * - One inference loop per model takes the waiting frames of its cameras (oldest wait first, one
 *   frame per camera) as a batch, and starts the next batch's run before it decodes, tracks and
 *   evaluates rules on the previous one: ONNX Runtime runs on its own threads, so the JS work of
 *   batch k overlaps the inference of batch k+1.
 * - Results are never dropped: they go through an outbox (detections, then anomalies, then
 *   warnings, so evidence lands before what cites it) retried until the bus takes them.
 * - Bad frames (no header, wrong size, jpeg) go to the dead letters with the reason.
 * - Cameras can be added, changed and removed at run time (setCamera/removeCamera, or Camera
 *   records on city.dimensions); a model that fails to load leaves that model failed — visible
 *   in models() and health() — and its cameras' frames counted as dropped, the process running.
 */

export interface VisionWorkerConfig {
  /**
   * Models by name; a camera picks one by `model` (default 'default'). None (absent or `{}`):
   * the built-in default, NanoDet-g COCO from node_modules (default-vision-model.ts), as 'default'.
   */
  models?: Readonly<Record<string, VisionModelConfig | Record<string, unknown>>>;
  /** Camera configs (zones, rules, homography…); more can be set at run time. Default []. */
  cameras?: readonly (CameraVisionConfig | Record<string, unknown>)[];
  /**
   * Run detection on cameras known from city.dimensions (or seen on camera.frames) that have no
   * config of their own, with the default model and no rules. Default true.
   */
  autoAddCameras?: boolean;
  /** A frame older than this when its turn comes is dropped as stale, ms. Default 2000. */
  maxFrameAgeMs?: number;
  /** Where warnings go when a camera's location is unknown. Default lon 0, lat 0 (reasons say so). */
  fallbackLocation?: { lon: number; lat: number };
  /** Longest wait at start for city.dimensions to be read to its end. Default 10 000 ms. */
  dimensionsCatchUpTimeoutMs?: number;
}

export interface VisionWorkerOptions {
  bus: Bus;
  config: VisionWorkerConfig;
  /** Consumer group for frames; replicas share it (cameras spread by partition). Default 'cityops-vision'. */
  groupId?: string;
  /** Time source (frame staleness, latency, health). Default Date.now. */
  clock?: Clock;
  /** Operator-facing lines: execution provider chosen or fallen back, batching, model failures. Default console.log. */
  log?: (line: string) => void;
}

export interface ModelStatus {
  name: string;
  state: 'loading' | 'ready' | 'failed';
  /** Why it failed, or ''. */
  error: string;
  provider: string;
  version: string;
  batch_size: number;
  dynamic_batch: boolean;
  runs: number;
  frames: number;
  run_errors: number;
}

export interface CameraStatus {
  camera_id: string;
  model: string;
  frames_in: number;
  /** Frames inferred, tracked and evaluated. */
  frames_out: number;
  /** Replaced by a newer frame before their turn (newest wins). */
  frames_dropped: number;
  /** Too old when their turn came. */
  frames_stale: number;
  /** Dropped because the camera's model is not loaded. */
  frames_no_model: number;
  /** Time from capture to arrival at the worker (last frame), ms. */
  decode_lag_ms: number;
  /** Time from capture to results produced (last frame), ms. */
  latency_ms: number;
  last_frame_ts: number;
  last_error: string;
  tracks: number;
  open_episodes: number;
  detections_emitted: number;
  warnings_emitted: number;
  line_counts: Record<string, { left_to_right: number; right_to_left: number }>;
}

export interface VisionWorker extends RunningWorker {
  /** Adds or replaces a camera's config (validated against its model's labels when loaded). */
  setCamera(config: CameraVisionConfig | Record<string, unknown>): void;
  /** Stops processing a camera; its pending frame is discarded. Returns whether it existed. */
  removeCamera(cameraId: string): boolean;
  /** Loads a model (new or replacing one of that name); resolves to its status, failed or ready. */
  setModel(name: string, config: VisionModelConfig | Record<string, unknown>): Promise<ModelStatus>;
  cameras(): CameraStatus[];
  models(): ModelStatus[];
}

const WORKER_NAME = 'vision';
const TOPICS_USED = [
  TOPICS.cameraFrames,
  TOPICS.dimensions,
  TOPICS.visionDetections,
  TOPICS.anomalies,
  TOPICS.warnings,
  TOPICS.warningsCleared,
  TOPICS.visionSnapshots,
  TOPICS.deadLetters,
] as const;

interface PendingFrame {
  header: CameraFrameHeader;
  pixels: Uint8Array;
  receivedAt: number;
}

interface CameraState {
  config: CameraVisionConfig;
  /** Set by setCamera/config (true) or made from a Camera record / first frame (false). */
  explicit: boolean;
  tracker: ByteTracker;
  rules: CameraRules;
  pending: PendingFrame | undefined;
  /**
   * Pixel buffers of this camera's finished frames, reused for the next ones. The bus's value is
   * valid only until the frame handler returns (camera sources recycle their buffers), so a
   * waiting frame is a copy; reusing the copies' memory keeps half a megabyte a frame away
   * from the garbage collector.
   */
  spare: Uint8Array[];
  /** A frame of this camera is being inferred: its next one waits, so each camera's frames finish in order. */
  inferring: boolean;
  lastTs: number;
  lastEmitted: Map<string, number>;
  status: Omit<CameraStatus, 'camera_id' | 'model' | 'tracks' | 'open_episodes' | 'line_counts'>;
}

interface ModelSlot {
  name: string;
  config: VisionModelConfig | Record<string, unknown>;
  state: ModelStatus['state'];
  error: string;
  model: VisionModel | undefined;
  loop: Promise<void> | undefined;
  stopLoop: boolean;
  runs: number;
  frames: number;
  runErrors: number;
}

export async function startVisionWorker(options: VisionWorkerOptions): Promise<VisionWorker> {
  const { bus, config } = options;
  const groupId = options.groupId ?? 'cityops-vision';
  const clock = options.clock ?? Date.now;
  const log = options.log ?? ((line: string) => console.log(line));
  const autoAdd = config.autoAddCameras ?? true;
  const maxFrameAgeMs = config.maxFrameAgeMs ?? 2000;
  const fallbackLocation = config.fallbackLocation ?? { lon: 0, lat: 0 };
  const configuredModels = config.models ?? {};
  const models = Object.keys(configuredModels).length > 0 ? configuredModels : { default: defaultVisionModelConfig() };
  if (models !== configuredModels) log(`vision: no model configured; running the built-in default: ${DEFAULT_VISION_MODEL_DESCRIPTION}`);

  let state: WorkerHealth['state'] = 'starting';
  let lastError = '';
  let processed = 0;
  let deadLettered = 0;
  let stopped = false;
  const counters = {
    frames_in: 0,
    frames_out: 0,
    frames_dropped: 0,
    frames_stale: 0,
    frames_no_model: 0,
    frames_out_of_order: 0,
    frames_unconfigured: 0,
    detections_emitted: 0,
    anomalies_emitted: 0,
    warnings_emitted: 0,
    snapshots_emitted: 0,
    invalid_outputs: 0,
    dimension_records_skipped: 0,
  };
  const cameras = new Map<string, CameraState>();
  const cameraInfo = new Map<string, Camera>();
  /** Cameras an administrator took out of service (Retirement records): not analysed, not re-added by their frames. */
  const retired = new Set<string>();
  const slots = new Map<string, ModelSlot>();
  const outbox = new Outbox([TOPICS.visionDetections, TOPICS.anomalies, TOPICS.visionSnapshots, TOPICS.warnings, TOPICS.warningsCleared]);
  const outboxSerial = serializer();
  const checkDetection = validator(VisionDetectionSchema);
  const checkAnomaly = validator(AnomalySchema);
  const checkWarning = validator(EarlyWarningSchema);
  const checkCleared = validator(WarningClearedSchema);
  /** Wakes the inference loops when a frame arrives. */
  let wake: (() => void) | undefined;
  let wakeSignal = new Promise<void>((r) => (wake = r));
  const signal = (): void => {
    const w = wake;
    wakeSignal = new Promise<void>((r) => (wake = r));
    w?.();
  };

  let producer: Producer;
  try {
    await bus.ensureTopics(TOPICS_USED.map((name) => ({ name, partitions: DEFAULT_PARTITIONS[name] })));
    producer = bus.producer();
  } catch (e) {
    throw toDetectorError('start-failed', 'expected to create the vision worker topics', e, true);
  }

  const newStatus = (): CameraState['status'] => ({
    frames_in: 0,
    frames_out: 0,
    frames_dropped: 0,
    frames_stale: 0,
    frames_no_model: 0,
    decode_lag_ms: 0,
    latency_ms: 0,
    last_frame_ts: 0,
    last_error: '',
    detections_emitted: 0,
    warnings_emitted: 0,
  });

  /** The camera config merged with what city.dimensions says about the camera. */
  const withInfo = (c: CameraVisionConfig): CameraVisionConfig => {
    const info = cameraInfo.get(c.cameraId);
    if (info === undefined) return c;
    return { ...c, areaId: c.areaId === '' ? info.area_id : c.areaId, location: c.location ?? { lon: info.lon, lat: info.lat } };
  };

  /** A copy of a frame's pixels, in one of the camera's spare buffers when one fits. */
  const keepCopy = (camera: CameraState, pixels: Uint8Array): Uint8Array => {
    const index = camera.spare.findIndex((b) => b.byteLength === pixels.byteLength);
    const copy = index < 0 ? new Uint8Array(pixels.byteLength) : camera.spare.splice(index, 1)[0]!;
    copy.set(pixels);
    return copy;
  };
  /** One waiting and one in flight is all a camera ever holds; a third spare would only sit. */
  const recycle = (camera: CameraState, pixels: Uint8Array): void => {
    if (camera.spare.length < 2 && !camera.spare.includes(pixels)) camera.spare.push(pixels);
  };

  const install = (parsed: CameraVisionConfig, explicit: boolean): void => {
    const merged = withInfo(parsed);
    const previous = cameras.get(parsed.cameraId);
    // A changed model means other class ids: tracks start over. Otherwise tracks survive a rule change.
    const keepTracker =
      previous !== undefined &&
      previous.config.model === merged.model &&
      JSON.stringify(previous.config.tracker) === JSON.stringify(merged.tracker);
    // Same config again (a Camera record re-published): rule episodes carry on.
    const sameRules = previous !== undefined && keepTracker && JSON.stringify(previous.config) === JSON.stringify(merged);
    cameras.set(parsed.cameraId, {
      config: merged,
      explicit,
      tracker: keepTracker ? previous.tracker : new ByteTracker(merged.tracker),
      rules: sameRules ? previous.rules : new CameraRules(merged),
      pending: previous?.pending,
      spare: previous?.spare ?? [],
      inferring: previous?.inferring ?? false,
      lastTs: previous?.lastTs ?? 0,
      lastEmitted: keepTracker ? previous.lastEmitted : new Map<string, number>(),
      status: previous?.status ?? newStatus(),
    });
  };

  const setCamera = (input: CameraVisionConfig | Record<string, unknown>): void => {
    const raw = input as Record<string, unknown>;
    const modelName = typeof raw['model'] === 'string' ? raw['model'] : 'default';
    const labels = slots.get(modelName)?.model?.labels;
    install(parseCameraVisionConfig(input, labels), true);
  };

  const autoCamera = (cameraId: string): CameraState | undefined => {
    if (!autoAdd || retired.has(cameraId)) return undefined;
    try {
      install(parseCameraVisionConfig({ cameraId }), false);
    } catch (e) {
      lastError = e instanceof Error ? e.message : String(e);
      return undefined;
    }
    return cameras.get(cameraId);
  };

  for (const c of config.cameras ?? []) install(parseCameraVisionConfig(c), true);

  // ---- models -------------------------------------------------------------------------------

  const modelStatus = (s: ModelSlot): ModelStatus => ({
    name: s.name,
    state: s.state,
    error: s.error,
    provider: s.model?.provider ?? '',
    version: s.model?.version ?? '',
    batch_size: s.model?.batchSize ?? 0,
    dynamic_batch: s.model?.dynamicBatch ?? false,
    runs: s.runs,
    frames: s.frames,
    run_errors: s.runErrors,
  });

  const load = async (name: string, modelConfig: VisionModelConfig | Record<string, unknown>): Promise<ModelStatus> => {
    const old = slots.get(name);
    const slot: ModelSlot = {
      name,
      config: modelConfig,
      state: 'loading',
      error: '',
      model: undefined,
      loop: undefined,
      stopLoop: false,
      runs: 0,
      frames: 0,
      runErrors: 0,
    };
    try {
      slot.model = await loadVisionModel(modelConfig, { name, log });
      slot.state = 'ready';
    } catch (e) {
      slot.state = 'failed';
      slot.error = `model '${name}' failed to load: ${e instanceof Error ? e.message : String(e)}`;
      lastError = slot.error;
      log(`vision: ${slot.error}`);
    }
    if (old !== undefined) {
      old.stopLoop = true;
      signal();
      await old.loop;
      await old.model?.release().catch(() => undefined);
    }
    slots.set(name, slot);
    if (slot.model !== undefined) {
      // Camera configs are checked against the (new) labels; a camera whose rules name a class
      // the model lacks keeps running without that check failing the swap, but says so.
      for (const cam of cameras.values()) {
        if (cam.config.model !== name) continue;
        try {
          parseCameraVisionConfig(cam.config, slot.model.labels);
        } catch (e) {
          cam.status.last_error = e instanceof Error ? e.message : String(e);
        }
        cam.tracker = new ByteTracker(cam.config.tracker);
        cam.lastEmitted.clear();
      }
      slot.loop = inferenceLoop(slot);
    }
    return modelStatus(slot);
  };

  /** Takes up to `max` waiting frames of this model's cameras, oldest wait first; drops stale ones. */
  const take = (slot: ModelSlot, max: number): { camera: CameraState; frame: PendingFrame }[] => {
    const now = clock();
    const ready: { camera: CameraState; frame: PendingFrame }[] = [];
    for (const cam of cameras.values()) {
      const f = cam.pending;
      if (f === undefined || cam.inferring || cam.config.model !== slot.name) continue;
      if (now - f.header.ts > maxFrameAgeMs) {
        cam.pending = undefined;
        recycle(cam, f.pixels);
        cam.status.frames_stale++;
        counters.frames_stale++;
        continue;
      }
      ready.push({ camera: cam, frame: f });
    }
    ready.sort((a, b) => a.frame.receivedAt - b.frame.receivedAt);
    const chosen = ready.slice(0, max);
    for (const c of chosen) {
      c.camera.pending = undefined;
      c.camera.inferring = true;
    }
    return chosen;
  };

  const inferenceLoop = async (slot: ModelSlot): Promise<void> => {
    const model = slot.model!;
    type Items = { camera: CameraState; frame: PendingFrame }[];
    type Settled = { items: Items; output: Detection[][] | undefined; error: unknown };
    const inFlight = new Set<Promise<Settled>>();
    /** Hands waiting frames to an idle session; undefined when there are none (or no idle session). */
    const start = (): Promise<Settled> | undefined => {
      if (model.freeSlots === 0) return undefined;
      const items = take(slot, model.maxFramesPerCall);
      if (items.length === 0) return undefined;
      const frames: VisionFrame[] = items.map(({ frame: { header: h, pixels } }) => ({
        pixels,
        width: h.width,
        height: h.height,
        scale: h.scale,
        padX: h.pad_x,
        padY: h.pad_y,
        sourceWidth: h.source_width,
        sourceHeight: h.source_height,
      }));
      let done: Promise<Detection[][]>;
      try {
        done = model.infer(frames).done;
      } catch (e) {
        done = Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
      const settled: Promise<Settled> = done.then(
        (output) => ({ items, output, error: undefined }),
        (error: unknown) => ({ items, output: undefined, error }),
      );
      const tracked = settled.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      return tracked;
    };
    while (!stopped && !slot.stopLoop) {
      // Every session gets its batches before any JS work on finished ones.
      while (start() !== undefined);
      if (inFlight.size === 0) {
        await wakeSignal;
        continue;
      }
      // A finished run, or a new frame an idle session could take.
      const next = await Promise.race([...inFlight, model.freeSlots > 0 ? wakeSignal.then(() => undefined) : new Promise<never>(() => {})]);
      if (next === undefined) continue;
      for (const { camera } of next.items) camera.inferring = false;
      if (next.output === undefined) {
        slot.runErrors++;
        const message = next.error instanceof Error ? next.error.message : String(next.error);
        lastError = message;
        for (const { camera, frame } of next.items) {
          camera.status.last_error = message;
          recycle(camera, frame.pixels);
        }
        continue;
      }
      slot.runs++;
      slot.frames += next.items.length;
      // Sessions freed by this run start again before its post-processing.
      if (!stopped && !slot.stopLoop) while (start() !== undefined);
      try {
        postprocess(model, next.items, next.output);
      } catch (e) {
        lastError = `expected to post-process a batch of model '${slot.name}': ${e instanceof Error ? e.message : String(e)}`;
      }
      // Snapshots are encoded by now: nothing refers to these pixels any more.
      for (const { camera, frame } of next.items) recycle(camera, frame.pixels);
      await flushOutbox();
    }
    // Runs started just before stop are awaited so their sessions are idle when released; their
    // cameras become free for whichever model loop serves them next.
    for (const { items } of await Promise.all(inFlight)) for (const { camera } of items) camera.inferring = false;
  };

  // ---- per batch: decode, track, rules, records ------------------------------------------

  const postprocess = (
    model: VisionModel,
    items: readonly { camera: CameraState; frame: PendingFrame }[],
    detections: Detection[][],
  ): void => {
    for (let i = 0; i < items.length; i++) {
      const { camera, frame } = items[i]!;
      const h = frame.header;
      // The camera may have been removed or replaced while its frame was being inferred.
      if (cameras.get(h.camera_id) !== camera) continue;
      if (h.ts < camera.lastTs) {
        counters.frames_out_of_order++;
        continue;
      }
      camera.lastTs = h.ts;
      const { active, removed } = camera.tracker.update(detections[i]!, h.ts);
      for (const t of removed) camera.lastEmitted.delete(t.id);
      const forced = new Set<string>();
      const detectionId = (t: Track): string => stableId(h.camera_id, h.id, t.id);
      const ctx: RuleContext = {
        cameraId: h.camera_id,
        cameraName: cameraInfo.get(h.camera_id)?.name ?? h.camera_id,
        sourceWidth: h.source_width,
        sourceHeight: h.source_height,
        modelVersion: model.version,
        fallbackLocation,
        evidenceId: (t) => {
          forced.add(t.id);
          return detectionId(t);
        },
      };
      const result = camera.rules.evaluate(h.ts, active, removed, ctx);
      const sample = camera.config.detectionSampleMs;
      for (const t of active) {
        const last = camera.lastEmitted.get(t.id);
        if (!forced.has(t.id) && last !== undefined && h.ts - last < sample) continue;
        camera.lastEmitted.set(t.id, h.ts);
        const d: VisionDetection = {
          id: detectionId(t),
          schema_version: 1,
          camera_id: h.camera_id,
          frame_id: h.id,
          ts: h.ts,
          class_name: t.className,
          score: Math.min(1, Math.max(0, t.score)),
          x1: t.x1,
          y1: t.y1,
          x2: t.x2,
          y2: t.y2,
          track_id: t.id,
          model_version: model.version,
        };
        if (
          push(TOPICS.visionDetections, h.camera_id, d, 'VisionDetection', checkDetection.check(d) ? undefined : checkDetection.errors(d))
        ) {
          camera.status.detections_emitted++;
        }
      }
      for (const a of result.anomalies)
        push(TOPICS.anomalies, h.camera_id, a, 'Anomaly', checkAnomaly.check(a) ? undefined : checkAnomaly.errors(a));
      for (const w of result.warnings) {
        // The evidence picture first, so the warning that cites it never arrives before it.
        const snapshotId = snapshotFor(w, frame, active, model.version);
        const cited = snapshotId === undefined ? w : { ...w, evidence_ids: [...w.evidence_ids.slice(0, 99), snapshotId] };
        if (push(TOPICS.warnings, h.camera_id, cited, 'EarlyWarning', checkWarning.check(cited) ? undefined : checkWarning.errors(cited)))
          camera.status.warnings_emitted++;
      }
      for (const c of result.cleared)
        push(TOPICS.warningsCleared, h.camera_id, c, 'WarningCleared', checkCleared.check(c) ? undefined : checkCleared.errors(c));
      const now = clock();
      camera.status.frames_out++;
      camera.status.latency_ms = now - h.ts;
      counters.frames_out++;
    }
  };

  /**
   * The masked picture a camera warning cites: the analysed frame with person heads and vehicle
   * plates pixelated (privacy by default), as PNG on vision.snapshots. Returns its id, or
   * undefined for a frame that is not rgb24.
   */
  const snapshotFor = (w: EarlyWarning, frame: PendingFrame, tracks: readonly Track[], modelVersion: string): string | undefined => {
    const h = frame.header;
    if (h.pixel_format !== 'rgb24') return undefined;
    // Track boxes are fractions of the source picture; the frame is it letterboxed to the model's
    // input. The snapshot is the picture itself: the padding is cut off.
    const x0 = Math.min(h.width - 1, Math.max(0, Math.round(h.pad_x)));
    const y0 = Math.min(h.height - 1, Math.max(0, Math.round(h.pad_y)));
    const width = Math.max(1, Math.min(h.width - x0, Math.round(h.source_width * h.scale)));
    const height = Math.max(1, Math.min(h.height - y0, Math.round(h.source_height * h.scale)));
    const pixels = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) {
      const from = ((y0 + y) * h.width + x0) * 3;
      pixels.set(frame.pixels.subarray(from, from + width * 3), y * width * 3);
    }
    maskPrivateRegions(
      pixels,
      width,
      height,
      tracks.map((t) => ({ className: t.className, x1: t.x1, y1: t.y1, x2: t.x2, y2: t.y2 })),
    );
    const header: VisionSnapshot = {
      // Recognisable as a picture wherever an evidence id is shown (the console draws it).
      id: `snapshot:${w.id}`,
      schema_version: 1,
      camera_id: h.camera_id,
      ts: h.ts,
      warning_id: w.id,
      width,
      height,
      format: 'png',
      masked: true,
      model_version: modelVersion,
    };
    const message = encodeSnapshot(header, encodePng(pixels, width, height));
    outbox.push(TOPICS.visionSnapshots, { key: h.camera_id, value: message.value, headers: message.headers, timestampMs: h.ts });
    counters.snapshots_emitted++;
    return header.id;
  };

  /** Queues a record, or dead-letters it when it breaks its own contract (a bug here, made visible). */
  const push = (
    topic: string,
    key: string,
    record: { id: string; ts: number },
    contract: string,
    errors: { path: string; message: string }[] | undefined,
  ): boolean => {
    if (errors === undefined) {
      outbox.push(topic, recordMessage(key, record, contract, record.ts));
      return true;
    }
    counters.invalid_outputs++;
    lastError = `produced an invalid ${contract}: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`;
    const letter = { source: topic, reason: lastError, errors, payload: JSON.stringify(record), key };
    void outboxSerial(() => deadLetter(producer, letter)).then(
      () => deadLettered++,
      (e: unknown) =>
        (lastError = `expected the dead-letter topic to accept an invalid ${contract}: ${e instanceof Error ? e.message : String(e)}`),
    );
    return false;
  };

  const flushOutbox = (): Promise<void> =>
    outboxSerial(async () => {
      try {
        const sent = await outbox.flush(producer);
        counters.detections_emitted += sent[TOPICS.visionDetections] ?? 0;
        counters.anomalies_emitted += sent[TOPICS.anomalies] ?? 0;
        counters.warnings_emitted += sent[TOPICS.warnings] ?? 0;
      } catch (e) {
        // Kept in the outbox and sent first next time: results are never dropped.
        lastError = `expected the bus to accept vision results (kept for the next attempt): ${e instanceof Error ? e.message : String(e)}`;
      }
    });

  // ---- bus handlers ---------------------------------------------------------------------------

  /** A camera out of service stops at once, whatever configured it; back in service, it is analysed again. */
  const onRetirement = (decoded: ReturnType<typeof decodeDimension>, partition: number, offset: string): void => {
    if (!decoded.ok || decoded.value.name !== 'Retirement') {
      counters.dimension_records_skipped++;
      lastError = `skipped ${TOPICS.dimensions}[${partition}]@${offset}: ${decoded.ok ? 'not a Retirement record' : decoded.reason}`;
      return;
    }
    const r = decoded.value.record;
    if (r.target !== 'Camera') return;
    if (r.retired) {
      retired.add(r.target_id);
      cameras.delete(r.target_id);
    } else if (retired.delete(r.target_id) && cameraInfo.has(r.target_id)) {
      autoCamera(r.target_id);
    }
  };

  const onDimensions = (batch: MessageBatch): Promise<void> => {
    for (const message of batch.messages) {
      const [name, id] = splitKey(message.key);
      if (message.value.byteLength === 0) {
        if (name === 'Camera') {
          cameraInfo.delete(id);
          if (cameras.get(id)?.explicit === false) cameras.delete(id);
        }
        continue;
      }
      if (name === 'Retirement') {
        onRetirement(decodeDimension(message.headers, message.value), batch.partition, message.offset);
        continue;
      }
      if (name !== 'Camera') continue;
      const decoded = decodeDimension(message.headers, message.value);
      if (!decoded.ok || decoded.value.name !== 'Camera') {
        counters.dimension_records_skipped++;
        lastError = `skipped ${TOPICS.dimensions}[${batch.partition}]@${message.offset}: ${decoded.ok ? 'not a Camera record' : decoded.reason}`;
        continue;
      }
      const cam = decoded.value.record;
      cameraInfo.set(cam.id, cam);
      const existing = cameras.get(cam.id);
      if (existing !== undefined) install(existing.config, existing.explicit);
      else autoCamera(cam.id);
    }
    return Promise.resolve();
  };

  const onFrames = async (batch: MessageBatch): Promise<void> => {
    const now = clock();
    for (const message of batch.messages) {
      processed++;
      const decoded = decodeFrame(message.headers, message.value);
      let reason: string | undefined;
      let payload = '';
      if (!decoded.ok) {
        reason = decoded.reason;
        payload = decoded.payload;
      } else if (decoded.value.header.pixel_format !== 'rgb24') {
        reason = `expected rgb24 frames (what the ffmpeg camera source sends); got ${decoded.value.header.pixel_format}, which the vision worker does not decode`;
        payload = JSON.stringify(decoded.value.header);
      }
      if (reason !== undefined || !decoded.ok) {
        await deadLetter(producer, {
          source: TOPICS.cameraFrames,
          reason: reason ?? 'undecodable frame',
          errors: decoded.ok ? [] : decoded.errors,
          payload,
          key: message.key,
        });
        deadLettered++;
        continue;
      }
      const { header, pixels } = decoded.value;
      counters.frames_in++;
      const camera = cameras.get(header.camera_id) ?? autoCamera(header.camera_id);
      if (camera === undefined) {
        counters.frames_unconfigured++;
        continue;
      }
      camera.status.frames_in++;
      camera.status.last_frame_ts = header.ts;
      camera.status.decode_lag_ms = now - header.ts;
      const slot = slots.get(camera.config.model);
      if (slot === undefined || slot.state !== 'ready') {
        camera.status.frames_no_model++;
        counters.frames_no_model++;
        camera.status.last_error =
          slot === undefined
            ? `camera ${header.camera_id} names model '${camera.config.model}', which is not configured (models: ${[...slots.keys()].join(', ')})`
            : slot.error || `model '${slot.name}' is ${slot.state}`;
        continue;
      }
      if (camera.pending !== undefined) {
        camera.status.frames_dropped++;
        counters.frames_dropped++;
        recycle(camera, camera.pending.pixels);
      }
      camera.pending = { header, pixels: keepCopy(camera, pixels), receivedAt: now };
    }
    signal();
  };

  // Models first: a camera config is checked against its model's labels.
  await Promise.all(Object.entries(models).map(([name, c]) => load(name, c)));
  for (const cam of cameras.values()) {
    const labels = slots.get(cam.config.model)?.model?.labels;
    if (labels !== undefined) install(parseCameraVisionConfig(cam.config, labels), cam.explicit);
  }

  let loop: ConsumerLoop;
  try {
    loop = await startConsumerLoop({
      follow: {
        consumer: bus.consumer({ groupId: `${groupId}.dimensions.${randomId()}`, topics: [TOPICS.dimensions], fromBeginning: true }),
        topic: TOPICS.dimensions,
        handle: onDimensions,
        timeoutMs: config.dimensionsCatchUpTimeoutMs ?? 10_000,
        onBehind: () => {
          lastError = `${TOPICS.dimensions} was not read to its end within the catch-up timeout; some cameras may lack area and location`;
        },
      },
      // Frames from before this start are stale by definition: a new group starts at the end.
      consumer: bus.consumer({ groupId, topics: [TOPICS.cameraFrames], fromBeginning: false, maxBatchSize: 64 }),
      handle: onFrames,
      flush: flushOutbox,
      producer,
      onError: (message) => (lastError = message),
      onState: (next) => (state = next),
      wrapBatchError: (e, batch) =>
        toDetectorError('produce-failed', `expected to take frames from ${batch.topic}[${batch.partition}]`, e, true),
      wrapStopError: (e) => toDetectorError('invalid-state', 'expected the vision worker to stop cleanly', e, false),
    });
  } catch (e) {
    stopped = true;
    signal();
    for (const s of slots.values()) await s.model?.release().catch(() => undefined);
    throw toDetectorError('start-failed', `expected the vision worker consumers of group '${groupId}' to start`, e, true);
  }
  state = 'running';

  const allFailed = (): boolean => [...slots.values()].every((s) => s.state === 'failed');

  return {
    name: WORKER_NAME,
    setCamera,
    removeCamera: (cameraId) => cameras.delete(cameraId),
    setModel: (name, c) => load(name, c),
    cameras: () =>
      [...cameras.entries()].map(([id, c]) => ({
        camera_id: id,
        model: c.config.model,
        ...c.status,
        tracks: c.tracker.size,
        open_episodes: c.rules.openEpisodes,
        line_counts: Object.fromEntries(
          [...c.rules.lineCounts].map(([line, n]) => [line, { left_to_right: n.leftToRight, right_to_left: n.rightToLeft }]),
        ),
      })),
    models: () => [...slots.values()].map(modelStatus),
    health: (): WorkerHealth => {
      const failed = [...slots.values()].filter((s) => s.state === 'failed');
      const perCamera: Record<string, number> = {};
      for (const [id, c] of cameras) {
        perCamera[`camera.${id}.frames_in`] = c.status.frames_in;
        perCamera[`camera.${id}.frames_out`] = c.status.frames_out;
        perCamera[`camera.${id}.frames_dropped`] = c.status.frames_dropped + c.status.frames_stale + c.status.frames_no_model;
        perCamera[`camera.${id}.decode_lag_ms`] = c.status.decode_lag_ms;
        perCamera[`camera.${id}.latency_ms`] = c.status.latency_ms;
        perCamera[`camera.${id}.last_frame_ts`] = c.status.last_frame_ts;
      }
      let resized = 0;
      for (const s of slots.values()) resized += s.model?.framesResized ?? 0;
      return {
        name: WORKER_NAME,
        state: state === 'running' && allFailed() ? 'failed' : state,
        lag: loop.lag(),
        processed,
        dead_lettered: deadLettered,
        last_error: failed.length > 0 && lastError === '' ? failed[0]!.error : lastError,
        counters: {
          ...counters,
          frames_resized: resized,
          cameras: cameras.size,
          models_ready: [...slots.values()].filter((s) => s.state === 'ready').length,
          models_failed: failed.length,
          outbox_pending: outbox.size,
          ...perCamera,
        },
      };
    },
    stop: async () => {
      await loop.stop();
      stopped = true;
      signal();
      await Promise.all([...slots.values()].map((s) => s.loop ?? Promise.resolve()));
      await flushOutbox();
      for (const s of slots.values()) await s.model?.release().catch(() => undefined);
      state = 'stopped';
    },
  };
}

function splitKey(key: string): [string, string] {
  const at = key.indexOf(':');
  return at < 0 ? ['', key] : [key.slice(0, at), key.slice(at + 1)];
}
