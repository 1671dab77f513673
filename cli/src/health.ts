import type { HealthReport, RunningWorker } from '@cityops/schemas';
import type { Bus } from '@cityops/bus';
import type { Store } from '@cityops/store';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, type RequestHandler } from './http-server.js';

export interface HealthSources {
  role: string;
  version: string;
  startedAtMs: number;
  bus: Bus | undefined;
  store: Store | undefined;
  workers: () => readonly RunningWorker[];
  /** Table counts are cached this long: counting with duplicates collapsed is not free. */
  tableCountsCacheMs?: number;
  /** A worker further behind than this makes the status 'degraded'. */
  lagDegradedMessages?: number;
}

/** GET /api/health — JSON an operator or a script can poll. */
export function createHealthHandler(src: HealthSources): { handler: RequestHandler; report: () => Promise<HealthReport> } {
  const cacheMs = src.tableCountsCacheMs ?? 2000;
  let cached: { at: number; tables: Record<string, number>; ok: boolean; detail: string } | undefined;

  async function tableCounts() {
    if (!src.store) return { tables: {}, ok: true, detail: 'no store in this role' };
    if (cached && Date.now() - cached.at < cacheMs) return cached;
    try {
      const tables = await src.store.queries.tableCounts();
      cached = { at: Date.now(), tables, ok: true, detail: `${src.store.kind} store answering` };
    } catch (e) {
      cached = {
        at: Date.now(),
        tables: cached?.tables ?? {},
        ok: false,
        detail: `store query failed: ${e instanceof Error ? e.message : String(e)}`,
      };
    }
    return cached;
  }

  async function report(): Promise<HealthReport> {
    const t = await tableCounts();
    const workers = src.workers().map((w) => w.health());
    const lagLimit = src.lagDegradedMessages ?? 100_000;
    const failing = workers.some((w) => w.state === 'failed') || !t.ok;
    const degraded = workers.some((w) => w.lag > lagLimit || w.state === 'paused');
    return {
      status: failing ? 'failing' : degraded ? 'degraded' : 'ok',
      version: src.version,
      role: src.role,
      uptime_s: Math.round((Date.now() - src.startedAtMs) / 100) / 10,
      bus: {
        kind: src.bus?.kind ?? 'none',
        ok: src.bus !== undefined,
        detail: src.bus ? `${src.bus.kind} bus connected` : 'no bus in this role',
      },
      store: { kind: src.store?.kind ?? 'none', ok: t.ok, detail: t.detail },
      tables: t.tables,
      workers,
    };
  }

  const handler: RequestHandler = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/api/health') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: `expected GET /api/health; got ${req.method ?? ''}` });
      return true;
    }
    const r = await report();
    sendJson(res, r.status === 'failing' ? 503 : 200, r);
    return true;
  };
  return { handler, report };
}
