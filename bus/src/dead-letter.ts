/**
 * Rejected input goes to the dead-letter topic with its reason — never silently dropped. The bus
 * moves the record's bytes like any other; the record itself is the DeadLetter contract.
 */
import { encodeRecord, stableId, TOPICS, truncate, type DeadLetter, type FieldError } from '@cityops/schemas';
import type { Producer } from './bus.js';

/** The dead-letter topic (`TOPICS.deadLetters`). */
export const DEAD_LETTER_TOPIC = TOPICS.deadLetters;

export interface DeadLetterInput {
  /** Topic or endpoint the input came from, e.g. `sensor.readings` or `http:/api/ingest/readings`. */
  source: string;
  reason: string;
  errors: readonly FieldError[];
  /** The rejected input as text (truncated to the contract's limit here). */
  payload: string;
  /** Key of the rejected message, so dead letters of one entity stay in order. */
  key: string;
  /** When it was rejected; defaults to now. */
  ts?: number;
}

/**
 * The record for a rejection. Its id hashes source, key and payload, so the same bad message
 * redelivered after a crash dead-letters once, not twice.
 */
export function deadLetterRecord(input: DeadLetterInput): DeadLetter {
  const payload = truncate(input.payload);
  return {
    id: stableId('dlq', input.source, input.key, payload, input.reason),
    schema_version: 1,
    ts: input.ts ?? Date.now(),
    source: input.source.slice(0, 200),
    reason: input.reason.slice(0, 2000),
    errors: input.errors.slice(0, 50).map((e) => ({ path: e.path, message: e.message })),
    payload,
    key: input.key.slice(0, 200),
  };
}

export function deadLetter(producer: Producer, input: DeadLetterInput): Promise<void> {
  return deadLetters(producer, [input]);
}

/** Many rejections in one send: a bad batch costs one round trip, not one per record. */
export function deadLetters(producer: Producer, inputs: readonly DeadLetterInput[]): Promise<void> {
  if (inputs.length === 0) return Promise.resolve();
  return producer.send(
    DEAD_LETTER_TOPIC,
    inputs.map((input) => ({
      key: input.key,
      value: encodeRecord(deadLetterRecord(input)),
      headers: { 'cityops-schema': 'DeadLetter@1' },
    })),
  );
}
