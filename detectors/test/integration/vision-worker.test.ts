import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createInProcessBus, type Bus, type IncomingMessage } from '@cityops/bus';
import {
  DEFAULT_PARTITIONS,
  EarlyWarning as EarlyWarningSchema,
  TOPICS,
  VisionDetection as VisionDetectionSchema,
  decodeRecord,
  decodeSnapshot,
  encodeDimension,
  type EarlyWarning,
  type VisionDetection,
} from '@cityops/schemas';
import { buildSyntheticDetectorModel, startVisionWorker, type VisionWorker } from '../../src/index.js';
import { RED, frameMessage, type Square } from '../vision/synthetic-frames.js';

/*
 * The vision worker end to end on the in-process bus with a REAL ONNX Runtime session on a
 * generated model (see synthetic-detector-model.ts): frames in, tracked detections, anomalies,
 * warnings and dead letters out, read back through consumers as downstream roles would.
 */

const T0 = Date.now();
const dir = mkdtempSync(join(tmpdir(), 'cityops-vision-worker-'));
const modelPath = join(dir, 'yolox-synthetic.onnx');
// Boxes two cells wide, centred on the painted cell: a square moving one cell per frame overlaps its last box.
writeFileSync(modelPath, buildSyntheticDetectorModel({ format: 'yolox', boxCells: 2 }));
const model = { type: 'yolox', modelPath, labels: ['person', 'car', 'bicycle'], inputWidth: 64, inputHeight: 64 };
const zone = {
  id: 'yard',
  name: 'Yard',
  polygon: [
    [0, 0.5],
    [1, 0.5],
    [1, 1],
    [0, 1],
  ],
};

const workers: VisionWorker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
});

async function busWithTopics(): Promise<Bus> {
  const bus = createInProcessBus();
  await bus.ensureTopics(Object.values(TOPICS).map((name) => ({ name, partitions: DEFAULT_PARTITIONS[name] })));
  return bus;
}

async function start(bus: Bus, extra: Record<string, unknown> = {}, log: string[] = []): Promise<VisionWorker> {
  const worker = await startVisionWorker({
    bus,
    config: { models: { default: model }, dimensionsCatchUpTimeoutMs: 500, maxFrameAgeMs: 60_000, ...extra },
    log: (l) => log.push(l),
  });
  workers.push(worker);
  return worker;
}

/** Collects a topic from now on. */
function collect(bus: Bus, topic: string): { messages: IncomingMessage[]; ready: Promise<void> } {
  const messages: IncomingMessage[] = [];
  const consumer = bus.consumer({ groupId: `test-${topic}-${Math.random()}`, topics: [topic], fromBeginning: true });
  const ready = consumer.run((batch) => {
    messages.push(...batch.messages);
    return Promise.resolve();
  });
  return { messages, ready };
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`expected ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Sends frames one at a time, each after the worker has processed the one before (no drops). */
async function feed(
  bus: Bus,
  worker: VisionWorker,
  cameraId: string,
  frames: readonly (readonly Square[])[],
  stepMs = 200,
  from = 0,
): Promise<void> {
  const producer = bus.producer();
  for (let k = 0; k < frames.length; k++) {
    const before = worker.cameras().find((c) => c.camera_id === cameraId)?.frames_out ?? 0;
    await producer.send(TOPICS.cameraFrames, [frameMessage(cameraId, T0 + (from + k) * stepMs, from + k, 64, frames[k]!)]);
    await waitFor(
      `frame ${k} of ${cameraId} processed`,
      () => (worker.cameras().find((c) => c.camera_id === cameraId)?.frames_out ?? 0) > before,
    );
  }
}

function decoded<T>(messages: readonly IncomingMessage[], schema: typeof VisionDetectionSchema | typeof EarlyWarningSchema): T[] {
  return messages.map((m) => {
    const r = decodeRecord(schema, m.value);
    if (!r.ok) throw new Error(r.reason);
    return r.value as T;
  });
}

describe('vision worker', () => {
  it('tracks a moving object with one id and fires an intrusion warning when it enters the zone', async () => {
    const bus = await busWithTopics();
    const detections = collect(bus, TOPICS.visionDetections);
    const warnings = collect(bus, TOPICS.warnings);
    const anomalies = collect(bus, TOPICS.anomalies);
    const snapshots = collect(bus, TOPICS.visionSnapshots);
    await Promise.all([detections.ready, warnings.ready, anomalies.ready, snapshots.ready]);
    const worker = await start(bus, {
      cameras: [
        {
          cameraId: 'cam-a',
          areaId: 'xuhui',
          location: { lon: 121.43, lat: 31.18 },
          zones: [zone],
          rules: [{ id: 'keep-out', type: 'intrusion', zone: 'yard' }],
          detectionSampleMs: 0,
        },
      ],
    });
    // A red 8×8 square walking down one cell (8 px) per frame: rows 0..7, 8..15, … 48..55.
    const frames = Array.from({ length: 7 }, (_, k) => [{ x: 24, y: 8 * k, size: 8, color: RED }]);
    await feed(bus, worker, 'cam-a', frames);
    await waitFor('a warning', () => warnings.messages.length >= 1);

    const dets = decoded<VisionDetection>(detections.messages, VisionDetectionSchema);
    // The first frame is tentative (minHits 2): six frames reported, all one track.
    expect(dets).toHaveLength(6);
    expect(new Set(dets.map((d) => d.track_id))).toEqual(new Set(['1']));
    expect(dets.map((d) => d.class_name)).toEqual(Array(6).fill('person'));
    expect(dets[0]!.model_version).toMatch(/^yolox\/yolox-synthetic\.onnx#[0-9a-f]{12}$/);
    // Last painted cell: x 24..31, y 48..55 → box 20..36 × 44..60 px (filtered by the tracker).
    expect(dets.at(-1)!.x1).toBeCloseTo(20 / 64, 1);
    expect(dets.at(-1)!.y2).toBeCloseTo(60 / 64, 1);

    const [w] = decoded<EarlyWarning>(warnings.messages, EarlyWarningSchema);
    // It enters where the bottom centre of its tracked box first crosses y = 0.5.
    const entering = dets.find((d) => d.y2 > 0.5)!;
    expect(w).toMatchObject({
      kind: 'intrusion',
      level: 'yellow',
      source_kind: 'camera',
      source_id: 'cam-a',
      area_id: 'xuhui',
      lon: 121.43,
      lat: 31.18,
      ts: entering.ts,
    });
    // The evidence: the anomaly, the detection, and a masked picture of the frame (never the raw one).
    await waitFor('a snapshot', () => snapshots.messages.length >= 1);
    const snap = decodeSnapshot(snapshots.messages[0]!.headers, snapshots.messages[0]!.value);
    if (!snap.ok) throw new Error(`expected a valid snapshot; ${snap.reason}`);
    expect(snap.value.header).toMatchObject({ camera_id: 'cam-a', warning_id: w!.id, format: 'png', masked: true, width: 64, height: 64 });
    expect(w!.evidence_ids).toEqual([anomaliesIds(anomalies.messages)[0], entering.id, snap.value.header.id]);
    const status = worker.cameras()[0]!;
    expect(status).toMatchObject({ camera_id: 'cam-a', frames_in: 7, frames_out: 7, frames_dropped: 0, warnings_emitted: 1 });
    expect(worker.health()).toMatchObject({ state: 'running', dead_lettered: 0 });
    expect(worker.health().counters).toMatchObject({
      frames_in: 7,
      frames_out: 7,
      warnings_emitted: 1,
      anomalies_emitted: 1,
      'camera.cam-a.frames_in': 7,
    });
  });

  it('keeps only the newest frame per camera under overload, and counts the dropped ones', async () => {
    const bus = await busWithTopics();
    const worker = await start(bus);
    const producer = bus.producer();
    // 30 frames in one send: far faster than inference; most are replaced before their turn.
    await producer.send(
      TOPICS.cameraFrames,
      Array.from({ length: 30 }, (_, k) => frameMessage('cam-b', T0 + k * 40, k, 64, [{ x: 8, y: 8, size: 8, color: RED }])),
    );
    await waitFor('all frames taken', () => {
      const c = worker.cameras().find((x) => x.camera_id === 'cam-b');
      return c !== undefined && c.frames_in === 30 && c.frames_out + c.frames_dropped === 30;
    });
    const c = worker.cameras().find((x) => x.camera_id === 'cam-b')!;
    expect(c.frames_dropped).toBeGreaterThan(0);
    expect(c.last_frame_ts).toBe(T0 + 29 * 40);
    expect(worker.health().counters.frames_dropped).toBe(c.frames_dropped);
  });

  it('dead-letters bad frames with the reason and keeps going', async () => {
    const bus = await busWithTopics();
    const dlq = collect(bus, TOPICS.deadLetters);
    await dlq.ready;
    const worker = await start(bus);
    const good = frameMessage('cam-c', T0, 0, 64, []);
    const header = JSON.parse(good.headers['cityops-frame']!) as Record<string, unknown>;
    await bus
      .producer()
      .send(TOPICS.cameraFrames, [
        { key: 'cam-c', value: new Uint8Array(10), headers: {} },
        { key: 'cam-c', value: new Uint8Array(10), headers: good.headers },
        { key: 'cam-c', value: new Uint8Array(10), headers: { 'cityops-frame': JSON.stringify({ ...header, pixel_format: 'jpeg' }) } },
        good,
      ]);
    await waitFor('three dead letters', () => dlq.messages.length >= 3);
    const reasons = dlq.messages.map((m) => (JSON.parse(new TextDecoder().decode(m.value)) as { reason: string }).reason);
    expect(reasons[0]).toMatch(/expected a 'cityops-frame' bus header/);
    expect(reasons[1]).toMatch(/expected 64×64×3 = 12288 bytes of rgb24; got 10/);
    expect(reasons[2]).toMatch(/expected rgb24 frames .*; got jpeg/);
    await waitFor('the good frame processed', () => worker.health().counters.frames_out === 1);
    expect(worker.health().dead_lettered).toBe(3);
  });

  it('adds, changes and removes cameras at run time, from the API and from city.dimensions', async () => {
    const bus = await busWithTopics();
    const warnings = collect(bus, TOPICS.warnings);
    await warnings.ready;
    const worker = await start(bus, { autoAddCameras: false });
    const producer = bus.producer();
    // Unknown camera, auto-add off: counted, not processed.
    await producer.send(TOPICS.cameraFrames, [frameMessage('cam-d', T0, 0, 64, [])]);
    await waitFor('an unconfigured frame', () => worker.health().counters.frames_unconfigured === 1);
    // A Camera record gives location and name; a config via the API adds rules.
    await producer.send(TOPICS.dimensions, [
      encodeDimension({
        name: 'Camera',
        record: {
          id: 'cam-d',
          schema_version: 1,
          area_id: 'minhang',
          name: 'Depot gate',
          url: 'rtsp://x',
          lon: 121.38,
          lat: 31.11,
          fps: 5,
        },
      }),
    ]);
    worker.setCamera({
      cameraId: 'cam-d',
      zones: [zone],
      rules: [{ id: 'crowd', type: 'crowd', zone: 'yard', levels: { blue: 2 }, holdMs: 0 }],
    });
    await waitFor('the Camera record', () => worker.cameras().length === 1);
    const two = [
      { x: 8, y: 40, size: 8, color: RED },
      { x: 40, y: 48, size: 8, color: RED },
    ];
    await feed(bus, worker, 'cam-d', [two, two], 200, 1);
    await waitFor('a crowd warning', () => warnings.messages.length === 1);
    const [w] = decoded<EarlyWarning>(warnings.messages, EarlyWarningSchema);
    expect(w).toMatchObject({ kind: 'crowd', area_id: 'minhang', lon: 121.38, lat: 31.11 });
    expect(w!.title).toContain('Depot gate');
    // Change the rule at run time: a threshold of 3 no longer fires for two people.
    worker.setCamera({
      cameraId: 'cam-d',
      zones: [zone],
      rules: [{ id: 'crowd', type: 'crowd', zone: 'yard', levels: { blue: 3 }, holdMs: 0 }],
    });
    expect(() =>
      worker.setCamera({ cameraId: 'cam-d', zones: [zone], rules: [{ id: 'x', type: 'crowd', zone: 'yard', classes: ['zebra'] }] }),
    ).toThrow(/the model has no class 'zebra'/);
    await feed(bus, worker, 'cam-d', [two, two], 200, 3);
    expect(warnings.messages).toHaveLength(1);
    expect(worker.removeCamera('cam-d')).toBe(true);
    await producer.send(TOPICS.cameraFrames, [frameMessage('cam-d', T0 + 5000, 9, 64, [])]);
    await waitFor('a second unconfigured frame', () => worker.health().counters.frames_unconfigured === 2);
    expect(worker.cameras()).toEqual([]);
  });

  it('stops analysing a camera an administrator retires, whatever configured it, and resumes when it returns to service', async () => {
    const bus = await busWithTopics();
    const worker = await start(bus);
    const producer = bus.producer();
    const camera = {
      id: 'cam-r',
      schema_version: 1 as const,
      area_id: 'minhang',
      name: 'Old gate',
      url: 'rtsp://x',
      lon: 121.38,
      lat: 31.11,
      fps: 5,
    };
    await producer.send(TOPICS.dimensions, [encodeDimension({ name: 'Camera', record: camera })]);
    worker.setCamera({ cameraId: 'cam-r', zones: [zone], rules: [] });
    await waitFor('the camera', () => worker.cameras().some((c) => c.camera_id === 'cam-r'));
    const retirement = (retired: boolean, ts: number) =>
      encodeDimension({
        name: 'Retirement',
        record: {
          id: 'Camera:cam-r',
          schema_version: 1,
          target: 'Camera',
          target_id: 'cam-r',
          retired,
          ts,
          reason: retired ? 'dismantled' : 'rebuilt',
        },
      });
    await producer.send(TOPICS.dimensions, [retirement(true, T0)]);
    await waitFor('the camera gone', () => worker.cameras().length === 0);
    // Its frames no longer bring it back, though auto-add is on.
    await producer.send(TOPICS.cameraFrames, [frameMessage('cam-r', T0 + 1000, 1, 64, [])]);
    await waitFor('the frame counted as unconfigured', () => worker.health().counters.frames_unconfigured === 1);
    expect(worker.cameras()).toEqual([]);
    await producer.send(TOPICS.dimensions, [retirement(false, T0 + 2000)]);
    await waitFor('the camera back', () => worker.cameras().some((c) => c.camera_id === 'cam-r'));
  });

  it('reports a model that fails to load as failed, without throwing, and recovers when it is fixed', async () => {
    const bus = await busWithTopics();
    const log: string[] = [];
    const worker = await start(bus, { models: { default: { ...model, modelPath: join(dir, 'missing.onnx') } } }, log);
    expect(worker.models()).toEqual([
      expect.objectContaining({
        name: 'default',
        state: 'failed',
        error: expect.stringMatching(/model 'default' failed to load: expected an ONNX model file at .*missing\.onnx/) as unknown,
      }),
    ]);
    expect(worker.health()).toMatchObject({ state: 'failed', last_error: expect.stringMatching(/missing\.onnx/) as unknown });
    expect(log.join('\n')).toMatch(/failed to load/);
    await bus.producer().send(TOPICS.cameraFrames, [frameMessage('cam-e', T0, 0, 64, [])]);
    await waitFor('a frame without a model', () => worker.health().counters.frames_no_model === 1);
    expect(worker.cameras()[0]!.last_error).toMatch(/missing\.onnx/);
    const status = await worker.setModel('default', model);
    expect(status).toMatchObject({ state: 'ready', provider: 'cpu', dynamic_batch: true });
    expect(worker.health().state).toBe('running');
    await bus.producer().send(TOPICS.cameraFrames, [frameMessage('cam-e', Date.now(), 1, 64, [])]);
    await waitFor('a frame processed', () => worker.health().counters.frames_out === 1);
  });
});

function anomaliesIds(messages: readonly IncomingMessage[]): string[] {
  return messages.map((m) => (JSON.parse(new TextDecoder().decode(m.value)) as { id: string }).id);
}
