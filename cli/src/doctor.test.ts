import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readConfig } from './config.js';
import { runDoctor } from './doctor.js';

describe('cityops doctor', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cityops-doctor-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('reports the bus, the store, ffmpeg and every ONNX Runtime provider in plain words', async () => {
    const checks = await runDoctor(readConfig(['doctor'], { CITYOPS_DATA_DIR: dataDir, FFMPEG_PATH: '/nonexistent/ffmpeg' }));
    const byName = new Map(checks.map((c) => [c.name, c]));
    expect(byName.get('bus')).toMatchObject({ usable: true, detail: expect.stringContaining('in-process bus') as unknown });
    expect(byName.get('store')).toMatchObject({ usable: true, detail: expect.stringMatching(/answers, ClickHouse \d+\.\d+/) as unknown });
    expect(byName.get('ffmpeg')).toMatchObject({ usable: false, detail: expect.stringContaining('install ffmpeg') as unknown });
    expect(byName.get('ONNX Runtime cpu execution provider')?.usable).toBe(true);
    for (const ep of ['cuda', 'tensorrt', 'webgpu']) expect(byName.has(`ONNX Runtime ${ep} execution provider`)).toBe(true);
  });

  it('says plainly when a Kafka cluster does not answer', async () => {
    // Port 1 on loopback: nothing listens, so the connection is refused at once.
    const checks = await runDoctor(readConfig(['doctor'], { CITYOPS_DATA_DIR: dataDir, KAFKA_BROKERS: '127.0.0.1:1' }));
    expect(checks.find((c) => c.name === 'bus')).toMatchObject({
      usable: false,
      detail: expect.stringContaining('127.0.0.1:1 is not usable') as unknown,
    });
  });
});
