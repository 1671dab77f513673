import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { Clock } from '@cityops/schemas';
import { ApiKeyStore, apiKeysFilePath } from './api-keys.js';
import { auditFilePath, createFileAuditLog, type AuditLog } from './audit.js';
import type { ScryptParams } from './password-hash.js';
import { createRateLimits, type RateLimitOptions, type RateLimits } from './rate-limit.js';
import { SessionStore, type SessionOptions } from './sessions.js';
import { UserStore, usersFilePath } from './user-store.js';

/** Everything the dashboard server needs to authenticate, authorise and audit. */
export interface DashboardAuth {
  users: UserStore;
  sessions: SessionStore;
  apiKeys: ApiKeyStore;
  audit: AuditLog;
  rateLimits: RateLimits;
  /** Take the client address from X-Forwarded-For (only behind a reverse proxy that sets it). */
  trustProxy: boolean;
  close(): Promise<void>;
}

export interface AuthOptions {
  /** The platform's data directory; the auth files live in `<dataDir>/auth/`. */
  dataDir: string;
  /** Default Date.now. */
  clock?: Clock;
  /** Add `Secure` to the session cookie (the platform is reached over https). Default false. */
  secureCookie?: boolean;
  /** Trust X-Forwarded-For / X-Forwarded-Host (a reverse proxy in front). Default false. */
  trustProxy?: boolean;
  /** Ingest keys accepted besides the stored ones (CITYOPS_API_KEY). */
  bootstrapApiKeys?: readonly string[];
  /** The first administrator's password when there are no accounts yet (CITYOPS_ADMIN_PASSWORD); default a generated one-time password. */
  initialAdminPassword?: string;
  /** scrypt parameters. Default N=2^15, r=8, p=1. */
  hashParams?: ScryptParams;
  rateLimits?: RateLimitOptions;
  /** Session timeouts (see SessionOptions); the clock and cookie flag come from above. */
  sessions?: Omit<SessionOptions, 'clock' | 'secureCookie'>;
  /** Default the audit.jsonl file in the data directory. */
  audit?: AuditLog;
  /** How often the API-key file is checked for changes by another process, in ms. Default 5000. */
  apiKeyReloadIntervalMs?: number;
}

/** Where sessions are kept across restarts: hashes of their ids only (sessions.ts). */
export function sessionsFilePath(dataDir: string): string {
  return join(dataDir, 'auth', 'sessions.json');
}

/** The first administrator's credentials: print them once, keep them nowhere. */
export interface FirstAdmin {
  login: string;
  password: string;
  /** True for a generated one-time password (must be changed at first login). */
  generated: boolean;
}

/**
 * Opens the account, key and audit stores in `<dataDir>/auth/`. On the very first start (no
 * accounts) it creates the administrator and returns its credentials in `firstAdmin`, the only
 * place the one-time password ever appears.
 */
export async function openAuth(options: AuthOptions): Promise<{ auth: DashboardAuth; firstAdmin: FirstAdmin | undefined }> {
  const clock = options.clock ?? Date.now;
  const users = await UserStore.open({
    path: usersFilePath(options.dataDir),
    clock,
    ...(options.hashParams ? { hashParams: options.hashParams } : {}),
  });
  const firstAdmin = await users.ensureFirstAdmin(
    options.initialAdminPassword === undefined ? {} : { password: options.initialAdminPassword },
  );
  const apiKeys = await ApiKeyStore.open({
    path: apiKeysFilePath(options.dataDir),
    clock,
    bootstrapKeys: options.bootstrapApiKeys ?? [],
    ...(options.apiKeyReloadIntervalMs === undefined ? {} : { reloadIntervalMs: options.apiKeyReloadIntervalMs }),
  });
  const audit = options.audit ?? createFileAuditLog({ path: auditFilePath(options.dataDir), clock });
  if (firstAdmin !== undefined) {
    await audit.append({
      actor: 'system',
      role: '',
      action: 'user.create',
      target: firstAdmin.login,
      outcome: 'success',
      ip: '',
      detail: firstAdmin.generated
        ? 'first start: administrator with a one-time password'
        : 'first start: administrator with the configured password',
    });
  }
  const sessions = new SessionStore({
    clock,
    secureCookie: options.secureCookie ?? false,
    persistPath: sessionsFilePath(options.dataDir),
    ...options.sessions,
  });
  // A session comes back after a restart only for an account that is still what it was.
  await sessions.load((principal) => {
    const user = users.get(principal.login);
    return user !== undefined && !user.disabled && user.role === principal.role && user.department_id === principal.department_id;
  });
  const auth: DashboardAuth = {
    users,
    sessions,
    apiKeys,
    audit,
    rateLimits: createRateLimits(clock, options.rateLimits),
    trustProxy: options.trustProxy ?? false,
    close: async () => {
      await apiKeys.close();
      await sessions.close();
    },
  };
  return { auth, firstAdmin };
}

/** The client's address: the socket's, or the first X-Forwarded-For hop when a trusted proxy is in front. */
export function clientIp(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
    if (first !== undefined && first !== '') return first.slice(0, 64);
  }
  return req.socket.remoteAddress ?? '';
}
