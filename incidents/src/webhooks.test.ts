import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Incident, IncidentEvent } from '@cityops/schemas';
import type { IncidentChange } from './incident-engine.js';
import { SIGNATURE_HEADER, createWebhookNotifier, signWebhook, verifyWebhookSignature, type WebhookDeadLetter } from './webhooks.js';

const T0 = Date.UTC(2026, 10, 21, 8, 0, 0);
const SECRET = 'a-long-shared-secret';

const incident: Incident = {
  id: 'inc-1',
  schema_version: 1,
  opened_at: T0,
  updated_at: T0,
  kind: 'waterlogging',
  area_id: 'hb.haihe',
  level: 'orange',
  status: 'dispatched',
  title: 't',
  department_id: 'dept.water',
  warning_ids: ['w-1'],
  lon: 117,
  lat: 39,
  rule_version: 'r.1',
  revision: 1,
};
function change(type: IncidentEvent['type'], id = `ev-${type}`): IncidentChange {
  const event: IncidentEvent = {
    id,
    schema_version: 1,
    incident_id: 'inc-1',
    ts: T0,
    type,
    actor: 'machine:incidents@0.1.0',
    machine_made: true,
    detail: 'd',
    revision: 1,
    department_id: 'dept.water',
    assist_ids: [],
    severity: 50,
    priority: 'P3',
    stage: 'accept',
    due_at: T0 + 600_000,
    escalation_level: 0,
    ref_ids: [],
  };
  return { incident, events: [event] };
}

/** A local receiver answering with the given statuses in turn (the last one repeats). */
async function receiver(
  statuses: number[],
): Promise<{ url: string; server: Server; got: { headers: IncomingMessage['headers']; body: string }[] }> {
  const got: { headers: IncomingMessage['headers']; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.statusCode = statuses[Math.min(got.length - 1, statuses.length - 1)] ?? 200;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, server, got };
}
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('signed webhooks', () => {
  it('signs the timestamp and body so the receiver can verify them, and rejects tampering or old signatures', () => {
    const header = signWebhook(SECRET, '{"a":1}', T0);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(SECRET, header, '{"a":1}', T0 + 1000)).toBe(true);
    expect(verifyWebhookSignature(SECRET, header, '{"a":2}', T0)).toBe(false);
    expect(verifyWebhookSignature('another-secret-xx', header, '{"a":1}', T0)).toBe(false);
    expect(verifyWebhookSignature(SECRET, header, '{"a":1}', T0 + 10 * 60_000)).toBe(false);
  });

  it('delivers a signed POST to a local server, retrying 5xx with exponential backoff', async () => {
    const r = await receiver([503, 500, 200]);
    const waits: number[] = [];
    const letters: WebhookDeadLetter[] = [];
    const n = createWebhookNotifier({
      endpoints: [{ url: r.url, secret: SECRET }],
      onDeadLetter: (l) => letters.push(l),
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
      random: () => 0.5,
      baseDelayMs: 100,
    });
    n.notify(change('dispatched'));
    n.notify(change('warning_joined')); // not a type endpoints get by default
    await n.drain();
    expect(r.got).toHaveLength(3);
    expect(waits).toEqual([100, 200]);
    const last = r.got[2]!;
    expect(verifyWebhookSignature(SECRET, String(last.headers[SIGNATURE_HEADER.toLowerCase()]), last.body, Date.now())).toBe(true);
    expect(JSON.parse(last.body)).toMatchObject({ type: 'dispatched', incident: { id: 'inc-1' }, dispatch: null });
    expect(last.headers['cityops-event-id']).toBe('ev-dispatched');
    expect(letters).toEqual([]);
    expect(n.stats()).toMatchObject({ delivered: 1, retried: 2, deadLettered: 0 });
  });

  it('dead-letters at once on a permanent refusal and after the last attempt on repeated failures', async () => {
    const refused = await receiver([400]);
    const down = await receiver([502]);
    const letters: WebhookDeadLetter[] = [];
    const n = createWebhookNotifier({
      endpoints: [
        { url: refused.url, secret: SECRET },
        { url: down.url, secret: SECRET },
      ],
      onDeadLetter: (l) => letters.push(l),
      sleep: () => Promise.resolve(),
      maxAttempts: 3,
    });
    n.notify(change('escalated'));
    await n.drain();
    expect(refused.got).toHaveLength(1);
    expect(down.got).toHaveLength(3);
    expect(letters.map((l) => [l.url, l.attempts])).toEqual(
      expect.arrayContaining([
        [refused.url, 1],
        [down.url, 3],
      ]),
    );
    expect(letters.find((l) => l.url === refused.url)?.reason).toMatch(/refused for good: expected a 2xx answer; got 400/);
    expect(letters.find((l) => l.url === down.url)?.reason).toMatch(/gave up after 3 attempts/);
  });

  it('refuses a short secret at construction', () => {
    expect(() => createWebhookNotifier({ endpoints: [{ url: 'http://x', secret: 'short' }], onDeadLetter: () => undefined })).toThrow(
      /at least 16 characters/,
    );
  });
});
