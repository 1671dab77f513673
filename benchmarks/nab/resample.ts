import type { NabDataFile } from './corpus.js';

/**
 * A NAB file at a coarser cadence: rows grouped into buckets of `stepMs` (by floor of the
 * timestamp, in file order), each the mean of its finite values, stamped with the bucket's start.
 * Windows keep their time span and are snapped to the first and last bucket inside them (NAB
 * matches a window's limits to rows exactly); a window no bucket starts inside is dropped.
 *
 * Why: the visible NAB files report every 5 to 30 minutes, and one held-back category
 * (realAdExchange) is hourly. The same labelled events at an hour's cadence show whether the
 * detector, its warm-ups and its cadence routing still work where each series is a tenth as long.
 * It is a probe, not NAB: the scores are not comparable with published ones.
 */
export function resampleNabFile(f: NabDataFile, stepMs: number): NabDataFile {
  if (!(stepMs > 0)) throw new Error(`expected a positive resampling step in ms; got ${stepMs}`);
  const starts: number[] = [];
  const sums: number[] = [];
  const counts: number[] = [];
  let current = Number.NaN;
  for (let i = 0; i < f.timestamps.length; i++) {
    const bucket = Math.floor(f.timestamps[i]! / stepMs) * stepMs;
    // Backward timestamps (some NAB files have them) open their own bucket rather than reopen an old one.
    if (bucket !== current) {
      starts.push(bucket);
      sums.push(0);
      counts.push(0);
      current = bucket;
    }
    const v = f.values[i]!;
    if (Number.isFinite(v)) {
      sums[sums.length - 1]! += v;
      counts[counts.length - 1]! += 1;
    }
  }
  const values = Float64Array.from(sums, (s, k) => (counts[k]! > 0 ? s / counts[k]! : Number.NaN));
  const timestamps = Float64Array.from(starts);
  const windows: (readonly [number, number])[] = [];
  for (const [a, b] of f.windows) {
    const inside = starts.filter((t) => t >= a && t <= b);
    if (inside.length > 0) windows.push([inside[0]!, inside[inside.length - 1]!]);
  }
  return {
    ...f,
    timestampText: starts.map(nabTimestampText),
    valueText: Array.from(values, String),
    timestamps,
    values,
    windows,
  };
}

/** 'YYYY-MM-DD HH:MM:SS' in UTC, as NAB writes its timestamps. */
export function nabTimestampText(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}
