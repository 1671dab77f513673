import { describe, expect, it } from 'vitest';
import { JsonBytes, jsonPiece, quotedBytes } from './json-bytes.js';

function written(fill: (out: JsonBytes) => void, capacity = 64): string {
  const out = new JsonBytes(capacity);
  fill(out);
  return out.view(0, out.at).toString('utf8');
}

describe('JsonBytes', () => {
  it('fills a prepared line\u2019s two rooms for a timestamp with its 13 digits', () => {
    const line = jsonPiece('{"id":"s@0000000000000","ts":0000000000000,');
    expect(written((out) => out.lineWithTs(line, 1_767_225_600_123, 9, 29))).toBe('{"id":"s@1767225600123","ts":1767225600123,');
    expect(written((out) => out.lineWithTs(line, 4_102_444_800_000, 9, 29))).toBe('{"id":"s@4102444800000","ts":4102444800000,');
  });

  it('writes epoch milliseconds as JSON.stringify does', () => {
    for (const ts of [946_684_800_000, 1_767_225_600_000, 1_767_225_600_001, 1_700_000_000_000, 4_102_444_800_000, 1_000_099_999_999]) {
      expect(written((out) => out.epochMs(ts))).toBe(JSON.stringify(ts));
    }
  });

  it('writes every finite number as JSON.stringify does', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    const numbers = [
      0,
      -0,
      1,
      -1,
      9,
      10,
      99_999_999,
      100_000_000,
      1_767_225_600_000,
      2 ** 53 - 1,
      -(2 ** 53 - 1),
      2 ** 53,
      1e21,
      5e-324,
      -1e-7,
      0.1 + 0.2,
    ];
    for (let i = 0; i < 2000; i++) {
      numbers.push(Math.round(random() * 10 ** (i % 16)) * (i % 2 ? -1 : 1));
      numbers.push((random() - 0.5) * 10 ** ((i % 40) - 20));
      // A sensor's resolution: one or two decimals, the written-digit-by-digit path.
      numbers.push((Math.round(random() * 10 ** (i % 11)) / 100) * (i % 2 ? -1 : 1));
      numbers.push(Math.round(random() * 10 ** (i % 9)) / 10);
    }
    numbers.push(0.01, -0.01, 0.05, 0.5, 99.99, 1.15, 21_474_836.47, 21_474_836.48, -21_474_836.47, 10_000_000.01, 123_456_789.12);
    for (const n of numbers)
      expect(
        written((out) => out.number(n)),
        String(n),
      ).toBe(JSON.stringify(n));
  });

  it('keeps what was written when it outgrows its buffer, and quotes free text as UTF-8', () => {
    const id = 'sensor-'.repeat(18);
    const text = written((out) => {
      for (let i = 0; i < 50; i++) {
        out.raw(jsonPiece('{"id":"'));
        out.ascii(id);
        out.raw(jsonPiece('","unit":'));
        out.raw(quotedBytes('µg/m³ "x"\\'));
        out.byte(0x7d);
        out.byte(0x0a);
      }
    }, 8);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(50);
    for (const line of lines) expect(JSON.parse(line)).toEqual({ id, unit: 'µg/m³ "x"\\' });
  });
});
