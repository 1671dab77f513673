import { createInProcessBus, type Bus, type IncomingMessage, type OutgoingMessage, type Producer } from '@cityops/bus';
import { DEFAULT_PARTITIONS, TOPICS } from '@cityops/schemas';

/** An in-process bus with every CityOps topic created, as the CLI does at start. */
export async function busWithTopics(): Promise<Bus> {
  const bus = createInProcessBus();
  await bus.ensureTopics(Object.values(TOPICS).map((name) => ({ name, partitions: DEFAULT_PARTITIONS[name] })));
  return bus;
}

export interface RecordedSend {
  topic: string;
  messages: readonly OutgoingMessage[];
}

/** A producer that forwards to the bus and remembers each send, so tests can count sends. */
export function recordingProducer(inner: Producer): Producer & { sends: RecordedSend[] } {
  const sends: RecordedSend[] = [];
  return {
    sends,
    async send(topic, messages) {
      sends.push({ topic, messages });
      await inner.send(topic, messages);
    },
    flush: () => inner.flush(),
  };
}

let group = 0;

/**
 * Everything a topic holds, read back through a consumer of a fresh group. Waits until at least
 * `min` messages arrived (or fails after `timeoutMs`), then for the bus to go quiet.
 */
export async function readTopic(bus: Bus, topic: string, min: number, timeoutMs = 5000): Promise<IncomingMessage[]> {
  const got: IncomingMessage[] = [];
  const consumer = bus.consumer({ groupId: `test-${process.pid}-${group++}`, topics: [topic], fromBeginning: true });
  await consumer.run((batch) => {
    // Values are valid until the handler returns (camera frames are recycled): keep copies.
    for (const m of batch.messages) got.push({ ...m, value: Uint8Array.from(m.value) });
    return Promise.resolve();
  });
  const deadline = Date.now() + timeoutMs;
  while (got.length < min) {
    if (Date.now() > deadline) {
      await consumer.stop();
      throw new Error(`expected at least ${min} messages on ${topic} within ${timeoutMs} ms; got ${got.length}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  // Let anything still being pumped arrive, so "exactly n" assertions are meaningful.
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  await consumer.stop();
  return got;
}

const decoder = new TextDecoder();

export function json(message: { value: Uint8Array }): Record<string, unknown> {
  return JSON.parse(decoder.decode(message.value)) as Record<string, unknown>;
}

/**
 * Every record the messages hold, in order: a message holds one JSON record, or several as NDJSON
 * (ingest packs the records of one partition into one message, see @cityops/schemas RECORDS_HEADER).
 */
export function records(messages: readonly { value: Uint8Array }[]): Record<string, unknown>[] {
  return messages.flatMap((m) =>
    decoder
      .decode(m.value)
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>),
  );
}
