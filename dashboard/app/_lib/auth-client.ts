import type { ApiErrorBody } from '../../src/api-types.js';
import type { MeResponse } from '../../src/auth/auth-routes.js';

/*
 * The pages' side of the security layer. The session cookie is HttpOnly (scripts never see it);
 * what the page keeps is the session's CSRF token, from the login answer or GET /api/auth/me,
 * sent in X-CSRF-Token on every write. It lives in memory only: a reload asks /api/auth/me again.
 */

let csrfToken = '';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type MeResult = { kind: 'ok'; me: MeResponse } | { kind: 'anonymous' } | { kind: 'error'; message: string };

/** Who is logged in; 'anonymous' on 401 (the page then goes to /login). */
export async function fetchMe(): Promise<MeResult> {
  let res: Response;
  try {
    res = await fetch('/api/auth/me', { cache: 'no-store', credentials: 'same-origin' });
  } catch (e) {
    return { kind: 'error', message: e instanceof Error ? e.message : String(e) };
  }
  if (res.status === 401) return { kind: 'anonymous' };
  if (!res.ok) return { kind: 'error', message: `HTTP ${res.status}` };
  const me = (await res.json()) as MeResponse;
  csrfToken = me.csrf_token;
  return { kind: 'ok', me };
}

/** A JSON call with the session cookie and, for writes, the CSRF token; throws ApiError with the server's message. */
export async function api<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    cache: 'no-store',
    credentials: 'same-origin',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const parsed: unknown = text === '' ? undefined : JSON.parse(text);
  if (!res.ok) {
    const error = (parsed as Partial<ApiErrorBody> | undefined)?.error;
    throw new ApiError(res.status, error?.code ?? 'http', error?.message ?? `HTTP ${res.status}`);
  }
  const me = parsed as Partial<MeResponse> | undefined;
  if (typeof me?.csrf_token === 'string') csrfToken = me.csrf_token;
  return parsed as T;
}

export function login(loginName: string, password: string): Promise<MeResponse> {
  return api<MeResponse>('POST', '/api/auth/login', { login: loginName, password });
}

export function changePassword(current: string, next: string): Promise<MeResponse> {
  return api<MeResponse>('POST', '/api/auth/password', { current_password: current, new_password: next });
}

export async function logout(): Promise<void> {
  try {
    await api('POST', '/api/auth/logout', {});
  } finally {
    window.location.assign('/login');
  }
}

/** Where to go after login: the `next` the wall sent us with (same-site paths only), else by role. */
export function afterLoginPath(me: MeResponse): string {
  const next = new URLSearchParams(window.location.search).get('next');
  // Only a local path: an absolute URL here would make the login page an open redirect.
  if (next !== null && next.startsWith('/') && !next.startsWith('//')) return next;
  return me.user.role === 'admin' ? '/admin' : '/';
}

export type { MeResponse };
