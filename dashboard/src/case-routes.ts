import {
  API_ACTIONS,
  buildIncidentReport,
  httpStatusOf,
  incidentReportToCsv,
  IncidentsError,
  type ApiAction,
  type IncidentFilter,
  type IncidentsApi,
} from '@cityops/incidents';
import { EVENT_KINDS, INCIDENT_STATUSES, WARNING_LEVELS, type EventKind, type IncidentStatus, type WarningLevel } from '@cityops/schemas';
import type { StoreQueries } from '@cityops/store';
import type { AuthRoute, AuthRouteContext, AuthRouteResult } from './auth/auth-routes.js';
import { assertKnownFields, readJsonObject, stringField } from './auth/http-body.js';
import { DashboardError, type DashboardErrorCode } from './errors.js';
import { epochMsParam, intParam } from './query-params.js';

/*
 * The commanders' case API over HTTP: /api/cases (list, filter), /api/cases/:id (detail with its
 * evidence chain and audit trail), POST /api/cases/:id/:action (confirm, accept, reassign,
 * escalate, comment, resolve, verify, close, merge, split…) and /api/reports/incidents (daily and
 * weekly analysis, JSON or CSV). The server has already checked the session, CSRF and the
 * permission of the route (authorize.ts); @cityops/incidents then checks what this principal may
 * do on this case (department scoping, department-only actions) and refuses with a typed error,
 * mapped here to the same 403/404/409 the rest of the API answers.
 */

export interface CaseRouteDeps {
  /** The incidents role's API (in this process); undefined when the role runs elsewhere. */
  api: IncidentsApi | undefined;
  queries: Pick<StoreQueries, 'incidentHistory' | 'snapshot'>;
  clock: () => number;
}

const STATUS_BY_CODE: Readonly<Record<number, DashboardErrorCode>> = {
  400: 'bad-request',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
  422: 'bad-request',
};

/** An incidents error as the dashboard's: same message, the status the incidents API gives it. */
function toDashboard(e: unknown): unknown {
  if (!(e instanceof IncidentsError)) return e;
  const code = STATUS_BY_CODE[httpStatusOf(e)] ?? 'store-failed';
  return new DashboardError(code, e.message, { retriable: e.retriable, cause: e });
}

function requireApi(api: IncidentsApi | undefined, what: string): IncidentsApi {
  if (api === undefined) {
    throw new DashboardError(
      'not-found',
      `${what}: expected the incidents role in this process (cityops all, or dashboard and incidents together); it runs elsewhere`,
    );
  }
  return api;
}

function listParam<T extends string>(params: URLSearchParams, name: string, allowed: readonly T[]): T[] | undefined {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  const values = raw.split(',');
  for (const v of values) {
    if (!(allowed as readonly string[]).includes(v)) {
      throw new DashboardError('bad-request', `'${name}': expected a comma-separated list of ${allowed.join(', ')}; got '${v}'`);
    }
  }
  return values as T[];
}

function filterFrom(params: URLSearchParams): IncidentFilter {
  const filter: IncidentFilter = {};
  const status = listParam<IncidentStatus>(params, 'status', INCIDENT_STATUSES);
  if (status) filter.status = status;
  const kind = listParam<EventKind>(params, 'kind', EVENT_KINDS);
  if (kind) filter.kind = kind;
  const minLevel = listParam<WarningLevel>(params, 'min_level', WARNING_LEVELS);
  if (minLevel) filter.min_level = minLevel[0]!;
  const area = params.get('area_id');
  if (area) filter.area_id = area;
  const department = params.get('department_id');
  if (department) filter.department_id = department;
  if (params.get('overdue') === 'true') filter.overdue = true;
  const limit = intParam(params, 'limit', { min: 1, max: 1000, default: 100 });
  filter.limit = limit;
  filter.offset = intParam(params, 'offset', { min: 0, max: 1_000_000, default: 0 });
  return filter;
}

const ACTION_FIELDS: Readonly<Record<ApiAction, readonly string[]>> = {
  confirm: ['note', 'department_id'],
  accept: ['note'],
  arrive: ['note'],
  reassign: ['note', 'department_id'],
  escalate: ['note'],
  recall: ['note'],
  comment: ['text'],
  resolve: ['note'],
  verify: ['note'],
  close: ['note'],
  merge: ['note', 'incident_ids'],
  split: ['note', 'warning_ids'],
};

function idList(body: Record<string, unknown>, name: string): string[] {
  const v = body[name];
  if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string' || x.length === 0 || x.length > 200)) {
    throw new DashboardError('bad-request', `'${name}': expected a non-empty array of ids; got ${JSON.stringify(v)?.slice(0, 200)}`);
  }
  return v as string[];
}

async function runAction(api: IncidentsApi, ctx: AuthRouteContext, id: string, action: ApiAction): Promise<unknown> {
  const principal = ctx.session!.principal;
  const body = await readJsonObject(ctx.req, `POST /api/cases/${id}/${action}`);
  assertKnownFields(body, ACTION_FIELDS[action], `POST /api/cases/${id}/${action}`);
  const note = stringField(body, 'note', { optional: true, max: 2000 });
  const withNote = note === undefined ? {} : { note };
  switch (action) {
    case 'confirm': {
      const department = stringField(body, 'department_id', { optional: true, max: 64 });
      return api.confirm(principal, id, { ...withNote, ...(department === undefined ? {} : { department_id: department }) });
    }
    case 'reassign':
      return api.reassign(principal, id, { ...withNote, department_id: stringField(body, 'department_id', { max: 64 }) });
    case 'comment':
      return api.comment(principal, id, { text: stringField(body, 'text', { max: 2000 }) });
    case 'merge':
      return api.merge(principal, id, { ...withNote, incident_ids: idList(body, 'incident_ids') });
    case 'split':
      return api.split(principal, id, { ...withNote, warning_ids: idList(body, 'warning_ids') });
    default:
      return api[action](principal, id, withNote);
  }
}

/** Routes keyed by their policy action name (authorize.ts POLICY). */
export function createCaseRoutes(deps: CaseRouteDeps): Readonly<Record<string, AuthRoute>> {
  const guarded =
    (run: (ctx: AuthRouteContext) => Promise<AuthRouteResult>) =>
    async (ctx: AuthRouteContext): Promise<AuthRouteResult> => {
      try {
        return await run(ctx);
      } catch (e) {
        throw toDashboard(e);
      }
    };
  return {
    'case.list': {
      query: ['status', 'kind', 'min_level', 'area_id', 'department_id', 'overdue', 'limit', 'offset'],
      run: guarded((ctx) =>
        Promise.resolve({ body: requireApi(deps.api, 'GET /api/cases').list(ctx.session!.principal, filterFrom(ctx.params)) }),
      ),
    },
    'case.detail': {
      query: [],
      run: guarded(async (ctx) => ({
        body: await requireApi(deps.api, 'GET /api/cases/:id').detail(ctx.session!.principal, ctx.segments.id!),
      })),
    },
    'case.act': {
      query: [],
      run: guarded(async (ctx) => {
        const id = ctx.segments.id!;
        const action = ctx.segments.action!;
        if (!(API_ACTIONS as readonly string[]).includes(action)) {
          throw new DashboardError(
            'not-found',
            `POST /api/cases/${id}/${action}: expected one of ${API_ACTIONS.join(', ')}; got '${action}'`,
          );
        }
        const result = await runAction(requireApi(deps.api, `POST /api/cases/${id}/${action}`), ctx, id, action as ApiAction);
        return { body: result, audit: { target: `incident:${id}`, detail: action } };
      }),
    },
    'snapshot.read': {
      query: [],
      run: guarded(async (ctx) => {
        const id = ctx.segments.id!;
        const found = await deps.queries.snapshot(id);
        if (found === undefined)
          throw new DashboardError(
            'not-found',
            `GET /api/snapshots/${id}: expected a stored snapshot with that id; there is none (or it expired)`,
          );
        // Masked before it left the vision worker; raw frames are never stored.
        return { body: undefined, raw: { contentType: 'image/png', bytes: found.png } };
      }),
    },
    'report.incidents': {
      query: ['period', 'at', 'format'],
      run: guarded(async (ctx) => {
        const period = ctx.params.get('period') ?? 'day';
        if (period !== 'day' && period !== 'week')
          throw new DashboardError('bad-request', `'period': expected day or week; got '${period}'`);
        const format = ctx.params.get('format') ?? 'json';
        if (format !== 'json' && format !== 'csv')
          throw new DashboardError('bad-request', `'format': expected json or csv; got '${format}'`);
        // The period ending at `at` (default now), in China Standard Time days as the report buckets them.
        const toMs = epochMsParam(ctx.params, 'at') ?? deps.clock();
        const fromMs = toMs - (period === 'day' ? 1 : 7) * 86_400_000;
        const history = await deps.queries.incidentHistory({ fromMs, toMs });
        const report = buildIncidentReport({ ...history, fromMs, toMs, period });
        if (format === 'csv') {
          return {
            body: undefined,
            raw: { contentType: 'text/csv; charset=utf-8', text: incidentReportToCsv(report), filename: `incidents-${period}.csv` },
          };
        }
        return { body: report };
      }),
    },
  };
}
