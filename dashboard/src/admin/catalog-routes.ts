import type { Producer } from '@cityops/bus';
import { encodeDimension, TOPICS, type Retirement } from '@cityops/schemas';
import type { StoreQueries } from '@cityops/store';
import type { AuthRoute, AuthRouteContext } from '../auth/auth-routes.js';
import { assertKnownFields, readJsonObject } from '../auth/http-body.js';
import { DashboardError } from '../errors.js';
import {
  asDimension,
  CATALOG_FIELDS,
  CATALOG_KINDS,
  toCatalogRecord,
  type CatalogName,
  type CatalogRecord,
  type CatalogSegment,
} from './catalog-records.js';

/*
 * /api/admin/{cameras,sensors,areas}: administrators list, add and change what exists in the
 * city. The dashboard never writes the store: a change is published as a dimension record on
 * city.dimensions, like the simulator's, so the sink stores it and every running worker that
 * reads the topic (the vision worker learns a new camera's area and place) sees it without a
 * restart. Ids are stable and never reused for something else: a record is replaced whole under
 * its id (the table keeps the latest, ReplacingMergeTree).
 *
 * Nothing is deleted: retiring publishes a Retirement record (the lists, the wall and the vision
 * worker leave the record out from then on), and restoring publishes the opposite decision.
 */

export interface CatalogRouteDeps {
  producer: Pick<Producer, 'send'>;
  queries: Pick<StoreQueries, 'areas' | 'sensors' | 'cameras' | 'retirements'>;
  /** Stamps retirement decisions. Default Date.now. */
  clock?: () => number;
  /**
   * How long a create or update waits for the sink to store the record before answering, so
   * the list the admin page reloads shows it; past this the answer says `stored: false` (the
   * record is on the bus and will be stored when the sink catches up). Default 5000 ms.
   */
  storeWaitMs?: number;
  /** Poll interval of that wait. Default 100 ms. */
  storePollMs?: number;
}

/** Areas carry their polygon: a district outline in GeoJSON is easily tens of kilobytes. */
const MAX_CATALOG_BODY_BYTES = 1024 * 1024;

/** The JSON key of a kind's list and record in answers: { cameras: [...] }, { camera: {...} }. */
const SINGULAR: Readonly<Record<CatalogSegment, string>> = { cameras: 'camera', sensors: 'sensor', areas: 'area' };
const ACTION_PREFIX: Readonly<Record<CatalogSegment, string>> = { cameras: 'camera', sensors: 'sensor', areas: 'area' };

/** Routes keyed by their policy action name (authorize.ts POLICY): camera.list, camera.create, camera.update, … */
export function createCatalogRoutes(deps: CatalogRouteDeps): Readonly<Record<string, AuthRoute>> {
  const storeWaitMs = deps.storeWaitMs ?? 5000;
  const storePollMs = deps.storePollMs ?? 100;

  const list = (segment: CatalogSegment): Promise<CatalogRecord[]> => {
    switch (segment) {
      case 'cameras':
        return deps.queries.cameras();
      case 'sensors':
        return deps.queries.sensors();
      case 'areas':
        return deps.queries.areas();
    }
  };

  const areaIds = async (): Promise<string[]> => (await deps.queries.areas()).map((a) => a.id);
  const clock = deps.clock ?? Date.now;

  /** Publishes a retirement decision and waits (bounded) until the lists reflect it. */
  async function decide(segment: CatalogSegment, name: CatalogName, id: string, retired: boolean, reason: string): Promise<boolean> {
    const record: Retirement = { id: `${name}:${id}`, schema_version: 1, target: name, target_id: id, retired, ts: clock(), reason };
    await deps.producer.send(TOPICS.dimensions, [encodeDimension({ name: 'Retirement', record })]);
    const deadline = Date.now() + storeWaitMs;
    for (;;) {
      const listed = (await list(segment)).some((r) => r.id === id);
      if (listed !== retired) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, storePollMs));
    }
  }

  /** Publishes the record and waits (bounded) until the store answers it back as it was sent. */
  async function publish(segment: CatalogSegment, name: CatalogName, record: CatalogRecord): Promise<boolean> {
    await deps.producer.send(TOPICS.dimensions, [encodeDimension(asDimension(name, record))]);
    const deadline = Date.now() + storeWaitMs;
    for (;;) {
      const stored = (await list(segment)).find((r) => r.id === record.id);
      if (stored !== undefined && sameRecord(stored, record)) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, storePollMs));
    }
  }

  const routes: Record<string, AuthRoute> = {
    'retirement.list': { query: [], run: async () => ({ body: { retirements: await deps.queries.retirements() } }) },
  };
  for (const segment of Object.keys(CATALOG_KINDS) as CatalogSegment[]) {
    const name = CATALOG_KINDS[segment];
    const one = SINGULAR[segment];
    const prefix = ACTION_PREFIX[segment];
    const fields = CATALOG_FIELDS[name];

    routes[`${prefix}.list`] = {
      query: [],
      run: async () => ({ body: { [segment]: await list(segment) } }),
    };

    routes[`${prefix}.create`] = {
      query: [],
      async run({ req }: AuthRouteContext) {
        const what = `POST /api/admin/${segment}`;
        const body = await readJsonObject(req, what, MAX_CATALOG_BODY_BYTES);
        assertKnownFields(body, fields, what);
        const record = toCatalogRecord(name, body, { areaIds: await areaIds() }, what);
        if ((await list(segment)).some((r) => r.id === record.id)) {
          throw new DashboardError(
            'conflict',
            `${what}: field 'id': expected a new ${one} id; got '${record.id}', which exists (change it with PATCH /api/admin/${segment}/${record.id})`,
          );
        }
        const stored = await publish(segment, name, record);
        return {
          status: 201,
          body: { [one]: record, stored },
          audit: { target: `${name}:${record.id}`, detail: `created ${describeRecord(record)}` },
        };
      },
    };

    routes[`${prefix}.update`] = {
      query: [],
      async run({ req, segments }: AuthRouteContext) {
        const id = decodeId(segments.id ?? '');
        const what = `PATCH /api/admin/${segment}/${id}`;
        const body = await readJsonObject(req, what, MAX_CATALOG_BODY_BYTES);
        // The id is the record's identity (bus key, table key, what readings and frames cite): never changed.
        assertKnownFields(
          body,
          fields.filter((f) => f !== 'id'),
          what,
        );
        const before = (await list(segment)).find((r) => r.id === id);
        if (before === undefined)
          throw new DashboardError('not-found', `${what}: expected an existing ${one} id; got '${id.slice(0, 128)}'`);
        // The stored record with the update's fields over it; toCatalogRecord sets schema_version.
        const record = toCatalogRecord(name, { ...before, ...body }, { areaIds: await areaIds() }, what);
        const changes = describeChanges(before, record);
        const stored = changes.length === 0 ? true : await publish(segment, name, record);
        return {
          body: { [one]: record, stored },
          audit: { target: `${name}:${id}`, detail: changes.length === 0 ? 'no change' : changes.join('; ') },
        };
      },
    };

    routes[`${prefix}.retire`] = {
      query: [],
      async run({ req, segments }: AuthRouteContext) {
        const id = decodeId(segments.id ?? '');
        const what = `POST /api/admin/${segment}/${id}/retire`;
        const reason = reasonFrom(await readJsonObject(req, what), what);
        if (!(await list(segment)).some((r) => r.id === id)) {
          throw new DashboardError(
            'not-found',
            `${what}: expected a ${one} in service; got '${id.slice(0, 128)}', which is unknown or already retired`,
          );
        }
        const stored = await decide(segment, name, id, true, reason);
        return { body: { retired: id, stored }, audit: { target: `${name}:${id}`, detail: `retired: ${short(reason)}` } };
      },
    };

    routes[`${prefix}.restore`] = {
      query: [],
      async run({ req, segments }: AuthRouteContext) {
        const id = decodeId(segments.id ?? '');
        const what = `POST /api/admin/${segment}/${id}/restore`;
        const reason = reasonFrom(await readJsonObject(req, what), what);
        const decision = (await deps.queries.retirements()).find((r) => r.id === `${name}:${id}`);
        if (decision?.retired !== true) {
          throw new DashboardError('not-found', `${what}: expected a retired ${one}; got '${id.slice(0, 128)}', which is not retired`);
        }
        const stored = await decide(segment, name, id, false, reason);
        return { body: { restored: id, stored }, audit: { target: `${name}:${id}`, detail: `back in service: ${short(reason)}` } };
      },
    };
  }
  return routes;
}

/** The body of a retire or restore: `{ reason }`, said in words (the audit trail and the record keep it). */
function reasonFrom(body: Record<string, unknown>, what: string): string {
  assertKnownFields(body, ['reason'], what);
  const reason = body['reason'];
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > 500) {
    throw new DashboardError(
      'bad-request',
      `${what}: field 'reason': expected text of 1 to 500 characters; got ${JSON.stringify(reason ?? null)}`,
    );
  }
  return reason.trim();
}

function decodeId(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new DashboardError('bad-request', `path segment 'id': expected URL-encoded text; got '${raw.slice(0, 80)}'`);
  }
}

function sameRecord(a: object, b: object): boolean {
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  return Object.keys(y).every((k) => x[k] === y[k]);
}

/** For the audit trail: the fields, long ones (geometry, URLs) shortened. */
function describeRecord(record: object): string {
  return Object.entries(record)
    .filter(([k]) => k !== 'schema_version')
    .map(([k, v]) => `${k}=${short(redact(k, v))}`)
    .join(' ');
}

function describeChanges(before: object, after: object): string[] {
  const b = before as Record<string, unknown>;
  return Object.entries(after)
    .filter(([k, v]) => k !== 'schema_version' && b[k] !== v)
    .map(([k, v]) => `${k} ${short(redact(k, b[k]))}→${short(redact(k, v))}`);
}

/** Camera URLs often carry the RTSP login (rtsp://user:password@host): never into the audit trail. */
function redact(key: string, value: unknown): unknown {
  return key === 'url' && typeof value === 'string' ? value.replace(/\/\/[^/@]*@/, '//***@') : value;
}

function short(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}
