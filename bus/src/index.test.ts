import { describe, expect, it } from 'vitest';
import { BusError, createBus, type BusConfig } from './index.js';

describe('createBus', () => {
  it('builds the bus the config names, without connecting anywhere', async () => {
    const inProcess = createBus({ kind: 'in-process' });
    expect(inProcess.kind).toBe('in-process');
    await inProcess.close();
    // The Kafka bus connects lazily, so an unreachable broker costs nothing until first use.
    const kafka = createBus({ kind: 'kafka', brokers: ['127.0.0.1:1'], clientId: 'test' });
    expect(kafka.kind).toBe('kafka');
    await kafka.close();
  });

  it('refuses an unknown kind and a Kafka config without brokers, saying what it expected', () => {
    expect(() => createBus({ kind: 'redis' } as unknown as BusConfig)).toThrow(
      /expected bus kind 'in-process' or 'kafka', got string "redis"/,
    );
    const error = (() => {
      try {
        createBus({ kind: 'kafka', brokers: [] });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(BusError);
    expect((error as BusError).code).toBe('invalid-argument');
    expect((error as BusError).retriable).toBe(false);
  });
});
