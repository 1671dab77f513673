/**
 * @cityops/bus — one Bus interface, two implementations: in-process (the embedded default) and
 * Kafka (kafkajs). Nothing here knows a payload; see @cityops/schemas for those.
 */
import type { Bus } from './bus.js';
import { BusError, describeValue } from './errors.js';
import { createInProcessBus, type InProcessBusOptions } from './in-process-bus.js';
import { createKafkaBus, type KafkaBusOptions } from './kafka-bus.js';

export type {
  BatchHandler,
  Bus,
  Consumer,
  ConsumerOptions,
  IncomingMessage,
  MessageBatch,
  OutgoingMessage,
  Producer,
  TopicSpec,
} from './bus.js';
export { BusError, type BusErrorCode, type BusErrorContext, type BusErrorListener } from './errors.js';
export { createInProcessBus, type InProcessBusOptions } from './in-process-bus.js';
export { createKafkaBus, type KafkaBusLogLevel, type KafkaBusOptions } from './kafka-bus.js';
export { partitionForKey } from './partitioner.js';
export {
  catchUp,
  serializer,
  startConsumerLoop,
  type ConsumerLoop,
  type ConsumerLoopOptions,
  type Follow,
  type Serial,
} from './worker-loop.js';
export { Outbox, type OutboxLane } from './outbox.js';
export { deadLetter, deadLetters, deadLetterRecord, DEAD_LETTER_TOPIC, type DeadLetterInput } from './dead-letter.js';

export type BusConfig =
  | ({ kind: 'in-process' } & InProcessBusOptions)
  | ({ kind: 'kafka'; brokers: string[]; clientId?: string } & Omit<KafkaBusOptions, 'brokers' | 'clientId'>);

/** The bus a config names; the CLI builds the config from the environment. */
export function createBus(config: BusConfig): Bus {
  switch (config.kind) {
    case 'in-process':
      return createInProcessBus(config);
    case 'kafka':
      return createKafkaBus(config);
    default:
      throw new BusError(
        'invalid-argument',
        `expected bus kind 'in-process' or 'kafka', got ${describeValue((config as { kind?: unknown }).kind)}`,
      );
  }
}
