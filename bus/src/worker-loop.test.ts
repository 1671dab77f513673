import { describe, expect, it } from 'vitest';
import type { Bus, MessageBatch, OutgoingMessage } from './bus.js';
import type { BusError } from './errors.js';
import { createInProcessBus } from './in-process-bus.js';
import { catchUp, serializer, startConsumerLoop } from './worker-loop.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function messages(values: string[]): OutgoingMessage[] {
  return values.map((v) => ({ key: 'k', value: encoder.encode(v) }));
}

async function waitFor(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`expected ${what} within 5000 ms, got not yet`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function busWith(topic: string, partitions = 1, busErrors: BusError[] = []): Promise<Bus> {
  const bus = createInProcessBus({ onError: (e) => busErrors.push(e) });
  await bus.ensureTopics([{ name: topic, partitions }]);
  return bus;
}

describe('serializer', () => {
  it('runs sections one at a time, in order, and goes on after one that fails', async () => {
    const serial = serializer();
    const log: string[] = [];
    const section =
      (name: string, ms: number, fail = false) =>
      async (): Promise<string> => {
        log.push(`${name}:start`);
        await new Promise((resolve) => setTimeout(resolve, ms));
        log.push(`${name}:end`);
        if (fail) throw new Error(name);
        return name;
      };
    const a = serial(section('a', 20));
    const b = serial(section('b', 1, true));
    const c = serial(section('c', 1));
    expect(await a).toBe('a');
    await expect(b).rejects.toThrow('b');
    expect(await c).toBe('c');
    expect(log).toEqual(['a:start', 'a:end', 'b:start', 'b:end', 'c:start', 'c:end']);
  });
});

describe('catchUp', () => {
  it('is true once the consumer has read the topic to its end, false when the timeout passes first', async () => {
    const bus = await busWith('t');
    await bus.producer().send('t', messages(['1', '2', '3']));
    const reader = bus.consumer({ groupId: 'reader', topics: ['t'], fromBeginning: true });
    const stalled = bus.consumer({ groupId: 'stalled', topics: ['t'], fromBeginning: true });
    await reader.run(() => Promise.resolve());
    let release: () => void = () => undefined;
    await stalled.run(() => new Promise<void>((resolve) => (release = resolve)));
    expect(await catchUp(reader, 't', 5_000, 5)).toBe(true);
    expect(await catchUp(stalled, 't', 30, 5)).toBe(false);
    release();
    await Promise.all([reader.stop(), stalled.stop()]);
    await bus.close();
  });
});

describe('startConsumerLoop', () => {
  it('reads the followed topic to its end first, then handles batches one at a time with the flush first', async () => {
    const bus = await busWith('t', 2);
    await bus.ensureTopics([{ name: 'ref', partitions: 1 }]);
    await bus.producer().send('ref', messages(['r1', 'r2']));
    const log: string[] = [];
    let inFlight = 0;
    const loop = await startConsumerLoop({
      consumer: bus.consumer({ groupId: 'g', topics: ['t'], fromBeginning: true, maxBatchSize: 1 }),
      follow: {
        consumer: bus.consumer({ groupId: 'g.ref', topics: ['ref'], fromBeginning: true }),
        topic: 'ref',
        handle: (batch) => {
          for (const m of batch.messages) log.push(decoder.decode(m.value));
          return Promise.resolve();
        },
        timeoutMs: 5_000,
        onBehind: () => log.push('behind'),
      },
      flush: () => {
        log.push('flush');
        return Promise.resolve();
      },
      handle: async (batch: MessageBatch) => {
        inFlight++;
        expect(inFlight).toBe(1);
        await new Promise((resolve) => setTimeout(resolve, 2));
        for (const m of batch.messages) log.push(decoder.decode(m.value));
        inFlight--;
      },
      onError: () => undefined,
    });
    // The followed topic was read before start resolved.
    expect(log).toEqual(['r1', 'r2']);
    log.length = 0;
    await bus.producer().send('t', [
      { key: 'a', value: encoder.encode('a1') },
      { key: 'b', value: encoder.encode('b1') },
      { key: 'a', value: encoder.encode('a2') },
      { key: 'b', value: encoder.encode('b2') },
    ]);
    await waitFor('4 messages handled', () => log.filter((l) => l !== 'flush').length === 4);
    // Every batch's turn starts with the flush, and per-key order holds.
    for (let i = 0; i < log.length; i += 2) expect(log[i]).toBe('flush');
    const handled = log.filter((l) => l !== 'flush');
    expect(handled.filter((l) => l.startsWith('a'))).toEqual(['a1', 'a2']);
    expect(handled.filter((l) => l.startsWith('b'))).toEqual(['b1', 'b2']);
    expect(loop.lag()).toBe(0);
    await loop.stop();
    await bus.close();
  });

  it('reports a failed batch and rethrows it as wrapBatchError says, so the bus redelivers it', async () => {
    const busErrors: BusError[] = [];
    const bus = await busWith('t', 1, busErrors);
    const seen: string[] = [];
    const reported: string[] = [];
    let failures = 1;
    const loop = await startConsumerLoop({
      consumer: bus.consumer({ groupId: 'g', topics: ['t'], fromBeginning: true }),
      flush: () => Promise.resolve(),
      handle: (batch) => {
        for (const m of batch.messages) seen.push(decoder.decode(m.value));
        if (failures-- > 0) return Promise.reject(new Error('boom'));
        return Promise.resolve();
      },
      onError: (message) => reported.push(message),
      wrapBatchError: (e, batch) => new Error(`wrapped ${batch.topic}[${batch.partition}]: ${e instanceof Error ? e.message : String(e)}`),
    });
    await bus.producer().send('t', messages(['m1']));
    await waitFor('the batch delivered again', () => seen.length === 2);
    expect(seen).toEqual(['m1', 'm1']);
    expect(reported).toEqual(['wrapped t[0]: boom']);
    // The bus was handed the wrapped error.
    expect(busErrors.map((e) => (e.cause instanceof Error ? e.cause.message : ''))).toEqual(['wrapped t[0]: boom']);
    await loop.stop();
    await bus.close();
  });

  it('stops the consumer, flushes after the batch in flight, stops the others, flushes the producer; once', async () => {
    const bus = await busWith('t');
    const log: string[] = [];
    let release: () => void = () => undefined;
    let flushFails = false;
    const reported: string[] = [];
    const states: string[] = [];
    const other = bus.consumer({ groupId: 'other', topics: ['t'], fromBeginning: true });
    await other.run(() => Promise.resolve());
    const producer = bus.producer();
    const loop = await startConsumerLoop({
      consumer: bus.consumer({ groupId: 'g', topics: ['t'], fromBeginning: true }),
      flush: () => {
        log.push('flush');
        return flushFails ? Promise.reject(new Error('flush failed')) : Promise.resolve();
      },
      handle: async () => {
        log.push('handle:start');
        await new Promise<void>((resolve) => (release = resolve));
        log.push('handle:end');
      },
      alsoStop: [
        {
          ...other,
          stop: async () => {
            log.push('other:stop');
            await other.stop();
          },
        },
      ],
      producer: {
        send: (topic, batch) => producer.send(topic, batch),
        flush: async () => {
          log.push('producer:flush');
          await producer.flush();
        },
      },
      onError: (message) => reported.push(message),
      onState: (state) => states.push(state),
    });
    await producer.send('t', messages(['m1']));
    await waitFor('the batch in flight', () => log.includes('handle:start'));
    flushFails = true;
    const stopped = loop.stop();
    expect(loop.stop()).toBe(stopped);
    release();
    await stopped;
    expect(log).toEqual(['flush', 'handle:start', 'handle:end', 'flush', 'other:stop', 'producer:flush']);
    // A failed flush at stop is reported; the stop goes on.
    expect(reported).toEqual(['flush failed']);
    expect(states).toEqual(['stopped']);
    await bus.close();
  });
});
