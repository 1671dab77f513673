import { describe, expect, it } from 'vitest';
import { encodeRecord, SCHEMA_HEADER } from './codec.js';
import { decodeRecords, RECORDS_HEADER, recordBatchHeaders, rememberDecodedRecords } from './record-batch.js';
import { SensorReading } from './records.js';

const T0 = 1_767_225_600_000;
const reading = (sensor: string, value: number) => ({
  id: `${sensor}@${T0}`,
  schema_version: 1 as const,
  sensor_id: sensor,
  kind: 'water_level' as const,
  ts: T0,
  value,
  unit: 'cm',
});
const ndjson = (lines: string[]): Uint8Array => new TextEncoder().encode(lines.join('\n'));

describe('decodeRecords', () => {
  it('reads a message without the records header as one record', () => {
    const r = reading('s-1', 3);
    expect(decodeRecords(SensorReading, { [SCHEMA_HEADER]: 'SensorReading@1' }, encodeRecord(r))).toEqual({ values: [r], failures: [] });
  });

  it('reads every line of a batch message in order', () => {
    const rs = [reading('s-1', 1), reading('s-2', 2), reading('s-3', 3)];
    const bytes = ndjson(rs.map((r) => JSON.stringify(r)));
    expect(decodeRecords(SensorReading, recordBatchHeaders('SensorReading', 3), bytes)).toEqual({ values: rs, failures: [] });
  });

  it('fails only the bad lines of a batch, naming each line and keeping its text', () => {
    const bytes = ndjson([JSON.stringify(reading('s-1', 1)), '{"sensor_id": "s-2"', JSON.stringify({ ...reading('s-3', 3), value: 'x' })]);
    const decoded = decodeRecords(SensorReading, { [RECORDS_HEADER]: '3' }, bytes);
    expect(decoded.values).toEqual([reading('s-1', 1)]);
    expect(decoded.failures.map((f) => f.line)).toEqual([1, 2]);
    expect(decoded.failures[0]!.reason).toMatch(/^expected JSON/);
    expect(decoded.failures[0]!.payload).toBe('{"sensor_id": "s-2"');
    expect(decoded.failures[1]!.reason).toMatch(/not a valid SensorReading: \/value/);
  });

  it('fails a batch that is not UTF-8 as a whole, without throwing', () => {
    const decoded = decodeRecords(SensorReading, { [RECORDS_HEADER]: '1' }, new Uint8Array([0xff, 0xfe, 0x0a]));
    expect(decoded.values).toEqual([]);
    expect(decoded.failures).toEqual([
      { line: 0, reason: expect.stringMatching(/not valid UTF-8/) as string, errors: [], payload: '<3 binary bytes>' },
    ]);
  });

  it('hands every consumer of the same bytes the one remembered decode', () => {
    const rs = [reading('s-1', 1), reading('s-2', 2)];
    const bytes = ndjson(rs.map((r) => JSON.stringify(r)));
    rememberDecodedRecords(bytes, SensorReading, rs);
    const headers = recordBatchHeaders('SensorReading', 2);
    const first = decodeRecords(SensorReading, headers, bytes);
    expect(first.values[0]).toBe(rs[0]);
    expect(decodeRecords(SensorReading, headers, bytes)).toBe(first);
  });
});
