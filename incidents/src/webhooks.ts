import { createHmac, timingSafeEqual } from 'node:crypto';
import type { DispatchOrder, Incident, IncidentEvent, IncidentEventType } from '@cityops/schemas';
import { IncidentsError } from './errors.js';
import type { IncidentChange } from './incident-engine.js';

/*
 * Notifications to outside systems (a department's own case system, an SMS gateway) as signed
 * webhooks, the way Stripe and GitHub sign theirs:
 *
 *   CityOps-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 *
 * The timestamp is inside the signed text, so a captured request cannot be replayed later than
 * the receiver's tolerance (verifyWebhookSignature: 5 minutes). `CityOps-Event-Id` is the
 * incident event id: receivers deduplicate on it, because delivery is at least once.
 *
 * Delivery retries what can succeed later (network errors, timeouts, 408, 429, 5xx) with
 * exponential backoff and jitter, and gives up at once on what cannot (other 4xx: the receiver
 * refused this body). What is given up goes to `onDeadLetter` — with the reason — never dropped.
 */

export const SIGNATURE_HEADER = 'CityOps-Signature';
export const EVENT_ID_HEADER = 'CityOps-Event-Id';

/** The event types sent when an endpoint names none: the steps someone outside must act on. */
export const DEFAULT_WEBHOOK_EVENT_TYPES: readonly IncidentEventType[] = [
  'proposed',
  'dispatched',
  'confirmed',
  'reassigned',
  'recalled',
  'escalated',
  'sla_breached',
  'verified',
  'closed',
];

export interface WebhookEndpoint {
  /** http(s) URL to POST to. */
  url: string;
  /** Shared secret for the HMAC; at least 16 characters. */
  secret: string;
  /** Event types to send. Default DEFAULT_WEBHOOK_EVENT_TYPES. */
  types?: readonly IncidentEventType[];
  /** Only incidents of these departments (lead). Default: all. */
  departmentIds?: readonly string[];
}

/** The JSON body of every webhook. */
export interface WebhookPayload {
  id: string;
  type: IncidentEventType;
  ts: number;
  event: IncidentEvent;
  incident: Incident;
  /** The dispatch order made in the same step, if any. */
  dispatch: DispatchOrder | null;
}

export interface WebhookDeadLetter {
  url: string;
  eventId: string;
  body: string;
  attempts: number;
  reason: string;
}

export interface WebhookNotifierOptions {
  endpoints: readonly WebhookEndpoint[];
  /** Attempts per delivery, the first included. Default 6. */
  maxAttempts?: number;
  /** Wait before the 2nd attempt; doubles each time (±20% jitter). Default 500 ms. */
  baseDelayMs?: number;
  /** Longest wait between attempts. Default 60 000 ms. */
  maxDelayMs?: number;
  /** Per-request timeout. Default 10 000 ms. */
  timeoutMs?: number;
  /** Deliveries in flight at once, all endpoints together. Default 8. */
  concurrency?: number;
  /** Called for every delivery given up on. */
  onDeadLetter: (letter: WebhookDeadLetter) => void;
  /** Time for the signature. Default Date.now. */
  clock?: () => number;
  /** For tests. Default global fetch. */
  fetch?: typeof fetch;
  /** For tests (no real waiting). Default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** 0…1, for the jitter. Default Math.random. */
  random?: () => number;
}

export interface WebhookNotifier {
  /** Queues the webhooks of one change (returns at once). */
  notify(change: IncidentChange): void;
  /** Resolves when everything queued so far is delivered or dead-lettered. */
  drain(): Promise<void>;
  stats(): { delivered: number; retried: number; deadLettered: number; pending: number };
}

/** `t=…,v1=…` for a body at `tsMs`. */
export function signWebhook(secret: string, body: string, tsMs: number): string {
  const t = Math.floor(tsMs / 1000);
  const mac = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${mac}`;
}

/**
 * For receivers (and tests): whether `header` signs `body` with `secret` and is no older than
 * `toleranceMs`. Compares in constant time.
 */
export function verifyWebhookSignature(secret: string, header: string, body: string, nowMs: number, toleranceMs = 300_000): boolean {
  const parts = new Map(header.split(',').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)] as const));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1') ?? '';
  if (!Number.isInteger(t) || Math.abs(nowMs - t * 1000) > toleranceMs || !/^[0-9a-f]{64}$/.test(v1)) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(v1, 'hex'));
}

interface Job {
  endpoint: WebhookEndpoint;
  eventId: string;
  body: string;
  attempts: number;
}

export function createWebhookNotifier(options: WebhookNotifierOptions): WebhookNotifier {
  for (const e of options.endpoints) {
    if (!/^https?:\/\//.test(e.url))
      throw new IncidentsError('invalid-argument', `expected a webhook URL starting with http:// or https://; got '${e.url}'`);
    if (e.secret.length < 16)
      throw new IncidentsError(
        'invalid-argument',
        `expected a webhook secret of at least 16 characters for ${e.url}; got ${e.secret.length}`,
      );
  }
  const maxAttempts = options.maxAttempts ?? 6;
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 60_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const concurrency = options.concurrency ?? 8;
  const clock = options.clock ?? Date.now;
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref()));
  const random = options.random ?? Math.random;

  const queue: Job[] = [];
  let running = 0;
  let delivered = 0;
  let retried = 0;
  let deadLettered = 0;
  let idle: (() => void)[] = [];

  const settleIfIdle = (): void => {
    if (running === 0 && queue.length === 0) {
      const waiting = idle;
      idle = [];
      for (const w of waiting) w();
    }
  };

  /** One attempt: 'ok', 'retry' with why, or 'fail' (permanent) with why. */
  const attempt = async (job: Job): Promise<{ result: 'ok' } | { result: 'retry' | 'fail'; reason: string }> => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const response = await doFetch(job.endpoint.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signWebhook(job.endpoint.secret, job.body, clock()),
          [EVENT_ID_HEADER]: job.eventId,
        },
        body: job.body,
        signal: controller.signal,
      });
      await response.body?.cancel();
      if (response.ok) return { result: 'ok' };
      const why = `expected a 2xx answer; got ${response.status}`;
      const retriable = response.status === 408 || response.status === 429 || response.status >= 500;
      return { result: retriable ? 'retry' : 'fail', reason: why };
    } catch (e) {
      return { result: 'retry', reason: `expected an answer within ${timeoutMs} ms; got ${e instanceof Error ? e.message : String(e)}` };
    } finally {
      clearTimeout(timer);
    }
  };

  const deliver = async (job: Job): Promise<void> => {
    for (;;) {
      job.attempts++;
      const r = await attempt(job);
      if (r.result === 'ok') {
        delivered++;
        return;
      }
      if (r.result === 'fail' || job.attempts >= maxAttempts) {
        deadLettered++;
        const why = r.result === 'fail' ? `refused for good: ${r.reason}` : `gave up after ${job.attempts} attempts: ${r.reason}`;
        options.onDeadLetter({ url: job.endpoint.url, eventId: job.eventId, body: job.body, attempts: job.attempts, reason: why });
        return;
      }
      retried++;
      const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** (job.attempts - 1));
      await sleep(Math.round(delay * (0.8 + 0.4 * random())));
    }
  };

  const pump = (): void => {
    while (running < concurrency && queue.length > 0) {
      const job = queue.shift()!;
      running++;
      void deliver(job).finally(() => {
        running--;
        pump();
        settleIfIdle();
      });
    }
  };

  return {
    notify(change) {
      for (const event of change.events) {
        for (const endpoint of options.endpoints) {
          const types = endpoint.types ?? DEFAULT_WEBHOOK_EVENT_TYPES;
          if (!types.includes(event.type)) continue;
          if (endpoint.departmentIds !== undefined && !endpoint.departmentIds.includes(change.incident.department_id)) continue;
          const payload: WebhookPayload = {
            id: event.id,
            type: event.type,
            ts: event.ts,
            event,
            incident: change.incident,
            dispatch: change.dispatch ?? null,
          };
          queue.push({ endpoint, eventId: event.id, body: JSON.stringify(payload), attempts: 0 });
        }
      }
      pump();
    },
    drain() {
      if (running === 0 && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idle.push(resolve));
    },
    stats: () => ({ delivered, retried, deadLettered, pending: queue.length + running }),
  };
}
