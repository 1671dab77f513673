import { describe, expect, it } from 'vitest';
import type { IncomingMessage } from './bus.js';
import { decodeRecord, DeadLetter } from '@cityops/schemas';
import { DEAD_LETTER_TOPIC, deadLetter } from './dead-letter.js';
import { createInProcessBus } from './in-process-bus.js';

describe('deadLetter', () => {
  it('sends a valid DeadLetter record to dlq under the rejected message key, with a stable id', async () => {
    const bus = createInProcessBus();
    try {
      await bus.ensureTopics([{ name: DEAD_LETTER_TOPIC, partitions: 1 }]);
      const seen: IncomingMessage[] = [];
      await bus.consumer({ groupId: 'audit', topics: [DEAD_LETTER_TOPIC] }).run((batch) => {
        seen.push(...batch.messages);
        return Promise.resolve();
      });
      const record = {
        source: 'http:/api/ingest/readings',
        reason: 'schema validation failed',
        errors: [{ path: '/value', message: 'expected number, got string' }],
        payload: '{"value":"high"}',
        key: 'sensor-17',
      };
      await deadLetter(bus.producer(), { ...record, ts: 1_767_225_600_000 });
      await deadLetter(bus.producer(), { ...record, ts: 1_767_225_700_000 });
      await expect.poll(() => seen.length).toBe(2);
      const [first, second] = seen as [IncomingMessage, IncomingMessage];
      expect(first.key).toBe('sensor-17');
      const decoded = decodeRecord(DeadLetter, first.value);
      expect(decoded.ok && decoded.value).toMatchObject({ ...record, schema_version: 1, ts: 1_767_225_600_000 });
      const again = decodeRecord(DeadLetter, second.value);
      // The same rejection redelivered keeps its id, so the store keeps one row for it.
      expect(again.ok && decoded.ok && again.value.id === decoded.value.id).toBe(true);
    } finally {
      await bus.close();
    }
  });
});
