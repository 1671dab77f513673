/**
 * The Bus contract, as tests. Every implementation runs this same suite (in-process.test.ts,
 * kafka.test.ts); a behaviour one bus has and the other lacks is a bug in one of them.
 *
 * Each test makes its own bus, topics and groups with unique names, so tests run concurrently:
 * against Kafka most of the wall time is group coordination (the librdkafka mock delays a
 * group's first join by 3 s), which overlaps well.
 */
import { randomBytes } from 'node:crypto';
import { describe, it } from 'vitest';
import {
  partitionForKey,
  type Bus,
  type BusError,
  type Consumer,
  type ConsumerOptions,
  type IncomingMessage,
  type MessageBatch,
  type OutgoingMessage,
} from '../../src/index.js';

export interface ContractHooks {
  /** The bus under test must report handler failures here (its `onError` option). */
  onError: (error: BusError) => void;
}

/**
 * Makes a fresh bus for one test. Configure it for tests through its options (short retry
 * delays, fast heartbeats) — the suite asserts no timings, it only waits for outcomes.
 */
export type MakeBus = (hooks: ContractHooks) => Bus | Promise<Bus>;

/** How long to wait for an outcome before failing; generous because CI machines stall. */
const WAIT_MS = 30_000;
const TEST_TIMEOUT_MS = 60_000;
/** How long "nothing arrives while paused" is watched. */
const PAUSE_WATCH_MS = 500;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (value: Uint8Array): string => decoder.decode(value);

let sequence = 0;
const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
/** Kafka-legal, unique per call. */
function uniqueName(prefix: string): string {
  sequence += 1;
  return `${prefix}-${runId}-${sequence}`;
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, detail?: () => string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) {
      throw new Error(`expected ${what} within ${WAIT_MS} ms, got ${detail ? detail() : 'not yet'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Records everything one consumer is handed. */
class Recorder {
  readonly batches: MessageBatch[] = [];
  readonly messages: IncomingMessage[] = [];

  readonly handler = (batch: MessageBatch): Promise<void> => {
    this.batches.push(batch);
    this.messages.push(...batch.messages);
    return Promise.resolve();
  };

  values(): string[] {
    return this.messages.map((message) => text(message.value));
  }

  partitions(): Set<number> {
    return new Set(this.messages.map((message) => message.partition));
  }
}

interface Harness {
  bus: Bus;
  errors: BusError[];
  topic(partitions: number): Promise<string>;
  consumer(options: Omit<ConsumerOptions, 'topics'> & { topics: string[] }): Consumer;
  send(topic: string, messages: OutgoingMessage[]): Promise<void>;
}

async function withHarness(makeBus: MakeBus, body: (harness: Harness) => Promise<void>): Promise<void> {
  const errors: BusError[] = [];
  const bus = await makeBus({ onError: (error) => errors.push(error) });
  const consumers: Consumer[] = [];
  const producer = bus.producer();
  const harness: Harness = {
    bus,
    errors,
    async topic(partitions) {
      const name = uniqueName('contract');
      await bus.ensureTopics([{ name, partitions }]);
      return name;
    },
    consumer(options) {
      const consumer = bus.consumer(options);
      consumers.push(consumer);
      return consumer;
    },
    send: (topic, messages) => producer.send(topic, messages),
  };
  try {
    await body(harness);
  } finally {
    await Promise.allSettled(consumers.map((consumer) => consumer.stop()));
    await bus.close();
  }
}

function message(key: string, value: string): OutgoingMessage {
  return { key, value: encoder.encode(value) };
}

function offsetsOf(messages: readonly IncomingMessage[]): string[] {
  return messages.map((m) => `${m.partition}@${m.offset}`);
}

async function lagOf(consumer: Consumer, topic: string): Promise<number> {
  return (await consumer.lag())[topic] ?? Number.NaN;
}

export function describeBusContract(name: string, makeBus: MakeBus): void {
  describe.concurrent(`Bus contract: ${name}`, { timeout: TEST_TIMEOUT_MS }, () => {
    it('keeps per-key order and hands out batches of one partition, in offset order, within maxBatchSize', async ({ expect }) => {
      await withHarness(makeBus, async (h) => {
        const topic = await h.topic(3);
        const keys = ['cam-1', 'cam-2', 'sensor-a', 'sensor-b', 'market-x'];
        const perKey = 120;
        const outgoing: OutgoingMessage[] = [];
        for (let seq = 0; seq < perKey; seq++) for (const key of keys) outgoing.push(message(key, `${key}:${seq}`));
        for (let i = 0; i < outgoing.length; i += 100) await h.send(topic, outgoing.slice(i, i + 100));

        const recorder = new Recorder();
        await h.consumer({ groupId: uniqueName('order'), topics: [topic], maxBatchSize: 50 }).run(recorder.handler);
        await waitFor(
          `${outgoing.length} messages`,
          () => recorder.messages.length >= outgoing.length,
          () => `${recorder.messages.length}`,
        );

        for (const key of keys) {
          const seqs = recorder.messages.filter((m) => m.key === key).map((m) => Number(text(m.value).split(':')[1]));
          expect(seqs).toEqual(Array.from({ length: perKey }, (_, i) => i));
        }
        for (const batch of recorder.batches) {
          expect(batch.messages.length).toBeGreaterThan(0);
          expect(batch.messages.length).toBeLessThanOrEqual(50);
          expect(batch.topic).toBe(topic);
          const offsets = batch.messages.map((m) => Number(m.offset));
          for (const m of batch.messages) expect(m.partition).toBe(batch.partition);
          for (let i = 1; i < offsets.length; i++) expect(offsets[i]).toBe((offsets[i - 1] as number) + 1);
        }
        expect(new Set(offsetsOf(recorder.messages)).size).toBe(outgoing.length);
      });
    });

    it('puts a key on partition murmur2(key) % partitions, the same for every message of that key', async ({ expect }) => {
      await withHarness(makeBus, async (h) => {
        const partitions = 4;
        const topic = await h.topic(partitions);
        const keys = [...Array.from({ length: 40 }, (_, i) => `sensor-${i}`), '', 'камера-7', '摄像头-12', 'ampel-ä-ß', '🚦-3'];
        await h.send(
          topic,
          keys.map((key) => message(key, 'first')),
        );
        await h.send(
          topic,
          keys.map((key) => message(key, 'second')),
        );

        const recorder = new Recorder();
        await h.consumer({ groupId: uniqueName('keys'), topics: [topic] }).run(recorder.handler);
        await waitFor(
          `${keys.length * 2} messages`,
          () => recorder.messages.length >= keys.length * 2,
          () => `${recorder.messages.length}`,
        );

        for (const m of recorder.messages) expect(m.partition, `key '${m.key}'`).toBe(partitionForKey(m.key, partitions));
        expect(recorder.partitions().size).toBeGreaterThan(1);
        expect(recorder.messages.length).toBe(keys.length * 2);
      });
    });

    it('splits partitions between two consumers of one group; together they see each message exactly once', async ({ expect }) => {
      await withHarness(makeBus, async (h) => {
        const topic = await h.topic(4);
        const groupId = uniqueName('split');
        const first = new Recorder();
        const second = new Recorder();
        const a = h.consumer({ groupId, topics: [topic] });
        const b = h.consumer({ groupId, topics: [topic] });
        await a.run(first.handler);
        await b.run(second.handler);

        const total = 400;
        await h.send(
          topic,
          Array.from({ length: total }, (_, i) => message(`entity-${i}`, `m${i}`)),
        );
        const seen = (): number => first.messages.length + second.messages.length;
        await waitFor(
          `${total} messages across both members`,
          () => seen() >= total,
          () => `${seen()}`,
        );
        // Everything committed means nothing can still come back as a duplicate.
        await waitFor('lag 0', async () => (await lagOf(a, topic)) === 0);

        const all = [...first.messages, ...second.messages];
        expect(all.length).toBe(total);
        expect(new Set(offsetsOf(all)).size).toBe(total);
        expect(new Set(all.map((m) => text(m.value))).size).toBe(total);
        expect(first.messages.length).toBeGreaterThan(0);
        expect(second.messages.length).toBeGreaterThan(0);
        const shared = [...first.partitions()].filter((p) => second.partitions().has(p));
        expect(shared).toEqual([]);
      });
    });

    it('gives every group every message', async ({ expect }) => {
      await withHarness(makeBus, async (h) => {
        const topic = await h.topic(2);
        const groups = [new Recorder(), new Recorder()];
        for (const recorder of groups) {
          await h.consumer({ groupId: uniqueName('fanout'), topics: [topic] }).run(recorder.handler);
        }
        const total = 150;
        await h.send(
          topic,
          Array.from({ length: total }, (_, i) => message(`k${i % 7}`, `v${i}`)),
        );
        for (const recorder of groups) {
          await waitFor(
            `${total} messages in each group`,
            () => recorder.messages.length >= total,
            () => `${recorder.messages.length}`,
          );
          expect(recorder.values().sort()).toEqual(Array.from({ length: total }, (_, i) => `v${i}`).sort());
        }
      });
    });

    it('delivers a batch again when its handler throws, and reports the failure', async ({ expect }) => {
      await withHarness(makeBus, async (h) => {
        const topic = await h.topic(1);
        await h.send(
          topic,
          Array.from({ length: 10 }, (_, i) => message('only-key', `v${i}`)),
        );

        const attempts: string[][] = [];
        const processed: IncomingMessage[] = [];
        await h.consumer({ groupId: uniqueName('retry'), topics: [topic] }).run((batch) => {
          attempts.push(batch.messages.map((m) => m.offset));
          if (attempts.length === 1) return Promise.reject(new Error('boom: downstream unavailable'));
          processed.push(...batch.messages);
          return Promise.resolve();
        });
        await waitFor(
          'all 10 processed after the failure',
          () => processed.length >= 10,
          () => `${processed.length}`,
        );

        expect(attempts.length).toBeGreaterThanOrEqual(2);
        expect(attempts[0]?.[0]).toBe('0');
        expect(attempts[1]?.[0]).toBe('0');
        expect(processed.map((m) => text(m.value))).toEqual(Array.from({ length: 10 }, (_, i) => `v${i}`));
        const failure = h.errors.find((e) => e.code === 'handler-failed');
        expect(failure?.retriable).toBe(true);
        expect(failure?.cause).toBeInstanceOf(Error);
        expect((failure?.cause as Error).message).toBe('boom: downstream unavailable');
        expect(failure?.context).toMatchObject({ topic, partition: 0, offset: '0', attempt: 1 });
      });
    });

    it('leaves a failed batch uncommitted: the next member of the group gets it', async ({ expect }) => {
      await withHarness(makeBus, async (h) => {
        const topic = await h.topic(1);
        const groupId = uniqueName('poison');
        await h.send(
          topic,
          Array.from({ length: 5 }, (_, i) => message('k', `v${i}`)),
        );

        const failing = h.consumer({ groupId, topics: [topic] });
        await failing.run(() => Promise.reject(new Error('always fails')));
        await waitFor('a reported handler failure', () => h.errors.some((e) => e.code === 'handler-failed'));
        await failing.stop();

        const recorder = new Recorder();
        await h.consumer({ groupId, topics: [topic] }).run(recorder.handler);
        await waitFor(
          '5 messages',
          () => recorder.messages.length >= 5,
          () => `${recorder.messages.length}`,
        );
        expect(recorder.values()).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
        expect(recorder.messages[0]?.offset).toBe('0');
      });
    });

    it('resumes a group after its last committed offset when a new consumer replaces a stopped one', async ({ expect }) => {
      await withHarness(makeBus, async (h) => {
        const topic = await h.topic(2);
        const groupId = uniqueName('resume');
        const before = Array.from({ length: 20 }, (_, i) => message(`k${i % 5}`, `before-${i}`));
        const after = Array.from({ length: 20 }, (_, i) => message(`k${i % 5}`, `after-${i}`));

        await h.send(topic, before);
        const first = new Recorder();
        const c1 = h.consumer({ groupId, topics: [topic] });
        await c1.run(first.handler);
        await waitFor(
          '20 messages',
          () => first.messages.length >= 20,
          () => `${first.messages.length}`,
        );
        await waitFor('lag 0 after the first consumer', async () => (await lagOf(c1, topic)) === 0);
        await c1.stop();

        await h.send(topic, after);
        const second = new Recorder();
        const c2 = h.consumer({ groupId, topics: [topic] });
        expect(await lagOf(c2, topic)).toBe(20);
        await c2.run(second.handler);
        await waitFor(
          '20 new messages',
          () => second.messages.length >= 20,
          () => `${second.messages.length}`,
        );
        await waitFor('lag 0 after the second consumer', async () => (await lagOf(c2, topic)) === 0);

        expect(first.values().sort()).toEqual(before.map((m) => text(m.value)).sort());
        expect(second.values().sort()).toEqual(after.map((m) => text(m.value)).sort());
      });
    });

    it('pause() holds delivery, lag() counts what waits, resume() delivers it, batch lag reaches 0', async ({ expect }) => {
      await withHarness(makeBus, async (h) => {
        const topic = await h.topic(2);
        const recorder = new Recorder();
        const consumer = h.consumer({ groupId: uniqueName('pause'), topics: [topic] });
        await consumer.run(recorder.handler);
        consumer.pause();

        const total = 30;
        await h.send(
          topic,
          Array.from({ length: total }, (_, i) => message(`k${i}`, `v${i}`)),
        );
        await waitFor(`lag ${total} while paused`, async () => (await lagOf(consumer, topic)) === total);
        await sleep(PAUSE_WATCH_MS);
        expect(recorder.messages.length).toBe(0);

        consumer.resume();
        await waitFor(
          `${total} messages after resume`,
          () => recorder.messages.length >= total,
          () => `${recorder.messages.length}`,
        );
        await waitFor('lag 0', async () => (await lagOf(consumer, topic)) === 0);
        expect(recorder.messages.length).toBe(total);

        for (const partition of recorder.partitions()) {
          const batches = recorder.batches.filter((b) => b.partition === partition);
          const last = batches[batches.length - 1] as MessageBatch;
          expect(last.lag).toBe(0);
          for (const batch of batches) expect(batch.lag).toBeGreaterThanOrEqual(0);
        }
      });
    });

    it('round-trips binary values, keys, headers and timestamps byte-exact, including a 1 MB value', async ({ expect }) => {
      await withHarness(makeBus, async (h) => {
        const topic = await h.topic(2);
        const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);
        const big = new Uint8Array(randomBytes(1024 * 1024));
        // A view into a larger buffer: implementations must respect byteOffset/byteLength.
        const backing = new Uint8Array(randomBytes(4096));
        const view = backing.subarray(1000, 1100);
        const outgoing: OutgoingMessage[] = [
          { key: 'all-bytes', value: allBytes, headers: { 'content-type': 'application/octet-stream' }, timestampMs: 1_700_000_000_123 },
          { key: 'empty', value: new Uint8Array(0), headers: { note: '' } },
          {
            key: 'frame-1mb',
            value: big,
            headers: { camera: 'cam-7', codec: 'jpeg', 'x-ünïcødé': '值 ✓' },
            timestampMs: 1_700_000_000_456,
          },
          { key: 'view', value: view },
          { key: '键-ключ', value: encoder.encode('unicode key'), headers: { a: '1', b: '2', c: '3' } },
        ];
        await h.send(topic, outgoing);

        const recorder = new Recorder();
        await h.consumer({ groupId: uniqueName('binary'), topics: [topic] }).run(recorder.handler);
        await waitFor(
          `${outgoing.length} messages`,
          () => recorder.messages.length >= outgoing.length,
          () => `${recorder.messages.length}`,
        );
        expect(recorder.messages.length).toBe(outgoing.length);

        for (const sent of outgoing) {
          const got = recorder.messages.find((m) => m.key === sent.key);
          expect(got, `message with key '${sent.key}'`).toBeDefined();
          const received = got as IncomingMessage;
          expect(received.value).toBeInstanceOf(Uint8Array);
          expect(received.value.byteLength).toBe(sent.value.byteLength);
          expect(Buffer.compare(Buffer.from(received.value), Buffer.from(sent.value))).toBe(0);
          expect({ ...received.headers }).toEqual(sent.headers ?? {});
          if (sent.timestampMs !== undefined) expect(received.timestampMs).toBe(sent.timestampMs);
          else expect(received.timestampMs).toBeGreaterThan(0);
          expect(received.topic).toBe(topic);
          expect(received.partition).toBe(partitionForKey(sent.key, 2));
        }
      });
    });

    it('releases a lent value once, after which the producer may overwrite it without a consumer seeing the change', async ({ expect }) => {
      await withHarness(makeBus, async (h) => {
        const topic = await h.topic(2);
        // Recycled buffers, as the camera source lends its frames: each is scribbled over the
        // moment the bus hands it back, so a consumer still reading it would see 0xee bytes.
        const originals = [0, 1, 2].map((i) => new Uint8Array(randomBytes(64 * 1024 + i)));
        const lent = originals.map((bytes) => Uint8Array.from(bytes));
        const releases = [0, 0, 0];
        const group = uniqueName('lent');
        const seen: string[] = [];
        await h.consumer({ groupId: group, topics: [topic] }).run(async (batch) => {
          await sleep(20);
          for (const m of batch.messages) {
            const i = Number(m.key.slice('frame-'.length));
            seen.push(Buffer.compare(Buffer.from(m.value), Buffer.from(originals[i]!)) === 0 ? `intact ${i}` : `overwritten ${i}`);
          }
        });
        await h.send(
          topic,
          lent.map((value, i) => ({
            key: `frame-${i}`,
            value,
            onReleased: () => {
              releases[i]! += 1;
              value.fill(0xee);
            },
          })),
        );
        await waitFor(
          'all three delivered and released',
          () => seen.length === 3 && releases.every((n) => n >= 1),
          () => `${seen.join(',')} released ${releases.join(',')}`,
        );
        await sleep(100);
        expect(seen.sort()).toEqual(['intact 0', 'intact 1', 'intact 2']);
        expect(releases).toEqual([1, 1, 1]);
      });
    });

    it('releases the values of a send that fails', async ({ expect }) => {
      await withHarness(makeBus, async (h) => {
        const topic = await h.topic(1);
        let released = 0;
        const good: OutgoingMessage = { key: 'a', value: new Uint8Array(8), onReleased: () => (released += 1) };
        const bad = { key: 42, value: new Uint8Array(8) } as unknown as OutgoingMessage;
        await expect(h.send(topic, [good, bad])).rejects.toThrow(/string key/);
        expect(released).toBe(1);
      });
    });

    it('reports lag per topic for a group that has not started, honouring fromBeginning', async ({ expect }) => {
      await withHarness(makeBus, async (h) => {
        const topic = await h.topic(3);
        await h.send(
          topic,
          Array.from({ length: 12 }, (_, i) => message(`k${i}`, `v${i}`)),
        );
        const earliest = h.consumer({ groupId: uniqueName('lag-early'), topics: [topic] });
        const latest = h.consumer({ groupId: uniqueName('lag-late'), topics: [topic], fromBeginning: false });
        expect(await earliest.lag()).toEqual({ [topic]: 12 });
        expect(await latest.lag()).toEqual({ [topic]: 0 });
      });
    });
  });
}
