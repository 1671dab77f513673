import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ByteTracker, loadVisionModel, type Detection, type VisionFrame, type VisionModel } from '../../src/index.js';

/*
 * The real YOLOX-Nano model on real camera clips (third-party data that is not in the
 * repository: see $CITYOPS_SHARED_DIR/models/README.md and data/video/README.md). Runs only when
 * CITYOPS_SHARED_DIR points at them and ffmpeg is on PATH; otherwise the suite is skipped with a
 * visible message — unless CITYOPS_REQUIRE_ALL_SUITES=1 (CI), where that is a failure.
 */

const shared = process.env.CITYOPS_SHARED_DIR;
const required = process.env.CITYOPS_REQUIRE_ALL_SUITES === '1';
const ffmpegPath = process.env.FFMPEG_PATH ?? 'ffmpeg';
const modelPath = shared === undefined ? '' : join(shared, 'models', 'yolox_nano.onnx');
const labelsPath = shared === undefined ? '' : join(shared, 'models', 'yolox_nano.labels.txt');
const clip = (name: string): string => (shared === undefined ? '' : join(shared, 'data', 'video', name));

const missing: string[] = [];
if (shared === undefined) missing.push('CITYOPS_SHARED_DIR is not set');
else {
  for (const f of [modelPath, labelsPath, clip('pedestrians-pets2009-s2l1.mp4'), clip('traffic-motorway-cctv.mp4')])
    if (!existsSync(f)) missing.push(`${f} does not exist`);
}
if (spawnSync(ffmpegPath, ['-hide_banner', '-version']).status !== 0) missing.push(`no ffmpeg at '${ffmpegPath}'`);
if (missing.length > 0 && !required) {
  console.warn(
    `\n[detectors] SKIPPING the real-model vision suite: ${missing.join('; ')}. Set CITYOPS_SHARED_DIR, or CITYOPS_REQUIRE_ALL_SUITES=1 to make this a failure.\n`,
  );
}

describe('prerequisites of the real-model vision suite', () => {
  it.runIf(required)('are present (CITYOPS_REQUIRE_ALL_SUITES=1)', () => {
    expect(missing, 'the real-model vision suite cannot run').toEqual([]);
  });
});

const SIZE = 416;

/** Decodes `count` frames at `fps` from a clip, letterboxed top-left into SIZE×SIZE rgb24 (YOLOX's layout). */
function decodeClip(path: string, fps: number, count: number): VisionFrame[] {
  const probe = spawnSync(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', path],
    { encoding: 'utf8' },
  );
  const [sourceWidth, sourceHeight] = probe.stdout.trim().split(',').map(Number) as [number, number];
  const scale = Math.min(SIZE / sourceWidth, SIZE / sourceHeight);
  const vf = `fps=${fps},scale=${SIZE}:${SIZE}:force_original_aspect_ratio=decrease,format=rgb24,pad=${SIZE}:${SIZE}:0:0:color=0x727272`;
  const r = spawnSync(
    ffmpegPath,
    ['-v', 'error', '-i', path, '-vf', vf, '-frames:v', String(count), '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    {
      maxBuffer: SIZE * SIZE * 3 * (count + 1),
    },
  );
  const bytes = SIZE * SIZE * 3;
  return Array.from({ length: Math.floor(r.stdout.length / bytes) }, (_, i) => ({
    pixels: new Uint8Array(r.stdout.buffer, r.stdout.byteOffset + i * bytes, bytes),
    width: SIZE,
    height: SIZE,
    scale,
    padX: 0,
    padY: 0,
    sourceWidth,
    sourceHeight,
  }));
}

async function detectAll(model: VisionModel, frames: readonly VisionFrame[]): Promise<Detection[][]> {
  const out: Detection[][] = [];
  for (const f of frames) out.push(...(await model.infer([f]).done));
  return out;
}

describe.skipIf(missing.length > 0)('YOLOX-Nano on real clips', () => {
  let model: VisionModel;
  afterAll(async () => {
    await model?.release();
  });

  it('loads, with a fixed batch of 1 and YOLOX layout', async () => {
    model = await loadVisionModel({ type: 'yolox', modelPath, labelsPath }, { log: () => {} });
    expect(model).toMatchObject({ dynamicBatch: false, batchSize: 1, provider: 'cpu' });
    expect(model.labels).toHaveLength(80);
    expect(model.version).toMatch(/^yolox\/yolox_nano\.onnx#695e750a5d57$/);
  });

  it('sees people in the pedestrians clip and tracks them with stable ids', async () => {
    const frames = decodeClip(clip('pedestrians-pets2009-s2l1.mp4'), 5, 25);
    expect(frames).toHaveLength(25);
    const dets = await detectAll(model, frames);
    const persons = dets.map((d) => d.filter((x) => x.className === 'person').length);
    // Every frame of this plaza has several people (the data README: 6.8 per frame on average).
    expect(persons.filter((n) => n >= 2).length).toBeGreaterThanOrEqual(20);
    const tracker = new ByteTracker();
    const hits = new Map<string, number>();
    dets.forEach((d, k) => {
      for (const t of tracker.update(d, 1_000_000 + k * 200).active) hits.set(t.id, (hits.get(t.id) ?? 0) + 1);
    });
    // Someone is followed with one id through most of the 5 s.
    expect(Math.max(...hits.values())).toBeGreaterThanOrEqual(15);
    for (const d of dets.flat()) {
      expect(d.x1).toBeGreaterThanOrEqual(0);
      expect(d.x2).toBeLessThanOrEqual(1);
      expect(d.y2).toBeGreaterThan(d.y1);
    }
  });

  it('sees cars in the motorway clip', async () => {
    const frames = decodeClip(clip('traffic-motorway-cctv.mp4'), 1, 10);
    const dets = await detectAll(model, frames);
    const cars = dets.map((d) => d.filter((x) => x.className === 'car').length);
    expect(cars.filter((n) => n >= 2).length).toBeGreaterThanOrEqual(8);
  });
});
