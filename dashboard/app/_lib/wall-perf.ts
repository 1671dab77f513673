/*
 * What the wall measures about itself, for `npm run bench:dashboard` (benchmarks/dashboard.ts)
 * and for anyone who opens the console of a wall PC: `window.__cityopsPerf`. Recording is a
 * performance.now() pair per readings event and a counter per map frame, so it stays on in
 * production; the bench only reads it.
 */

/** How many readings events are remembered (two minutes at one a second). */
const KEEP = 120;

export interface WallPerf {
  /** Main-thread ms to apply each of the last readings events (decode + typed-array loop), oldest first. */
  readingsApplyMs: number[];
  /** Sensors in each of those events. */
  readingsCount: number[];
  /** performance.now() of the first map frame drawn with the city's sensors; null until then. */
  mapFirstFrameMs: number | null;
  /** Map frames drawn so far (deck.gl onAfterRender). */
  mapFrames: number;
}

export const wallPerf: WallPerf = { readingsApplyMs: [], readingsCount: [], mapFirstFrameMs: null, mapFrames: 0 };

if (typeof window !== 'undefined') (window as Window & { __cityopsPerf?: WallPerf }).__cityopsPerf = wallPerf;

export function recordReadingsApply(ms: number, count: number): void {
  wallPerf.readingsApplyMs.push(ms);
  wallPerf.readingsCount.push(count);
  if (wallPerf.readingsApplyMs.length > KEEP) {
    wallPerf.readingsApplyMs.shift();
    wallPerf.readingsCount.shift();
  }
}

export function recordMapFrame(sensorsDrawn: number): void {
  wallPerf.mapFrames++;
  if (wallPerf.mapFirstFrameMs === null && sensorsDrawn > 0) wallPerf.mapFirstFrameMs = performance.now();
}
