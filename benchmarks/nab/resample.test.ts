import { describe, expect, it } from 'vitest';
import type { NabDataFile } from './corpus.js';
import { nabTimestampText, resampleNabFile } from './resample.js';
import { parseNabTimestamp } from './scoring.js';

const T0 = parseNabTimestamp('2015-01-01 00:00:00');
const MIN = 60_000;

function fiveMinuteFile(values: number[], windows: [number, number][]): NabDataFile {
  const timestamps = Float64Array.from(values, (_, i) => T0 + i * 5 * MIN);
  return {
    name: 'x/y.csv',
    category: 'x',
    file: 'y.csv',
    timestampText: Array.from(timestamps, nabTimestampText),
    valueText: values.map(String),
    timestamps,
    values: Float64Array.from(values),
    windows: windows.map(([a, b]) => [T0 + a * 5 * MIN, T0 + b * 5 * MIN] as const),
  };
}

describe('resampleNabFile', () => {
  it('averages the finite values of each bucket and stamps it with the bucket start', () => {
    const f = fiveMinuteFile([1, 2, 3, Number.NaN, 5, 6, 7, 8, 9, 10, 11, 12, 100], []);
    const r = resampleNabFile(f, 60 * MIN);
    expect(Array.from(r.values)).toEqual([(1 + 2 + 3 + 5 + 6 + 7 + 8 + 9 + 10 + 11 + 12) / 11, 100]);
    expect(r.timestampText).toEqual(['2015-01-01 00:00:00', '2015-01-01 01:00:00']);
    expect(r.valueText).toHaveLength(2);
  });

  it('snaps windows to the buckets inside them and drops a window no bucket starts in', () => {
    const values = Array.from({ length: 48 }, (_, i) => i);
    // Rows 10–30 span 00:50–02:30: buckets 01:00 and 02:00 start inside. Rows 37–40 (03:05–03:20) hold no bucket start.
    const r = resampleNabFile(
      fiveMinuteFile(values, [
        [10, 30],
        [37, 40],
      ]),
      60 * MIN,
    );
    expect(r.windows).toEqual([[T0 + 60 * MIN, T0 + 120 * MIN]]);
    expect(r.windows.every(([a, b]) => r.timestamps.includes(a) && r.timestamps.includes(b))).toBe(true);
  });

  it('keeps a backward timestamp in its own bucket, in file order', () => {
    const f = fiveMinuteFile([1, 2, 3], []);
    f.timestamps[2] = T0 - 60 * MIN;
    const r = resampleNabFile(f, 60 * MIN);
    expect(Array.from(r.timestamps)).toEqual([T0, T0 - 60 * MIN]);
    expect(Array.from(r.values)).toEqual([1.5, 3]);
  });

  it('refuses a step that is not positive', () => {
    expect(() => resampleNabFile(fiveMinuteFile([1], []), 0)).toThrow(/positive resampling step/);
  });
});
