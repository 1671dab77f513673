import { describe, expect, it } from 'vitest';
import { epochMsParam, idSegment, incidentStatusesParam, intParam } from './query-params.js';

const q = (s: string) => new URLSearchParams(s);

describe('query parameters', () => {
  it('uses the default when a parameter is absent or empty', () => {
    expect(intParam(q(''), 'limit', { min: 1, max: 10, default: 5 })).toBe(5);
    expect(intParam(q('limit='), 'limit', { min: 1, max: 10, default: 5 })).toBe(5);
    expect(epochMsParam(q(''), 'from')).toBeUndefined();
    expect(incidentStatusesParam(q(''), 'status')).toBeUndefined();
  });

  it('accepts statuses as a list or repeated, without duplicates', () => {
    expect(incidentStatusesParam(q('status=open,accepted&status=open'), 'status')).toEqual(['open', 'accepted']);
  });

  it('rejects non-integers, out-of-range values and seconds passed as milliseconds', () => {
    expect(() => intParam(q('limit=1.5'), 'limit', { min: 1, max: 10, default: 5 })).toThrow("expected an integer from 1 to 10; got '1.5'");
    expect(() => intParam(q('limit=11'), 'limit', { min: 1, max: 10, default: 5 })).toThrow("got '11'");
    expect(() => epochMsParam(q('to=1700000000'), 'to')).toThrow("query parameter 'to': expected epoch milliseconds");
  });

  it('decodes ids and rejects what no record id can be', () => {
    expect(idSegment('id', 'inc%3A1')).toBe('inc:1');
    expect(() => idSegment('id', '%E0%A4%A')).toThrow("path segment 'id': expected a URL-encoded id");
    expect(() => idSegment('id', 'a b')).toThrow("got 'a b'");
  });
});
