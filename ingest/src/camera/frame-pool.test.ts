import { describe, expect, it } from 'vitest';
import { FrameBufferPool } from './frame-pool.js';

describe('FrameBufferPool', () => {
  it('hands a released buffer out again instead of allocating', () => {
    const pool = new FrameBufferPool(12);
    const a = pool.acquire();
    expect(a.byteLength).toBe(12);
    pool.release(a);
    expect(pool.acquire()).toBe(a);
    expect(pool.acquire()).not.toBe(a);
  });

  it('keeps at most `keep` free buffers and ignores foreign sizes and double releases', () => {
    const pool = new FrameBufferPool(8, 2);
    const [a, b, c] = [pool.acquire(), pool.acquire(), pool.acquire()];
    pool.release(a);
    pool.release(a);
    pool.release(Buffer.alloc(9));
    expect(pool.freeCount).toBe(1);
    pool.release(b);
    pool.release(c);
    expect(pool.freeCount).toBe(2);
  });
});
