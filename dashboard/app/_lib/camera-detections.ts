import type { CameraDetectionSummary } from '../../src/live-protocol.js';

/** Classes named on a camera's badge; the rest are summed as "+N" (a badge is read from 5 m). */
const BADGE_CLASSES = 3;

/** "car 12 · person 3 · +2": the most frequent classes of the camera's newest frame first. */
export function detectionLabel(counts: CameraDetectionSummary['counts']): string {
  const sorted = Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const named = sorted.slice(0, BADGE_CLASSES).map(([name, n]) => `${name} ${n}`);
  const rest = sorted.slice(BADGE_CLASSES).reduce((sum, [, n]) => sum + n, 0);
  return rest > 0 ? [...named, `+${rest}`].join(' · ') : named.join(' · ');
}

/** Total objects in the frame. */
export function detectionTotal(counts: CameraDetectionSummary['counts']): number {
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}
