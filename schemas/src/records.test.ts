import { describe, expect, it } from 'vitest';
import { SensorReading, EarlyWarning, Department } from './records.js';
import { validator } from './validate.js';
import { decodeRecord, encodeRecord, decodeFrame, encodeFrame } from './codec.js';
import { readingDomainErrors } from './domain-checks.js';
import { stableId } from './ids.js';

const reading = {
  id: 'r1',
  schema_version: 1,
  sensor_id: 's-001',
  kind: 'water_level',
  ts: 1_767_225_600_000,
  value: 12.5,
  unit: 'cm',
} as const;

describe('SensorReading contract', () => {
  it('accepts a well-formed reading', () => {
    expect(validator(SensorReading).check(reading)).toBe(true);
  });

  it('names each bad field with what was expected and what came', () => {
    const errors = validator(SensorReading).errors({ ...reading, value: 'high', ts: 1_767_225_600 });
    const byPath = new Map(errors.map((e) => [e.path, e.message]));
    expect(byPath.get('/value')).toMatch(/number.*got "high"/i);
    expect(byPath.get('/ts')).toMatch(/got 1767225600/);
  });

  it('rejects unknown fields so typos do not pass silently', () => {
    expect(
      validator(SensorReading)
        .errors({ ...reading, vaule: 1 })
        .map((e) => e.path),
    ).toContain('/vaule');
  });

  it('flags values outside the physical range of the kind and wrong units', () => {
    const errs = readingDomainErrors({ ...reading, value: 5000, unit: 'm' });
    expect(errs.map((e) => e.path).sort()).toEqual(['/unit', '/value']);
    expect(errs.find((e) => e.path === '/value')?.message).toContain('-50…1000 cm');
  });
});

describe('Department contract', () => {
  const department = { id: 'dept.water', schema_version: 1, name_zh: '市水务局', name_en: 'Water Authority' } as const;

  it('still accepts a v1 department written before stations and units existed', () => {
    expect(validator(Department).errors(department)).toEqual([]);
  });

  it('accepts a station position and a unit count', () => {
    expect(validator(Department).errors({ ...department, lon: 121.45, lat: 31.2, units: 6 })).toEqual([]);
  });

  it('refuses a station off the globe and a unit count that is not a whole number from 0 to 500', () => {
    const paths = (extra: object) =>
      validator(Department)
        .errors({ ...department, ...extra })
        .map((e) => e.path);
    expect(paths({ lon: 181, lat: -91 }).sort()).toEqual(['/lat', '/lon']);
    expect(paths({ units: 501 })).toEqual(['/units']);
    expect(paths({ units: 2.5 })).toEqual(['/units']);
    expect(paths({ units: -1 })).toEqual(['/units']);
  });
});

describe('record codec', () => {
  it('round-trips a record through bytes', () => {
    const back = decodeRecord(SensorReading, encodeRecord(reading));
    expect(back).toEqual({ ok: true, value: reading });
  });

  it('turns bad bytes into a reason instead of throwing', () => {
    const notJson = decodeRecord(SensorReading, new TextEncoder().encode('{nope'));
    expect(notJson.ok).toBe(false);
    if (!notJson.ok) expect(notJson.reason).toMatch(/expected JSON/);
    const wrongShape = decodeRecord(EarlyWarning, encodeRecord(reading));
    expect(wrongShape.ok).toBe(false);
    if (!wrongShape.ok) expect(wrongShape.reason).toMatch(/not a valid EarlyWarning/);
  });

  it('carries frames as raw bytes and checks their size against the header', () => {
    const header = {
      id: 'f1',
      schema_version: 1,
      camera_id: 'cam-1',
      ts: 1_767_225_600_000,
      seq: 0,
      width: 4,
      height: 2,
      pixel_format: 'rgb24',
      source_width: 8,
      source_height: 4,
      scale: 0.5,
      pad_x: 0,
      pad_y: 0,
    } as const;
    const pixels = new Uint8Array(4 * 2 * 3).map((_, i) => i);
    const msg = encodeFrame(header, pixels);
    const ok = decodeFrame(msg.headers, msg.value);
    expect(ok.ok && ok.value.pixels).toEqual(pixels);
    const short = decodeFrame(msg.headers, pixels.subarray(1));
    expect(short.ok).toBe(false);
    if (!short.ok) expect(short.reason).toMatch(/expected 4×2×3 = 24 bytes.*got 23/);
  });
});

describe('stableId', () => {
  it('is deterministic and separates its parts', () => {
    expect(stableId('s-1', 1000)).toBe(stableId('s-1', 1000));
    expect(stableId('ab', 'c')).not.toBe(stableId('a', 'bc'));
    expect(stableId('x')).toMatch(/^[0-9a-f]{16}$/);
  });
});
