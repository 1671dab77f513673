import { Writable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createInProcessBus } from '@cityops/bus';
import { TOPICS, encodeRecord } from '@cityops/schemas';
import { warning } from '../test/fixtures/demo-city.js';
import { LiveHub } from './live-hub.js';

/** A client whose socket never drains: every byte written stays buffered. */
function stalledClient(): Writable {
  return new Writable({
    // Never calls back, like the socket of a browser that stopped reading.
    write: () => undefined,
  });
}

/** A client that takes everything at once and keeps it as text. */
function fastClient(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  return Object.assign(w, { text: () => chunks.join('') });
}

describe('LiveHub fan-out', () => {
  const bus = createInProcessBus();
  let hub: LiveHub | undefined;
  afterEach(async () => {
    await hub?.stop();
  });
  afterAll(async () => {
    await bus.close();
  });

  it('drops a client that stops reading instead of buffering for it, and keeps serving the others', async () => {
    hub = new LiveHub({
      bus,
      clock: Date.now,
      liveIntervalMs: 1000,
      heartbeatIntervalMs: 60_000,
      groupId: 'hub-test-slow',
      maxClients: 10,
      maxClientBufferBytes: 4096,
    });
    await hub.start();
    const slow = stalledClient();
    const fast = fastClient();
    hub.addClient(slow);
    hub.addClient(fast);
    expect(hub.health().counters.sse_clients).toBe(2);

    // ~20 warnings of ~700 bytes: far past the stalled client's 4 KiB allowance.
    const warnings = Array.from({ length: 20 }, (_, i) => warning({ ts: Date.now() + i, id: `w-${i}`, title: 'x'.repeat(300) }));
    await bus.producer().send(
      TOPICS.warnings,
      warnings.map((w) => ({ key: w.id, value: encodeRecord(w) })),
    );
    await expect.poll(() => hub?.health().counters.sse_clients_dropped_slow).toBe(1);
    expect(slow.destroyed).toBe(true);
    await expect.poll(() => fast.text().split('event: warning\n').length - 1).toBe(20);
    expect(hub.health().counters.sse_clients).toBe(1);
  });

  it('refuses clients beyond the maximum', async () => {
    hub = new LiveHub({
      bus,
      clock: Date.now,
      liveIntervalMs: 1000,
      heartbeatIntervalMs: 60_000,
      groupId: 'hub-test-max',
      maxClients: 1,
      maxClientBufferBytes: 4096,
    });
    await hub.start();
    hub.addClient(fastClient());
    expect(() => hub?.addClient(fastClient())).toThrow(/already serves 1 clients/);
  });
});
