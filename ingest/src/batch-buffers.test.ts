import { describe, expect, it } from 'vitest';
import { BufferPool } from './batch-buffers.js';

describe('BufferPool', () => {
  it('hands a buffer back out for a batch of about the same size, and allocates while none is free', () => {
    const pool = new BufferPool(1 << 24);
    const a = pool.take(700_000);
    expect(a.length).toBeGreaterThanOrEqual(700_000);
    const b = pool.take(700_000);
    expect(b).not.toBe(a);
    pool.give(a);
    expect(pool.size).toBe(a.length);
    // Same power-of-two class: the buffer handed back.
    expect(pool.take(600_000)).toBe(a);
    expect(pool.size).toBe(0);
    // Another class: a new one.
    pool.give(b);
    expect(pool.take(3_000_000)).not.toBe(b);
  });

  it('keeps no more than its bound waiting; the rest is left to the collector', () => {
    const pool = new BufferPool(1 << 20);
    const buffers = [pool.take(1 << 19), pool.take(1 << 19), pool.take(1 << 19)];
    for (const buffer of buffers) pool.give(buffer);
    expect(pool.size).toBe(1 << 20);
  });
});
