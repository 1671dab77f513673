import { describe, expect, it } from 'vitest';
import { readingAt, readingColumnsOf, rememberReadingColumns, type ReadingColumns } from './reading-columns.js';
import { decodeRecords, recordBatchHeaders } from './record-batch.js';
import { SensorReading } from './records.js';
import { validator } from './validate.js';

const T0 = 1_767_225_600_000;

/** Four readings' columns, shared by two messages as a producer does; the third has an id of its own. */
const columns = (start: number, count: number): ReadingColumns => ({
  start,
  count,
  sensorIds: ['s-1', 's-2', 's-3', 's-4'],
  kinds: ['water_level', 'water_level', 'traffic_speed', 'power_load'],
  ts: [T0, T0 + 1, T0 + 2, T0 + 3],
  values: [1.5, -2, 40, 0],
  units: ['cm', 'cm', 'km/h', 'MW'],
  ids: [undefined, undefined, 'given-id', undefined],
});

describe('reading columns', () => {
  it('stand for records with derived ids where no id of their own was given', () => {
    const c = columns(0, 4);
    expect(readingAt(c, 0)).toEqual({
      id: `s-1@${T0}`,
      schema_version: 1,
      sensor_id: 's-1',
      kind: 'water_level',
      ts: T0,
      value: 1.5,
      unit: 'cm',
    });
    expect(readingAt(c, 2).id).toBe('given-id');
    expect(readingAt({ ...c, ids: undefined }, 2).id).toBe(`s-3@${T0 + 2}`);
    for (let i = 0; i < 4; i++) expect(validator(SensorReading).check(readingAt(c, i))).toBe(true);
  });

  it('give consumers that want records the message\u2019s own entries, built once and shared', () => {
    const bytes = new TextEncoder().encode('bytes a consumer of columns never parses');
    rememberReadingColumns(bytes, columns(2, 2));
    expect(readingColumnsOf(bytes)?.start).toBe(2);
    const headers = recordBatchHeaders('SensorReading', 2);
    const decoded = decodeRecords(SensorReading, headers, bytes);
    expect(decoded.failures).toEqual([]);
    expect(decoded.values.map((r) => r.id)).toEqual(['given-id', `s-4@${T0 + 3}`]);
    expect(decodeRecords(SensorReading, headers, bytes)).toBe(decoded);
  });

  it('are left only by a producer in this process: bytes from elsewhere have none', () => {
    expect(readingColumnsOf(new Uint8Array(4))).toBeUndefined();
  });
});
