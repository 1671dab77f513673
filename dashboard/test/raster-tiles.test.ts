import { describe, expect, it } from 'vitest';
import {
  latToTileY,
  lonToTileX,
  MAX_MERCATOR_LAT,
  parentTile,
  tileBounds,
  tileKey,
  tileUrl,
  tilesCovering,
  tileXToLon,
  tileYToLat,
  tileZoomFor,
} from '../app/_lib/raster-tiles.js';

/* The wall's Web-Mercator XYZ tile arithmetic (app/_lib/raster-tiles.ts). */

/** The demo city's districts: [west, south, east, north]. */
const CITY: [number, number, number, number] = [121.44, 31.2, 121.56, 31.29];

describe('Web-Mercator tile coordinates', () => {
  it('puts a point in the tile OpenStreetMap serves it in', () => {
    // Berlin's centre is OSM tile 12/2200/1343; the Bund in Shanghai 13/6860/3347.
    expect([Math.floor(lonToTileX(13.4, 12)), Math.floor(latToTileY(52.5, 12))]).toEqual([2200, 1343]);
    expect([Math.floor(lonToTileX(121.47, 13)), Math.floor(latToTileY(31.23, 13))]).toEqual([6860, 3347]);
    expect(lonToTileX(-180, 5)).toBe(0);
    expect(latToTileY(0, 5)).toBeCloseTo(16, 12);
  });

  it('goes back from tile coordinates to degrees', () => {
    for (const [lon, lat] of [
      [121.47, 31.23],
      [-73.98, 40.75],
      [0, 0],
      [179.9, -60],
    ] as const) {
      expect(tileXToLon(lonToTileX(lon, 14), 14)).toBeCloseTo(lon, 9);
      expect(tileYToLat(latToTileY(lat, 14), 14)).toBeCloseTo(lat, 9);
    }
  });

  it("gives a tile's bounds as [west, south, east, north], the world at zoom 0", () => {
    const [w, s, e, n] = tileBounds({ z: 0, x: 0, y: 0 });
    expect([w, e]).toEqual([-180, 180]);
    expect(n).toBeCloseTo(MAX_MERCATOR_LAT, 9);
    expect(s).toBeCloseTo(-MAX_MERCATOR_LAT, 9);
    const tile = { z: 13, x: 6860, y: 3347 };
    const [tw, ts, te, tn] = tileBounds(tile);
    expect(tw).toBeLessThan(121.47);
    expect(te).toBeGreaterThan(121.47);
    expect(ts).toBeLessThan(31.23);
    expect(tn).toBeGreaterThan(31.23);
    // Neighbours share an edge exactly.
    expect(tileBounds({ ...tile, x: tile.x + 1 })[0]).toBe(te);
    expect(tileBounds({ ...tile, y: tile.y + 1 })[3]).toBe(ts);
  });

  it('clamps latitudes beyond the Mercator limit to the edge rows', () => {
    expect(latToTileY(89.9, 3)).toBeCloseTo(0, 9);
    expect(latToTileY(-89.9, 3)).toBeCloseTo(8, 9);
  });
});

describe('the tile zoom for a view', () => {
  it("is one level above deck.gl's zoom for 256-pixel tiles (deck counts 512-pixel worlds), rounded", () => {
    expect(tileZoomFor(11.4, 19)).toBe(12);
    expect(tileZoomFor(11.6, 19)).toBe(13);
    expect(tileZoomFor(11.4, 19, 512)).toBe(11);
  });

  it("stays within 0 and the server's highest zoom", () => {
    expect(tileZoomFor(17.2, 16)).toBe(16);
    expect(tileZoomFor(-3, 19)).toBe(0);
    expect(tileZoomFor(Number.NaN, 19)).toBe(0);
  });
});

describe('the tiles covering a view', () => {
  it('covers the bounds with whole tiles of that zoom, nearest the centre first', () => {
    const tiles = tilesCovering(CITY, 13);
    const xs = tiles.map((t) => t.x);
    const ys = tiles.map((t) => t.y);
    expect(new Set(tiles.map((t) => t.z))).toEqual(new Set([13]));
    expect(Math.min(...xs)).toBe(Math.floor(lonToTileX(CITY[0], 13)));
    expect(Math.max(...xs)).toBe(Math.floor(lonToTileX(CITY[2], 13)));
    expect(Math.min(...ys)).toBe(Math.floor(latToTileY(CITY[3], 13)));
    expect(Math.max(...ys)).toBe(Math.floor(latToTileY(CITY[1], 13)));
    // A full rectangle, each tile once.
    const columns = Math.max(...xs) - Math.min(...xs) + 1;
    const rows = Math.max(...ys) - Math.min(...ys) + 1;
    expect(tiles).toHaveLength(columns * rows);
    expect(new Set(tiles.map(tileKey)).size).toBe(tiles.length);
    // The first tile holds the centre of the covered range.
    const first = tiles[0]!;
    const midX = (Math.min(...xs) + Math.max(...xs)) / 2;
    const midY = (Math.min(...ys) + Math.max(...ys)) / 2;
    for (const t of tiles) expect(Math.hypot(first.x - midX, first.y - midY)).toBeLessThanOrEqual(Math.hypot(t.x - midX, t.y - midY));
  });

  it('adds no column or row for bounds that end exactly on a tile edge', () => {
    const [w, s, e, n] = tileBounds({ z: 10, x: 857, y: 418 });
    expect(tilesCovering([w, s, e, n], 10)).toEqual([{ z: 10, x: 857, y: 418 }]);
  });

  it('steps to coarser zooms rather than ask for more than the cap', () => {
    const world: [number, number, number, number] = [-180, -85, 180, 85];
    const tiles = tilesCovering(world, 10);
    expect(tiles).toHaveLength(64);
    expect(tiles[0]?.z).toBe(3);
    expect(tilesCovering(CITY, 16, 12).every((t) => t.z < 16)).toBe(true);
    expect(tilesCovering(CITY, 16, 12).length).toBeLessThanOrEqual(12);
    expect(tilesCovering(world, 0)).toEqual([{ z: 0, x: 0, y: 0 }]);
  });
});

describe('tile names', () => {
  it('fills the XYZ template and names the parent tile', () => {
    expect(tileUrl('http://tiles.ops.local/{z}/{x}/{y}.png?style={z}', { z: 13, x: 6860, y: 3347 })).toBe(
      'http://tiles.ops.local/13/6860/3347.png?style=13',
    );
    expect(parentTile({ z: 13, x: 6861, y: 3347 })).toEqual({ z: 12, x: 3430, y: 1673 });
    expect(parentTile({ z: 0, x: 0, y: 0 })).toBeNull();
  });
});
