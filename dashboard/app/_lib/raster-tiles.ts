import type { Bounds } from './geo.js';

/*
 * Web-Mercator XYZ tile arithmetic for the wall's raster layer (the on-premises tile server of
 * CITYOPS_TILE_URL). @deck.gl/geo-layers' TileLayer would do this, but it is not in the bundle:
 * the map draws one BitmapLayer per tile and this module says which tiles a view needs.
 */

export interface TileIndex {
  z: number;
  x: number;
  y: number;
}

/** Web Mercator stops short of the poles; tiles end at ±85.0511°. */
export const MAX_MERCATOR_LAT = 85.0511287798066;
/** Pixels along a tile's side on standard XYZ servers (OpenStreetMap, MapTiler, TileServer GL rasters). */
export const DEFAULT_TILE_SIZE_PX = 256;
/** More tiles than this for one view and a coarser zoom is drawn instead (a 4K panel needs about 40 at 256 px). */
export const DEFAULT_MAX_TILES = 64;

/** x of the tile column holding `lon` at zoom z, as a fraction (floor it for the column). */
export function lonToTileX(lon: number, z: number): number {
  return ((lon + 180) / 360) * 2 ** z;
}

/** y of the tile row holding `lat` at zoom z, as a fraction (0 at the north edge). */
export function latToTileY(lat: number, z: number): number {
  const clamped = Math.max(-MAX_MERCATOR_LAT, Math.min(MAX_MERCATOR_LAT, lat));
  const rad = (clamped * Math.PI) / 180;
  return ((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2) * 2 ** z;
}

export function tileXToLon(x: number, z: number): number {
  return (x / 2 ** z) * 360 - 180;
}

export function tileYToLat(y: number, z: number): number {
  const n = Math.PI * (1 - (2 * y) / 2 ** z);
  return (Math.atan(Math.sinh(n)) * 180) / Math.PI;
}

/** The tile's [west, south, east, north] in degrees, what BitmapLayer's `bounds` takes. */
export function tileBounds({ z, x, y }: TileIndex): Bounds {
  return [tileXToLon(x, z), tileYToLat(y + 1, z), tileXToLon(x + 1, z), tileYToLat(y, z)];
}

/**
 * The tile zoom for a deck.gl view zoom: deck's zoom counts 512-pixel worlds, so 256-pixel tiles
 * are drawn at their own resolution one level up. Rounded to the nearest level, within 0…maxZoom.
 */
export function tileZoomFor(viewZoom: number, maxZoom: number, tileSizePx = DEFAULT_TILE_SIZE_PX): number {
  const z = Math.round(viewZoom + Math.log2(512 / tileSizePx));
  return Math.max(0, Math.min(maxZoom, Number.isFinite(z) ? z : 0));
}

/** The range of tile columns and rows covering `bounds` at zoom z (inclusive). */
function coveringRange([w, s, e, n]: Bounds, z: number): { x0: number; x1: number; y0: number; y1: number } {
  const last = 2 ** z - 1;
  const col = (lon: number) => Math.max(0, Math.min(last, Math.floor(lonToTileX(lon, z))));
  const row = (lat: number) => Math.max(0, Math.min(last, Math.floor(latToTileY(lat, z))));
  // A bound exactly on a tile edge belongs to the tile before it: no column of zero width.
  const colEnd = (lon: number) => Math.max(0, Math.min(last, Math.ceil(lonToTileX(lon, z)) - 1));
  const rowEnd = (lat: number) => Math.max(0, Math.min(last, Math.ceil(latToTileY(lat, z)) - 1));
  const x0 = col(w);
  const y0 = row(n);
  return { x0, x1: Math.max(x0, colEnd(e)), y0, y1: Math.max(y0, rowEnd(s)) };
}

/**
 * The tiles covering `bounds` ([west, south, east, north]) at zoom z, nearest the centre first
 * (those load first). When more than `maxTiles` would be needed, the next coarser zoom is tried
 * until they fit: a zoomed-out or very large view draws fewer, blurrier tiles rather than flooding
 * the tile server. The map does not wrap around the antimeridian (one city).
 */
export function tilesCovering(bounds: Bounds, z: number, maxTiles = DEFAULT_MAX_TILES): TileIndex[] {
  let zoom = Math.max(0, Math.floor(z));
  let range = coveringRange(bounds, zoom);
  while (zoom > 0 && (range.x1 - range.x0 + 1) * (range.y1 - range.y0 + 1) > maxTiles) {
    zoom--;
    range = coveringRange(bounds, zoom);
  }
  const cx = (range.x0 + range.x1) / 2;
  const cy = (range.y0 + range.y1) / 2;
  const tiles: TileIndex[] = [];
  for (let x = range.x0; x <= range.x1; x++) for (let y = range.y0; y <= range.y1; y++) tiles.push({ z: zoom, x, y });
  return tiles.sort((a, b) => Math.hypot(a.x - cx, a.y - cy) - Math.hypot(b.x - cx, b.y - cy)).slice(0, Math.max(1, maxTiles));
}

/** The tile one zoom level up that contains `tile`; null at zoom 0. */
export function parentTile({ z, x, y }: TileIndex): TileIndex | null {
  return z === 0 ? null : { z: z - 1, x: Math.floor(x / 2), y: Math.floor(y / 2) };
}

export function tileKey({ z, x, y }: TileIndex): string {
  return `${z}/${x}/${y}`;
}

/** The template with {z}, {x}, {y} filled in (the server validated it has all three). */
export function tileUrl(template: string, { z, x, y }: TileIndex): string {
  return template.replaceAll('{z}', String(z)).replaceAll('{x}', String(x)).replaceAll('{y}', String(y));
}
