import { describe, expect, it } from 'vitest';
import { TileImageCache } from '../app/_lib/tile-images.js';

/* The raster layer's bounded tile image cache (app/_lib/tile-images.ts), with a loader the test settles by hand. */

interface Pending {
  url: string;
  resolve(image: string): void;
  reject(error: Error): void;
}

function harness(options: { capacity?: number } = {}) {
  const pending: Pending[] = [];
  let clock = 1_000_000;
  let settled = 0;
  const cache = new TileImageCache<string>({
    load: (url) => new Promise<string>((resolve, reject) => pending.push({ url, resolve, reject })),
    onSettled: () => settled++,
    now: () => clock,
    ...options,
  });
  const flush = () => new Promise<void>((r) => setTimeout(r, 0));
  return {
    cache,
    pending,
    settled: () => settled,
    advance: (ms: number) => (clock += ms),
    flush,
  };
}

describe('the tile image cache', () => {
  it('loads each tile once, and gives the image once it arrived', async () => {
    const h = harness();
    expect(h.cache.request('13/1/2', 'u/13/1/2').status).toBe('loading');
    expect(h.cache.request('13/1/2', 'u/13/1/2').status).toBe('loading');
    expect(h.pending.map((p) => p.url)).toEqual(['u/13/1/2']);
    expect(h.cache.peek('13/1/2')).toBeUndefined();
    h.pending[0]?.resolve('image-a');
    await h.flush();
    expect(h.settled()).toBe(1);
    expect(h.cache.peek('13/1/2')).toBe('image-a');
    expect(h.cache.request('13/1/2', 'u/13/1/2')).toEqual({ status: 'loaded', image: 'image-a' });
    expect(h.pending).toHaveLength(1);
    expect([h.cache.loaded, h.cache.failed]).toEqual([1, 0]);
  });

  it('counts a failed tile and asks for it again only after the retry delay', async () => {
    const h = harness();
    h.cache.request('9/0/0', 'u/9/0/0');
    h.pending[0]?.reject(new Error('404'));
    await h.flush();
    expect(h.cache.failed).toBe(1);
    // Every frame asks again; none of them reaches the server.
    for (let i = 0; i < 50; i++) expect(h.cache.request('9/0/0', 'u/9/0/0').status).toBe('failed');
    expect(h.pending).toHaveLength(1);
    h.advance(60_000);
    expect(h.cache.request('9/0/0', 'u/9/0/0').status).toBe('loading');
    expect(h.pending).toHaveLength(2);
  });

  it('keeps at most `capacity` tiles, dropping the least recently used', async () => {
    const h = harness({ capacity: 3 });
    for (const k of ['a', 'b', 'c']) h.cache.request(k, `u/${k}`);
    h.pending.forEach((p, i) => p.resolve(`img-${i}`));
    await h.flush();
    h.cache.request('a', 'u/a'); // a is now the most recently used
    h.cache.request('d', 'u/d'); // evicts b
    expect(h.cache.size).toBe(3);
    expect(h.cache.peek('a')).toBe('img-0');
    expect(h.cache.peek('b')).toBeUndefined();
    expect(h.cache.peek('c')).toBe('img-2');
  });

  it('counts a tile that arrives after it was evicted, but does not keep it', async () => {
    const h = harness({ capacity: 1 });
    h.cache.request('a', 'u/a');
    h.cache.request('b', 'u/b');
    h.pending[0]?.resolve('late-a');
    await h.flush();
    expect(h.cache.loaded).toBe(1);
    expect(h.cache.peek('a')).toBeUndefined();
    expect(h.cache.size).toBe(1);
  });
});
