/*
 * The little GeoJSON (RFC 7946) this package writes, typed here rather than pulling in
 * @types/geojson: the dashboard reads the same shapes structurally.
 */

/** [longitude, latitude] in WGS 84 degrees. */
export type Position = [number, number];

export interface PolygonGeometry {
  type: 'Polygon';
  /** Linear rings: closed (first = last), exterior counter-clockwise, ≥ 4 positions. */
  coordinates: Position[][];
}

export interface LineStringGeometry {
  type: 'LineString';
  coordinates: Position[];
}

export interface Feature<G, P> {
  type: 'Feature';
  id: string;
  geometry: G;
  properties: P;
}

export interface FeatureCollection<G, P> {
  type: 'FeatureCollection';
  features: Feature<G, P>[];
}

/** Local planar frame in kilometres (x east, y north) around an origin; good to ~0.1% at city scale. */
export interface LocalFrame {
  originLon: number;
  originLat: number;
}

const KM_PER_DEG_LAT = 111.32;

export function toLonLat(frame: LocalFrame, x: number, y: number): Position {
  const kmPerDegLon = KM_PER_DEG_LAT * Math.cos((frame.originLat * Math.PI) / 180);
  return [round6(frame.originLon + x / kmPerDegLon), round6(frame.originLat + y / KM_PER_DEG_LAT)];
}

/** 6 decimals ≈ 0.1 m: more only bloats the GeoJSON the dashboard downloads. */
function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

/** Ray casting; points exactly on an edge may go either way, which placement does not care about. */
export function pointInRing(px: number, py: number, ring: readonly (readonly [number, number])[]): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i]!;
    const [xj, yj] = ring[j]!;
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Shoelace area; positive for a counter-clockwise ring. */
export function signedArea(ring: readonly (readonly [number, number])[]): number {
  let a = 0;
  for (let i = 0; i < ring.length - 1; i++) {
    const [x1, y1] = ring[i]!;
    const [x2, y2] = ring[i + 1]!;
    a += x1 * y2 - x2 * y1;
  }
  return a / 2;
}

export function centroid(ring: readonly (readonly [number, number])[]): [number, number] {
  let cx = 0;
  let cy = 0;
  let a = 0;
  for (let i = 0; i < ring.length - 1; i++) {
    const [x1, y1] = ring[i]!;
    const [x2, y2] = ring[i + 1]!;
    const f = x1 * y2 - x2 * y1;
    cx += (x1 + x2) * f;
    cy += (y1 + y2) * f;
    a += f;
  }
  return a === 0 ? [ring[0]![0], ring[0]![1]] : [cx / (3 * a), cy / (3 * a)];
}

/** Nearest point on a polyline to (px, py). */
export function nearestOnPolyline(
  px: number,
  py: number,
  line: readonly (readonly [number, number])[],
): { x: number; y: number; d2: number } {
  let best = { x: line[0]![0], y: line[0]![1], d2: Infinity };
  for (let i = 0; i < line.length - 1; i++) {
    const [ax, ay] = line[i]!;
    const [bx, by] = line[i + 1]!;
    const dx = bx - ax;
    const dy = by - ay;
    const len2 = dx * dx + dy * dy;
    const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2));
    const x = ax + t * dx;
    const y = ay + t * dy;
    const d2 = (px - x) ** 2 + (py - y) ** 2;
    if (d2 < best.d2) best = { x, y, d2 };
  }
  return best;
}
