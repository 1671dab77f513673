/*
 * The raster layer's tile images: each requested once, kept in a bounded least-recently-used
 * cache, and a tile that failed is not asked for again until RETRY_FAILED_AFTER_MS has passed —
 * a tile server that is down or lacks a zoom level costs one request per tile, not one per frame.
 * The loader is passed in (an HTMLImageElement in the browser), so this is plain logic.
 */

export type TileImageState<T> = { status: 'loading' } | { status: 'loaded'; image: T } | { status: 'failed'; at: number };

export interface TileImageCacheOptions<T> {
  /** Fetches and decodes one tile; rejects when it cannot. */
  load(url: string): Promise<T>;
  /** Called after a tile finished loading or failed (the map redraws). */
  onSettled(): void;
  /** Tiles kept, least recently used dropped first. Default 256 (four full 4K views). */
  capacity?: number;
  /** A failed tile is tried again after this long. Default 60 000 ms. */
  retryFailedAfterMs?: number;
  /** Default Date.now. */
  now?: () => number;
}

export const DEFAULT_TILE_CACHE_CAPACITY = 256;
export const RETRY_FAILED_AFTER_MS = 60_000;

export class TileImageCache<T> {
  /** Insertion order is recency: a touched entry is moved to the end. */
  private readonly entries = new Map<string, TileImageState<T>>();
  private readonly capacity: number;
  private readonly retryFailedAfterMs: number;
  private readonly now: () => number;
  private loadedCount = 0;
  private failedCount = 0;

  constructor(private readonly options: TileImageCacheOptions<T>) {
    this.capacity = Math.max(1, options.capacity ?? DEFAULT_TILE_CACHE_CAPACITY);
    this.retryFailedAfterMs = options.retryFailedAfterMs ?? RETRY_FAILED_AFTER_MS;
    this.now = options.now ?? Date.now;
  }

  /** Tile images loaded so far (a tile loaded again after eviction counts again). */
  get loaded(): number {
    return this.loadedCount;
  }

  /** Tile loads that failed so far. */
  get failed(): number {
    return this.failedCount;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The tile's state, marking it recently used and starting its load when it has none (or failed long ago). */
  request(key: string, url: string): TileImageState<T> {
    const existing = this.entries.get(key);
    if (existing !== undefined && !(existing.status === 'failed' && this.now() - existing.at >= this.retryFailedAfterMs)) {
      this.entries.delete(key);
      this.entries.set(key, existing);
      return existing;
    }
    const loading: TileImageState<T> = { status: 'loading' };
    this.entries.delete(key);
    this.entries.set(key, loading);
    this.evict();
    this.options.load(url).then(
      (image) => this.settle(key, loading, { status: 'loaded', image }),
      () => this.settle(key, loading, { status: 'failed', at: this.now() }),
    );
    return loading;
  }

  /** The tile's image if it is loaded, without marking it used or loading anything (fallback lookups). */
  peek(key: string): T | undefined {
    const entry = this.entries.get(key);
    return entry?.status === 'loaded' ? entry.image : undefined;
  }

  private settle(key: string, loading: TileImageState<T>, next: TileImageState<T>): void {
    if (next.status === 'loaded') this.loadedCount++;
    else this.failedCount++;
    // Evicted (or replaced) while loading: the result is counted but not kept.
    if (this.entries.get(key) === loading) this.entries.set(key, next);
    this.options.onSettled();
  }

  private evict(): void {
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.capacity) return;
      this.entries.delete(key);
    }
  }
}
