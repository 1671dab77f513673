import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Clock } from '@cityops/schemas';
import type { Principal } from './authorize.js';
import { generateCsrfToken } from './csrf.js';
import { readJsonFile, WriteQueue, writeJsonAtomic } from './json-file.js';

/*
 * Server-side sessions (OWASP Session Management Cheat Sheet): the cookie holds an opaque id of
 * 32 random bytes (256 bits; the sheet asks for at least 64 bits of entropy) and nothing else;
 * who it belongs to lives here. A new id is issued at every login (no session fixation), the
 * session ends on logout, on idle and absolute timeouts, and when an administrator disables or
 * changes the account. The map is keyed by SHA-256 of the id, so a heap dump or a debug print of
 * the store does not hand out usable cookies.
 *
 * People get an 8-hour idle timeout (a duty shift) and a 12-hour absolute one; 'wall' displays
 * run unattended for days, so their sessions are long-lived (30 days idle, 90 absolute) and their
 * cookie persists across a browser restart.
 *
 * With `persistPath`, sessions survive a platform restart: a wall display on the far side of the
 * room must come back by itself after an upgrade, not sit on the login page until someone walks
 * over with a keyboard. The file holds what the map holds — hashes of the ids, never the ids —
 * so reading it hands out no usable cookie. It is rewritten at once when a session starts or
 * ends and at most once a `persistIntervalMs` for idle clocks; at load, expired sessions and
 * those whose account has changed or gone (the caller's check) are dropped.
 */

export const SESSION_COOKIE = 'cityops_session';

export interface SessionOptions {
  clock: Clock;
  /** Idle timeout of people's sessions, in ms. Default 8 h. */
  idleTimeoutMs?: number;
  /** Absolute lifetime of people's sessions, in ms. Default 12 h. */
  absoluteTimeoutMs?: number;
  /** Idle timeout of 'wall' sessions, in ms. Default 30 days. */
  wallIdleTimeoutMs?: number;
  /** Absolute lifetime of 'wall' sessions, in ms. Default 90 days. */
  wallAbsoluteTimeoutMs?: number;
  /** Add `Secure` to the cookie: set when the platform is reached over https (a TLS proxy in front). Default false. */
  secureCookie?: boolean;
  /** File the sessions are kept in across restarts (see load()). Default: memory only. */
  persistPath?: string;
  /** Longest a session's idle clock goes unsaved, in ms. Default 60 000. */
  persistIntervalMs?: number;
}

/** The sessions file: its version, then the sessions as the map holds them. */
const SESSIONS_FILE_VERSION = 1;

export interface Session {
  /** SHA-256 of the id, hex: the key here, in rate limits and in the audit trail's detail. Never the id itself. */
  key: string;
  principal: Principal;
  csrfToken: string;
  /** The account must change its password before any other call. */
  mustChangePassword: boolean;
  createdAt: number;
  lastSeenAt: number;
  idleTimeoutMs: number;
  expiresAt: number;
  ip: string;
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly listeners = new Set<(session: Session) => void>();
  private readonly clock: Clock;
  private readonly idleMs: number;
  private readonly absoluteMs: number;
  private readonly wallIdleMs: number;
  private readonly wallAbsoluteMs: number;
  readonly secureCookie: boolean;
  private readonly persistPath: string | undefined;
  private readonly persistIntervalMs: number;
  private readonly writes = new WriteQueue();
  private persistTimer: NodeJS.Timeout | undefined;
  /** Idle clocks moved since the last save. */
  private touched = false;

  constructor(options: SessionOptions) {
    this.clock = options.clock;
    this.idleMs = options.idleTimeoutMs ?? 8 * 3_600_000;
    this.absoluteMs = options.absoluteTimeoutMs ?? 12 * 3_600_000;
    this.wallIdleMs = options.wallIdleTimeoutMs ?? 30 * 86_400_000;
    this.wallAbsoluteMs = options.wallAbsoluteTimeoutMs ?? 90 * 86_400_000;
    this.secureCookie = options.secureCookie ?? false;
    this.persistPath = options.persistPath;
    this.persistIntervalMs = options.persistIntervalMs ?? 60_000;
  }

  /**
   * Reads the saved sessions (nothing without `persistPath` or before the first save). A session
   * comes back only if it has not expired and `stillValid` says its principal is what the account
   * is now (not disabled, same role and department); the rest are dropped. Resolves the number
   * restored.
   */
  async load(stillValid: (principal: Principal) => boolean): Promise<number> {
    if (this.persistPath === undefined) return 0;
    const raw = await readJsonFile(this.persistPath);
    if (raw === undefined) return 0;
    const saved = (raw as { version?: unknown; sessions?: unknown }).sessions;
    if ((raw as { version?: unknown }).version !== SESSIONS_FILE_VERSION || !Array.isArray(saved)) {
      throw new Error(
        `${this.persistPath}: expected a sessions file of version ${SESSIONS_FILE_VERSION} with a 'sessions' array; got another shape`,
      );
    }
    const now = this.clock();
    let restored = 0;
    for (const entry of saved as unknown[]) {
      if (!isSavedSession(entry) || this.expired(entry, now) || !stillValid(entry.principal)) continue;
      this.sessions.set(entry.key, entry);
      restored++;
    }
    if (restored !== saved.length) this.persist();
    return restored;
  }

  /** Saves what is unsaved and stops the save timer. */
  async close(): Promise<void> {
    if (this.persistTimer !== undefined) clearTimeout(this.persistTimer);
    this.persistTimer = undefined;
    if (this.touched) this.persist();
    await this.writes.run(() => Promise.resolve());
  }

  /** Rewrites the file (queued: two saves never interleave). */
  private persist(): void {
    const path = this.persistPath;
    if (path === undefined) return;
    this.touched = false;
    const snapshot = {
      version: SESSIONS_FILE_VERSION,
      sessions: [...this.sessions.values()].map((s) => ({ ...s, principal: { ...s.principal } })),
    };
    void this.writes
      .run(() => writeJsonAtomic(path, snapshot))
      .catch((error: unknown) => {
        console.error(
          `[dashboard] sessions not saved to ${path}; they are kept in memory: ${error instanceof Error ? error.message : String(error)}`,
        );
      });
  }

  /** An idle clock moved: saved within persistIntervalMs, not on every request. */
  private touch(): void {
    if (this.persistPath === undefined) return;
    this.touched = true;
    if (this.persistTimer !== undefined) return;
    this.persistTimer = setTimeout(() => {
      this.persistTimer = undefined;
      if (this.touched) this.persist();
    }, this.persistIntervalMs);
    this.persistTimer.unref();
  }

  /** A fresh session; the caller sets `cookie(id)` on the response. The id is returned once and not kept. */
  create(principal: Principal, options: { mustChangePassword: boolean; ip: string }): { id: string; session: Session } {
    const id = randomBytes(32).toString('base64url');
    const now = this.clock();
    const wall = principal.role === 'wall';
    const session: Session = {
      key: keyOf(id),
      principal: { ...principal },
      csrfToken: generateCsrfToken(),
      mustChangePassword: options.mustChangePassword,
      createdAt: now,
      lastSeenAt: now,
      idleTimeoutMs: wall ? this.wallIdleMs : this.idleMs,
      expiresAt: now + (wall ? this.wallAbsoluteMs : this.absoluteMs),
      ip: options.ip,
    };
    this.sessions.set(session.key, session);
    this.persist();
    return { id, session };
  }

  /** The live session for a cookie value, its idle clock reset; undefined when unknown or expired. */
  get(id: string | undefined): Session | undefined {
    if (id === undefined || id === '' || id.length > 200) return undefined;
    const key = keyOf(id);
    const session = this.sessions.get(key);
    if (session === undefined) return undefined;
    const now = this.clock();
    if (this.expired(session, now)) {
      this.end(session);
      return undefined;
    }
    session.lastSeenAt = now;
    this.touch();
    return session;
  }

  /** Ends one session (logout). */
  end(session: Session): void {
    if (!this.sessions.delete(session.key)) return;
    this.persist();
    for (const listener of this.listeners) listener(session);
  }

  /** Ends every session of a login, except `keep` (a password change keeps the session that made it). */
  endAllFor(login: string, keep?: Session): number {
    let n = 0;
    for (const s of [...this.sessions.values()]) {
      if (s.principal.login === login && s !== keep) {
        this.end(s);
        n++;
      }
    }
    return n;
  }

  /** Ends expired sessions; the server calls it once a minute so their open live streams close too. */
  sweep(): number {
    const now = this.clock();
    let n = 0;
    for (const s of [...this.sessions.values()]) {
      if (this.expired(s, now)) {
        this.end(s);
        n++;
      }
    }
    return n;
  }

  /** Called with every session that ends (logout, timeout, account change): the live hub closes its streams. */
  onEnd(listener: (session: Session) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get size(): number {
    return this.sessions.size;
  }

  /**
   * Set-Cookie for a new session. HttpOnly: page scripts (and an XSS) cannot read it;
   * SameSite=Strict: no other site's page can make the browser send it; Path=/: one cookie for the
   * pages and the API; Secure behind https. People's cookie has no Max-Age (gone with the
   * browser); a wall's lasts as long as its session.
   */
  cookie(id: string, session: Session): string {
    const parts = [`${SESSION_COOKIE}=${id}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
    if (session.principal.role === 'wall') parts.push(`Max-Age=${Math.floor((session.expiresAt - session.createdAt) / 1000)}`);
    if (this.secureCookie) parts.push('Secure');
    return parts.join('; ');
  }

  /** Set-Cookie that deletes the cookie (logout). */
  clearCookie(): string {
    return [`${SESSION_COOKIE}=`, 'Path=/', 'HttpOnly', 'SameSite=Strict', 'Max-Age=0', ...(this.secureCookie ? ['Secure'] : [])].join(
      '; ',
    );
  }

  private expired(session: Session, now: number): boolean {
    return now - session.lastSeenAt > session.idleTimeoutMs || now >= session.expiresAt;
  }
}

/** The session cookie's value from a request, or undefined. */
export function sessionIdFrom(headers: IncomingHttpHeaders): string | undefined {
  const header = headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function isSavedSession(value: unknown): value is Session {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Record<string, unknown>;
  const p = s['principal'] as Record<string, unknown> | null | undefined;
  return (
    typeof s['key'] === 'string' &&
    /^[0-9a-f]{64}$/.test(s['key']) &&
    typeof p === 'object' &&
    p !== null &&
    typeof p['login'] === 'string' &&
    typeof p['role'] === 'string' &&
    (p['department_id'] === undefined || typeof p['department_id'] === 'string') &&
    typeof s['csrfToken'] === 'string' &&
    typeof s['mustChangePassword'] === 'boolean' &&
    ['createdAt', 'lastSeenAt', 'idleTimeoutMs', 'expiresAt'].every((k) => typeof s[k] === 'number') &&
    typeof s['ip'] === 'string'
  );
}

function keyOf(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}
