import type { Anomaly, EarlyWarning } from '@cityops/schemas';
import type { Bounds, Position2 } from './geo.js';
import type { CityModel } from './live-feed.js';

/*
 * The events heatmap's data: recent warnings (which carry a position) and anomalies (placed at
 * their sensor or camera; an indicator's has no place and is left out) counted on a square grid
 * over the city. @deck.gl/aggregation-layers is not part of the wall's bundle, and a few hundred
 * cells drawn as polygons are cheap, so the aggregation is done here, once per change.
 */

/** Cells along the city's longer side. */
const CELLS_ACROSS = 16;

export interface HeatCell {
  polygon: Position2[];
  count: number;
}

export interface HeatGrid {
  cells: HeatCell[];
  /** The largest count of any cell (the colour scale's top); 0 when there are no events. */
  max: number;
}

/** Where the warnings and anomalies in (now - windowMs, now] happened. */
export function heatPoints(
  warnings: readonly EarlyWarning[],
  anomalies: readonly Anomaly[],
  city: CityModel | null,
  now: number,
  windowMs: number,
): Position2[] {
  const inWindow = (ts: number) => ts <= now && now - ts <= windowMs;
  const points: Position2[] = [];
  for (const w of warnings) if (inWindow(w.ts)) points.push([w.lon, w.lat]);
  if (city === null) return points;
  const cameras = new Map(city.cameras.map((c) => [c.id, c]));
  for (const a of anomalies) {
    if (!inWindow(a.ts)) continue;
    const place = a.source_kind === 'sensor' ? city.sensors[city.sensorIndex.get(a.source_id) ?? -1] : cameras.get(a.source_id);
    if (place !== undefined) points.push([place.lon, place.lat]);
  }
  return points;
}

/** Counts `points` on a grid of square (on the ground) cells laid over `bounds`; empty cells are left out. */
export function heatGrid(points: readonly Position2[], bounds: Bounds | null): HeatGrid {
  if (bounds === null || points.length === 0) return { cells: [], max: 0 };
  const [w, s, e, n] = bounds;
  // A degree of longitude is cos(latitude) as long as one of latitude: square cells on the ground.
  const cosLat = Math.max(0.1, Math.cos((((s + n) / 2) * Math.PI) / 180));
  const cellLat = Math.max((n - s) / CELLS_ACROSS, ((e - w) * cosLat) / CELLS_ACROSS, 1e-4);
  const cellLon = cellLat / cosLat;
  const counts = new Map<string, { col: number; row: number; count: number }>();
  for (const [lon, lat] of points) {
    const col = Math.floor((lon - w) / cellLon);
    const row = Math.floor((lat - s) / cellLat);
    const key = `${col}:${row}`;
    const cell = counts.get(key);
    if (cell === undefined) counts.set(key, { col, row, count: 1 });
    else cell.count++;
  }
  let max = 0;
  const cells: HeatCell[] = [];
  for (const { col, row, count } of counts.values()) {
    const x0 = w + col * cellLon;
    const y0 = s + row * cellLat;
    cells.push({
      polygon: [
        [x0, y0],
        [x0 + cellLon, y0],
        [x0 + cellLon, y0 + cellLat],
        [x0, y0 + cellLat],
      ],
      count,
    });
    if (count > max) max = count;
  }
  return { cells, max };
}
