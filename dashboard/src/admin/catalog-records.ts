import {
  Area,
  Camera,
  DIMENSION_SCHEMAS,
  SENSOR_KIND_INFO,
  Sensor,
  validator,
  type DimensionName,
  type DimensionRecord,
  type FieldError,
  type SensorKind,
  type Static,
} from '@cityops/schemas';
import { DashboardError } from '../errors.js';

/*
 * What administrators may publish on city.dimensions from the admin page: cameras, sensors and
 * areas (departments come from the responsibility table, indicators from the market feeds). A
 * body becomes a contract record here — checked by the contract's own validator, then by the
 * checks the contract cannot express (a sensor's unit is its kind's, an area id that exists,
 * GeoJSON that is a polygon). Every refusal names the field, what was expected and what came.
 */

/** The catalog kinds by their URL segment. */
export const CATALOG_KINDS = {
  cameras: 'Camera',
  sensors: 'Sensor',
  areas: 'Area',
} as const satisfies Record<string, DimensionName>;

export type CatalogSegment = keyof typeof CATALOG_KINDS;
export type CatalogName = (typeof CATALOG_KINDS)[CatalogSegment];
export type CatalogRecord<N extends CatalogName = CatalogName> = Static<(typeof DIMENSION_SCHEMAS)[N]>;

/** Body fields each kind takes: the contract's, less `schema_version` (the server sets it). */
export const CATALOG_FIELDS: Readonly<Record<CatalogName, readonly string[]>> = {
  Camera: fieldsOf(Camera),
  Sensor: fieldsOf(Sensor),
  Area: fieldsOf(Area),
};

function fieldsOf(schema: { properties: Record<string, unknown> }): string[] {
  return Object.keys(schema.properties).filter((f) => f !== 'schema_version');
}

/** URL schemes the camera sources open (ingest's ffmpeg input: RTSP, HTTP(S), local files). */
const CAMERA_URL_SCHEMES = ['rtsp:', 'rtsps:', 'http:', 'https:', 'file:'];

export interface CatalogContext {
  /** Ids of the areas that exist, for `area_id`. */
  areaIds: readonly string[];
}

/**
 * A complete record of kind `name` from `fields` (the body of a create, or the stored record with
 * an update's fields over it). Throws a 400 naming every wrong field.
 */
export function toCatalogRecord<N extends CatalogName>(
  name: N,
  fields: Readonly<Record<string, unknown>>,
  ctx: CatalogContext,
  what: string,
): CatalogRecord<N> {
  const candidate: Record<string, unknown> = { ...fields, schema_version: 1 };
  if (name === 'Sensor' && candidate.unit === undefined) {
    // The unit is the kind's (readings in another unit are refused at ingest), so it may be left out.
    const info = SENSOR_KIND_INFO[candidate.kind as SensorKind] as (typeof SENSOR_KIND_INFO)[SensorKind] | undefined;
    if (info !== undefined) candidate.unit = info.unit;
  }
  const check = validator(DIMENSION_SCHEMAS[name]);
  const errors: FieldError[] = check.errors(candidate, 10);
  if (errors.length === 0) errors.push(...domainErrors(name, candidate, ctx));
  if (errors.length > 0) {
    throw new DashboardError('bad-request', `${what}: ${errors.map((e) => `field '${fieldName(e.path)}': ${e.message}`).join('; ')}`);
  }
  return candidate as CatalogRecord<N>;
}

export function asDimension<N extends CatalogName>(name: N, record: CatalogRecord<N>): DimensionRecord {
  return { name, record } as DimensionRecord;
}

/** `/area_id` → `area_id`; `/` (the whole record) → `body`. */
function fieldName(pointer: string): string {
  const name = pointer.replace(/^\//, '').replace(/\//g, '.');
  return name === '' ? 'body' : name;
}

function domainErrors(name: CatalogName, r: Record<string, unknown>, ctx: CatalogContext): FieldError[] {
  const errors: FieldError[] = [];
  if (name === 'Sensor' || name === 'Camera') {
    const area = r.area_id as string;
    if (!ctx.areaIds.includes(area)) {
      const known = ctx.areaIds.length === 0 ? 'an area (none exists yet: create one first)' : `one of the areas ${preview(ctx.areaIds)}`;
      errors.push({ path: '/area_id', message: `expected ${known}; got '${area.slice(0, 64)}'` });
    }
  }
  if (name === 'Sensor') {
    const info = SENSOR_KIND_INFO[r.kind as SensorKind];
    if (r.unit !== info.unit)
      errors.push({ path: '/unit', message: `expected '${info.unit}' for ${String(r.kind)}; got '${String(r.unit)}'` });
  }
  if (name === 'Camera') {
    const url = r.url as string;
    let scheme: string | undefined;
    try {
      scheme = new URL(url).protocol;
    } catch {
      scheme = undefined;
    }
    if (scheme === undefined || !CAMERA_URL_SCHEMES.includes(scheme)) {
      errors.push({
        path: '/url',
        message: `expected a URL starting ${CAMERA_URL_SCHEMES.map((s) => `${s}//`).join(', ')}; got '${url.slice(0, 60)}'`,
      });
    }
  }
  if (name === 'Area') {
    const problem = polygonProblem(r.geometry as string);
    if (problem !== undefined) errors.push({ path: '/geometry', message: problem });
  }
  return errors;
}

function preview(ids: readonly string[]): string {
  return ids.length <= 8 ? ids.join(', ') : `${ids.slice(0, 8).join(', ')} … (${ids.length})`;
}

/** The map draws and shades areas as GeoJSON polygons: anything else would vanish from the wall. */
function polygonProblem(text: string): string | undefined {
  let g: unknown;
  try {
    g = JSON.parse(text);
  } catch {
    return `expected GeoJSON geometry text (a Polygon or MultiPolygon); got text that is not JSON: '${text.slice(0, 40)}'`;
  }
  const type = (g as { type?: unknown } | null)?.type;
  const coordinates = (g as { coordinates?: unknown } | null)?.coordinates;
  if (type === 'Polygon') return ringsProblem(coordinates);
  if (type === 'MultiPolygon') {
    if (!Array.isArray(coordinates) || coordinates.length === 0) return 'expected MultiPolygon coordinates as a list of polygons; got none';
    for (const polygon of coordinates) {
      const p = ringsProblem(polygon);
      if (p !== undefined) return p;
    }
    return undefined;
  }
  return `expected a GeoJSON geometry of type Polygon or MultiPolygon; got ${JSON.stringify(type)?.slice(0, 40) ?? 'no type'}`;
}

function ringsProblem(rings: unknown): string | undefined {
  if (!Array.isArray(rings) || rings.length === 0) return 'expected polygon coordinates as a list of rings; got none';
  for (const ring of rings) {
    if (!Array.isArray(ring) || ring.length < 4) {
      return `expected each ring to have at least 4 positions (closed); got ${Array.isArray(ring) ? ring.length : 'no list'}`;
    }
    for (const p of ring) {
      const ok =
        Array.isArray(p) &&
        p.length >= 2 &&
        typeof p[0] === 'number' &&
        typeof p[1] === 'number' &&
        Math.abs(p[0]) <= 180 &&
        Math.abs(p[1]) <= 90;
      if (!ok) return `expected positions [lon, lat] within ±180, ±90; got ${JSON.stringify(p)?.slice(0, 40)}`;
    }
  }
  return undefined;
}
