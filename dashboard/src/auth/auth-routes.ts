import type { IncomingMessage } from 'node:http';
import { DashboardError } from '../errors.js';
import { epochMsParam, intParam } from '../query-params.js';
import type { DashboardAuth } from './auth.js';
import { isRole, ROLE_PERMISSIONS, ROLES, type Role } from './authorize.js';
import { assertSameOrigin } from './csrf.js';
import { assertKnownFields, booleanField, readJsonObject, stringField } from './http-body.js';
import { sessionIdFrom, type Session } from './sessions.js';
import type { PublicUser, UserChange } from './user-store.js';

/*
 * /api/auth/* and /api/admin/*. The server (dashboard-server.ts) has already found the route's
 * policy, checked the session, the CSRF token, the rate limit and the permission before any of
 * these run; they do the work and say what to audit.
 */

export interface AuthRouteContext {
  req: IncomingMessage;
  /** Undefined only for the public login route. */
  session: Session | undefined;
  ip: string;
  segments: Readonly<Record<string, string>>;
  params: URLSearchParams;
}

export interface AuthRouteResult {
  status?: number;
  body: unknown;
  /** Set-Cookie header(s). */
  setCookie?: string;
  /** What the audit record says (target, detail); the server adds actor, action, outcome, ip. */
  audit?: { target: string; detail: string };
  /** A body that is not JSON (a CSV export), sent instead of `body`, as a download when `filename` is set. */
  raw?: { contentType: string; text?: string; bytes?: Uint8Array; filename?: string };
}

export interface AuthRoute {
  /** Query parameters the route reads; any other one is a 400. */
  query: readonly string[];
  /** The route writes its own audit records (login: the failure reason must reach the trail but not the client). */
  selfAudited?: boolean;
  run(ctx: AuthRouteContext): Promise<AuthRouteResult>;
}

/** GET /api/auth/me and the login answer: who the session is and the CSRF token for its writes. */
export interface MeResponse {
  user: PublicUser;
  permissions: readonly string[];
  csrf_token: string;
  must_change_password: boolean;
  session: { created_at: number; expires_at: number; idle_timeout_ms: number };
}

export interface AuthRouteDeps {
  /** Known department ids, to refuse a typo when an account is scoped to a department. */
  departmentIds(): Promise<readonly string[]>;
}

/** Routes keyed by their policy action name (authorize.ts POLICY). */
export function createAuthRoutes(auth: DashboardAuth, deps: AuthRouteDeps): Readonly<Record<string, AuthRoute>> {
  const { users, sessions, apiKeys, audit, rateLimits } = auth;

  function me(session: Session): MeResponse {
    const user = users.get(session.principal.login);
    if (user === undefined)
      throw new DashboardError('unauthorized', 'expected a session of an existing account; got one whose account is gone');
    return {
      user,
      permissions: ROLE_PERMISSIONS[user.role],
      csrf_token: session.csrfToken,
      must_change_password: session.mustChangePassword,
      session: { created_at: session.createdAt, expires_at: session.expiresAt, idle_timeout_ms: session.idleTimeoutMs },
    };
  }

  function rateLimited(retryAfterMs: number, what: string): DashboardError {
    const retryAfterS = Math.max(1, Math.ceil(retryAfterMs / 1000));
    return new DashboardError('rate-limited', `${what}: expected fewer attempts; try again in ${retryAfterS} s`, { retryAfterS });
  }

  function must(session: Session | undefined): Session {
    if (session === undefined) throw new DashboardError('unauthorized', 'expected a session; got none');
    return session;
  }

  async function checkDepartment(role: Role, department: string | undefined | null): Promise<void> {
    if (department === undefined || department === null || department === '' || role === 'admin') return;
    const known = await deps.departmentIds();
    if (!known.includes(department)) {
      throw new DashboardError(
        'bad-request',
        `field 'department_id': expected one of ${known.join(', ') || '(no departments in the store)'}; got '${department.slice(0, 80)}'`,
      );
    }
  }

  return {
    'auth.login': {
      query: [],
      selfAudited: true,
      async run({ req, ip }) {
        // No session yet, so no CSRF token: the Origin check and the JSON-only body are the login's CSRF defence.
        assertSameOrigin(req.headers, 'POST /api/auth/login');
        const body = await readJsonObject(req, 'POST /api/auth/login');
        assertKnownFields(body, ['login', 'password'], 'POST /api/auth/login');
        const login = stringField(body, 'login', { max: 64 }).trim().toLowerCase();
        const password = stringField(body, 'password', { max: 4096 });
        const record = (outcome: 'success' | 'failure' | 'denied', detail: string, user?: PublicUser) =>
          audit.append({ actor: user?.login ?? '', role: user?.role ?? '', action: 'auth.login', target: login, outcome, ip, detail });

        const limit = rateLimits.login(ip, login);
        if (!limit.ok) {
          await record('denied', 'rate limited');
          throw rateLimited(limit.retryAfterMs, 'POST /api/auth/login');
        }
        const result = await users.authenticate(login, password);
        if (!result.ok) {
          await record('failure', result.reason, result.user);
          // One message for every reason (OWASP): which logins exist is not the caller's business.
          throw new DashboardError(
            'unauthorized',
            'expected a valid login and password; got a wrong login or password, or a disabled account',
          );
        }
        // A cookie from before the login is never reused (session fixation): end it, issue a new id.
        const previous = sessions.get(sessionIdFrom(req.headers));
        if (previous !== undefined) sessions.end(previous);
        const { id, session } = sessions.create(users.principalOf(result.user), {
          mustChangePassword: result.user.must_change_password,
          ip,
        });
        await record('success', result.user.must_change_password ? 'must change password' : '', result.user);
        return { body: me(session), setCookie: sessions.cookie(id, session) };
      },
    },

    'auth.logout': {
      query: [],
      run({ session }) {
        const s = must(session);
        sessions.end(s);
        return Promise.resolve({ body: { ok: true }, setCookie: sessions.clearCookie(), audit: { target: s.principal.login, detail: '' } });
      },
    },

    'auth.me': {
      query: [],
      run: ({ session }) => Promise.resolve({ body: me(must(session)) }),
    },

    'auth.password': {
      query: [],
      async run({ req, session, ip }) {
        const s = must(session);
        const body = await readJsonObject(req, 'POST /api/auth/password');
        assertKnownFields(body, ['current_password', 'new_password'], 'POST /api/auth/password');
        const current = stringField(body, 'current_password', { max: 4096 });
        const next = stringField(body, 'new_password', { max: 4096 });
        // Re-entering the current password is a login: the same per-login limit stops guessing it through a stolen session.
        const limit = rateLimits.login(ip, s.principal.login);
        if (!limit.ok) throw rateLimited(limit.retryAfterMs, 'POST /api/auth/password');
        const user = await users.changePassword(s.principal.login, current, next);
        // OWASP: renew the session id after a privilege change, and end every other session of the
        // account (whoever knew the old password is logged out).
        sessions.endAllFor(user.login);
        const { id, session: fresh } = sessions.create(users.principalOf(user), { mustChangePassword: false, ip });
        return {
          body: me(fresh),
          setCookie: sessions.cookie(id, fresh),
          audit: { target: user.login, detail: 'password changed; other sessions ended' },
        };
      },
    },

    'user.list': {
      query: [],
      run: () => Promise.resolve({ body: { users: users.list() } }),
    },

    'user.create': {
      query: [],
      async run({ req }) {
        const body = await readJsonObject(req, 'POST /api/admin/users');
        assertKnownFields(body, ['login', 'role', 'department_id'], 'POST /api/admin/users');
        const login = stringField(body, 'login', { max: 64 });
        const role = roleField(body.role);
        const department = stringField(body, 'department_id', { optional: true, max: 64 });
        await checkDepartment(role, department);
        const { user, oneTimePassword } = await users.create({
          login,
          role,
          ...(department === undefined || department === '' ? {} : { department_id: department }),
        });
        return {
          status: 201,
          body: { user, one_time_password: oneTimePassword },
          audit: { target: user.login, detail: `role=${user.role}${user.department_id ? ` department=${user.department_id}` : ''}` },
        };
      },
    },

    'user.update': {
      query: [],
      async run({ req, session, segments }) {
        const s = must(session);
        const login = decodeSegment(segments.login ?? '', 'login');
        const body = await readJsonObject(req, `PATCH /api/admin/users/${login}`);
        assertKnownFields(body, ['role', 'department_id', 'disabled', 'reset_password'], `PATCH /api/admin/users/${login}`);
        const change: UserChange = {};
        if (body.role !== undefined) change.role = roleField(body.role);
        if (body.department_id === null) change.department_id = null;
        else {
          const d = stringField(body, 'department_id', { optional: true, max: 64 });
          if (d !== undefined) change.department_id = d === '' ? null : d;
        }
        const disabled = booleanField(body, 'disabled');
        if (disabled !== undefined) change.disabled = disabled;
        const reset = booleanField(body, 'reset_password') === true;
        const before = users.get(login);
        if (before === undefined) throw new DashboardError('not-found', `expected an existing login; got '${login.slice(0, 80)}'`);
        if (login === s.principal.login && ((change.role !== undefined && change.role !== 'admin') || change.disabled === true)) {
          throw new DashboardError(
            'conflict',
            `expected a change to another account; got one that would disable or demote '${login}', the administrator making it`,
          );
        }
        await checkDepartment(change.role ?? before.role, change.department_id);
        let user = Object.keys(change).length > 0 ? await users.update(login, change) : before;
        let oneTimePassword: string | undefined;
        if (reset) ({ user, oneTimePassword } = await users.resetPassword(login));
        const rightsChanged = user.role !== before.role || user.department_id !== before.department_id || user.disabled !== before.disabled;
        // The account's open sessions carry the old rights: end them, it logs in again with the new ones.
        const ended = rightsChanged || reset ? sessions.endAllFor(login, login === s.principal.login ? s : undefined) : 0;
        const changed = [
          user.role !== before.role ? `role ${before.role}→${user.role}` : '',
          user.department_id !== before.department_id ? `department ${before.department_id ?? '-'}→${user.department_id ?? '-'}` : '',
          user.disabled !== before.disabled ? (user.disabled ? 'disabled' : 'enabled') : '',
          reset ? 'password reset' : '',
          ended > 0 ? `${ended} session(s) ended` : '',
        ].filter(Boolean);
        return {
          body: oneTimePassword === undefined ? { user } : { user, one_time_password: oneTimePassword },
          audit: { target: login, detail: changed.join('; ') || 'no change' },
        };
      },
    },

    'api-key.list': {
      query: [],
      run: () => Promise.resolve({ body: { api_keys: apiKeys.list() } }),
    },

    'api-key.create': {
      query: [],
      async run({ req, session }) {
        const s = must(session);
        const body = await readJsonObject(req, 'POST /api/admin/api-keys');
        assertKnownFields(body, ['label'], 'POST /api/admin/api-keys');
        const { key, record } = await apiKeys.create(stringField(body, 'label', { max: 100 }), s.principal.login);
        return { status: 201, body: { api_key: record, key }, audit: { target: record.id, detail: `${record.prefix}… '${record.label}'` } };
      },
    },

    'api-key.revoke': {
      query: [],
      async run({ session, segments }) {
        const s = must(session);
        const record = await apiKeys.revoke(decodeSegment(segments.id ?? '', 'id'), s.principal.login);
        return { body: { api_key: record }, audit: { target: record.id, detail: `${record.prefix}… '${record.label}'` } };
      },
    },

    'audit.read': {
      query: ['limit', 'before', 'actor', 'action'],
      async run({ params }) {
        const beforeTs = epochMsParam(params, 'before');
        const actor = params.get('actor') ?? undefined;
        const action = params.get('action') ?? undefined;
        const records = await audit.query({
          limit: intParam(params, 'limit', { min: 1, max: 1000, default: 200 }),
          ...(beforeTs === undefined ? {} : { beforeTs }),
          ...(actor === undefined ? {} : { actor }),
          ...(action === undefined ? {} : { action }),
        });
        return { body: { records } };
      },
    },
  };
}

function roleField(value: unknown): Role {
  if (!isRole(value))
    throw new DashboardError(
      'bad-request',
      `field 'role': expected one of ${ROLES.join(', ')}; got ${JSON.stringify(value)?.slice(0, 40)}`,
    );
  return value;
}

function decodeSegment(raw: string, name: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new DashboardError('bad-request', `path segment '${name}': expected URL-encoded text; got '${raw.slice(0, 80)}'`);
  }
}
