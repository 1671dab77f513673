import type { Area } from '@cityops/schemas';
import type { Basemap, GeoJsonGeometry, GeoJsonPosition } from '../../src/api-types.js';

/*
 * GeoJSON → the flat shapes deck.gl's path and polygon layers draw. Done once when the city or
 * the basemap loads, never per frame.
 */

export type Position2 = [number, number];
/** Outer ring first, then holes. */
export type Rings = Position2[][];

export interface DistrictShape {
  areaId: string;
  rings: Rings;
}

export interface PathShape {
  path: Position2[];
  /** Arterial roads are drawn wider. */
  major: boolean;
}

export interface BasemapShapes {
  roads: PathShape[];
  waterAreas: Rings[];
  waterLines: PathShape[];
}

/** [west, south, east, north] */
export type Bounds = [number, number, number, number];

function pos(p: GeoJsonPosition): Position2 {
  return [p[0] ?? 0, p[1] ?? 0];
}

function polygonsOf(g: GeoJsonGeometry): Rings[] {
  if (g.type === 'Polygon') return [g.coordinates.map((ring) => ring.map(pos))];
  if (g.type === 'MultiPolygon') return g.coordinates.map((poly) => poly.map((ring) => ring.map(pos)));
  return [];
}

function linesOf(g: GeoJsonGeometry): Position2[][] {
  if (g.type === 'LineString') return [g.coordinates.map(pos)];
  if (g.type === 'MultiLineString') return g.coordinates.map((line) => line.map(pos));
  return [];
}

export function isGeometry(value: unknown): value is GeoJsonGeometry {
  if (typeof value !== 'object' || value === null) return false;
  const { type, coordinates } = value as { type?: unknown; coordinates?: unknown };
  return (
    Array.isArray(coordinates) &&
    (type === 'Polygon' ||
      type === 'MultiPolygon' ||
      type === 'LineString' ||
      type === 'MultiLineString' ||
      type === 'Point' ||
      type === 'MultiPoint')
  );
}

/** An area's geometry is GeoJSON text (ClickHouse keeps it verbatim); a bad one is skipped, not fatal. */
export function districtShapes(areas: readonly Area[]): DistrictShape[] {
  const out: DistrictShape[] = [];
  for (const area of areas) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(area.geometry);
    } catch {
      console.warn(`area ${area.id}: geometry is not JSON; drawn as a point only`);
      continue;
    }
    if (!isGeometry(parsed)) continue;
    for (const rings of polygonsOf(parsed)) out.push({ areaId: area.id, rings });
  }
  return out;
}

const MAJOR_ROAD_CLASSES = new Set(['motorway', 'trunk', 'primary', 'major', 'expressway', 'arterial']);

export function basemapShapes(basemap: Basemap): BasemapShapes {
  const roads: PathShape[] = [];
  for (const f of basemap.roads.features) {
    if (f.geometry === null) continue;
    const p: Partial<Record<'class' | 'highway' | 'kind', unknown>> = f.properties ?? {};
    const cls = p.class ?? p.highway ?? p.kind;
    const major = typeof cls === 'string' && MAJOR_ROAD_CLASSES.has(cls);
    for (const path of linesOf(f.geometry)) roads.push({ path, major });
  }
  const waterAreas: Rings[] = [];
  const waterLines: PathShape[] = [];
  for (const f of basemap.water.features) {
    if (f.geometry === null) continue;
    waterAreas.push(...polygonsOf(f.geometry));
    for (const path of linesOf(f.geometry)) waterLines.push({ path, major: false });
  }
  return { roads, waterAreas, waterLines };
}

/** Bounds of everything drawn, so the first view shows the whole city. */
export function boundsOf(districts: readonly DistrictShape[], points: readonly { lon: number; lat: number }[]): Bounds | null {
  let w = Infinity;
  let s = Infinity;
  let e = -Infinity;
  let n = -Infinity;
  const add = (x: number, y: number) => {
    if (x < w) w = x;
    if (x > e) e = x;
    if (y < s) s = y;
    if (y > n) n = y;
  };
  for (const d of districts) for (const ring of d.rings) for (const [x, y] of ring) add(x, y);
  for (const p of points) add(p.lon, p.lat);
  return Number.isFinite(w) && Number.isFinite(n) ? [w, s, e, n] : null;
}
