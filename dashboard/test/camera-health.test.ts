import { describe, expect, it } from 'vitest';
import { cameraHealthRows, cameraState } from '../app/_lib/camera-health.js';

const worker = (name: string, counters: Record<string, number>) => ({
  name,
  state: 'running' as const,
  lag: 0,
  processed: 0,
  dead_lettered: 0,
  last_error: '',
  counters,
});

describe('camera health from /api/health', () => {
  it("gathers each camera's figures from the vision worker's counters, ids with dots included", () => {
    const rows = cameraHealthRows({
      workers: [
        worker('sink', { rows_written_readings: 5 }),
        worker('vision', {
          cameras: 2,
          'camera.gate.3.frames_in': 120,
          'camera.gate.3.frames_out': 100,
          'camera.gate.3.frames_dropped': 20,
          'camera.gate.3.decode_lag_ms': 35,
          'camera.gate.3.latency_ms': 180,
          'camera.gate.3.last_frame_ts': 1_000,
          'camera.cam-a.frames_in': 0,
          'camera.cam-a.last_frame_ts': 0,
          'camera.cam-a.unknown_figure': 7,
        }),
      ],
    });
    expect(rows).toEqual([
      { camera_id: 'cam-a', frames_in: 0, frames_out: 0, frames_dropped: 0, decode_lag_ms: 0, latency_ms: 0, last_frame_ts: 0 },
      {
        camera_id: 'gate.3',
        frames_in: 120,
        frames_out: 100,
        frames_dropped: 20,
        decode_lag_ms: 35,
        latency_ms: 180,
        last_frame_ts: 1_000,
      },
    ]);
    expect(rows.map((r) => cameraState(r, 10_000))).toEqual(['waiting', 'live']);
    expect(cameraState(rows[1]!, 1_000 + 15_001)).toBe('stale');
  });
});
