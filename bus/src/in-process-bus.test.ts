/**
 * What only the in-process bus promises: bounded memory, backpressure, the no-group ring,
 * release of committed messages, and its lifecycle. The shared semantics live in
 * test/contract/.
 */
import { describe, expect, it } from 'vitest';
import type { BatchHandler, Bus, IncomingMessage, MessageBatch, OutgoingMessage } from './bus.js';
import { BusError } from './errors.js';
import { createInProcessBus, type InProcessBusOptions } from './in-process-bus.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function messages(count: number, key = 'k', prefix = 'v'): OutgoingMessage[] {
  return Array.from({ length: count }, (_, i) => ({ key, value: encoder.encode(`${prefix}${i}`) }));
}

async function waitFor(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`expected ${what} within 5000 ms, got not yet`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Lets the bus's setImmediate pump and any resolved promises run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A handler that appends what it is handed to `into`. */
function collect(into: IncomingMessage[]): BatchHandler {
  return (batch) => {
    into.push(...batch.messages);
    return Promise.resolve();
  };
}

const ignore: BatchHandler = () => Promise.resolve();
let lagNow = -1;

async function withBus(options: InProcessBusOptions, body: (bus: Bus, errors: BusError[]) => Promise<void>): Promise<void> {
  const errors: BusError[] = [];
  const bus = createInProcessBus({ retryDelayMs: 1, maxRetryDelayMs: 10, onError: (e) => errors.push(e), ...options });
  try {
    await body(bus, errors);
  } finally {
    await bus.close();
  }
}

describe('in-process bus', () => {
  it('makes send() wait while the slowest group is maxBacklogMessages behind, and release it as the group catches up', async () => {
    await withBus({ maxBacklogMessages: 10 }, async (bus) => {
      await bus.ensureTopics([{ name: 't', partitions: 1 }]);
      const consumer = bus.consumer({ groupId: 'g', topics: ['t'], maxBatchSize: 5 });
      const seen: IncomingMessage[] = [];
      await consumer.run(collect(seen));
      consumer.pause();
      const producer = bus.producer();
      await producer.send('t', messages(10));

      let released = false;
      const blocked = producer.send('t', messages(3, 'k', 'late')).then(() => {
        released = true;
      });
      for (let i = 0; i < 5; i++) await turn();
      expect(released).toBe(false);
      expect(await consumer.lag()).toEqual({ t: 10 });

      consumer.resume();
      await blocked;
      expect(released).toBe(true);
      await waitFor('13 messages', () => seen.length === 13);
      expect(seen.map((m) => decoder.decode(m.value)).slice(-3)).toEqual(['late0', 'late1', 'late2']);
      await producer.flush();
    });
  });

  it('keeps a ring of the newest maxBacklogMessages per partition on a topic no group reads', async () => {
    await withBus({ maxBacklogMessages: 10 }, async (bus) => {
      await bus.ensureTopics([{ name: 'ring', partitions: 1 }]);
      const producer = bus.producer();
      for (let i = 0; i < 5; i++) await producer.send('ring', messages(5, 'k', `b${i}-`));
      const seen: IncomingMessage[] = [];
      await bus.consumer({ groupId: 'late', topics: ['ring'] }).run(collect(seen));
      await waitFor('10 messages', () => seen.length === 10);
      expect(seen.map((m) => m.offset)).toEqual(['15', '16', '17', '18', '19', '20', '21', '22', '23', '24']);
    });
  });

  it('bounds the backlog in bytes too: a paused group holds producers back, a ring keeps the newest bytes', async () => {
    await withBus({ maxBacklogBytes: 1000 }, async (bus) => {
      await bus.ensureTopics([
        { name: 'frames', partitions: 1 },
        { name: 'ring', partitions: 1 },
      ]);
      const frame = (i: number): OutgoingMessage => ({ key: 'cam', value: new Uint8Array(300).fill(i) });
      const consumer = bus.consumer({ groupId: 'g', topics: ['frames'] });
      const seen: IncomingMessage[] = [];
      await consumer.run(collect(seen));
      consumer.pause();
      const producer = bus.producer();
      for (let i = 0; i < 4; i++) await producer.send('frames', [frame(i)]);
      let released = false;
      const blocked = producer.send('frames', [frame(4)]).then(() => {
        released = true;
      });
      for (let i = 0; i < 5; i++) await turn();
      expect(released).toBe(false);
      consumer.resume();
      await blocked;
      await waitFor('5 frames', () => seen.length === 5);
      expect(seen.map((m) => m.value[0])).toEqual([0, 1, 2, 3, 4]);

      for (let i = 0; i < 10; i++) await producer.send('ring', [frame(i)]);
      const ring: IncomingMessage[] = [];
      await bus.consumer({ groupId: 'late', topics: ['ring'] }).run(collect(ring));
      await waitFor('the 3 newest frames', () => ring.length === 3);
      expect(ring.map((m) => m.offset)).toEqual(['7', '8', '9']);
    });
  });

  it('releases messages once every group has committed past them', async () => {
    await withBus({}, async (bus) => {
      await bus.ensureTopics([{ name: 't', partitions: 1 }]);
      const first: IncomingMessage[] = [];
      await bus.consumer({ groupId: 'a', topics: ['t'] }).run(collect(first));
      await bus.producer().send('t', messages(20));
      await waitFor('20 messages', () => first.length === 20);
      await turn();

      // Observable through a group that joins afterwards from the beginning: what group 'a'
      // committed is gone, only what it still needs would be kept.
      const second: IncomingMessage[] = [];
      const late = bus.consumer({ groupId: 'b', topics: ['t'] });
      expect(await late.lag()).toEqual({ t: 0 });
      await late.run(collect(second));
      await bus.producer().send('t', messages(1, 'k', 'new'));
      await waitFor('the new message in group b', () => second.length === 1);
      expect(second[0]?.offset).toBe('20');
    });
  });

  it('hands a lent value back only when the slowest group has committed past it, or the ring dropped it', async () => {
    await withBus({ maxBacklogMessages: 2 }, async (bus) => {
      await bus.ensureTopics([
        { name: 'frames', partitions: 1 },
        { name: 'ring', partitions: 1 },
      ]);
      const released: string[] = [];
      const lent = (name: string): OutgoingMessage => ({ key: 'cam', value: encoder.encode(name), onReleased: () => released.push(name) });
      const fast: IncomingMessage[] = [];
      const slow: IncomingMessage[] = [];
      await bus.consumer({ groupId: 'fast', topics: ['frames'] }).run(collect(fast));
      const slowConsumer = bus.consumer({ groupId: 'slow', topics: ['frames'] });
      await slowConsumer.run(collect(slow));
      slowConsumer.pause();
      await bus.producer().send('frames', [lent('f0')]);
      await waitFor('f0 in the fast group', () => fast.length === 1);
      for (let i = 0; i < 5; i++) await turn();
      expect(released).toEqual([]);
      slowConsumer.resume();
      await waitFor('f0 released', () => released.length === 1);
      expect(decoder.decode(slow[0]!.value)).toBe('f0');

      // No group: the ring keeps the newest two, and what it drops goes back.
      for (const name of ['r0', 'r1', 'r2', 'r3']) await bus.producer().send('ring', [lent(name)]);
      expect(released).toEqual(['f0', 'r0', 'r1']);
    });
  });

  it('with maxBatchesInFlight, hands out the next batches while earlier ones wait, and commits only in order', async () => {
    await withBus({}, async (bus) => {
      await bus.ensureTopics([{ name: 't', partitions: 1 }]);
      const held: { batch: MessageBatch; finish: () => void }[] = [];
      const consumer = bus.consumer({ groupId: 'g', topics: ['t'], maxBatchSize: 2, maxBatchesInFlight: 3 });
      await consumer.run((batch) => new Promise<void>((resolve) => held.push({ batch, finish: resolve })));
      await bus.producer().send('t', messages(8));
      await waitFor('three batches at once', () => held.length === 3);
      await turn();
      expect(held.map((h) => h.batch.messages.map((m) => m.offset))).toEqual([
        ['0', '1'],
        ['2', '3'],
        ['4', '5'],
      ]);
      // The third and second finish first: nothing commits past the unfinished first one, and
      // they still count against the limit (what is not committed is what the bus must keep).
      held[2]!.finish();
      held[1]!.finish();
      await turn();
      await turn();
      expect(held).toHaveLength(3);
      expect(await consumer.lag()).toEqual({ t: 8 });
      held[0]!.finish();
      await waitFor('the fourth batch', () => held.length === 4);
      expect(await consumer.lag()).toEqual({ t: 2 });
      expect(held[3]!.batch.messages.map((m) => m.offset)).toEqual(['6', '7']);
      held[3]!.finish();
      await turn();
      await turn();
      expect(await consumer.lag()).toEqual({ t: 0 });
    });
  });

  it('with maxBatchesInFlight, a failed batch is delivered again from the committed offset once the later ones settle', async () => {
    await withBus({}, async (bus, errors) => {
      await bus.ensureTopics([{ name: 't', partitions: 1 }]);
      const seen: string[][] = [];
      let failed = false;
      const consumer = bus.consumer({ groupId: 'g', topics: ['t'], maxBatchSize: 2, maxBatchesInFlight: 2 });
      await consumer.run(async (batch) => {
        const offsets = batch.messages.map((m) => m.offset);
        seen.push(offsets);
        // The first delivery of offsets 0–1 fails after the second batch is already out.
        if (offsets[0] === '0' && !failed) {
          failed = true;
          await new Promise((resolve) => setTimeout(resolve, 20));
          throw new Error('insert refused');
        }
      });
      await bus.producer().send('t', messages(4));
      await waitFor('everything committed', () => seen.length >= 4);
      await waitFor('no lag', () => {
        void consumer.lag().then((l) => (lagNow = l['t'] ?? -1));
        return lagNow === 0;
      });
      expect(seen.slice(0, 2)).toEqual([
        ['0', '1'],
        ['2', '3'],
      ]);
      // Redelivered from the committed offset: the batch that succeeded after the failed one comes again.
      expect(seen.slice(2)).toEqual([
        ['0', '1'],
        ['2', '3'],
      ]);
      expect(errors).toHaveLength(1);
      expect(errors[0]?.message).toContain('insert refused');
    });
  });

  it("moves a stopped member's partitions to the remaining member", async () => {
    await withBus({}, async (bus) => {
      await bus.ensureTopics([{ name: 't', partitions: 4 }]);
      const a: MessageBatch[] = [];
      const b: MessageBatch[] = [];
      const first = bus.consumer({ groupId: 'g', topics: ['t'] });
      const second = bus.consumer({ groupId: 'g', topics: ['t'] });
      await first.run((batch) => {
        a.push(batch);
        return Promise.resolve();
      });
      await second.run((batch) => {
        b.push(batch);
        return Promise.resolve();
      });
      const producer = bus.producer();
      const keys = Array.from({ length: 40 }, (_, i) => ({ key: `key-${i}`, value: encoder.encode('x') }));
      await producer.send('t', keys);
      await waitFor('40 messages', () => [...a, ...b].reduce((n, batch) => n + batch.messages.length, 0) === 40);
      expect(a.length).toBeGreaterThan(0);
      expect(b.length).toBeGreaterThan(0);

      await second.stop();
      const before = a.length;
      await producer.send('t', keys);
      await waitFor(
        '40 more messages, all in the first member',
        () => a.slice(before).reduce((n, batch) => n + batch.messages.length, 0) === 40,
      );
      expect(new Set(a.slice(before).map((batch) => batch.partition)).size).toBe(4);
    });
  });

  it('stop() waits for the batch in flight and commits it', async () => {
    await withBus({}, async (bus) => {
      await bus.ensureTopics([{ name: 't', partitions: 1 }]);
      let finish: () => void = () => undefined;
      let started = false;
      const consumer = bus.consumer({ groupId: 'g', topics: ['t'] });
      await consumer.run(
        () =>
          new Promise<void>((resolve) => {
            started = true;
            finish = resolve;
          }),
      );
      await bus.producer().send('t', messages(3));
      await waitFor('the handler to start', () => started);
      let stopped = false;
      const stopping = consumer.stop().then(() => {
        stopped = true;
      });
      await turn();
      expect(stopped).toBe(false);
      finish();
      await stopping;
      expect(await bus.consumer({ groupId: 'g', topics: ['t'] }).lag()).toEqual({ t: 0 });
    });
  });

  it('treats a handler that throws synchronously like one that rejects, and survives a throwing onError', async () => {
    const errors: unknown[] = [];
    const bus = createInProcessBus({
      retryDelayMs: 1,
      onError: (error) => {
        errors.push(error);
        throw new Error('listener bug');
      },
    });
    const originalConsoleError = console.error;
    console.error = () => undefined;
    try {
      await bus.ensureTopics([{ name: 't', partitions: 1 }]);
      let calls = 0;
      const handled: IncomingMessage[] = [];
      await bus.consumer({ groupId: 'g', topics: ['t'] }).run((batch) => {
        calls++;
        if (calls === 1) throw new TypeError('not even async');
        handled.push(...batch.messages);
        return Promise.resolve();
      });
      await bus.producer().send('t', messages(2));
      await waitFor('redelivery', () => handled.length === 2);
      expect(errors).toHaveLength(1);
      expect((errors[0] as BusError).code).toBe('handler-failed');
    } finally {
      console.error = originalConsoleError;
      await bus.close();
    }
  });

  it('refuses unknown topics, bad messages (appending none of the batch) and bad options', async () => {
    await withBus({}, async (bus) => {
      await bus.ensureTopics([{ name: 't', partitions: 2 }]);
      const producer = bus.producer();
      await expect(producer.send('nope', messages(1))).rejects.toMatchObject({ code: 'unknown-topic' });
      await expect(bus.consumer({ groupId: 'g', topics: ['nope'] }).run(ignore)).rejects.toMatchObject({
        code: 'unknown-topic',
      });

      const bad = [...messages(3), { key: 'k', value: 'not bytes' } as unknown as OutgoingMessage];
      const error = await producer.send('t', bad).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BusError);
      expect((error as BusError).code).toBe('invalid-argument');
      expect((error as BusError).message).toContain('expected message 3');
      expect((error as BusError).message).toContain('got string');
      expect(await bus.consumer({ groupId: 'g', topics: ['t'] }).lag()).toEqual({ t: 0 });

      expect(() => bus.consumer({ groupId: '', topics: ['t'] })).toThrow(/expected a non-empty groupId/);
      expect(() => bus.consumer({ groupId: 'g', topics: ['t'], maxBatchSize: 0 })).toThrow(/maxBatchSize/);
      await expect(bus.ensureTopics([{ name: 'z', partitions: 0 }])).rejects.toMatchObject({ code: 'invalid-argument' });
      expect(() => createInProcessBus({ maxBacklogMessages: -1 })).toThrow(/maxBacklogMessages/);

      const consumer = bus.consumer({ groupId: 'g2', topics: ['t'] });
      await consumer.run(ignore);
      await expect(consumer.run(ignore)).rejects.toMatchObject({ code: 'invalid-state' });
    });
  });

  it('close() rejects a send waiting for room, stops consumers, and refuses later calls', async () => {
    const bus = createInProcessBus({ maxBacklogMessages: 2 });
    await bus.ensureTopics([{ name: 't', partitions: 1 }]);
    const consumer = bus.consumer({ groupId: 'g', topics: ['t'] });
    await consumer.run(ignore);
    consumer.pause();
    const producer = bus.producer();
    await producer.send('t', messages(2));
    const waiting = producer.send('t', messages(1));
    await bus.close();
    await expect(waiting).rejects.toMatchObject({ code: 'closed' });
    await expect(producer.send('t', messages(1))).rejects.toMatchObject({ code: 'closed' });
    await expect(bus.ensureTopics([{ name: 'u', partitions: 1 }])).rejects.toMatchObject({ code: 'closed' });
    await bus.close();
  });

  it('gives a group joining with fromBeginning: false only what is produced after it joined', async () => {
    await withBus({}, async (bus) => {
      await bus.ensureTopics([{ name: 't', partitions: 1 }]);
      const producer = bus.producer();
      await producer.send('t', messages(5, 'k', 'old'));
      const seen: IncomingMessage[] = [];
      await bus.consumer({ groupId: 'g', topics: ['t'], fromBeginning: false }).run(collect(seen));
      await producer.send('t', messages(2, 'k', 'new'));
      await waitFor('2 messages', () => seen.length === 2);
      expect(seen.map((m) => decoder.decode(m.value))).toEqual(['new0', 'new1']);
    });
  });
});
