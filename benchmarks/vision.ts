/**
 * bench:vision — the vision pipeline against the bare model, on a real clip.
 *
 *   node scripts/run-bench.mjs vision --model /work/shared/models/yolox_nano.onnx \
 *     --video /work/shared/data/video/traffic-motorway-cctv.mp4 [--type yolox] [--labels …] [--seconds 10]
 *
 * Without --model: the built-in default (NanoDet-g COCO converted from the TF.js model in
 * node_modules), what the worker runs when no model is configured.
 *
 * Three phases, one after another (one heavy thing at a time on a small machine):
 *   1. model_fps — bare ONNX Runtime sessions run back to back on a pre-made input tensor of the
 *      worker's batch size, on worker threads: as many sessions at once, with as many intra-op
 *      threads each, as the worker runs (laneShape), and one session on all cores; the faster of
 *      the two is the ceiling, so a worse shape chosen by the worker is not hidden.
 *   2. pipeline_fps — K ffmpeg camera sources (paced at the clip's native rate) → camera.frames on
 *      the in-process bus → the vision worker (HWC→NCHW, batched inference, decode + NMS on the
 *      sessions' threads; ByteTrack, rules) → detections, anomalies and warnings on the bus. Frames
 *      the worker completes per second, after a warm-up, at the best offered load of a ladder from
 *      0.5× to 1.3× the model's ceiling; pipeline_fps_overload is the 1.3× step.
 *   3. latency — N cameras at 5 fps each (N = 80% of what pipeline_fps allows), an intrusion
 *      rule on the lower half of the picture for people and vehicles (each one entering it is an
 *      event, on the motorway clip and on the pedestrian one alike): capture time (the camera source's clock when ffmpeg's frame arrived) to
 *      the warning arriving at a consumer of the warnings topic.
 * Figures: model_fps, pipeline_fps, cameras_per_core (pipeline_fps / 5 / cores), event latency
 * p50/p99, and ratio = pipeline_fps / model_fps, last.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createInProcessBus, type Bus } from '@cityops/bus';
import { DEFAULT_PARTITIONS, EarlyWarning, TOPICS, decodeRecord } from '@cityops/schemas';
import { startCameraSource, type CameraSource } from '@cityops/ingest';
import {
  defaultVisionModelConfig,
  laneShape,
  loadVisionModel,
  nanodetOnnxFromTfjsFile,
  parseVisionModelConfig,
  startVisionWorker,
  visionInputLayout,
  type VisionWorker,
} from '@cityops/detectors';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    video: { type: 'string' },
    type: { type: 'string' },
    labels: { type: 'string' },
    seconds: { type: 'string', default: '10' },
    provider: { type: 'string', default: 'cpu' },
  },
});
if (args.video === undefined) {
  console.error(
    'usage: node scripts/run-bench.mjs vision --video <clip> [--model <file.onnx> --type yolox|yolov5|yolov8|nanodet] [--labels <file>] [--seconds 10]',
  );
  process.exit(2);
}
const seconds = Number(args.seconds);
const modelConfig = parseVisionModelConfig(
  args.model === undefined
    ? { ...defaultVisionModelConfig(), executionProvider: args.provider }
    : {
        type: args.type ?? 'yolox',
        modelPath: args.model,
        labelsPath: args.labels ?? args.model.replace(/\.onnx$/, '.labels.txt'),
        executionProvider: args.provider,
      },
);
// The bare-session phase needs ONNX bytes: a TF.js model is converted as the worker converts it.
const modelBytes = modelConfig.modelPath.endsWith('.json')
  ? (await nanodetOnnxFromTfjsFile(modelConfig.modelPath, modelConfig.labels.length)).bytes
  : modelConfig.modelPath;
const layout = visionInputLayout(modelConfig);
const cores = availableParallelism();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const probe = spawnSync(
  'ffprobe',
  ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,avg_frame_rate', '-of', 'csv=p=0', args.video],
  { encoding: 'utf8' },
);
const [srcW, srcH, rate] = probe.stdout.trim().split(',');
const [num, den] = (rate ?? '25/1').split('/').map(Number) as [number, number];
const nativeFps = Math.min(60, num / (den || 1));
console.log(
  `model=${modelConfig.modelPath} type=${modelConfig.type} video=${args.video} source=${srcW}x${srcH}@${nativeFps.toFixed(2)} input=${layout.width}x${layout.height} cores=${cores}`,
);

// ---- 1. the bare model ------------------------------------------------------------------------
const probeModel = await loadVisionModel(modelConfig, { log: (l) => console.error(l) });
const batch = probeModel.batchSize;
const provider = probeModel.provider;
await probeModel.release();
const lanes = laneShape(modelConfig);
const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
/*
 * A bare session: back-to-back runs on one pre-made input tensor, on a worker thread (where the
 * vision worker runs its sessions too). Plain JS: threads started from a string load no TypeScript.
 */
const BARE_SESSION = `
const { parentPort, workerData: w } = require('node:worker_threads');
const ort = require(w.ortPath);
(async () => {
  const opts = { graphOptimizationLevel: 'all', executionProviders: [w.provider], interOpNumThreads: 1 };
  if (w.intra > 0) opts.intraOpNumThreads = w.intra;
  const s = await ort.InferenceSession.create(w.model, opts);
  const t = new ort.Tensor('float32', new Float32Array(w.batch * 3 * w.width * w.height).fill(w.fill), [w.batch, 3, w.height, w.width]);
  const feeds = { [s.inputNames[0]]: t };
  for (let i = 0; i < 5; i++) await s.run(feeds);
  parentPort.postMessage('warm');
  await new Promise((r) => parentPort.once('message', r));
  let runs = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < w.ms) { await s.run(feeds); runs++; }
  parentPort.postMessage({ runs, seconds: (performance.now() - t0) / 1000 });
  await s.release();
})();
`;
/**
 * Frames per second of `sessions` bare sessions running at once (each `intra` intra-op threads),
 * for `ms` after all are warm: the model's ceiling in the worker's shape.
 */
async function measureModel(ms: number, sessions: number, intra: number): Promise<number> {
  const workers = Array.from(
    { length: sessions },
    () =>
      new Worker(BARE_SESSION, {
        eval: true,
        workerData: {
          ortPath,
          model: modelBytes,
          provider,
          intra,
          batch,
          width: layout.width,
          height: layout.height,
          fill: 114 * layout.pixelScale,
          ms,
        },
      }),
  );
  const next = (w: Worker) => new Promise<unknown>((resolve, reject) => (w.once('message', resolve), w.once('error', reject)));
  await Promise.all(workers.map(next));
  const results = workers.map((w) => next(w) as Promise<{ runs: number; seconds: number }>);
  for (const w of workers) w.postMessage('go');
  let fps = 0;
  for (const r of await Promise.all(results)) fps += (r.runs * batch) / r.seconds;
  await Promise.all(workers.map((w) => w.terminate()));
  return fps;
}
/** The ceiling: the worker's shape, or one session on every core if that is faster here. */
async function modelCeiling(ms: number): Promise<{ fps: number; shaped: number; single: number }> {
  const shaped = await measureModel(ms, lanes.sessions, lanes.intraOpThreads);
  const single =
    lanes.sessions === 1
      ? shaped
      : await measureModel(ms, 1, modelConfig.intraOpThreads > 0 ? modelConfig.intraOpThreads * lanes.sessions : 0);
  return { fps: Math.max(shaped, single), shaped, single };
}
// Measured before and after the pipeline phases and the faster kept: on a shared machine the
// load of other processes changes between phases, and the ceiling should not be understated.
const before = await modelCeiling((seconds * 1000) / 2);
let modelFps = before.fps;
console.log(
  `batch=${batch} provider=${provider} sessions=${lanes.sessions} intra_op_threads=${lanes.intraOpThreads} ` +
    `model_fps_before=${before.fps.toFixed(1)} (worker shape ${before.shaped.toFixed(1)}, one session ${before.single.toFixed(1)})`,
);

// ---- shared set-up for phases 2 and 3 -------------------------------------------------------
async function pipeline(cameraCount: number, fps: number, withRule: boolean) {
  const bus: Bus = createInProcessBus();
  await bus.ensureTopics(Object.values(TOPICS).map((name) => ({ name, partitions: DEFAULT_PARTITIONS[name] })));
  const ids = Array.from({ length: cameraCount }, (_, i) => `bench-cam-${i}`);
  const worker: VisionWorker = await startVisionWorker({
    bus,
    log: (l) => console.error(l),
    config: {
      models: { default: modelConfig },
      cameras: ids.map((cameraId) => ({
        cameraId,
        location: { lon: 121.47, lat: 31.23 },
        zones: [
          {
            id: 'lower-half',
            polygon: [
              [0, 0.5],
              [1, 0.5],
              [1, 1],
              [0, 1],
            ],
          },
        ],
        rules: withRule ? [{ id: 'entry', type: 'intrusion', zone: 'lower-half', classes: ['person', 'car', 'truck', 'bus'] }] : [],
      })),
      dimensionsCatchUpTimeoutMs: 1000,
    },
  });
  const latencies: number[] = [];
  const warnings = bus.consumer({ groupId: `bench-warnings-${Date.now()}`, topics: [TOPICS.warnings], fromBeginning: false });
  await warnings.run((b) => {
    const now = Date.now();
    for (const m of b.messages) {
      const w = decodeRecord(EarlyWarning, m.value);
      if (w.ok) latencies.push(now - w.value.ts);
    }
    return Promise.resolve();
  });
  const sources: CameraSource[] = ids.map((id) =>
    startCameraSource({
      producer: bus.producer(),
      camera: { id, url: args.video!, fps },
      width: layout.width,
      height: layout.height,
      letterbox: layout.letterbox,
      clock: Date.now,
      realtime: true,
      loop: true,
    }),
  );
  const framesOut = () => worker.health().counters.frames_out ?? 0;
  return {
    worker,
    latencies,
    framesOut,
    async stop() {
      await Promise.all(sources.map((s) => s.stop()));
      await worker.stop();
      await warnings.stop();
      await bus.close();
    },
  };
}

// ---- 2. the pipeline's capacity -------------------------------------------------------------
/** Frames the worker completes per second with `cameras` cameras at `fps` each, after a warm-up. */
async function completedFps(cameras: number, fps: number, ms: number): Promise<{ fps: number; health: Record<string, number> }> {
  const run = await pipeline(cameras, fps, true);
  await sleep(2000);
  const f0 = run.framesOut();
  const p0 = performance.now();
  await sleep(ms);
  const completed = (run.framesOut() - f0) / ((performance.now() - p0) / 1000);
  const health = run.worker.health().counters;
  await run.stop();
  return { fps: completed, health };
}
// Live cameras cannot skip decoding: frames the worker has no room for are decoded, then dropped
// (newest wins), and that work comes out of the same cores. So the capacity is found on a ladder
// of offered loads, from half the model's ceiling up to 1.3× it, in finer steps where the knee
// usually is (0.8–0.95×): pipeline_fps is the most frames completed per second on any step, and
// the 1.3× step (pipeline_fps_overload) shows what overload costs. Each step has at least as many cameras as the batch (newest-frame-wins keeps
// one waiting frame per camera, so fewer would part-fill batches), each at most at the clip's
// rate; ffmpeg's fps filter thins a slower camera's frames before they are scaled.
const LADDER = [0.5, 0.65, 0.8, 0.85, 0.9, 0.95, 1.1, 1.3];
let pipelineFps = 0;
let overloadFps = 0;
const step = async (factor: number): Promise<{ fps: number }> => {
  const offeredFps = factor * modelFps;
  const cameras = Math.max(batch, Math.ceil(offeredFps / nativeFps));
  const perCamera = offeredFps / cameras;
  const { fps, health } = await completedFps(cameras, perCamera, (seconds * 1000) / 2);
  console.log(
    `pipeline_step offered_fps=${offeredFps.toFixed(1)} cameras=${cameras} camera_fps=${perCamera.toFixed(2)} completed_fps=${fps.toFixed(1)} ` +
      `dropped=${health.frames_dropped} stale=${health.frames_stale} detections=${health.detections_emitted} warnings=${health.warnings_emitted}`,
  );
  return { fps };
};
// Every step runs: on a shared machine one step can dip, and a dip is not the knee.
for (const factor of LADDER) {
  const { fps } = await step(factor);
  pipelineFps = Math.max(pipelineFps, fps);
  overloadFps = fps;
}

// ---- 3. event latency at 5 fps per camera ---------------------------------------------------
const n5 = Math.max(1, Math.floor((0.8 * pipelineFps) / 5));
const lat = await pipeline(n5, 5, true);
await sleep(3000);
lat.latencies.length = 0;
await sleep(Math.max(15, seconds) * 1000);
const latHealth = lat.worker.health().counters;
const sorted = [...lat.latencies].sort((a, b) => a - b);
await lat.stop();
const pct = (p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!);
const after = await modelCeiling((seconds * 1000) / 2);
modelFps = Math.max(modelFps, after.fps);
console.log(`model_fps_after=${after.fps.toFixed(1)} (worker shape ${after.shaped.toFixed(1)}, one session ${after.single.toFixed(1)})`);
console.log(
  `latency_cameras=${n5} latency_warnings=${sorted.length} latency_dropped=${latHealth.frames_dropped} latency_stale=${latHealth.frames_stale}`,
);

console.log(`model_fps=${modelFps.toFixed(1)}`);
console.log(`pipeline_fps_overload=${overloadFps.toFixed(1)}`);
console.log(`pipeline_fps=${pipelineFps.toFixed(1)}`);
console.log(`cameras_per_core=${(pipelineFps / 5 / cores).toFixed(2)}`);
console.log(`event_latency_p50_ms=${pct(0.5)}`);
console.log(`event_latency_p99_ms=${pct(0.99)}`);
console.log(`ratio=${(pipelineFps / modelFps).toFixed(3)}`);
