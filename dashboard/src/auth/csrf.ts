import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { DashboardError } from '../errors.js';

/*
 * CSRF defence, following the OWASP CSRF Prevention Cheat Sheet:
 * 1. Synchronizer token: every session gets its own random token; the page reads it from
 *    /api/auth/me (or the login answer) and sends it back in the X-CSRF-Token header on every
 *    state-changing call. Another site can make the browser send the cookie, but cannot read the
 *    token (same-origin policy) nor set a custom header without a CORS preflight we never grant.
 * 2. SameSite=Strict on the session cookie (sessions.ts) as defence in depth.
 * 3. Origin check: a browser sends Origin on every cross-origin POST; when it is there and names
 *    another host than the request's, the call is refused — this also covers the login form,
 *    which has no session (and so no token) yet.
 * API-key calls (ingest) carry no cookie and are exempt: CSRF rides on ambient credentials only.
 */

export const CSRF_HEADER = 'x-csrf-token';

/** 32 random bytes, base64url: as unguessable as the session id itself. */
export function generateCsrfToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time: the comparison must not leak how much of a guessed token was right. */
export function csrfTokenMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined || presented === '') return false;
  // Equal-length digests, so timingSafeEqual applies whatever the presented length.
  return timingSafeEqual(digest(expected), digest(presented));
}

/** Throws the 403 for a missing or wrong X-CSRF-Token header. */
export function assertCsrf(expected: string, headers: IncomingHttpHeaders, what: string): void {
  const raw = headers[CSRF_HEADER];
  const presented = Array.isArray(raw) ? raw[0] : raw;
  if (csrfTokenMatches(expected, presented)) return;
  throw new DashboardError(
    'csrf-failed',
    `${what}: expected the session's CSRF token in the X-CSRF-Token header (from GET /api/auth/me); got ${presented === undefined ? 'no header' : 'a token that does not match'}`,
  );
}

/** Throws the 403 when the browser says the request comes from another origin than the one it is sent to. */
export function assertSameOrigin(headers: IncomingHttpHeaders, what: string): void {
  const origin = headers.origin;
  if (origin === undefined || origin === '') return; // not a browser, or a same-origin GET
  const host = headers['x-forwarded-host'] ?? headers.host;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    originHost = origin;
  }
  if (originHost === host) return;
  throw new DashboardError(
    'csrf-failed',
    `${what}: expected a request from this site's own pages (origin host ${String(host)}); got origin ${origin.slice(0, 200)}`,
  );
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
