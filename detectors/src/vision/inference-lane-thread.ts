import { parentPort, workerData } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';
import { FrameDecoder, type Detection } from './frame-decoder.js';
import { letterboxNearest, rgb24ToPlanar, type FrameMapping } from './preprocess.js';
import type { LaneConfig, LaneInit, LaneReply, LaneRequest } from './inference-lane.js';

/*
 * The body of one inference lane: a worker thread that owns one ONNX Runtime session.
 *
 * onnxruntime-node runs a session synchronously on the thread that calls run(), so a session on
 * the main thread blocks everything else there (the bus, HTTP, tracking) for the whole run. Here
 * it blocks only this thread, which also does the per-frame work around the run: rgb24 → planar
 * float input before it, decoding and NMS after it. The main thread's share of a frame is one
 * copy of its pixels into the lane's staging memory.
 *
 * Imports stay minimal (ORT, preprocessing, decoding): this file is loaded once per lane.
 */

const init = workerData as LaneInit;
const port = parentPort!;

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const line = text.split('\n').find((l) => l.trim() !== '') ?? text;
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

async function open(): Promise<{ session: InferenceSession; provider: string; fallback: string }> {
  const ort = await import('onnxruntime-node');
  const base: InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    // Errors (3): a provider that cannot load is reported in plain words by the caller.
    logSeverityLevel: 3,
    ...(init.intraOpThreads > 0 ? { intraOpNumThreads: init.intraOpThreads } : {}),
    // One lane's run never waits on another's: no inter-op pool per session.
    interOpNumThreads: 1,
  };
  const wanted = init.provider;
  if (wanted === 'cpu') {
    return {
      session: await ort.InferenceSession.create(init.bytes, { ...base, executionProviders: ['cpu'] }),
      provider: 'cpu',
      fallback: '',
    };
  }
  try {
    // Fatal only while trying a GPU provider: its failure is reported in one plain line.
    const session = await ort.InferenceSession.create(init.bytes, { ...base, logSeverityLevel: 4, executionProviders: [wanted] });
    return { session, provider: wanted, fallback: '' };
  } catch (e) {
    if (!init.allowCpuFallback) throw e;
    const session = await ort.InferenceSession.create(init.bytes, { ...base, executionProviders: ['cpu'] });
    return { session, provider: 'cpu', fallback: firstLine(e) };
  }
}

async function main(): Promise<void> {
  let opened: Awaited<ReturnType<typeof open>>;
  try {
    opened = await open();
  } catch (e) {
    port.postMessage({ type: 'failed', message: firstLine(e) } satisfies LaneReply);
    return;
  }
  const { session, provider, fallback } = opened;
  const ort = await import('onnxruntime-node');
  port.postMessage({
    type: 'ready',
    provider,
    fallback,
    inputs: session.inputMetadata.map((m) => ({ ...m })),
    outputs: session.outputMetadata.map((m) => ({ ...m })),
  } satisfies LaneReply);

  let config: LaneConfig | undefined;
  let decoder: FrameDecoder | undefined;
  let staging: Uint8Array | undefined;
  let input = new Float32Array(0);
  let resized: Uint8Array | undefined;

  /** One run: the input buffer is reused, so runs go one after another. */
  const runOne = async (request: Extract<LaneRequest, { type: 'run' }>): Promise<LaneReply> => {
    const { id, batch, frames } = request;
    try {
      if (config === undefined || decoder === undefined || staging === undefined)
        throw new Error('expected the lane to be configured before its first run');
      const { width: W, height: H, channelOrder, pixelScale, letterbox } = config;
      const frameBytes = W * H * 3;
      const frameFloats = 3 * W * H;
      if (input.length < batch * frameFloats) input = new Float32Array(batch * frameFloats);
      const mappings: FrameMapping[] = [];
      // A fixed batch larger than the frames at hand is filled with the last frame (its output is ignored).
      for (let i = 0; i < batch; i++) {
        const k = Math.min(i, frames.length - 1);
        const f = frames[k]!;
        const pixels = f.pixels ?? staging.subarray(f.stagedAt, f.stagedAt + frameBytes);
        let mapping: FrameMapping = { scale: 1, padX: 0, padY: 0 };
        if (f.width === W && f.height === H) rgb24ToPlanar(pixels, W, H, input, i * frameFloats, channelOrder, pixelScale);
        else {
          resized ??= new Uint8Array(frameBytes);
          mapping = letterboxNearest(pixels, f.width, f.height, resized, W, H, letterbox);
          rgb24ToPlanar(resized, W, H, input, i * frameFloats, channelOrder, pixelScale);
        }
        if (i < frames.length) mappings.push(mapping);
      }
      const tensor = new ort.Tensor('float32', input.subarray(0, batch * frameFloats), [batch, 3, H, W]);
      const out = (await session.run({ [config.inputName]: tensor }))[config.outputName];
      if (out === undefined || !(out.data instanceof Float32Array)) {
        return {
          type: 'error',
          id,
          message: `expected float32 output '${config.outputName}'; got ${out === undefined ? 'none' : out.type}`,
        };
      }
      // Compose: model px = (source px · frame.scale + frame.pad) · m.scale + m.pad.
      const placements = frames.map((f, i) => {
        const m = mappings[i]!;
        return {
          scale: f.scale * m.scale,
          padX: f.padX * m.scale + m.padX,
          padY: f.padY * m.scale + m.padY,
          sourceWidth: f.sourceWidth,
          sourceHeight: f.sourceHeight,
        };
      });
      const detections: Detection[][] = decoder.decode(out.data, out.dims, placements);
      return { type: 'done', id, detections };
    } catch (e) {
      return { type: 'error', id, message: firstLine(e) };
    }
  };

  // Requests queue here: the caller may hand over the next batch while this one runs, so the
  // session never waits for the main thread between runs.
  let queue: Promise<unknown> = Promise.resolve();
  port.on('message', (request: LaneRequest) => {
    if (request.type === 'configure') {
      config = request.config;
      decoder = new FrameDecoder(request.config.decode, request.config.modelName);
      staging = new Uint8Array(request.config.staging);
    } else if (request.type === 'release') {
      queue = queue.then(() => session.release()).finally(() => port.close());
    } else {
      queue = queue.then(async () => port.postMessage(await runOne(request)));
    }
  });
}

void main();
