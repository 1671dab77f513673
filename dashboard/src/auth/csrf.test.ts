import { describe, expect, it } from 'vitest';
import { DashboardError } from '../errors.js';
import { assertCsrf, assertSameOrigin, csrfTokenMatches, generateCsrfToken } from './csrf.js';

describe('CSRF token', () => {
  it('is 32 random bytes, different per session', () => {
    const a = generateCsrfToken();
    expect(Buffer.from(a, 'base64url')).toHaveLength(32);
    expect(generateCsrfToken()).not.toBe(a);
  });

  it('matches only the exact token, whatever the length presented', () => {
    const t = generateCsrfToken();
    expect(csrfTokenMatches(t, t)).toBe(true);
    expect(csrfTokenMatches(t, `${t}x`)).toBe(false);
    expect(csrfTokenMatches(t, t.slice(0, -1))).toBe(false);
    expect(csrfTokenMatches(t, '')).toBe(false);
    expect(csrfTokenMatches(t, undefined)).toBe(false);
  });

  it('refuses a missing or wrong X-CSRF-Token header with a 403 saying which', () => {
    const t = generateCsrfToken();
    expect(() => assertCsrf(t, { 'x-csrf-token': t }, 'POST /x')).not.toThrow();
    const missing = (() => {
      try {
        assertCsrf(t, {}, 'POST /x');
      } catch (e) {
        return e;
      }
    })() as DashboardError;
    expect(missing).toBeInstanceOf(DashboardError);
    expect(missing.httpStatus).toBe(403);
    expect(missing.message).toBe(
      "POST /x: expected the session's CSRF token in the X-CSRF-Token header (from GET /api/auth/me); got no header",
    );
    expect(() => assertCsrf(t, { 'x-csrf-token': 'forged' }, 'POST /x')).toThrow(/got a token that does not match/);
  });

  it('refuses a request whose Origin names another site', () => {
    expect(() => assertSameOrigin({ host: 'ops.city:3000', origin: 'http://ops.city:3000' }, 'POST /x')).not.toThrow();
    expect(() => assertSameOrigin({ host: 'ops.city:3000' }, 'POST /x')).not.toThrow();
    expect(() => assertSameOrigin({ host: 'ops.city:3000', origin: 'https://evil.example' }, 'POST /x')).toThrow(
      "POST /x: expected a request from this site's own pages (origin host ops.city:3000); got origin https://evil.example",
    );
    expect(() => assertSameOrigin({ host: 'ops.city:3000', origin: 'null' }, 'POST /x')).toThrow(/got origin null/);
  });
});
