import type { HealthReport } from '@cityops/schemas';

/*
 * Per-camera health, read from the vision worker's counters in /api/health
 * (`camera.<id>.<figure>`), so the admin page shows what the platform's own health check
 * reports — no second source of truth to drift from it.
 */

export interface CameraHealthRow {
  camera_id: string;
  frames_in: number;
  frames_out: number;
  frames_dropped: number;
  decode_lag_ms: number;
  latency_ms: number;
  /** Epoch ms of the newest frame; 0 before the first. */
  last_frame_ts: number;
}

export type CameraState = 'live' | 'stale' | 'waiting';

/** A camera whose newest frame is older than this is shown as stale. */
export const CAMERA_STALE_AFTER_MS = 15_000;

const FIGURES = ['frames_in', 'frames_out', 'frames_dropped', 'decode_lag_ms', 'latency_ms', 'last_frame_ts'] as const;
type Figure = (typeof FIGURES)[number];
const isFigure = (name: string): name is Figure => (FIGURES as readonly string[]).includes(name);

/** The cameras of every vision worker in the report, sorted by id. */
export function cameraHealthRows(report: Pick<HealthReport, 'workers'>): CameraHealthRow[] {
  const rows = new Map<string, CameraHealthRow>();
  for (const worker of report.workers) {
    for (const [key, value] of Object.entries(worker.counters)) {
      if (!key.startsWith('camera.')) continue;
      const dot = key.lastIndexOf('.');
      const id = key.slice('camera.'.length, dot);
      const figure = key.slice(dot + 1);
      if (id === '' || !isFigure(figure)) continue;
      let row = rows.get(id);
      if (row === undefined) {
        row = { camera_id: id, frames_in: 0, frames_out: 0, frames_dropped: 0, decode_lag_ms: 0, latency_ms: 0, last_frame_ts: 0 };
        rows.set(id, row);
      }
      row[figure] = value;
    }
  }
  return [...rows.values()].sort((a, b) => a.camera_id.localeCompare(b.camera_id));
}

export function cameraState(row: CameraHealthRow, nowMs: number): CameraState {
  if (row.last_frame_ts === 0) return 'waiting';
  return nowMs - row.last_frame_ts > CAMERA_STALE_AFTER_MS ? 'stale' : 'live';
}
