import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';
import { DetectorError } from '../errors.js';
import type { DecodeParams, Detection, FramePlacement } from './frame-decoder.js';
import type { ChannelOrder, LetterboxPlacement } from './model-config.js';

/**
 * An inference lane: one ONNX Runtime session on its own worker thread
 * (inference-lane-thread.ts), running the batches handed to it one after another.
 *
 * Why threads: onnxruntime-node executes run() synchronously on the calling thread, so on the
 * main thread every run stalls the bus, the HTTP server and the JS post-processing of the other
 * batches. Why several lanes: on a small CPU, k sessions of one intra-op thread each outrun one
 * session of k threads (yolox_nano on 2 cores: 2 × 1 thread ≈ 116 frames/s, 1 × 2 threads ≈ 88),
 * because a single session's threads meet at a barrier after every operator and any other work
 * on the machine stalls them all.
 */

/** What a lane thread is started with (its workerData). */
export interface LaneInit {
  bytes: Uint8Array;
  provider: string;
  /** Whether a provider that cannot start may fall back to cpu (the first lane decides for the rest). */
  allowCpuFallback: boolean;
  intraOpThreads: number;
}

/** How a lane's thread preprocesses, names and decodes: sent once, before the first run. */
export interface LaneConfig {
  modelName: string;
  inputName: string;
  outputName: string;
  width: number;
  height: number;
  channelOrder: ChannelOrder;
  pixelScale: number;
  letterbox: LetterboxPlacement;
  decode: DecodeParams;
  /** Shared memory the caller copies frames into: LANE_DEPTH slots of `batch` input-sized frames. */
  staging: SharedArrayBuffer;
}

/** A frame as a lane receives it: placed in staging memory, or (another size) its own copy. */
export interface LaneFrame extends FramePlacement {
  /** A frame that is not the input size travels as its own bytes (moved to the thread). */
  pixels: Uint8Array | undefined;
  /** Byte offset in staging when `pixels` is undefined. */
  stagedAt: number;
  width: number;
  height: number;
}

/** A frame handed to `run`: its rgb24 pixels, size and placement in the source picture. */
export interface LaneInputFrame extends FramePlacement {
  pixels: Uint8Array;
  width: number;
  height: number;
}

export type LaneRequest =
  | { type: 'configure'; config: LaneConfig }
  | {
      type: 'run';
      id: number;
      /** Frames in the input tensor: frames.length, or the model's fixed batch (padded with the last frame). */
      batch: number;
      frames: LaneFrame[];
    }
  | { type: 'release' };

export type LaneReply =
  | {
      type: 'ready';
      provider: string;
      /** Why the wanted provider could not start ('' when it did). */
      fallback: string;
      inputs: InferenceSession.ValueMetadata[];
      outputs: InferenceSession.ValueMetadata[];
    }
  | { type: 'failed'; message: string }
  | { type: 'done'; id: number; detections: Detection[][] }
  | { type: 'error'; id: number; message: string };

/**
 * Batches a lane holds at once: one running and one waiting, so the session starts the next run
 * as soon as one ends instead of waiting for the main thread to hear of it and answer.
 */
export const LANE_DEPTH = 2;

export interface InferenceLane {
  readonly provider: string;
  readonly fallback: string;
  readonly inputs: readonly InferenceSession.ValueMetadata[];
  readonly outputs: readonly InferenceSession.ValueMetadata[];
  /** Batches handed over and not finished (at most LANE_DEPTH). */
  readonly queued: number;
  /** Sets how frames are preprocessed and decoded, for at most `batch` frames a run. Once, before `run`. */
  configure(config: Omit<LaneConfig, 'staging'>, batch: number): void;
  /** Runs one batch after those queued before it; resolves to each frame's boxes, rejects with the runtime's reason. */
  run(frames: readonly LaneInputFrame[], batch: number): Promise<Detection[][]>;
  release(): Promise<void>;
}

/**
 * The thread's module: compiled .js beside this file, or (tests, benches, which run the sources)
 * the .ts source behind a two-line bootstrap that registers tsx's loader in the new thread first:
 * Node 20 does not carry the main thread's loader hooks or `--import` into workers.
 */
function threadEntry(): { entry: string | URL; eval: boolean } {
  const js = new URL('./inference-lane-thread.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { entry: js, eval: false };
  const ts = new URL('./inference-lane-thread.ts', import.meta.url).href;
  // tsx's ESM build of its API (the CommonJS one resolves its hooks from the wrong folder in a thread).
  const tsx = pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(ts)}); });`;
  return { entry: boot, eval: true };
}

/** Starts a lane and opens its session; rejects with the runtime's reason when the session cannot open. */
export function startInferenceLane(init: LaneInit): Promise<InferenceLane> {
  const { entry, eval: isEval } = threadEntry();
  // No V8 or process flags: threads refuse them (--max-semi-space-size and the like).
  const worker = new Worker(entry, { workerData: init, eval: isEval, execArgv: [] });
  return new Promise<InferenceLane>((resolve, reject) => {
    const pending = new Map<number, { resolve: (o: Detection[][]) => void; reject: (e: Error) => void }>();
    let staging: Uint8Array | undefined;
    let frameBytes = 0;
    let slotBytes = 0;
    let nextId = 1;
    let exited = false;
    let ready: Extract<LaneReply, { type: 'ready' }> | undefined;
    const fail = (message: string): void => {
      const all = [...pending.values()];
      pending.clear();
      for (const p of all) p.reject(new DetectorError('invalid-state', message));
    };
    worker.on('message', (reply: LaneReply) => {
      if (reply.type === 'ready') {
        ready = reply;
        resolve(lane);
      } else if (reply.type === 'failed') {
        void worker.terminate();
        reject(new Error(reply.message));
      } else {
        const p = pending.get(reply.id);
        if (p === undefined) return;
        pending.delete(reply.id);
        if (reply.type === 'done') p.resolve(reply.detections);
        else p.reject(new Error(reply.message));
      }
    });
    worker.on('error', (e) => {
      if (ready === undefined) reject(e);
      else fail(`inference thread failed: ${e.message}`);
    });
    worker.on('exit', (code) => {
      exited = true;
      if (ready === undefined) reject(new Error(`inference thread exited (code ${code}) before its session opened`));
      fail(`inference thread exited (code ${code}) during a run`);
    });
    const lane: InferenceLane = {
      get provider() {
        return ready!.provider;
      },
      get fallback() {
        return ready!.fallback;
      },
      get inputs() {
        return ready!.inputs;
      },
      get outputs() {
        return ready!.outputs;
      },
      get queued() {
        return pending.size;
      },
      configure(config, batch) {
        frameBytes = config.width * config.height * 3;
        slotBytes = frameBytes * batch;
        const memory = new SharedArrayBuffer(slotBytes * LANE_DEPTH);
        staging = new Uint8Array(memory);
        worker.postMessage({ type: 'configure', config: { ...config, staging: memory } } satisfies LaneRequest);
      },
      run(frames, batch) {
        if (exited) return Promise.reject(new DetectorError('invalid-state', 'expected a running inference thread; it has exited'));
        if (staging === undefined) return Promise.reject(new DetectorError('invalid-state', 'expected configure() before the first run'));
        if (pending.size >= LANE_DEPTH)
          return Promise.reject(new DetectorError('invalid-state', `expected room on this lane; it holds ${pending.size} batches`));
        if (frames.length * frameBytes > slotBytes)
          return Promise.reject(
            new DetectorError('invalid-argument', `expected at most ${slotBytes / frameBytes} frames a run; got ${frames.length}`),
          );
        const id = nextId++;
        // Runs finish in the order given and at most LANE_DEPTH are held, so when run `id` is
        // handed over, the one that last used slot id % LANE_DEPTH has finished with its pixels.
        const slot = (id % LANE_DEPTH) * slotBytes;
        const moved: ArrayBuffer[] = [];
        const laneFrames = frames.map((f, i): LaneFrame => {
          const { pixels, ...rest } = f;
          if (pixels.byteLength === frameBytes) {
            staging!.set(pixels, slot + i * frameBytes);
            return { ...rest, pixels: undefined, stagedAt: slot + i * frameBytes };
          }
          // Another size: its own copy, moved to the thread (never the caller's memory: a Buffer's
          // slice() is a view, and moving it would detach the bus's message).
          const copy = new Uint8Array(pixels);
          moved.push(copy.buffer);
          return { ...rest, pixels: copy, stagedAt: 0 };
        });
        return new Promise<Detection[][]>((res, rej) => {
          pending.set(id, { resolve: res, reject: rej });
          worker.postMessage({ type: 'run', id, batch, frames: laneFrames } satisfies LaneRequest, moved);
        });
      },
      async release() {
        if (exited) return;
        const gone = new Promise<void>((r) => worker.once('exit', () => r()));
        worker.postMessage({ type: 'release' } satisfies LaneRequest);
        // A thread stuck in a long run is not waited for beyond a few seconds.
        const timer = setTimeout(() => void worker.terminate(), 5000);
        await gone;
        clearTimeout(timer);
      },
    };
  });
}
