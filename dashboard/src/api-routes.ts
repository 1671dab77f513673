import type { Clock, Indicator } from '@cityops/schemas';
import type { ReplayQueries, StoreQueries } from '@cityops/store';
import type {
  AnomaliesResponse,
  Basemap,
  CityResponse,
  DispatchesResponse,
  ForecastTrackRecordResponse,
  ForecastTrackRecordRow,
  IncidentEventsResponse,
  IndicatorForecastsResponse,
  IndicatorsResponse,
  IndicatorTicksResponse,
  IndicatorWarningsResponse,
  IncidentsResponse,
  LatestReadingsResponse,
  ReplayResponse,
  SensorSeriesResponse,
  WallForecast,
  WallForecastsResponse,
  WallTileServer,
  WarningsResponse,
} from './api-types.js';
import { canSeeIncident, describePrincipal, type Principal } from './auth/authorize.js';
import { isoTime, toCsv } from './csv.js';
import { DashboardError } from './errors.js';
import { LIVE_READINGS_FORMATS, type LiveReadingsFormat } from './live-protocol.js';
import { epochMsParam, formatParam, idParam, idSegment, incidentStatusesParam, intParam } from './query-params.js';

/** A body that is already JSON text (serialised once, e.g. the basemap). */
export class JsonText {
  constructor(readonly text: string) {}
}

/** A CSV download (`format=csv` on the analysts' routes), sent as an attachment. */
export class CsvText {
  constructor(
    readonly text: string,
    readonly filename: string,
  ) {}
}

export interface RouteContext {
  params: URLSearchParams;
  /** Path segments captured by `:name` in the route pattern, still URL-encoded. */
  segments: Readonly<Record<string, string>>;
  /** Who asks: a department user gets its department's incidents and dispatches only. */
  principal: Principal;
}

/** A camera with any user:password@ removed from its URL (RTSP and HTTP cameras carry them there). */
export function withoutCredentials<C extends { url: string }>(camera: C): C {
  const redacted = camera.url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1');
  return redacted === camera.url ? camera : { ...camera, url: redacted };
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

const DAY_MS = 86_400_000;
/** Longest span of the analysts' range queries: a quarter of minute ticks is ~130k rows. */
const MAX_ANALYTICS_SPAN_MS = 92 * DAY_MS;
/** Half an indicator's tick interval: a forecast is scored against a tick at most this far from its target time. */
const TRACK_TOLERANCE_MS: Readonly<Record<Indicator['frequency'], number>> = {
  minute: 30_000,
  hour: 30 * 60_000,
  day: DAY_MS / 2,
  week: 3.5 * DAY_MS,
  month: 15 * DAY_MS,
};

/** `from`/`to` with defaults around now; 400 naming the parameter when reversed or too wide. */
function rangeParams(
  params: URLSearchParams,
  defaults: { fromMs: (to: number) => number; toMs: number },
  maxSpanMs: number,
): { from: number; to: number } {
  const to = epochMsParam(params, 'to') ?? defaults.toMs;
  const from = epochMsParam(params, 'from') ?? defaults.fromMs(to);
  if (from >= to) throw new DashboardError('bad-request', `query parameter 'from': expected a time before 'to' (${to}); got '${from}'`);
  if (to - from > maxSpanMs) {
    throw new DashboardError(
      'bad-request',
      `query parameters 'from'/'to': expected a span of at most ${maxSpanMs} ms (${maxSpanMs / DAY_MS} days); got ${to - from} ms`,
    );
  }
  return { from, to };
}

/** Longest replay window: a day (1,440 one-minute frames). */
const MAX_REPLAY_SPAN_MS = DAY_MS;
const DEFAULT_REPLAY_SPAN_MS = 3_600_000;
/**
 * Most sensor-frames one replay answer carries (~12 MB of JSON): 100k sensors get 5 frames per
 * request, the demo city's few hundred a whole day of minutes. The wall asks for a wider step
 * when a window does not fit.
 */
export const MAX_REPLAY_CELLS = 500_000;
/** The live wall's windows (live-feed.ts): what was already anomalous or shading a district when the window starts. */
const REPLAY_ANOMALY_LOOKBACK_MS = 5 * 60_000;
const REPLAY_WARNING_LOOKBACK_MS = 30 * 60_000;

export function createApiRoutes(deps: {
  queries: StoreQueries;
  replay?: ReplayQueries;
  basemap: Basemap;
  clock: Clock;
  /** The raster tile server the wall draws under the basemap; null or absent when none. */
  tiles?: WallTileServer | null;
}): readonly ApiRoute[] {
  const { queries, clock } = deps;
  // Only what the browser needs: the origin is the server's business (CSP).
  const configured = deps.tiles ?? null;
  const tiles: WallTileServer | null =
    configured === null ? null : { url: configured.url, attribution: configured.attribution, max_zoom: configured.max_zoom };
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
        // Every role reads the city; a camera's stream credentials are for the vision side only.
        return { areas, sensors, cameras: cameras.map(withoutCredentials), departments, tiles };
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
    { kind: 'stream', pattern: ['stream'], query: ['readings'] },
    {
      kind: 'json',
      pattern: ['replay'],
      query: ['from', 'to', 'step_ms'],
      async run({ params, principal }): Promise<ReplayResponse> {
        const stepMs = intParam(params, 'step_ms', { min: 60_000, max: DAY_MS, default: 60_000 });
        if (stepMs % 60_000 !== 0) {
          throw new DashboardError(
            'bad-request',
            `query parameter 'step_ms': expected a whole number of minutes (a multiple of 60000); got '${stepMs}'`,
          );
        }
        const { from, to } = rangeParams(params, { toMs: clock(), fromMs: (t) => t - DEFAULT_REPLAY_SPAN_MS }, MAX_REPLAY_SPAN_MS);
        const replay = deps.replay;
        if (replay === undefined) {
          throw new DashboardError(
            'not-found',
            'GET /api/replay: expected a store that answers SQL (ClickHouse); this dashboard was given queries only',
          );
        }
        const frames = Math.ceil((to - from) / stepMs);
        const [sensors, anomalies, warnings, open] = await Promise.all([
          replay.sensorFrames({ fromMs: from, toMs: to, stepMs }, { maxCells: MAX_REPLAY_CELLS }),
          replay.anomalies({ fromMs: from - REPLAY_ANOMALY_LOOKBACK_MS, toMs: to }, { limit: 100_000 }),
          replay.warnings({ fromMs: from - REPLAY_WARNING_LOOKBACK_MS, toMs: to }, { limit: 10_000 }),
          replay.incidents({ fromMs: from, toMs: to }, { limit: scoped(principal) ? SCOPED_FETCH_LIMIT : 1000 }),
        ]);
        if (sensors.truncated) {
          throw new DashboardError(
            'bad-request',
            `query parameters 'from'/'to'/'step_ms': expected at most ${MAX_REPLAY_CELLS} sensor-frames; this window has more (widen step_ms or narrow the window)`,
          );
        }
        const incidents = scoped(principal) ? open.incidents.filter((i) => canSeeIncident(principal, i)) : open.incidents;
        const visible = new Set(incidents.map((i) => i.id));
        return {
          from,
          to,
          step_ms: stepMs,
          frames,
          anomaly_lookback_ms: REPLAY_ANOMALY_LOOKBACK_MS,
          warning_lookback_ms: REPLAY_WARNING_LOOKBACK_MS,
          sensors: { sensor_ids: sensors.sensorIds, frame: sensors.frame, sensor: sensors.sensor, avg: sensors.avg, count: sensors.count },
          anomalies,
          warnings,
          incidents,
          incident_steps: open.steps.filter((s) => visible.has(s.incident_id)),
        };
      },
    },
    {
      kind: 'json',
      pattern: ['wall', 'forecasts'],
      query: ['limit'],
      async run({ params }): Promise<WallForecastsResponse> {
        const n = intParam(params, 'limit', { min: 1, max: 12, default: 4 });
        const now = clock();
        const indicators = await queries.indicators();
        const fans = await Promise.all(indicators.map((i) => wallForecastOf(queries, i, now)));
        const forecasts = fans
          .filter((f): f is WallForecast => f !== undefined)
          .sort((a, b) => b.peak_breach_probability - a.peak_breach_probability || a.indicator.id.localeCompare(b.indicator.id))
          .slice(0, n);
        return { generated_at: now, forecasts };
      },
    },
    ...createAnalyticsRoutes(queries, clock),
  ];
}

/** A forecast issued longer ago than this is not shown on the wall (its forecaster has stopped). */
export const WALL_FORECAST_MAX_AGE_MS = 7 * DAY_MS;
/** Forecast rows read per indicator: the newest issue of every model (a few dozen steps each). */
const WALL_FORECAST_ROWS = 1000;

/** An indicator's newest forecast path with the ticks before it; undefined when none was issued recently. */
async function wallForecastOf(queries: StoreQueries, indicator: Indicator, now: number): Promise<WallForecast | undefined> {
  // Newest issue first (the store orders by issued_at DESC, horizon_step), so the rows of that issue lead.
  const rows = await queries.forecasts(indicator.id, { issuedSinceMs: now - WALL_FORECAST_MAX_AGE_MS, limit: WALL_FORECAST_ROWS });
  const issuedAt = rows[0]?.issued_at;
  if (issuedAt === undefined) return undefined;
  const byModel = new Map<string, typeof rows>();
  for (const f of rows) {
    if (f.issued_at !== issuedAt) continue;
    const key = `${f.model}@${f.model_version}`;
    byModel.set(key, [...(byModel.get(key) ?? []), f]);
  }
  let path: typeof rows = [];
  let peak = -1;
  for (const steps of byModel.values()) {
    const p = Math.max(...steps.map((f) => f.breach_probability));
    if (p > peak) {
      peak = p;
      path = steps;
    }
  }
  path.sort((a, b) => a.horizon_step - b.horizon_step);
  const reach = Math.max(...path.map((f) => f.target_ts)) - issuedAt;
  const ticks = await queries.marketTicks(indicator.id, {
    fromMs: issuedAt - Math.max(reach, 1),
    toMs: Math.min(now, issuedAt + reach) + 1,
  });
  return { indicator, peak_breach_probability: peak, path, ticks };
}

/**
 * The analysts' reads: indicators, their realised values, forecasts with 95% intervals and
 * breach probabilities, market warnings, and each model's forecast-vs-actual track record.
 * Each range route also answers `format=csv` (an attachment) for the analysts' own tools.
 */
function createAnalyticsRoutes(queries: StoreQueries, clock: Clock): JsonRoute[] {
  /** The indicator named by the path; 404 naming it when the city has none with that id. */
  const indicatorOf = async (segments: Readonly<Record<string, string>>): Promise<Indicator> => {
    const id = idSegment('id', segments.id ?? '');
    const indicator = (await queries.indicators()).find((i) => i.id === id);
    if (indicator === undefined) throw new DashboardError('not-found', `path segment 'id': expected a known indicator; got '${id}'`);
    return indicator;
  };
  const csv = (name: string, from: number, to: number, text: string) =>
    new CsvText(text, `${name.replace(/[^A-Za-z0-9._-]/g, '_')}-${isoTime(from).slice(0, 10)}-${isoTime(to).slice(0, 10)}.csv`);

  return [
    {
      kind: 'json',
      pattern: ['indicators'],
      query: [],
      async run(): Promise<IndicatorsResponse> {
        return { indicators: await queries.indicators() };
      },
    },
    {
      kind: 'json',
      pattern: ['indicators', ':id', 'ticks'],
      query: ['from', 'to', 'format'],
      async run({ params, segments }): Promise<IndicatorTicksResponse | CsvText> {
        const format = formatParam(params);
        const { from, to } = rangeParams(params, { toMs: clock(), fromMs: (t) => t - 7 * DAY_MS }, MAX_ANALYTICS_SPAN_MS);
        const indicator = await indicatorOf(segments);
        const ticks = await queries.marketTicks(indicator.id, { fromMs: from, toMs: to });
        if (format === 'csv') {
          const rows = ticks.map((t) => [isoTime(t.ts), t.ts, t.indicator_id, t.value, indicator.unit]);
          return csv(`${indicator.id}-ticks`, from, to, toCsv(['time_utc', 'ts', 'indicator_id', 'value', 'unit'], rows));
        }
        return { indicator_id: indicator.id, from, to, ticks };
      },
    },
    {
      kind: 'json',
      pattern: ['indicators', ':id', 'forecasts'],
      query: ['from', 'to', 'limit', 'format'],
      async run({ params, segments }): Promise<IndicatorForecastsResponse | CsvText> {
        const format = formatParam(params);
        const now = clock();
        const { from, to } = rangeParams(params, { toMs: now + 7 * DAY_MS, fromMs: () => now - 7 * DAY_MS }, MAX_ANALYTICS_SPAN_MS);
        const limit = intParam(params, 'limit', { min: 1, max: 100_000, default: 20_000 });
        const indicator = await indicatorOf(segments);
        const forecasts = await queries.forecastsForTargets(indicator.id, { fromMs: from, toMs: to }, { limit });
        if (format === 'csv') {
          const header = [
            'target_time_utc',
            'target_ts',
            'issued_at_utc',
            'issued_at',
            'horizon_step',
            'mean',
            'lower_95',
            'upper_95',
            'breach_probability',
            'model',
            'model_version',
            'indicator_id',
          ];
          const rows = forecasts.map((f) => [
            isoTime(f.target_ts),
            f.target_ts,
            isoTime(f.issued_at),
            f.issued_at,
            f.horizon_step,
            f.mean,
            f.lower,
            f.upper,
            f.breach_probability,
            f.model,
            f.model_version,
            f.indicator_id,
          ]);
          return csv(`${indicator.id}-forecasts`, from, to, toCsv(header, rows));
        }
        return { indicator_id: indicator.id, from, to, forecasts };
      },
    },
    {
      kind: 'json',
      pattern: ['indicators', ':id', 'warnings'],
      query: ['from', 'to', 'limit', 'format'],
      async run({ params, segments }): Promise<IndicatorWarningsResponse | CsvText> {
        const format = formatParam(params);
        const { from, to } = rangeParams(params, { toMs: clock(), fromMs: (t) => t - 7 * DAY_MS }, MAX_ANALYTICS_SPAN_MS);
        const limit = intParam(params, 'limit', { min: 1, max: 10_000, default: 1000 });
        const indicator = await indicatorOf(segments);
        const warnings = await queries.warningsInRange({
          range: { fromMs: from, toMs: to },
          sourceKind: 'indicator',
          sourceId: indicator.id,
          limit,
        });
        if (format === 'csv') {
          const header = ['time_utc', 'ts', 'id', 'level', 'kind', 'title', 'reasons', 'score', 'produced_by', 'machine_made'];
          const rows = warnings.map((w) => [
            isoTime(w.ts),
            w.ts,
            w.id,
            w.level,
            w.kind,
            w.title,
            w.reasons.join(' | '),
            w.score,
            w.produced_by,
            w.machine_made,
          ]);
          return csv(`${indicator.id}-warnings`, from, to, toCsv(header, rows));
        }
        return { indicator_id: indicator.id, from, to, warnings };
      },
    },
    {
      kind: 'json',
      pattern: ['forecast-track-record'],
      query: ['indicator_id', 'from', 'to', 'format'],
      async run({ params }): Promise<ForecastTrackRecordResponse | CsvText> {
        const format = formatParam(params);
        const now = clock();
        const range = rangeParams(params, { toMs: now, fromMs: (t) => t - 30 * DAY_MS }, MAX_ANALYTICS_SPAN_MS);
        // Only forecasts whose target time has come can be scored.
        const to = Math.min(range.to, now);
        const from = range.from;
        if (from >= to)
          throw new DashboardError('bad-request', `query parameter 'from': expected a time in the past (before ${now}); got '${from}'`);
        const wanted = idParam(params, 'indicator_id');
        const indicators = await queries.indicators();
        const scored = wanted === undefined ? indicators : indicators.filter((i) => i.id === wanted);
        if (wanted !== undefined && scored.length === 0) {
          throw new DashboardError('bad-request', `query parameter 'indicator_id': expected a known indicator; got '${wanted}'`);
        }
        // One query per indicator: the tick-matching tolerance follows each indicator's frequency.
        const records: ForecastTrackRecordRow[] = (
          await Promise.all(
            scored.map(async (i) => {
              const toleranceMs = TRACK_TOLERANCE_MS[i.frequency];
              const rows = await queries.forecastTrackRecord({ indicatorId: i.id, range: { fromMs: from, toMs: to }, toleranceMs });
              return rows.map((r) => ({ ...r, tolerance_ms: toleranceMs }));
            }),
          )
        ).flat();
        if (format === 'csv') {
          const header = [
            'indicator_id',
            'model',
            'model_version',
            'forecasts',
            'mae',
            'bias',
            'coverage_95',
            'first_target_utc',
            'last_target_utc',
          ];
          const rows = records.map((r) => [
            r.indicator_id,
            r.model,
            r.model_version,
            r.forecasts,
            r.mae,
            r.bias,
            r.coverage,
            isoTime(r.first_target_ts),
            isoTime(r.last_target_ts),
          ]);
          return csv(`forecast-track-record${wanted === undefined ? '' : `-${wanted}`}`, from, to, toCsv(header, rows));
        }
        return { from, to, records };
      },
    },
  ];
}

/** `readings=json|packed` of GET /api/stream (default json); 400 naming the parameter otherwise. */
export function readingsFormatParam(params: URLSearchParams): LiveReadingsFormat {
  const value = params.get('readings');
  if (value === null) return 'json';
  const format = LIVE_READINGS_FORMATS.find((f) => f === value);
  if (format === undefined) {
    throw new DashboardError(
      'bad-request',
      `query parameter 'readings': expected ${LIVE_READINGS_FORMATS.join(' or ')}; got '${value.slice(0, 60)}'`,
    );
  }
  return format;
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
