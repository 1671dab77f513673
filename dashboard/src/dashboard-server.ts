import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Clock, RunningWorker, WorkerHealth } from '@cityops/schemas';
import type { Bus } from '@cityops/bus';
import type { Store } from '@cityops/store';
import type { ApiErrorBody, Basemap } from './api-types.js';
import { assertKnownParams, createApiRoutes, JsonText, matchRoute } from './api-routes.js';
import { DashboardError, toDashboardError } from './errors.js';
import { LiveHub } from './live-hub.js';
import { createStaticFiles } from './static-files.js';

export interface DashboardServerOptions {
  /** Only the read queries are used: the dashboard never writes. */
  store: Pick<Store, 'queries'>;
  bus: Bus;
  /** Roads and water to draw under the districts; the caller owns the data (no tiles at run time). */
  basemap: Basemap;
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
   * Answers `/api/{city,basemap,sensors/…,warnings,anomalies,incidents…,dispatches,stream}` and
   * every non-`/api` path (the static export). Resolves false, without touching `res`, for any
   * other `/api/…` path so the platform's server can route it elsewhere (e.g. /api/health).
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
  const routes = createApiRoutes({ queries: options.store.queries, basemap: options.basemap, clock });
  const staticFiles = createStaticFiles(options.staticDir ?? DEFAULT_STATIC_DIR);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const path = url.pathname;
    if (path !== '/api' && !path.startsWith('/api/')) {
      await staticFiles.serve(req, res, path);
      return true;
    }
    const match = matchRoute(routes, path.split('/').slice(2));
    if (match === undefined) return false;
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        throw new DashboardError('method-not-allowed', `${path}: expected GET or HEAD; got ${req.method ?? 'no method'}`);
      }
      assertKnownParams(match.route, url.searchParams);
      if (match.route.kind === 'stream') {
        openStream(req, res);
        return true;
      }
      const body = await match.route.run({ params: url.searchParams, segments: match.segments });
      sendJson(req, res, 200, body);
    } catch (error) {
      const e = toDashboardError(error);
      if (res.headersSent) {
        res.destroy(e);
      } else {
        const body: ApiErrorBody = { error: { code: e.code, message: e.message } };
        const headers: Record<string, string> = {};
        if (e.code === 'method-not-allowed') headers.allow = 'GET, HEAD';
        if (e.retriable) headers['retry-after'] = '5';
        sendJson(req, res, e.httpStatus, body, headers);
      }
    }
    return true;
  }

  function openStream(req: IncomingMessage, res: ServerResponse): void {
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
    hub.addClient(res);
  }

  return {
    name: 'dashboard',
    handle,
    start: () => hub.start(),
    stop: () => hub.stop(),
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

function positiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new DashboardError('invalid-option', `createDashboardServer option '${name}': expected a positive integer; got ${value}`);
  }
  return value;
}
