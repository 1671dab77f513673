import { describe, expect, it } from 'vitest';
import { createRateLimits, TokenBuckets } from './rate-limit.js';

function fakeClock(start = 1_800_000_000_000) {
  let now = start;
  return { clock: () => now, advance: (ms: number) => (now += ms) };
}

describe('token buckets', () => {
  it('allows a burst of `capacity`, then refuses with the time until the next token', () => {
    const t = fakeClock();
    const b = new TokenBuckets({ capacity: 5, windowMs: 60_000, clock: t.clock });
    for (let i = 0; i < 5; i++) expect(b.take('ann')).toEqual({ ok: true });
    expect(b.take('ann')).toEqual({ ok: false, retryAfterMs: 12_000 });
    t.advance(6_000);
    expect(b.take('ann')).toEqual({ ok: false, retryAfterMs: 6_000 });
    t.advance(6_000);
    expect(b.take('ann')).toEqual({ ok: true });
    // Other keys have their own bucket.
    expect(b.take('bob')).toEqual({ ok: true });
  });

  it('refills to capacity, not beyond', () => {
    const t = fakeClock();
    const b = new TokenBuckets({ capacity: 2, windowMs: 1000, clock: t.clock });
    t.advance(3_600_000);
    expect(b.take('k').ok && b.take('k').ok).toBe(true);
    expect(b.take('k').ok).toBe(false);
  });

  it('keeps memory bounded under a spray of keys', () => {
    const t = fakeClock();
    const b = new TokenBuckets({ capacity: 1, windowMs: 1000, clock: t.clock, maxKeys: 100 });
    for (let i = 0; i < 1000; i++) b.take(`ip-${i}`);
    expect(b.size).toBeLessThanOrEqual(100);
  });
});

describe('login and mutation limits', () => {
  it('allows 5 attempts a minute per login and 20 per IP', () => {
    const t = fakeClock();
    const limits = createRateLimits(t.clock);
    for (let i = 0; i < 5; i++) expect(limits.login('10.0.0.1', 'admin').ok).toBe(true);
    const refused = limits.login('10.0.0.1', 'admin');
    expect(refused).toEqual({ ok: false, retryAfterMs: 12_000 });
    // The same login from another machine is refused too: the bucket is the account's.
    expect(limits.login('10.0.0.2', 'ADMIN').ok).toBe(false);
    // Spraying many logins from one IP stops at 20 attempts.
    let allowed = 5;
    for (let i = 0; i < 30; i++) if (limits.login('10.0.0.1', `user-${i}`).ok) allowed++;
    expect(allowed).toBe(20);
    t.advance(60_000);
    expect(limits.login('10.0.0.1', 'admin').ok).toBe(true);
  });

  it('does not charge the login bucket for an attempt the IP bucket refused', () => {
    const t = fakeClock();
    const limits = createRateLimits(t.clock, { loginPerIpPerMinute: 1 });
    expect(limits.login('10.0.0.1', 'a').ok).toBe(true);
    for (let i = 0; i < 10; i++) expect(limits.login('10.0.0.1', 'victim').ok).toBe(false);
    // The victim can still log in from its own machine.
    expect(limits.login('10.0.0.9', 'victim').ok).toBe(true);
  });

  it('limits state-changing calls per session', () => {
    const t = fakeClock();
    const limits = createRateLimits(t.clock, { mutationsPerSessionPerMinute: 3 });
    expect([1, 2, 3, 4].map(() => limits.mutation('s1').ok)).toEqual([true, true, true, false]);
    expect(limits.mutation('s2').ok).toBe(true);
  });
});
