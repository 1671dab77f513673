import { describe, expect, it } from 'vitest';
import { parseDateTime64 } from './row-decoder.js';
import { encodeTsv, msToDecimalSeconds } from './tsv-encoder.js';
import type { DeadLetter, EarlyWarning, SensorReading } from '@cityops/schemas';

const reading: SensorReading = {
  id: 'r1',
  schema_version: 1,
  sensor_id: 's-1',
  kind: 'water_level',
  ts: 1_767_225_600_123,
  value: 12.5,
  unit: 'cm',
};

describe('msToDecimalSeconds', () => {
  it('writes epoch ms as seconds with exactly three decimals', () => {
    expect(msToDecimalSeconds(1_767_225_600_123)).toBe('1767225600.123');
    expect(msToDecimalSeconds(1_767_225_600_005)).toBe('1767225600.005');
    expect(msToDecimalSeconds(1_767_225_600_050)).toBe('1767225600.050');
    expect(msToDecimalSeconds(946_684_800_000)).toBe('946684800.000');
    expect(msToDecimalSeconds(0)).toBe('0.000');
  });
});

describe('parseDateTime64', () => {
  it('reads ClickHouse simple DateTime64 text as UTC epoch ms', () => {
    expect(parseDateTime64('2026-01-01 00:00:00.123')).toBe(1_767_225_600_123);
    expect(parseDateTime64('2000-01-01 00:00:00.000')).toBe(946_684_800_000);
    expect(parseDateTime64('2026-01-01 00:00:00')).toBe(1_767_225_600_000);
  });
  it('says what it expected when the text is something else', () => {
    expect(() => parseDateTime64('1767225600.123')).toThrow(/expected a DateTime64 as 'YYYY-MM-DD hh:mm:ss.fff'; got "1767225600.123"/);
  });
});

describe('encodeTsv', () => {
  it('writes one line per row in column order', () => {
    expect(encodeTsv('readings', [reading, { ...reading, id: 'r2', value: -0.25 }]).toString()).toBe(
      'r1\t1\ts-1\twater_level\t1767225600.123\t12.5\tcm\nr2\t1\ts-1\twater_level\t1767225600.123\t-0.25\tcm\n',
    );
  });

  it('escapes tab, newline, CR and backslash in plain fields, and quotes in arrays', () => {
    const warning: EarlyWarning = {
      id: 'w',
      schema_version: 1,
      ts: 0,
      level: 'red',
      kind: 'crowd',
      area_id: '',
      source_kind: 'camera',
      source_id: 'c',
      lon: 0,
      lat: 0,
      title: 'x\ty\\n\r',
      reasons: ["it's\tbad", 'a\\b', 'line\nbreak'],
      score: 1,
      evidence_ids: [],
      produced_by: 'p',
      machine_made: false,
    };
    const text = encodeTsv('warnings', [warning]).toString();
    expect(text.split('\n')).toHaveLength(2);
    const fields = text.slice(0, -1).split('\t');
    expect(fields[10]).toBe('x\\ty\\\\n\\r');
    expect(fields[11]).toBe("['it\\'s\\tbad','a\\\\b','line\\nbreak']");
    expect(fields[13]).toBe('[]');
    expect(fields[15]).toBe('false');
  });

  it('writes DeadLetter.errors as an array of tuples', () => {
    const dl: DeadLetter = {
      id: 'd',
      schema_version: 1,
      ts: 1_000,
      source: 's',
      reason: 'r',
      errors: [{ path: '/a', message: "it's" }],
      payload: '',
      key: '',
    };
    expect(encodeTsv('dead_letters', [dl]).toString().split('\t')[5]).toBe("[('/a','it\\'s')]");
  });

  it('names the row, the column, what was expected and what came', () => {
    expect(() => encodeTsv('readings', [reading, { ...reading, ts: 1.5 }])).toThrow(
      'row 1 for readings.ts: expected epoch milliseconds (a non-negative integer); got number 1.5',
    );
    const missing: Partial<SensorReading> = { ...reading };
    delete missing.unit;
    expect(() => encodeTsv('readings', [missing as SensorReading])).toThrow(
      'row 0 for readings.unit: expected a string; got nothing (missing)',
    );
    expect(() => encodeTsv('readings', [{ ...reading, value: Number.NaN }])).toThrow(/expected a finite number; got number NaN/);
  });
});
