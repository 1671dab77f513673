'use client';

import { useEffect, useMemo, useRef, useState } from 'react';
import type { WallTileServer } from '../../src/api-types.js';
import type { Bounds } from './geo.js';
import { parentTile, tileBounds, tileKey, tileUrl, type TileIndex } from './raster-tiles.js';
import { TileImageCache } from './tile-images.js';

/*
 * Loads the tiles the map's view needs from the on-premises tile server and says which to draw.
 * Images are plain <img> loads (the pages' CSP allows the tile server's origin in img-src, and a
 * fetch() would need connect-src) with crossOrigin = 'anonymous': WebGL refuses to upload a
 * cross-origin image as a texture unless the server allowed it with CORS.
 */

/** While a tile loads, a loaded ancestor up to this many levels coarser stands in for it. */
const FALLBACK_LEVELS = 4;

export interface DrawnTile {
  key: string;
  bounds: Bounds;
  image: HTMLImageElement;
}

export interface RasterTiles {
  /** Coarser stand-ins first, so the view's own tiles are drawn over them. */
  drawn: DrawnTile[];
  /** Tile images loaded and failed since the tile server was configured. */
  loaded: number;
  failed: number;
}

const NONE: RasterTiles = { drawn: [], loaded: 0, failed: 0 };

function loadImage(url: string): Promise<HTMLImageElement> {
  const image = new Image();
  image.crossOrigin = 'anonymous';
  image.decoding = 'async';
  image.src = url;
  // decode() rejects when the image cannot be loaded or decoded, and decodes off the main thread.
  return image.decode().then(() => image);
}

/** The images to draw for `wanted` (the view's tiles, from tilesCovering); nothing when `server` is null. */
export function useRasterTiles(server: WallTileServer | null, wanted: readonly TileIndex[]): RasterTiles {
  const [settled, setSettled] = useState(0);
  const template = server?.url ?? null;
  const cache = useMemo(() => {
    if (template === null) return null;
    let frame = 0;
    return new TileImageCache<HTMLImageElement>({
      load: loadImage,
      // Tiles settle one by one: one re-render per animation frame, however many arrived in it.
      onSettled: () => {
        if (frame !== 0) return;
        frame = window.requestAnimationFrame(() => {
          frame = 0;
          setSettled((n) => n + 1);
        });
      },
    });
  }, [template]);
  const warned = useRef(false);

  // Loading is a side effect: requested (and marked recently used) when the wanted set changes.
  useEffect(() => {
    if (cache === null || template === null) return;
    for (const tile of wanted) cache.request(tileKey(tile), tileUrl(template, tile));
  }, [cache, template, wanted]);

  const result = useMemo((): RasterTiles => {
    if (cache === null) return NONE;
    const own: DrawnTile[] = [];
    const standIns = new Map<string, DrawnTile>();
    for (const tile of wanted) {
      const key = tileKey(tile);
      const image = cache.peek(key);
      if (image !== undefined) {
        own.push({ key, bounds: tileBounds(tile), image });
        continue;
      }
      let up: TileIndex | null = parentTile(tile);
      for (let level = 0; up !== null && level < FALLBACK_LEVELS; level++, up = parentTile(up)) {
        const upKey = tileKey(up);
        const upImage = cache.peek(upKey);
        if (upImage !== undefined) {
          if (!standIns.has(upKey)) standIns.set(upKey, { key: upKey, bounds: tileBounds(up), image: upImage });
          break;
        }
      }
    }
    const coarseFirst = [...standIns.values()].sort((a, b) => Number(a.key.split('/')[0]) - Number(b.key.split('/')[0]));
    return { drawn: [...coarseFirst, ...own], loaded: cache.loaded, failed: cache.failed };
    // settled: the cache changed underneath (a tile arrived or failed).
  }, [cache, wanted, settled]);

  // One line for the operators' console, not one per tile (the browser logs each failed request itself).
  useEffect(() => {
    if (result.failed > 0 && !warned.current && template !== null) {
      warned.current = true;
      console.warn(`map tiles: some tiles of ${template} did not load (the map shows its own basemap there)`);
    }
  }, [result.failed, template]);

  return result;
}
