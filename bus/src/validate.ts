/**
 * Argument checks both buses share. The Bus interface is called from plain JavaScript too (the
 * CLI, scripts), so what crosses it is checked at run time and refused with a message that says
 * what was expected and what came instead.
 */
import type { ConsumerOptions, OutgoingMessage, TopicSpec } from './bus.js';
import { BusError, describeValue } from './errors.js';

/** Array.isArray without its narrowing, which turns a readonly array's elements into `any`. */
export function isList(value: unknown): boolean {
  return Array.isArray(value);
}

export function validateTopicSpecs(topics: readonly TopicSpec[]): void {
  if (!isList(topics)) {
    throw new BusError('invalid-argument', `expected an array of topic specs, got ${describeValue(topics)}`);
  }
  for (const spec of topics) {
    if (typeof spec?.name !== 'string' || spec.name === '') {
      throw new BusError('invalid-argument', `expected a non-empty topic name, got ${describeValue(spec?.name)}`);
    }
    if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
      throw new BusError(
        'invalid-argument',
        `expected topic '${spec.name}' to have an integer partition count >= 1, got ${describeValue(spec.partitions)}`,
      );
    }
    if (spec.retentionMs !== undefined && !(Number.isInteger(spec.retentionMs) && spec.retentionMs >= -1)) {
      throw new BusError(
        'invalid-argument',
        `expected retentionMs of topic '${spec.name}' to be an integer >= -1 (-1: keep forever), got ${describeValue(spec.retentionMs)}`,
      );
    }
  }
}

export function validateConsumerOptions(options: ConsumerOptions): void {
  if (typeof options?.groupId !== 'string' || options.groupId === '') {
    throw new BusError('invalid-argument', `expected a non-empty groupId, got ${describeValue(options?.groupId)}`);
  }
  if (!isList(options.topics) || options.topics.length === 0) {
    throw new BusError(
      'invalid-argument',
      `expected group '${options.groupId}' to subscribe to at least one topic, got ${describeValue(options.topics)}`,
    );
  }
  for (const topic of options.topics) {
    if (typeof topic !== 'string' || topic === '') {
      throw new BusError('invalid-argument', `expected topic names to be non-empty strings, got ${describeValue(topic)}`);
    }
  }
  const max = options.maxBatchSize;
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
    throw new BusError('invalid-argument', `expected maxBatchSize to be an integer >= 1, got ${describeValue(max)}`);
  }
}

export function validateMessages(topic: string, messages: readonly OutgoingMessage[]): void {
  if (!isList(messages)) {
    throw new BusError('invalid-argument', `expected an array of messages for topic '${topic}', got ${describeValue(messages)}`);
  }
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i];
    if (!isOutgoingMessage(message)) throw invalidMessage(topic, i, message);
  }
}

/** The per-message check, kept to three comparisons because it runs on every produced message. */
export function isOutgoingMessage(message: OutgoingMessage | undefined): message is OutgoingMessage {
  return (
    typeof message === 'object' &&
    message !== null &&
    typeof message.key === 'string' &&
    message.value instanceof Uint8Array &&
    (message.onReleased === undefined || typeof message.onReleased === 'function')
  );
}

/**
 * Hands each message's value back to its producer (OutgoingMessage.onReleased). A callback that
 * throws is the producer's bug, not the bus's: it is reported as a warning and the rest go on.
 */
export function releaseMessages(messages: readonly (OutgoingMessage | undefined)[]): void {
  if (!isList(messages)) return;
  for (const message of messages) {
    const release = typeof message === 'object' && message !== null ? message.onReleased : undefined;
    if (typeof release === 'function') callReleased(release);
  }
}

export function callReleased(release: () => void): void {
  try {
    release();
  } catch (error) {
    process.emitWarning(`an onReleased callback threw: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function invalidMessage(topic: string, index: number, message: unknown): BusError {
  if (typeof message !== 'object' || message === null) {
    return new BusError(
      'invalid-argument',
      `expected message ${index} for topic '${topic}' to be an object, got ${describeValue(message)}`,
    );
  }
  const { key, value, onReleased } = message as { key?: unknown; value?: unknown; onReleased?: unknown };
  const problem =
    typeof key !== 'string'
      ? `a string key, got ${describeValue(key)}`
      : !(value instanceof Uint8Array)
        ? `a Uint8Array value, got ${describeValue(value)}`
        : `a function or nothing as onReleased, got ${describeValue(onReleased)}`;
  return new BusError('invalid-argument', `expected message ${index} for topic '${topic}' to have ${problem}`);
}

export function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new BusError('invalid-argument', `expected ${name} to be an integer >= 1, got ${describeValue(value)}`);
  }
  return value;
}

export function nonNegative(name: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0)) {
    throw new BusError('invalid-argument', `expected ${name} to be a number >= 0, got ${describeValue(value)}`);
  }
  return value;
}
