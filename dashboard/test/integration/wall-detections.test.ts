import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessBus, type Bus } from '@cityops/bus';
import { TOPICS, encodeRecord, stableId, type VisionDetection } from '@cityops/schemas';
import type { DashboardServer, LiveCameraDetections } from '../../src/index.js';
import { createDashboardServer } from '../../src/index.js';
import { serveOnLocalhost, type ServedDashboard } from '../fixtures/serve.js';
import { addUser, ApiClient, createTestAuth, type TestAuth } from '../fixtures/auth.js';
import { BASEMAP, CAMERAS, createMemoryQueries } from '../fixtures/demo-city.js';
import { SseClient } from '../fixtures/sse-client.js';

/*
 * The live stream's `detections` event (no browser needed): the hub folds each camera's
 * vision.detections of its newest frame into counts per class, ignores objects of older frames,
 * and hands a wall that connects later what every camera saw last.
 */

function detection(cameraId: string, frameId: string, ts: number, className: string, n: number): VisionDetection {
  return {
    id: stableId('detection', frameId, className, n),
    schema_version: 1,
    camera_id: cameraId,
    frame_id: frameId,
    ts,
    class_name: className,
    score: 0.9,
    x1: 0,
    y1: 0,
    x2: 0.1,
    y2: 0.1,
    track_id: String(n),
    model_version: 'yolo-test@1',
  };
}

let bus: Bus;
let dashboard: DashboardServer;
let served: ServedDashboard;
let t: TestAuth;
let wall: ApiClient;
const open: SseClient[] = [];

beforeAll(async () => {
  bus = createInProcessBus();
  t = await createTestAuth();
  const { queries } = createMemoryQueries();
  dashboard = createDashboardServer({
    store: { queries },
    bus,
    basemap: BASEMAP,
    auth: t.auth,
    liveIntervalMs: 100,
    staticDir: join(tmpdir(), 'cityops-no-such-dir'),
    liveGroupId: `wall-detections-test-${Math.random().toString(36).slice(2)}`,
  });
  await dashboard.start();
  served = await serveOnLocalhost(dashboard);
  await addUser(t.auth, 'wall-1', 'wall');
  wall = await ApiClient.login(served.base, 'wall-1');
});

afterAll(async () => {
  for (const c of open) c.close();
  await served.close();
  await bus.close();
  await t.cleanup();
});

const connect = async () => {
  const client = await SseClient.connect(`${served.base}/api/stream?readings=packed`, { cookie: wall.cookie });
  open.push(client);
  return client;
};
/**
 * The cameras' counts as a wall holds them after the next `detections` events, merged until they
 * equal `expected` (the cameras' keys may land on different partitions, so in different flushes).
 */
async function countsUntil(client: SseClient, expected: Record<string, Record<string, number>>) {
  const held: Record<string, Record<string, number>> = {};
  while (JSON.stringify(Object.entries(held).sort()) !== JSON.stringify(Object.entries(expected).sort())) {
    const e = await client.next((x) => x.event === 'detections');
    for (const c of (JSON.parse(e.data) as LiveCameraDetections).cameras) held[c.camera_id] = c.counts;
  }
  return held;
}

describe('the live stream’s camera detections', () => {
  it('counts the newest frame per camera and sends it to walls connected then and later', async () => {
    const first = await connect();
    await first.next((e) => e.event === 'hello');
    const [cam0, cam1] = [CAMERAS[0]!, CAMERAS[1]!];
    const ts = Date.now();
    const records = [
      detection(cam0.id, 'a1', ts, 'car', 1),
      detection(cam0.id, 'a1', ts, 'car', 2),
      detection(cam0.id, 'a1', ts, 'person', 1),
      detection(cam1.id, 'b2', ts, 'bus', 1),
      // An older frame of camera 1, arriving late: ignored.
      detection(cam1.id, 'b1', ts - 1000, 'person', 1),
    ];
    await bus.producer().send(
      TOPICS.visionDetections,
      records.map((d) => ({ key: d.camera_id, value: encodeRecord(d) })),
    );
    // Never { person: 1 } for camera 1: the loop would wait for ever and the test time out.
    expect(await countsUntil(first, { [cam0.id]: { car: 2, person: 1 }, [cam1.id]: { bus: 1 } })).toBeDefined();

    // A newer frame replaces camera 0's counts.
    await bus
      .producer()
      .send(TOPICS.visionDetections, [{ key: cam0.id, value: encodeRecord(detection(cam0.id, 'a2', ts + 200, 'truck', 1)) }]);
    expect(JSON.parse((await first.next((e) => e.event === 'detections')).data)).toMatchObject({
      cameras: [{ camera_id: cam0.id, frame_id: 'a2', counts: { truck: 1 } }],
    });

    const later = await connect();
    // The connect-time event holds every camera at once.
    const replayed = JSON.parse((await later.next((e) => e.event === 'detections')).data) as LiveCameraDetections;
    expect(Object.fromEntries(replayed.cameras.map((c) => [c.camera_id, c.counts]))).toEqual({
      [cam0.id]: { truck: 1 },
      [cam1.id]: { bus: 1 },
    });
  });
});
