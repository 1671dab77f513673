import type { Clock } from '@cityops/schemas';
import type { StoreQueries } from '@cityops/store';
import type {
  AnomaliesResponse,
  Basemap,
  CityResponse,
  DispatchesResponse,
  IncidentEventsResponse,
  IncidentsResponse,
  LatestReadingsResponse,
  SensorSeriesResponse,
  WarningsResponse,
} from './api-types.js';
import { canSeeIncident, describePrincipal, type Principal } from './auth/authorize.js';
import { DashboardError } from './errors.js';
import { epochMsParam, idSegment, incidentStatusesParam, intParam } from './query-params.js';

/** A body that is already JSON text (serialised once, e.g. the basemap). */
export class JsonText {
  constructor(readonly text: string) {}
}

export interface RouteContext {
  params: URLSearchParams;
  /** Path segments captured by `:name` in the route pattern, still URL-encoded. */
  segments: Readonly<Record<string, string>>;
  /** Who asks: a department user gets its department's incidents and dispatches only. */
  principal: Principal;
}

/** A department user's list is filtered after the query: ask the store for the most, so the filtered page is not short. */
const SCOPED_FETCH_LIMIT = 1000;
const scoped = (p: Principal): boolean => p.department_id !== undefined && p.department_id !== '';

interface JsonRoute {
  kind: 'json';
  pattern: readonly string[];
  /** Query parameters the route reads; any other one is a 400 (a typo would otherwise be ignored silently). */
  query: readonly string[];
  run(ctx: RouteContext): Promise<unknown>;
}

/** The SSE route is answered by the live hub, not as JSON. */
interface StreamRoute {
  kind: 'stream';
  pattern: readonly string[];
  query: readonly string[];
}

export type ApiRoute = JsonRoute | StreamRoute;

/** Longest span a series request may cover: 7 days of per-minute points is ~10k points. */
const MAX_SERIES_SPAN_MS = 7 * 24 * 3_600_000;
const DEFAULT_SERIES_SPAN_MS = 3_600_000;

export function createApiRoutes(deps: { queries: StoreQueries; basemap: Basemap; clock: Clock }): readonly ApiRoute[] {
  const { queries, clock } = deps;
  const basemapJson = new JsonText(JSON.stringify(deps.basemap));
  const limit = (params: URLSearchParams, fallback: number) => intParam(params, 'limit', { min: 1, max: 1000, default: fallback });

  return [
    {
      kind: 'json',
      pattern: ['city'],
      query: [],
      async run(): Promise<CityResponse> {
        const [areas, sensors, cameras, departments] = await Promise.all([
          queries.areas(),
          queries.sensors(),
          queries.cameras(),
          queries.departments(),
        ]);
        return { areas, sensors, cameras, departments };
      },
    },
    { kind: 'json', pattern: ['basemap'], query: [], run: () => Promise.resolve(basemapJson) },
    {
      kind: 'json',
      pattern: ['sensors', 'latest'],
      query: [],
      async run(): Promise<LatestReadingsResponse> {
        return { readings: await queries.latestReadings() };
      },
    },
    {
      kind: 'json',
      pattern: ['sensors', ':id', 'series'],
      query: ['from', 'to'],
      async run({ params, segments }): Promise<SensorSeriesResponse> {
        const sensorId = idSegment('id', segments.id ?? '');
        const to = epochMsParam(params, 'to') ?? clock();
        const from = epochMsParam(params, 'from') ?? to - DEFAULT_SERIES_SPAN_MS;
        if (from >= to)
          throw new DashboardError('bad-request', `query parameter 'from': expected a time before 'to' (${to}); got '${from}'`);
        if (to - from > MAX_SERIES_SPAN_MS) {
          throw new DashboardError(
            'bad-request',
            `query parameters 'from'/'to': expected a span of at most ${MAX_SERIES_SPAN_MS} ms (7 days); got ${to - from} ms`,
          );
        }
        return { sensor_id: sensorId, from, to, points: await queries.readingRollup(sensorId, { fromMs: from, toMs: to }) };
      },
    },
    {
      kind: 'json',
      pattern: ['warnings'],
      query: ['limit'],
      async run({ params }): Promise<WarningsResponse> {
        return { warnings: await queries.recentWarnings({ limit: limit(params, 100) }) };
      },
    },
    {
      kind: 'json',
      pattern: ['anomalies'],
      query: ['limit', 'since'],
      async run({ params }): Promise<AnomaliesResponse> {
        const sinceMs = epochMsParam(params, 'since');
        const options = sinceMs === undefined ? { limit: limit(params, 200) } : { limit: limit(params, 200), sinceMs };
        return { anomalies: await queries.recentAnomalies(options) };
      },
    },
    {
      kind: 'json',
      pattern: ['incidents'],
      query: ['limit', 'status'],
      async run({ params, principal }): Promise<IncidentsResponse> {
        const statuses = incidentStatusesParam(params, 'status');
        const n = limit(params, 200);
        const fetch = scoped(principal) ? SCOPED_FETCH_LIMIT : n;
        const incidents = await queries.incidents(statuses === undefined ? { limit: fetch } : { limit: fetch, statuses });
        return { incidents: scoped(principal) ? incidents.filter((i) => canSeeIncident(principal, i)).slice(0, n) : incidents };
      },
    },
    {
      kind: 'json',
      pattern: ['incidents', ':id', 'events'],
      query: [],
      async run({ segments, principal }): Promise<IncidentEventsResponse> {
        const incidentId = idSegment('id', segments.id ?? '');
        const events = await queries.incidentEvents(incidentId);
        // The newest step says who leads and assists now; an incident of another department is
        // 'not found' rather than 'forbidden', so its existence does not leak either.
        const latest = events.at(-1);
        if (latest !== undefined && !canSeeIncident(principal, latest)) {
          throw new DashboardError(
            'not-found',
            `expected an incident visible to ${describePrincipal(principal)}; got none with id '${incidentId}'`,
          );
        }
        return { incident_id: incidentId, events };
      },
    },
    {
      kind: 'json',
      pattern: ['dispatches'],
      query: ['limit'],
      async run({ params, principal }): Promise<DispatchesResponse> {
        const n = limit(params, 200);
        if (!scoped(principal)) return { dispatches: await queries.dispatches({ limit: n }) };
        const all = await queries.dispatches({ limit: SCOPED_FETCH_LIMIT });
        return { dispatches: all.filter((d) => canSeeIncident(principal, d)).slice(0, n) };
      },
    },
    { kind: 'stream', pattern: ['stream'], query: [] },
  ];
}

/** The route whose pattern matches the segments after `/api/`, with its captured segments. */
export function matchRoute(
  routes: readonly ApiRoute[],
  path: readonly string[],
): { route: ApiRoute; segments: Record<string, string> } | undefined {
  for (const route of routes) {
    if (route.pattern.length !== path.length) continue;
    const segments: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < path.length && ok; i++) {
      const p = route.pattern[i] ?? '';
      const s = path[i] ?? '';
      if (p.startsWith(':')) segments[p.slice(1)] = s;
      else ok = p === s;
    }
    if (ok) return { route, segments };
  }
  return undefined;
}

/** 400 for a query parameter the route does not read. */
export function assertKnownParams(route: ApiRoute, params: URLSearchParams): void {
  for (const [name, value] of params) {
    if (!route.query.includes(name)) {
      const expected = route.query.length === 0 ? 'no query parameters' : `one of ${route.query.join(', ')}`;
      throw new DashboardError(
        'bad-request',
        `unknown query parameter '${name}': expected ${expected}; got '${name}=${value.slice(0, 60)}'`,
      );
    }
  }
}
