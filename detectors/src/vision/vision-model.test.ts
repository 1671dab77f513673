import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BLUE, RED, paintFrame, type Square } from '../../test/vision/synthetic-frames.js';
import { buildSyntheticDetectorModel, type SyntheticModelOptions } from './synthetic-detector-model.js';
import { loadVisionModel, type VisionFrame, type VisionModel } from './vision-model.js';

/*
 * A REAL ONNX Runtime session on detector-shaped models generated in code: the output is a
 * deterministic function of the painted frame, so decoding, thresholds, NMS and the mapping back
 * to source coordinates are checked exactly, for each output format.
 */

const dir = mkdtempSync(join(tmpdir(), 'cityops-vision-model-'));
const loaded: VisionModel[] = [];
afterAll(async () => {
  await Promise.all(loaded.map((m) => m.release()));
});

function writeModel(name: string, o: SyntheticModelOptions): string {
  const path = join(dir, `${name}.onnx`);
  writeFileSync(path, buildSyntheticDetectorModel(o));
  return path;
}

async function load(config: Record<string, unknown>, log: string[] = []): Promise<VisionModel> {
  const m = await loadVisionModel(config, { log: (l) => log.push(l) });
  loaded.push(m);
  return m;
}

function frame(size: number, squares: readonly Square[]): VisionFrame {
  return {
    pixels: paintFrame(size, size, squares),
    width: size,
    height: size,
    scale: 1,
    padX: 0,
    padY: 0,
    sourceWidth: size,
    sourceHeight: size,
  };
}

const labels = ['person', 'car', 'bicycle'];

describe.each(['yolox', 'yolov5', 'yolov8'] as const)('%s output through a real ONNX Runtime session', (format) => {
  const path = writeModel(`${format}-dyn`, { format });

  it('decodes one box per painted cell, in source coordinates, with its class', async () => {
    const model = await load({ type: format, modelPath: path, labels, inputWidth: 64, inputHeight: 64 });
    expect(model.dynamicBatch).toBe(true);
    // Two frames in one batch: a red 8×8 square at cell (2, 3); a blue one at (5, 1).
    const run = model.infer([frame(64, [{ x: 16, y: 24, size: 8, color: RED }]), frame(64, [{ x: 40, y: 8, size: 8, color: BLUE }])]);
    const [a, b] = await run.done;
    expect(a).toHaveLength(1);
    expect(a![0]).toMatchObject({ className: 'person', classId: 0 });
    // Score: 0.98 (class) times 0.98 (objectness) where the format has objectness.
    expect(a![0]!.score).toBeCloseTo(format === 'yolov8' ? 0.981 : 0.963, 2);
    expect([a![0]!.x1, a![0]!.y1, a![0]!.x2, a![0]!.y2]).toEqual([16 / 64, 24 / 64, 24 / 64, 32 / 64]);
    expect(b).toHaveLength(1);
    expect(b![0]).toMatchObject({ className: 'car', x1: 40 / 64, y1: 8 / 64 });
  });

  it('maps boxes back through the letterbox the frame header describes', async () => {
    const model = await load({ type: format, modelPath: path, labels, inputWidth: 64, inputHeight: 64 });
    // A 128×64 source scaled by 0.5 into the top rows of the input, centred: pad_y 16.
    const f: VisionFrame = {
      ...frame(64, [{ x: 8, y: 16, size: 8, color: RED }]),
      scale: 0.5,
      padX: 0,
      padY: 16,
      sourceWidth: 128,
      sourceHeight: 64,
    };
    const [d] = await model.infer([f]).done;
    expect(d![0]).toMatchObject({ x1: 16 / 128, y1: 0, x2: 32 / 128, y2: 16 / 64 });
  });
});

describe('vision model thresholds, classes and batching', () => {
  const yolox = writeModel('yolox-dyn', { format: 'yolox' });

  it('applies per-class thresholds and the class allowlist', async () => {
    // Red at 200 scores about 0.62 (see the synthetic model), full red 0.98.
    const dim: Square = { x: 0, y: 0, size: 8, color: [200, 0, 0] };
    const full: Square = { x: 32, y: 32, size: 8, color: RED };
    const blue: Square = { x: 48, y: 8, size: 8, color: BLUE };
    const strict = await load({
      type: 'yolox',
      modelPath: yolox,
      labels,
      inputWidth: 64,
      inputHeight: 64,
      classThresholds: { person: 0.7 },
    });
    const [d1] = await strict.infer([frame(64, [dim, full, blue])]).done;
    expect(d1!.map((d) => d.className).sort()).toEqual(['car', 'person']);
    const carsOnly = await load({ type: 'yolox', modelPath: yolox, labels, inputWidth: 64, inputHeight: 64, classes: ['car'] });
    const [d2] = await carsOnly.infer([frame(64, [dim, full, blue])]).done;
    expect(d2!.map((d) => d.className)).toEqual(['car']);
  });

  it('runs a fixed-batch model frame by frame and says so', async () => {
    const fixed = writeModel('yolov8-fixed', { format: 'yolov8', dynamicBatch: false });
    const log: string[] = [];
    const model = await load({ type: 'yolov8', modelPath: fixed, labels, inputWidth: 64, inputHeight: 64, maxBatchSize: 4 }, log);
    expect(model.dynamicBatch).toBe(false);
    expect(model.batchSize).toBe(1);
    expect(model.maxFramesPerCall).toBe(1);
    expect(log.join('\n')).toMatch(/fixed batch of 1: frames are run one at a time/);
    expect(() => model.infer([frame(64, []), frame(64, [])])).toThrow(/expected 1…1 frames per infer\(\); got 2/);
    const out = await model.infer([frame(64, [{ x: 8, y: 0, size: 8, color: RED }])]).done;
    expect(out.map((d) => d[0]!.x1)).toEqual([8 / 64]);
  });

  it('runs as many batches at once as it has sessions, each on its own thread, each with its own results', async () => {
    const log: string[] = [];
    const model = await load(
      { type: 'yolox', modelPath: yolox, labels, inputWidth: 64, inputHeight: 64, sessions: 3, intraOpThreads: 1 },
      log,
    );
    expect(log.join('\n')).toMatch(/3 sessions on threads of their own, 1 intra-op thread each/);
    expect(model.sessions).toBe(3);
    expect(model.freeSlots).toBe(6);
    // Each session holds one batch running and one waiting.
    const runs = [0, 1, 2, 3, 4, 5].map((i) => model.infer([frame(64, [{ x: 8 * i, y: 8, size: 8, color: RED }])]));
    expect(model.freeSlots).toBe(0);
    expect(() => model.infer([frame(64, [])])).toThrow(/expected room on a session; all 3 hold 2 batches/);
    const boxes = await Promise.all(runs.map(async (r) => (await r.done)[0]!.map((d) => d.x1)));
    expect(boxes).toEqual([0, 1, 2, 3, 4, 5].map((i) => [(8 * i) / 64]));
    expect(model.freeSlots).toBe(6);
  });

  it("leaves the caller's pixels intact: a Buffer's memory (a bus message) is copied to the thread, not moved", async () => {
    const model = await load({ type: 'yolox', modelPath: yolox, labels, inputWidth: 64, inputHeight: 64 });
    const f = frame(64, [{ x: 8, y: 8, size: 8, color: RED }]);
    // Pixels as the bus hands them over: a Buffer view inside a larger message.
    const message = Buffer.concat([Buffer.from('header'), Buffer.from(f.pixels)]);
    const pixels = message.subarray(6);
    const [d] = await model.infer([{ ...f, pixels }]).done;
    expect(d!.map((x) => x.className)).toEqual(['person']);
    expect(message.byteLength).toBe(6 + 64 * 64 * 3);
    expect(message.subarray(0, 6).toString()).toBe('header');
  });

  it('resizes a frame that is not the input size, and still maps boxes to the source', async () => {
    const model = await load({ type: 'yolox', modelPath: yolox, labels, inputWidth: 64, inputHeight: 64 });
    // A 128×128 frame (a camera source set up for another model): halved to 64×64.
    const [d] = await model.infer([frame(128, [{ x: 32, y: 64, size: 16, color: RED }])]).done;
    expect(model.framesResized).toBe(1);
    expect(d![0]).toMatchObject({ x1: 32 / 128, y1: 64 / 128, x2: 48 / 128, y2: 80 / 128 });
  });

  it('falls back to cpu with a log line when the configured provider cannot start', async () => {
    const log: string[] = [];
    const model = await load({ type: 'yolox', modelPath: yolox, labels, inputWidth: 64, inputHeight: 64, executionProvider: 'cuda' }, log);
    expect(model.provider).toBe('cpu');
    expect(log[0]).toMatch(/execution provider 'cuda' could not start \(.+\); falling back to cpu/);
  });
});

describe('a model that does not match its declared type', () => {
  it('names what the type expects and what the file has', async () => {
    const v8 = writeModel('v8-for-mismatch', { format: 'yolov8' });
    await expect(
      loadVisionModel({ type: 'yolox', modelPath: v8, labels, inputWidth: 64, inputHeight: 64 }, { log: () => {} }),
    ).rejects.toThrow(
      /declared type 'yolox', which expects output \[N, 84, 8\].*the file's output 'output' is \[N, 7, 84\] \(that looks like \[N, 4 \+ C, anchors\]: type 'yolov8'\)/,
    );
    const x = writeModel('x-for-mismatch', { format: 'yolox' });
    await expect(
      loadVisionModel({ type: 'yolov8', modelPath: x, labels, inputWidth: 64, inputHeight: 64 }, { log: () => {} }),
    ).rejects.toThrow(
      /expects output \[N, 7, anchors\].*is \[N, 84, 8\] \(that looks like \[N, anchors, 5 \+ C\]: type 'yolox' or 'yolov5'\)/,
    );
    await expect(
      loadVisionModel({ type: 'yolox', modelPath: x, labels, inputWidth: 416, inputHeight: 416 }, { log: () => {} }),
    ).rejects.toThrow(/expected input 'images' float32 \[N, 3, 416, 416\]; the file has float32 \[N, 3, 64, 64\]/);
    await expect(
      loadVisionModel({ type: 'yolox', modelPath: x, labels: ['a', 'b'], inputWidth: 64, inputHeight: 64 }, { log: () => {} }),
    ).rejects.toThrow(/with 2 labels, none of the supported layouts fits/);
  });

  it('says which file is missing', async () => {
    await expect(loadVisionModel({ type: 'yolox', modelPath: join(dir, 'nope.onnx'), labels }, { log: () => {} })).rejects.toMatchObject({
      code: 'start-failed',
      message: expect.stringMatching(/expected an ONNX model file at .*nope\.onnx: ENOENT/) as unknown,
    });
  });
});
