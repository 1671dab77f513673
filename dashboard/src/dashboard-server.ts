import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Clock, RunningWorker, WorkerHealth } from '@cityops/schemas';
import type { Bus } from '@cityops/bus';
import { createReplayQueries, type Store } from '@cityops/store';
import type { ApiErrorBody, Basemap } from './api-types.js';
import { assertKnownParams, createApiRoutes, CsvText, JsonText, matchRoute, readingsFormatParam } from './api-routes.js';
import { clientIp, type DashboardAuth } from './auth/auth.js';
import { createAuthRoutes, type AuthRouteResult } from './auth/auth-routes.js';
import { createCaseRoutes } from './case-routes.js';
import type { IncidentsApi, TableSource } from '@cityops/incidents';
import { createCatalogRoutes } from './admin/catalog-routes.js';
import { createRulesRoutes } from './admin/rules-routes.js';
import { canSeeIncident, findPolicy, requirePermission, type RoutePolicy } from './auth/authorize.js';
import { assertCsrf, assertSameOrigin } from './auth/csrf.js';
import { sessionIdFrom, type Session } from './auth/sessions.js';
import { DashboardError, toDashboardError } from './errors.js';
import { LiveHub } from './live-hub.js';
import type { LiveReadingsFormat } from './live-protocol.js';
import { createStaticFiles } from './static-files.js';
import type { TileServerConfig } from './tile-server.js';

export interface DashboardServerOptions {
  /**
   * Only reads are used: the dashboard never writes (commands go through `incidents`). `query`
   * (read-only SQL) is optional: with it, GET /api/replay serves the wall's time slider; without
   * it (queries only) that route answers 404.
   */
  store: Pick<Store, 'queries'> & Partial<Pick<Store, 'query'>>;
  bus: Bus;
  /** Roads and water to draw under the districts; the caller owns the data (no tiles at run time). */
  basemap: Basemap;
  /**
   * Accounts, sessions, API keys, rate limits and the audit trail (openAuth). Required: every
   * /api route but /api/auth/login needs a session, so there is no way to serve the city open.
   */
  auth: DashboardAuth;
  /**
   * The incidents role's API, when that role runs in this process (`cityops all`): commanders'
   * actions on cases go through it. Without it, /api/cases answers 404 saying so.
   */
  incidents?: IncidentsApi;
  /**
   * The incidents role's responsibility table (openTableSource over an editable file), when that
   * role runs in this process: administrators read and save new versions at /api/admin/rules.
   * Without it, those routes answer 404 saying so.
   */
  rules?: TableSource;
  /**
   * An on-premises XYZ raster tile server drawn under the basemap (tileServerFromEnv reads
   * CITYOPS_TILE_URL, CITYOPS_TILE_ATTRIBUTION, CITYOPS_TILE_MAX_ZOOM). Its origin joins the
   * pages' img-src. Default none: the wall draws the basemap only and requests nothing elsewhere.
   */
  tiles?: TileServerConfig | null;
  /** The Next.js static export. Default: this package's `out/` folder. */
  staticDir?: string;
  /** Default Date.now. Stamps live events so wall clocks can be corrected to the platform's time. */
  clock?: Clock;
  /** Interval of the coalesced `readings` event, in ms. Default 1000. */
  liveIntervalMs?: number;
  /** Interval of the `heartbeat` event, in ms. Default 15_000. */
  heartbeatIntervalMs?: number;
  /** Consumer group of the live stream. Default `dashboard-live-<host>-<pid>`: one per process, so each sees everything. */
  liveGroupId?: string;
  /** Live-stream connections beyond this get 503. Default 200. */
  maxLiveClients?: number;
  /**
   * A live client with more unsent bytes than this is dropped; its browser reconnects and reloads
   * the snapshot. Default 4 MiB (several seconds of a 100k-sensor readings stream).
   */
  maxClientBufferBytes?: number;
}

export interface DashboardServer extends RunningWorker {
  /**
   * Answers `/api/{city,basemap,sensors/…,warnings,anomalies,incidents…,dispatches,stream}`,
   * `/api/auth/…`, `/api/admin/…` and every non-`/api` path (the static export). Resolves false,
   * without touching `res`, for any other `/api/…` path so the platform's server can route it
   * elsewhere (e.g. /api/health, /api/ingest). Every /api route it answers needs a session,
   * except POST /api/auth/login; static files are public (the pages hold no data).
   */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** Subscribes to the bus and starts the live stream's timers. */
  start(): Promise<void>;
  /** Closes live clients, stops timers and the bus consumer. */
  stop(): Promise<void>;
}

const DEFAULT_STATIC_DIR = fileURLToPath(new URL('../out/', import.meta.url));

export function createDashboardServer(options: DashboardServerOptions): DashboardServer {
  const clock = options.clock ?? Date.now;
  const liveIntervalMs = positiveInt('liveIntervalMs', options.liveIntervalMs ?? 1000);
  const hub = new LiveHub({
    bus: options.bus,
    clock,
    liveIntervalMs,
    heartbeatIntervalMs: positiveInt('heartbeatIntervalMs', options.heartbeatIntervalMs ?? 15_000),
    groupId: options.liveGroupId ?? `dashboard-live-${hostname()}-${process.pid}`,
    maxClients: positiveInt('maxLiveClients', options.maxLiveClients ?? 200),
    maxClientBufferBytes: positiveInt('maxClientBufferBytes', options.maxClientBufferBytes ?? 4 * 1024 * 1024),
  });
  const { auth } = options;
  const { store } = options;
  const routes = createApiRoutes({
    queries: store.queries,
    // The wall's time slider reads rollups with its own SQL: only a store that answers SQL has it.
    ...(store.query === undefined ? {} : { replay: createReplayQueries({ query: store.query.bind(store) }) }),
    basemap: options.basemap,
    clock,
    tiles: options.tiles ?? null,
  });
  // Auth, admin and case routes share one table, keyed by their policy action (authorize.ts).
  const authRoutes = {
    ...createAuthRoutes(auth, {
      departmentIds: async () => (await options.store.queries.departments()).map((d) => d.id),
    }),
    ...createCaseRoutes({ api: options.incidents, queries: options.store.queries, clock }),
    // Cameras, sensors, areas: published on city.dimensions (the dashboard never writes the store).
    ...createCatalogRoutes({ producer: options.bus.producer(), queries: options.store.queries }),
    ...createRulesRoutes({ rules: options.rules }),
  };
  const staticFiles = createStaticFiles(
    options.staticDir ?? DEFAULT_STATIC_DIR,
    options.tiles?.origin === undefined ? {} : { tileOrigin: options.tiles.origin },
  );
  /** Open live streams per session key, closed when the session ends (logout, timeout, account change). */
  const streams = new Map<string, Set<ServerResponse>>();
  auth.sessions.onEnd((session) => {
    const open = streams.get(session.key);
    streams.delete(session.key);
    for (const res of open ?? []) res.end();
  });
  let sweepTimer: NodeJS.Timeout | undefined;

  /** These work while the account still has to change its one-time password; nothing else does. */
  const BEFORE_PASSWORD_CHANGE = new Set(['auth.me', 'auth.password', 'auth.logout']);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const path = url.pathname;
    if (path !== '/api' && !path.startsWith('/api/')) {
      await staticFiles.serve(req, res, path);
      return true;
    }
    const method = req.method ?? 'GET';
    const { match, allowed } = findPolicy(method, path.split('/').slice(2));
    if (allowed.length === 0) return false;
    const ip = clientIp(req, auth.trustProxy);
    let session: Session | undefined;
    let policy: RoutePolicy | undefined;
    try {
      if (match === undefined) {
        throw new DashboardError('method-not-allowed', `${path}: expected ${allowed.join(' or ')}; got ${method}`);
      }
      policy = match.policy;
      const mutating = policy.method !== 'GET';
      if (policy.requires !== 'public') {
        const id = sessionIdFrom(req.headers);
        session = auth.sessions.get(id);
        if (session === undefined) {
          throw new DashboardError(
            'unauthorized',
            `${method} ${path}: expected a session (log in at /login); got ${id === undefined ? 'no session cookie' : 'an expired or ended session'}`,
          );
        }
        if (mutating) {
          // Session-cookie writes only: API-key calls (ingest) never reach this handler.
          assertSameOrigin(req.headers, `${method} ${path}`);
          assertCsrf(session.csrfToken, req.headers, `${method} ${path}`);
          const limit = auth.rateLimits.mutation(session.key);
          if (!limit.ok) {
            const retryAfterS = Math.max(1, Math.ceil(limit.retryAfterMs / 1000));
            throw new DashboardError(
              'rate-limited',
              `${method} ${path}: expected fewer changes per minute; try again in ${retryAfterS} s`,
              { retryAfterS },
            );
          }
        }
        if (session.mustChangePassword && !BEFORE_PASSWORD_CHANGE.has(policy.action)) {
          throw new DashboardError(
            'password-change-required',
            `${method} ${path}: expected an account with its own password; got '${session.principal.login}', which must first replace its one-time password (POST /api/auth/password)`,
          );
        }
        if (policy.requires !== 'session') requirePermission(session.principal, policy.requires);
      }

      const authRoute = authRoutes[policy.action];
      if (authRoute !== undefined) {
        assertKnownQuery(authRoute.query, url.searchParams);
        const result = await authRoute.run({ req, session, ip, segments: match.segments, params: url.searchParams });
        if (mutating && authRoute.selfAudited !== true)
          await recordAudit(policy, session, ip, 'success', result.audit?.target ?? path, result.audit?.detail ?? '');
        sendResult(req, res, result);
        return true;
      }
      const data = matchRoute(routes, path.split('/').slice(2));
      if (data === undefined || session === undefined) {
        // The policy table names a route that createApiRoutes does not have: a programming error.
        throw new DashboardError('not-found', `${method} ${path}: expected a route behind the policy '${policy.action}'; got none`);
      }
      assertKnownParams(data.route, url.searchParams);
      if (data.route.kind === 'stream') {
        openStream(req, res, session, readingsFormatParam(url.searchParams));
        return true;
      }
      const body = await data.route.run({ params: url.searchParams, segments: data.segments, principal: session.principal });
      if (body instanceof CsvText) {
        sendResult(req, res, {
          body: undefined,
          raw: { contentType: 'text/csv; charset=utf-8', text: body.text, filename: body.filename },
        });
      } else {
        sendJson(req, res, 200, body);
      }
    } catch (error) {
      const e = toDashboardError(error);
      await auditFailure(e, policy, session, ip, path);
      if (res.headersSent) {
        res.destroy(e);
      } else {
        const body: ApiErrorBody = { error: { code: e.code, message: e.message } };
        const headers: Record<string, string> = {};
        if (e.code === 'method-not-allowed') headers.allow = allowed.join(', ');
        if (e.retryAfterS !== undefined) headers['retry-after'] = String(e.retryAfterS);
        else if (e.retriable) headers['retry-after'] = '5';
        // A cookie that names no session is cleared, so the browser stops sending it.
        if (e.code === 'unauthorized' && sessionIdFrom(req.headers) !== undefined) headers['set-cookie'] = auth.sessions.clearCookie();
        sendJson(req, res, e.httpStatus, body, headers);
      }
    }
    return true;
  }

  /** Refused and failed writes are audited, and every refusal (403) of a read too: probing for rights is worth knowing about. */
  async function auditFailure(
    e: DashboardError,
    policy: RoutePolicy | undefined,
    session: Session | undefined,
    ip: string,
    path: string,
  ): Promise<void> {
    if (policy === undefined || authRoutes[policy.action]?.selfAudited === true) return;
    const refused = e.httpStatus === 403 || e.httpStatus === 429;
    if (policy.method === 'GET' && !refused) return;
    if (policy.method === 'GET' && session === undefined) return;
    await recordAudit(policy, session, ip, refused || e.httpStatus === 401 ? 'denied' : 'failure', path, `${e.code}: ${e.message}`).catch(
      () => undefined,
    );
  }

  function recordAudit(
    policy: RoutePolicy,
    session: Session | undefined,
    ip: string,
    outcome: 'success' | 'failure' | 'denied',
    target: string,
    detail: string,
  ) {
    return auth.audit.append({
      actor: session?.principal.login ?? '',
      role: session?.principal.role ?? '',
      action: policy.action,
      target,
      outcome,
      ip,
      detail: detail.slice(0, 1000),
    });
  }

  function sendResult(req: IncomingMessage, res: ServerResponse, result: AuthRouteResult): void {
    if (result.raw !== undefined) {
      const headers: Record<string, string> = { 'content-type': result.raw.contentType, 'cache-control': 'no-store' };
      if (result.raw.filename !== undefined) headers['content-disposition'] = `attachment; filename="${result.raw.filename}"`;
      res.writeHead(result.status ?? 200, headers);
      res.end(req.method === 'HEAD' ? undefined : (result.raw.bytes ?? result.raw.text));
      return;
    }
    sendJson(req, res, result.status ?? 200, result.body, result.setCookie === undefined ? {} : { 'set-cookie': result.setCookie });
  }

  function openStream(req: IncomingMessage, res: ServerResponse, session: Session, readings: LiveReadingsFormat): void {
    hub.assertAccepting();
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // A reverse proxy (nginx) in front must not buffer the stream.
      'x-accel-buffering': 'no',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    // Small frames must leave at once, not wait for Nagle.
    res.socket?.setNoDelay(true);
    res.flushHeaders();
    const principal = session.principal;
    hub.addClient(res, principal.department_id === undefined ? undefined : (record) => canSeeIncident(principal, record), readings);
    let open = streams.get(session.key);
    if (open === undefined) streams.set(session.key, (open = new Set()));
    open.add(res);
    res.once('close', () => open.delete(res));
  }

  return {
    name: 'dashboard',
    handle,
    async start() {
      await hub.start();
      // Expired sessions are ended once a minute, which closes their open live streams too.
      sweepTimer ??= setInterval(() => auth.sessions.sweep(), 60_000);
      sweepTimer.unref();
    },
    async stop() {
      clearInterval(sweepTimer);
      sweepTimer = undefined;
      await hub.stop();
    },
    health(): WorkerHealth {
      return { ...hub.health(), name: 'dashboard' };
    },
  };
}

function sendJson(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body instanceof JsonText ? body.text : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    // Live data: a cached answer would show the wall an old city.
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : text);
}

function assertKnownQuery(known: readonly string[], params: URLSearchParams): void {
  for (const [name, value] of params) {
    if (!known.includes(name)) {
      const expected = known.length === 0 ? 'no query parameters' : `one of ${known.join(', ')}`;
      throw new DashboardError(
        'bad-request',
        `unknown query parameter '${name}': expected ${expected}; got '${name}=${value.slice(0, 60)}'`,
      );
    }
  }
}

function positiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new DashboardError('invalid-option', `createDashboardServer option '${name}': expected a positive integer; got ${value}`);
  }
  return value;
}
