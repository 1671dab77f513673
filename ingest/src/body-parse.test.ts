import { describe, expect, it } from 'vitest';
import { bodyFormat, locateJsonError, parseBody } from './body-parse.js';
import { IngestError } from './errors.js';

describe('locateJsonError', () => {
  it('returns null for valid JSON', () => {
    for (const text of ['[]', '{}', '[1, -2.5e3, "a\\u00e9\\n", true, false, null, {"a": [{}]}]', ' 7 ']) {
      expect(locateJsonError(text)).toBeNull();
    }
  });

  it('names line, column and what was expected', () => {
    const at = locateJsonError('[\n  {"a": 1},\n  {"b": 2,,}\n]');
    expect(at).toMatchObject({ line: 3, column: 11, expected: 'a double-quoted property name' });
    expect(locateJsonError('[1,}]')).toMatchObject({ line: 1, column: 4, offset: 3 });
    expect(locateJsonError('[1,2')).toMatchObject({ expected: "',' or ']' after an array element", found: 'the end of the input' });
    expect(locateJsonError('{"a" 1}')).toMatchObject({ expected: "':' after a property name" });
    expect(locateJsonError('[01]')?.expected).toBe("',' or ']' after an array element");
    expect(locateJsonError('["a\tb"]')?.expected).toMatch(/control characters/);
    expect(locateJsonError('[1] x')?.expected).toMatch(/end of the input/);
    expect(locateJsonError('[1.]')?.expected).toMatch(/digit after the decimal point/);
  });

  it('survives nesting deep enough to overflow a recursive parser', () => {
    const deep = '['.repeat(200_000) + ']'.repeat(199_999);
    expect(locateJsonError(deep)?.found).toBe('the end of the input');
  });

  it('agrees with JSON.parse on random mutations of a valid body', () => {
    const base = JSON.stringify([{ sensor_id: 's-1', kind: 'water_level', ts: 1_767_225_600_000, value: 12.5, tags: ['a', null, true] }]);
    let seed = 1;
    const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let i = 0; i < 2000; i++) {
      const pos = rand(base.length);
      const ch = '{}[],:"\\ 0a-.e'[rand(15)] ?? '';
      const text = base.slice(0, pos) + ch + base.slice(pos + rand(2));
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      expect(locateJsonError(text) === null, text).toBe(valid);
    }
  });
});

describe('bodyFormat', () => {
  it('follows the Content-Type, then sniffs the first character', () => {
    expect(bodyFormat('application/json; charset=utf-8', '{}')).toBe('json');
    expect(bodyFormat('application/x-ndjson', '[1]')).toBe('ndjson');
    expect(bodyFormat(undefined, '  \n[{}]')).toBe('json');
    expect(bodyFormat('text/plain', '{"a":1}\n{"a":2}')).toBe('ndjson');
  });
});

describe('parseBody', () => {
  it('treats one JSON object as a batch of one', () => {
    expect(parseBody('{"a":1}', 'json').records).toEqual([{ a: 1 }]);
  });

  it('rejects an empty body and non-record JSON', () => {
    expect(() => parseBody(' \n', 'json')).toThrow(/empty body/);
    expect(() => parseBody('42', 'json')).toThrowError(expect.objectContaining({ code: 'invalid-body' }) as Error);
  });

  it('says where malformed JSON breaks and hints at NDJSON', () => {
    try {
      parseBody('{"a":1}\n{"a":2}', 'json');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(IngestError);
      expect((e as IngestError).code).toBe('malformed-json');
      expect((e as IngestError).message).toMatch(/line 2, column 1.*application\/x-ndjson/);
    }
  });

  it('rejects only the bad NDJSON line and reports line numbers as indexes', () => {
    const parsed = parseBody('{"a":0}\n\n{"a":2}\n{"a":\n{"a":4}\r\n', 'ndjson');
    expect(parsed.records).toEqual([{ a: 0 }, { a: 2 }, { a: 4 }]);
    expect(parsed.preRejected).toHaveLength(1);
    expect(parsed.preRejected[0]).toMatchObject({ index: 3, payload: '{"a":' });
    expect(parsed.preRejected[0]!.reason).toMatch(/line 4 is not JSON/);
    expect([0, 1, 2].map((i) => parsed.indexOf?.(i))).toEqual([0, 2, 4]);
  });

  it('keeps identity indexes when every NDJSON line is good', () => {
    const parsed = parseBody('{"a":0}\n{"a":1}\n', 'ndjson');
    expect(parsed.indexOf).toBeUndefined();
    expect(parsed.records).toHaveLength(2);
  });
});

describe('CSV bodies (text/csv)', () => {
  it('reads a header and rows into records: numbers as numbers, ISO times as epoch ms, empty cells left out', () => {
    const text = 'indicator_id,ts,value\r\ncpi-yoy,1767225600000,2.1\n"pork, lean",2026-01-01T01:00:00Z,24.5\n\ncpi-yoy,1767232800000,\n';
    expect(bodyFormat('text/csv; charset=utf-8', text)).toBe('csv');
    const parsed = parseBody(text, 'csv');
    expect(parsed.records).toEqual([
      { indicator_id: 'cpi-yoy', ts: 1767225600000, value: 2.1 },
      { indicator_id: 'pork, lean', ts: Date.parse('2026-01-01T01:00:00Z'), value: 24.5 },
      // A missing observation: no value field, so the contract check names /value.
      { indicator_id: 'cpi-yoy', ts: 1767232800000 },
    ]);
    // Rows are named by their line in the file (the header is line 0; the blank line is skipped).
    expect([0, 1, 2].map((i) => parsed.indexOf?.(i))).toEqual([1, 2, 4]);
  });

  it('refuses a CSV body without a header row', () => {
    expect(() => parseBody('\n\n,,\n', 'csv')).toThrow(/expected CSV with a header row/);
  });
});
