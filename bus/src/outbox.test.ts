import { describe, expect, it } from 'vitest';
import type { OutgoingMessage, Producer } from './bus.js';
import { BusError } from './errors.js';
import { Outbox } from './outbox.js';

const msg = (key: string, text: string): OutgoingMessage => ({ key, value: new TextEncoder().encode(text) });
const text = (m: OutgoingMessage) => new TextDecoder().decode(m.value);

/** A producer that records sends and can be told to fail the next one. */
function recordingProducer() {
  const sends: { topic: string; texts: string[] }[] = [];
  let failNext = false;
  const producer: Producer = {
    send(topic, messages) {
      if (failNext) {
        failNext = false;
        return Promise.reject(new Error('broker unavailable'));
      }
      sends.push({ topic, texts: messages.map(text) });
      return Promise.resolve();
    },
    flush: () => Promise.resolve(),
  };
  return { producer, sends, failNextSend: () => (failNext = true) };
}

describe('Outbox', () => {
  it('sends its lanes in the order given, one send per lane, and counts per topic', async () => {
    const { producer, sends } = recordingProducer();
    const outbox = new Outbox(['anomalies', 'warnings']);
    outbox.push('warnings', msg('s1', 'w1'));
    outbox.push('anomalies', msg('s1', 'a1'));
    outbox.push('anomalies', msg('s2', 'a2'));
    expect(await outbox.flush(producer)).toEqual({ anomalies: 2, warnings: 1 });
    expect(sends).toEqual([
      { topic: 'anomalies', texts: ['a1', 'a2'] },
      { topic: 'warnings', texts: ['w1'] },
    ]);
    expect(outbox.size).toBe(0);
  });

  it('keeps what a failed flush did not send, for the next flush', async () => {
    const { producer, sends, failNextSend } = recordingProducer();
    const outbox = new Outbox(['dispatches', 'incidents']);
    outbox.push('dispatches', msg('i1', 'd1'));
    outbox.push('incidents', msg('i1', 'i1'));
    await outbox.flush(producer);
    outbox.push('dispatches', msg('i2', 'd2'));
    outbox.push('incidents', msg('i2', 'i2'));
    failNextSend();
    await expect(outbox.flush(producer)).rejects.toThrow('broker unavailable');
    expect(outbox.size).toBe(2);
    await outbox.flush(producer);
    expect(sends.map((s) => s.texts)).toEqual([['d1'], ['i1'], ['d2'], ['i2']]);
  });

  it('keeps only the latest pending message per key in a latestPerKey lane', async () => {
    const { producer, sends } = recordingProducer();
    const outbox = new Outbox([{ topic: 'incidents', latestPerKey: true }]);
    outbox.push('incidents', msg('i1', 'rev1'));
    outbox.push('incidents', msg('i2', 'rev1-of-i2'));
    outbox.push('incidents', msg('i1', 'rev2'));
    expect(outbox.size).toBe(2);
    await outbox.flush(producer);
    expect(sends).toEqual([{ topic: 'incidents', texts: ['rev2', 'rev1-of-i2'] }]);
  });

  it('refuses a topic it has no lane for, naming its topics', () => {
    const outbox = new Outbox(['anomalies']);
    expect(() => outbox.push('warnings', msg('k', 'x'))).toThrow(BusError);
    expect(() => outbox.push('warnings', msg('k', 'x'))).toThrow("expected one of its topics (anomalies); got 'warnings'");
  });
});
