import type { Clock } from '@cityops/schemas';

/*
 * Token buckets keyed by IP, login or session. A bucket holds `capacity` tokens and refills at
 * capacity per `windowMs`; each attempt takes one. Against online password guessing (OWASP
 * Authentication Cheat Sheet): 5 attempts a minute per login stops guessing one account, 20 a
 * minute per IP slows one machine spraying many accounts, and neither locks the real user out for
 * long (a lockout would let anybody lock the duty commander out during an incident).
 */

export interface TokenBucketOptions {
  /** Attempts allowed in a burst, and per window on average. */
  capacity: number;
  /** Time to refill the whole bucket, in ms. */
  windowMs: number;
  clock: Clock;
  /** Most keys tracked; the least recently used full buckets are forgotten beyond it. Default 100 000. */
  maxKeys?: number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number };

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly capacity: number;
  private readonly ratePerMs: number;
  private readonly clock: Clock;
  private readonly maxKeys: number;

  constructor(options: TokenBucketOptions) {
    if (!(options.capacity >= 1) || !(options.windowMs > 0)) {
      throw new RangeError(`expected capacity ≥ 1 and windowMs > 0; got capacity ${options.capacity}, windowMs ${options.windowMs}`);
    }
    this.capacity = options.capacity;
    this.ratePerMs = options.capacity / options.windowMs;
    this.clock = options.clock;
    this.maxKeys = options.maxKeys ?? 100_000;
  }

  /** Takes one token for `key`, or says how long until one is there. */
  take(key: string): TakeResult {
    const now = this.clock();
    const bucket = this.refill(key, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.ceil((1 - bucket.tokens) / this.ratePerMs) };
  }

  /** Whether a token is there, without taking it. */
  peek(key: string): TakeResult {
    const bucket = this.refill(key, this.clock());
    return bucket.tokens >= 1 ? { ok: true } : { ok: false, retryAfterMs: Math.ceil((1 - bucket.tokens) / this.ratePerMs) };
  }

  /** Tracked keys (for tests and health). */
  get size(): number {
    return this.buckets.size;
  }

  private refill(key: string, now: number): Bucket {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: this.capacity, updatedAt: now };
      if (this.buckets.size >= this.maxKeys) this.evict(now);
    } else {
      bucket.tokens = Math.min(this.capacity, bucket.tokens + Math.max(0, now - bucket.updatedAt) * this.ratePerMs);
      bucket.updatedAt = now;
      // Re-insert: Map keeps insertion order, so the first entries are the least recently used.
      this.buckets.delete(key);
    }
    this.buckets.set(key, bucket);
    return bucket;
  }

  /** Memory stays bounded under a spray of addresses: drop buckets that would be full again anyway, else the oldest. */
  private evict(now: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + (now - b.updatedAt) * this.ratePerMs >= this.capacity) this.buckets.delete(key);
      if (this.buckets.size < this.maxKeys * 0.9) return;
    }
    const first = this.buckets.keys().next();
    if (first.done !== true) this.buckets.delete(first.value);
  }
}

export interface RateLimitOptions {
  /** Login attempts per login name per minute. Default 5. */
  loginPerLoginPerMinute?: number;
  /** Login attempts per client IP per minute. Default 20. */
  loginPerIpPerMinute?: number;
  /** State-changing API calls per session per minute. Default 120. */
  mutationsPerSessionPerMinute?: number;
}

export interface RateLimits {
  /** Both the IP's and the login's bucket must have a token; both are charged. */
  login(ip: string, login: string): TakeResult;
  mutation(sessionKey: string): TakeResult;
}

export function createRateLimits(clock: Clock, options: RateLimitOptions = {}): RateLimits {
  const minute = 60_000;
  const perLogin = new TokenBuckets({ capacity: options.loginPerLoginPerMinute ?? 5, windowMs: minute, clock });
  const perIp = new TokenBuckets({ capacity: options.loginPerIpPerMinute ?? 20, windowMs: minute, clock });
  const perSession = new TokenBuckets({ capacity: options.mutationsPerSessionPerMinute ?? 120, windowMs: minute, clock });
  return {
    login(ip, login) {
      // Check both before charging either, so a refused attempt does not drain the other bucket.
      const a = perIp.peek(ip);
      const b = perLogin.peek(login.toLowerCase());
      if (!a.ok || !b.ok) return { ok: false, retryAfterMs: Math.max(a.ok ? 0 : a.retryAfterMs, b.ok ? 0 : b.retryAfterMs) };
      perIp.take(ip);
      perLogin.take(login.toLowerCase());
      return { ok: true };
    },
    mutation: (sessionKey) => perSession.take(sessionKey),
  };
}
