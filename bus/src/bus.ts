/**
 * The one bus contract every CityOps role talks through. It knows bytes, keys and headers —
 * never payloads: encoding and validation belong to @cityops/schemas.
 *
 * Semantics both implementations (in-process and Kafka) must share, pinned by the contract
 * suite in test/contract/:
 * - a topic has a fixed number of partitions; a message goes to partition hash(key) % n, so
 *   per-key order (per camera, per sensor) holds;
 * - consumers in one group split the partitions; each group sees every message once;
 * - a batch's offsets are committed only after its handler resolves (at-least-once): a handler
 *   that throws leaves the batch uncommitted and it is delivered again;
 * - queues are bounded: a producer awaits while the slowest group is too far behind
 *   (backpressure); pause()/resume() stop and restart fetching for a consumer.
 */

/** A message as produced. `value` is raw bytes: frames travel as binary, never base64 JSON. */
export interface OutgoingMessage {
  /** Partitioning key (camera id, sensor id…). Same key, same partition, same order. */
  key: string;
  value: Uint8Array;
  headers?: Readonly<Record<string, string>>;
  /** Event time in epoch milliseconds; defaults to the time of sending. */
  timestampMs?: number;
  /**
   * Called once the bus holds no reference to `value` any more, so a producer that recycles its
   * buffers may write into this one again. Camera frames do: half a megabyte each, a hundred a
   * second, and allocating each anew keeps the garbage collector busy. The Kafka bus calls it
   * when the send settles (kafkajs has encoded the bytes into its request by then); the
   * in-process bus once every group has committed past the message, or the backlog bound
   * dropped it. A send that fails calls it too. Messages still held when the bus closes are
   * not released. Consumers therefore read a value only until their handler resolves, as they
   * would with Kafka, and copy what they keep.
   */
  onReleased?: () => void;
}

/** A message as consumed. */
export interface IncomingMessage {
  topic: string;
  partition: number;
  /** Offset within the partition, as a decimal string (Kafka offsets are 64-bit). */
  offset: string;
  key: string;
  value: Uint8Array;
  headers: Readonly<Record<string, string>>;
  timestampMs: number;
}

/** One fetched batch: messages of one topic-partition, in offset order. */
export interface MessageBatch {
  topic: string;
  partition: number;
  messages: readonly IncomingMessage[];
  /** How far this consumer group is behind the partition's end after this batch, in messages. */
  lag: number;
}

export interface TopicSpec {
  name: string;
  partitions: number;
  /** Kafka retention for the topic; the in-process bus keeps only what some group still needs. */
  retentionMs?: number;
}

export interface ConsumerOptions {
  /** Replicas of a role share a group and split the partitions between them. */
  groupId: string;
  topics: readonly string[];
  /** Largest batch handed to the handler. Default 1000. */
  maxBatchSize?: number;
  /**
   * Batches of one partition the handler may hold at once (commits still advance in order).
   * Default 1. For handlers that mostly wait (the sink waits on ClickHouse): the bus keeps
   * delivering while they wait. The Kafka bus hands out one batch per partition at a time
   * (kafkajs's eachBatch) and ignores it; replicas and partitions give it the same overlap.
   */
  maxBatchesInFlight?: number;
  /**
   * Where a group with no committed offset starts: 'earliest' replays what the topic holds,
   * 'latest' only sees new messages. Default 'earliest'.
   */
  fromBeginning?: boolean;
}

export type BatchHandler = (batch: MessageBatch) => Promise<void>;

export interface Consumer {
  /**
   * Starts fetching and calls `handler` one batch at a time per partition. Offsets are
   * committed after the handler resolves. Resolves once the consumer has joined its group.
   */
  run(handler: BatchHandler): Promise<void>;
  /** Stops fetching (backpressure); the group membership and offsets stay. */
  pause(): void;
  resume(): void;
  /** Leaves the group after the batch in flight is handled and committed. */
  stop(): Promise<void>;
  /** Messages this consumer's group has not processed yet, per topic. */
  lag(): Promise<Record<string, number>>;
}

export interface Producer {
  /** Sends a batch to one topic; resolves once every message is durably accepted. */
  send(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
  /** Waits for anything buffered to be sent. */
  flush(): Promise<void>;
}

export interface Bus {
  /** 'in-process' or 'kafka'; shown by `cityops doctor` and /api/health. */
  readonly kind: 'in-process' | 'kafka';
  /** Creates topics that do not exist yet; existing ones are left as they are. */
  ensureTopics(topics: readonly TopicSpec[]): Promise<void>;
  producer(): Producer;
  consumer(options: ConsumerOptions): Consumer;
  /** Stops every consumer and producer made by this bus. */
  close(): Promise<void>;
}
