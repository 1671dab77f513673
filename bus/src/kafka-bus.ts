/**
 * The Bus on Apache Kafka through kafkajs. This is the only file that imports kafkajs; none of
 * its types appear in what it exports, and its errors leave wrapped in BusError.
 *
 * Delivery guarantees, and how they map onto kafkajs:
 * - Producer: idempotent, acks from all in-sync replicas (-1), one request in flight per broker,
 *   so a retried request can neither duplicate nor reorder a key's messages.
 * - Consumer: `eachBatch` with auto-resolve off. kafkajs batches (bounded by bytes) are cut into
 *   chunks of at most `maxBatchSize`; a chunk's last offset is resolved and committed only after
 *   the handler resolves. A handler that throws leaves the chunk unresolved, the consumer seeks
 *   back to its first offset and, after a bounded backoff, the chunk is fetched and delivered
 *   again.
 * - Backpressure is Kafka's own: send() resolves only once the brokers have the batch, and the
 *   log is bounded by topic retention rather than by the slowest group.
 */
import {
  Kafka,
  logLevel as KafkaLogLevel,
  type Admin,
  type Consumer as KafkaConsumer,
  type EachBatchPayload,
  type IHeaders,
  type KafkaMessage,
  type Message as KafkaOutgoingMessage,
  type Producer as KafkaProducer,
} from 'kafkajs';
import type { BatchHandler, Bus, Consumer, ConsumerOptions, IncomingMessage, OutgoingMessage, Producer, TopicSpec } from './bus.js';
import {
  BusError,
  describeValue,
  logBusError,
  reportError,
  type BusErrorCode,
  type BusErrorContext,
  type BusErrorListener,
} from './errors.js';
import { partitionForKey } from './partitioner.js';
import {
  isList,
  nonNegative,
  positiveInteger,
  releaseMessages,
  validateConsumerOptions,
  validateMessages,
  validateTopicSpecs,
} from './validate.js';

export type KafkaBusLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

export interface KafkaBusOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: readonly string[];
  /** Shown in broker logs and quotas. Default 'cityops'. */
  clientId?: string;
  /**
   * Idempotent producer (exactly-once per partition on retries). Default true; leave it on
   * against real Kafka. It exists for brokers that cannot serve it: kafkajs sends
   * InitProducerId to the *controller* from Metadata, and librdkafka's mock cluster (2.0.x)
   * advertises controller id 0 while numbering its brokers from 1, so kafkajs fails with
   * "Broker 0 not found in the cached metadata". The test harness turns it off for that reason
   * only; acks=-1 and one request in flight still keep order and durability.
   */
  idempotent?: boolean;
  /** kafkajs's own logging. Default 'error': the bus reports through `onError` instead. */
  logLevel?: KafkaBusLogLevel;
  /** TCP connect timeout per broker. Default 3_000 ms. */
  connectionTimeoutMs?: number;
  /** Per-request timeout. Default 30_000 ms. */
  requestTimeoutMs?: number;
  /** Group session timeout: a member silent this long is removed. Default 30_000 ms. */
  sessionTimeoutMs?: number;
  /** Heartbeat interval; must be well below the session timeout. Default 3_000 ms. */
  heartbeatIntervalMs?: number;
  /**
   * How long a fetch waits on the broker for data. Real brokers answer as soon as data arrives,
   * so this mostly bounds how long stop() waits for an idle fetch. Default 500 ms.
   */
  maxWaitTimeMs?: number;
  /** Delay before a batch whose handler threw is fetched again; doubles per consecutive failure. Default 100 ms. */
  retryDelayMs?: number;
  /** Upper bound of that delay; keep it well below the session timeout. Default 5_000 ms. */
  maxRetryDelayMs?: number;
  /** Partitions handled at the same time per consumer (still one batch at a time per partition). Default 1. */
  partitionsConsumedConcurrently?: number;
  /** Receives handler failures and consumer crashes; defaults to one console.error line each. */
  onError?: BusErrorListener;
}

const DEFAULT_MAX_BATCH_SIZE = 1000;
const EMPTY_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

const LOG_LEVELS: Record<KafkaBusLogLevel, KafkaLogLevel> = {
  nothing: KafkaLogLevel.NOTHING,
  error: KafkaLogLevel.ERROR,
  warn: KafkaLogLevel.WARN,
  info: KafkaLogLevel.INFO,
  debug: KafkaLogLevel.DEBUG,
};

export function createKafkaBus(options: KafkaBusOptions): Bus {
  return new KafkaBus(options);
}

interface ResolvedOptions {
  idempotent: boolean;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxWaitTimeMs: number;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  partitionsConsumedConcurrently: number;
  onError: BusErrorListener;
}

class KafkaBus implements Bus {
  readonly kind = 'kafka' as const;
  readonly kafka: Kafka;
  readonly options: ResolvedOptions;
  closed = false;

  private producerConnection: Promise<KafkaProducer> | undefined;
  private adminConnection: Promise<Admin> | undefined;
  private readonly consumers = new Set<KafkaBusConsumer>();
  private closing: Promise<void> | undefined;

  constructor(options: KafkaBusOptions) {
    if (!isList(options?.brokers) || options.brokers.length === 0) {
      throw new BusError('invalid-argument', `expected at least one broker address (host:port), got ${describeValue(options?.brokers)}`);
    }
    const logLevel = options.logLevel ?? 'error';
    if (!(logLevel in LOG_LEVELS)) {
      throw new BusError(
        'invalid-argument',
        `expected logLevel to be one of ${Object.keys(LOG_LEVELS).join(', ')}, got ${describeValue(logLevel)}`,
      );
    }
    this.options = {
      idempotent: options.idempotent ?? true,
      sessionTimeoutMs: positiveInteger('sessionTimeoutMs', options.sessionTimeoutMs ?? 30_000),
      heartbeatIntervalMs: positiveInteger('heartbeatIntervalMs', options.heartbeatIntervalMs ?? 3_000),
      maxWaitTimeMs: nonNegative('maxWaitTimeMs', options.maxWaitTimeMs ?? 500),
      retryDelayMs: nonNegative('retryDelayMs', options.retryDelayMs ?? 100),
      maxRetryDelayMs: nonNegative('maxRetryDelayMs', options.maxRetryDelayMs ?? 5_000),
      partitionsConsumedConcurrently: positiveInteger('partitionsConsumedConcurrently', options.partitionsConsumedConcurrently ?? 1),
      onError: options.onError ?? logBusError,
    };
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'cityops',
      brokers: [...options.brokers],
      logLevel: LOG_LEVELS[logLevel],
      connectionTimeout: positiveInteger('connectionTimeoutMs', options.connectionTimeoutMs ?? 3_000),
      requestTimeout: positiveInteger('requestTimeoutMs', options.requestTimeoutMs ?? 30_000),
    });
  }

  assertOpen(operation: string): void {
    if (this.closed) {
      throw new BusError('closed', `expected an open bus for ${operation}(), but close() was already called`);
    }
  }

  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    this.assertOpen('ensureTopics');
    validateTopicSpecs(topics);
    if (topics.length === 0) return;
    const admin = await this.admin();
    const missing = await this.missingTopics(admin, topics);
    if (missing.length === 0) return;
    let createError: unknown;
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((spec) => ({
          topic: spec.name,
          numPartitions: spec.partitions,
          configEntries: spec.retentionMs === undefined ? [] : [{ name: 'retention.ms', value: String(spec.retentionMs) }],
        })),
      });
    } catch (error) {
      // Not fatal by itself: another replica may have created them first, or the cluster may
      // not implement CreateTopics (librdkafka's mock) and have them made out of band. What
      // counts is whether they exist now.
      createError = error;
    }
    const stillMissing = await this.missingTopics(admin, missing);
    if (stillMissing.length > 0) {
      throw new BusError(
        'topic-creation-failed',
        `expected topics ${stillMissing.map((t) => `'${t.name}'`).join(', ')} to exist after CreateTopics, ` +
          `got ${createError === undefined ? 'no error but no topic' : errorText(createError)}`,
        { cause: createError, retriable: isRetriable(createError) },
      );
    }
  }

  private async missingTopics(admin: Admin, topics: readonly TopicSpec[]): Promise<TopicSpec[]> {
    let existing: string[];
    try {
      existing = await admin.listTopics();
    } catch (error) {
      throw wrapKafkaError('admin-failed', "expected to list the cluster's topics", error);
    }
    const names = new Set(existing);
    return topics.filter((spec) => !names.has(spec.name));
  }

  producer(): Producer {
    return new KafkaBusProducer(this);
  }

  consumer(options: ConsumerOptions): Consumer {
    validateConsumerOptions(options);
    const consumer = new KafkaBusConsumer(this, options);
    this.consumers.add(consumer);
    return consumer;
  }

  forget(consumer: KafkaBusConsumer): void {
    this.consumers.delete(consumer);
  }

  /** The bus's one kafkajs producer, connected on first use and shared by every Producer. */
  kafkaProducer(): Promise<KafkaProducer> {
    this.producerConnection ??= this.connect('producer', () =>
      this.kafka.producer({
        idempotent: this.options.idempotent,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: () => (args) => {
          const key = args.message.key;
          const text = typeof key === 'string' ? key : key == null ? '' : key.toString('utf8');
          return partitionForKey(text, args.partitionMetadata.length);
        },
      }),
    );
    return this.producerConnection;
  }

  admin(): Promise<Admin> {
    this.adminConnection ??= this.connect('admin', () => this.kafka.admin());
    return this.adminConnection;
  }

  private async connect<T extends { connect(): Promise<void>; disconnect(): Promise<void> }>(role: string, make: () => T): Promise<T> {
    const client = make();
    try {
      await client.connect();
    } catch (error) {
      // Forget the failed attempt so the next call tries again instead of replaying the error.
      if (role === 'producer') this.producerConnection = undefined;
      else this.adminConnection = undefined;
      throw wrapKafkaError('connect-failed', `expected the ${role} to connect to the brokers`, error);
    }
    if (this.closed) {
      // close() ran while this connection was being made and could not see it.
      await client.disconnect().catch(() => undefined);
      throw new BusError('closed', `expected an open bus once the ${role} connected, but close() was called meanwhile`);
    }
    return client;
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    const results = await Promise.allSettled([
      ...[...this.consumers].map((consumer) => consumer.stop()),
      disconnect(this.producerConnection),
      disconnect(this.adminConnection),
    ]);
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
  }
}

async function disconnect(connection: Promise<{ disconnect(): Promise<void> }> | undefined): Promise<void> {
  if (connection === undefined) return;
  let client: { disconnect(): Promise<void> };
  try {
    client = await connection;
  } catch {
    return; // never connected, nothing to close
  }
  try {
    await client.disconnect();
  } catch (error) {
    throw wrapKafkaError('connect-failed', 'expected a clean disconnect from the brokers', error);
  }
}

class KafkaBusProducer implements Producer {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly bus: KafkaBus) {}

  send(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    // Settled either way, kafkajs holds no reference to the values any more.
    const sending = this.sendNow(topic, messages).finally(() => releaseMessages(messages));
    this.pending.add(sending);
    const forget = (): void => {
      this.pending.delete(sending);
    };
    void sending.then(forget, forget);
    return sending;
  }

  private async sendNow(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    this.bus.assertOpen('send');
    validateMessages(topic, messages);
    if (messages.length === 0) return;
    const now = Date.now();
    const records: KafkaOutgoingMessage[] = new Array<KafkaOutgoingMessage>(messages.length);
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i] as OutgoingMessage;
      const value = message.value;
      records[i] = {
        key: message.key,
        // A view, not a copy: frames can be megabytes.
        value: Buffer.from(value.buffer, value.byteOffset, value.byteLength),
        timestamp: String(message.timestampMs ?? now),
        ...(message.headers === undefined ? {} : { headers: { ...message.headers } }),
      };
    }
    const producer = await this.bus.kafkaProducer();
    try {
      await producer.send({ topic, messages: records, acks: -1 });
    } catch (error) {
      throw wrapKafkaError('send-failed', `expected the brokers to accept ${messages.length} message(s) for topic '${topic}'`, error, {
        topic,
      });
    }
  }

  async flush(): Promise<void> {
    // kafkajs keeps no client-side buffer: a batch is on the wire once send() is called.
    await Promise.allSettled([...this.pending]);
  }
}

class KafkaBusConsumer implements Consumer {
  private readonly groupId: string;
  private readonly topics: string[];
  private readonly fromBeginning: boolean;
  private readonly maxBatchSize: number;
  private state: 'idle' | 'starting' | 'running' | 'stopped' = 'idle';
  private paused = false;
  private consumer: KafkaConsumer | undefined;
  private handler: BatchHandler | undefined;
  private removeListeners: (() => void)[] = [];
  /** Consecutive handler failures per "topic:partition", for the retry backoff. */
  private readonly failures = new Map<string, number>();
  /** Wakes retry sleeps early when the consumer stops. */
  private readonly sleepers = new Set<() => void>();
  private stopping: Promise<void> | undefined;
  /** Fails a run() still waiting for its group join when stop() comes first. */
  private abortJoin: ((error: BusError) => void) | undefined;

  constructor(
    private readonly bus: KafkaBus,
    options: ConsumerOptions,
  ) {
    this.groupId = options.groupId;
    this.topics = [...new Set(options.topics)];
    this.fromBeginning = options.fromBeginning ?? true;
    this.maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
  }

  async run(handler: BatchHandler): Promise<void> {
    this.bus.assertOpen('run');
    if (typeof handler !== 'function') {
      throw new BusError('invalid-argument', `expected a batch handler function, got ${describeValue(handler)}`);
    }
    if (this.state !== 'idle') {
      throw new BusError(
        'invalid-state',
        `expected run() to be called once per consumer of group '${this.groupId}', got a second call while ${this.state}`,
      );
    }
    this.state = 'starting';
    this.handler = handler;
    const { options } = this.bus;
    const consumer = this.bus.kafka.consumer({
      groupId: this.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      maxWaitTimeInMs: options.maxWaitTimeMs,
    });
    this.consumer = consumer;
    try {
      await consumer.connect();
    } catch (error) {
      await this.abandon(consumer);
      throw wrapKafkaError('connect-failed', `expected the consumer of group '${this.groupId}' to connect`, error, {
        groupId: this.groupId,
      });
    }
    try {
      await consumer.subscribe({ topics: this.topics, fromBeginning: this.fromBeginning });
    } catch (error) {
      await this.abandon(consumer);
      throw wrapKafkaError(
        'consume-failed',
        `expected group '${this.groupId}' to subscribe to ${this.topics.map((t) => `'${t}'`).join(', ')}`,
        error,
        { groupId: this.groupId },
      );
    }

    const joined = new Promise<void>((resolve, reject) => {
      this.abortJoin = reject;
      this.removeListeners.push(
        consumer.on(consumer.events.GROUP_JOIN, () => resolve()),
        consumer.on(consumer.events.CRASH, (event) => {
          const { error, restart } = event.payload;
          const wrapped = wrapKafkaError(
            'consume-failed',
            `expected the consumer of group '${this.groupId}' to keep running`,
            error,
            { groupId: this.groupId },
            restart ? 'kafkajs restarts it' : 'it stopped',
          );
          if (!restart) reject(wrapped);
          reportError(this.bus.options.onError, wrapped);
        }),
      );
    });
    // A crash after the join has no run() caller left to reject; onError already reported it.
    joined.catch(() => undefined);

    try {
      await consumer.run({
        autoCommit: true,
        // Every resolved chunk is committed by commitOffsetsIfNecessary() right after its handler.
        autoCommitThreshold: 1,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently,
        eachBatch: (payload) => this.eachBatch(payload),
      });
      await joined;
    } catch (error) {
      await this.abandon(consumer);
      throw error instanceof BusError
        ? error
        : wrapKafkaError('consume-failed', `expected group '${this.groupId}' to start consuming`, error, {
            groupId: this.groupId,
          });
    } finally {
      this.abortJoin = undefined;
    }
    if (this.state !== 'starting') {
      throw new BusError(
        'invalid-state',
        `expected the consumer of group '${this.groupId}' to still be starting once it joined, got stop() first`,
      );
    }
    this.state = 'running';
    if (this.paused) consumer.pause(this.topics.map((topic) => ({ topic })));
  }

  private async abandon(consumer: KafkaConsumer): Promise<void> {
    this.state = 'stopped';
    this.bus.forget(this);
    for (const remove of this.removeListeners) remove();
    this.removeListeners = [];
    await consumer.disconnect().catch(() => undefined);
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { topic, partition } = batch;
    const all = batch.messages;
    const highWatermark = Number(batch.highWatermark);
    for (let start = 0; start < all.length; start += this.maxBatchSize) {
      if (!payload.isRunning() || payload.isStale()) return;
      const chunk = all.slice(start, start + this.maxBatchSize);
      const firstOffset = (chunk[0] as KafkaMessage).offset;
      if (this.paused) {
        // Fetched before pause() took effect: hand it back to be fetched after resume().
        this.seek(topic, partition, firstOffset);
        return;
      }
      const lastOffset = (chunk[chunk.length - 1] as KafkaMessage).offset;
      const messages = chunk.map((message) => toIncoming(topic, partition, message));
      try {
        await (this.handler as BatchHandler)({
          topic,
          partition,
          messages,
          lag: Math.max(0, highWatermark - Number(lastOffset) - 1),
        });
      } catch (error) {
        await this.onHandlerFailed(topic, partition, firstOffset, error);
        return;
      }
      this.failures.delete(`${topic}:${partition}`);
      payload.resolveOffset(lastOffset);
      await payload.commitOffsetsIfNecessary();
      await payload.heartbeat();
    }
  }

  private async onHandlerFailed(topic: string, partition: number, offset: string, error: unknown): Promise<void> {
    const key = `${topic}:${partition}`;
    const attempt = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, attempt);
    const { retryDelayMs, maxRetryDelayMs, onError } = this.bus.options;
    const delayMs = Math.min(maxRetryDelayMs, retryDelayMs * 2 ** (attempt - 1));
    reportError(
      onError,
      new BusError(
        'handler-failed',
        `expected the batch handler of group '${this.groupId}' to resolve for ${topic}[${partition}] from offset ${offset}, ` +
          `but it ${error instanceof Error ? `threw ${error.name}: ${error.message}` : `rejected with ${describeValue(error)}`}; ` +
          `nothing was committed and the batch is fetched again in ${delayMs} ms (attempt ${attempt})`,
        { retriable: true, cause: error, context: { topic, partition, groupId: this.groupId, offset, attempt } },
      ),
    );
    this.seek(topic, partition, offset);
    await this.sleep(delayMs);
  }

  private seek(topic: string, partition: number, offset: string): void {
    try {
      this.consumer?.seek({ topic, partition, offset });
    } catch (error) {
      reportError(
        this.bus.options.onError,
        wrapKafkaError('consume-failed', `expected to seek ${topic}[${partition}] back to offset ${offset}`, error, {
          topic,
          partition,
          groupId: this.groupId,
          offset,
        }),
      );
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.state === 'stopped' || ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  pause(): void {
    this.paused = true;
    if (this.state === 'running') this.consumer?.pause(this.topics.map((topic) => ({ topic })));
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.state === 'running') this.consumer?.resume(this.topics.map((topic) => ({ topic })));
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopNow();
    return this.stopping;
  }

  private async stopNow(): Promise<void> {
    const consumer = this.consumer;
    this.state = 'stopped';
    this.bus.forget(this);
    for (const wake of [...this.sleepers]) wake();
    this.abortJoin?.(new BusError('invalid-state', `expected the consumer of group '${this.groupId}' to join its group, got stop() first`));
    if (consumer === undefined) return;
    try {
      // kafkajs waits for the batch in flight (and its commit), then leaves the group.
      await consumer.disconnect();
    } catch (error) {
      throw wrapKafkaError('consume-failed', `expected the consumer of group '${this.groupId}' to leave cleanly`, error, {
        groupId: this.groupId,
      });
    } finally {
      for (const remove of this.removeListeners) remove();
      this.removeListeners = [];
    }
  }

  async lag(): Promise<Record<string, number>> {
    this.bus.assertOpen('lag');
    const admin = await this.bus.admin();
    try {
      const committed = await admin.fetchOffsets({ groupId: this.groupId, topics: this.topics });
      const lag: Record<string, number> = {};
      for (const topic of this.topics) {
        const ends = await admin.fetchTopicOffsets(topic);
        const offsets = new Map<number, number>();
        for (const entry of committed.find((c) => c.topic === topic)?.partitions ?? []) {
          offsets.set(entry.partition, Number(entry.offset));
        }
        let total = 0;
        for (const end of ends) {
          const high = Number(end.high);
          const position = offsets.get(end.partition) ?? -1;
          // No commit yet: the group will start where fromBeginning says.
          const from = position >= 0 ? position : this.fromBeginning ? Number(end.low) : high;
          total += Math.max(0, high - from);
        }
        lag[topic] = total;
      }
      return lag;
    } catch (error) {
      throw wrapKafkaError('admin-failed', `expected to read offsets of group '${this.groupId}'`, error, {
        groupId: this.groupId,
      });
    }
  }
}

function toIncoming(topic: string, partition: number, message: KafkaMessage): IncomingMessage {
  const value = message.value;
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key === null ? '' : message.key.toString('utf8'),
    value: value === null ? new Uint8Array(0) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
    headers: message.headers === undefined ? EMPTY_HEADERS : toHeaders(message.headers),
    timestampMs: Number(message.timestamp),
  };
}

/**
 * Kafka headers are bytes and may repeat a name; the contract is string → string. Bytes are
 * read as UTF-8 and, for a repeated name, the last value wins (as with a Map built in order).
 */
function toHeaders(headers: IHeaders): Readonly<Record<string, string>> {
  let out: Record<string, string> | undefined;
  for (const name in headers) {
    let value = headers[name];
    if (Array.isArray(value)) value = value[value.length - 1];
    if (value === undefined) continue;
    out ??= {};
    out[name] = typeof value === 'string' ? value : value.toString('utf8');
  }
  return out ?? EMPTY_HEADERS;
}

interface KafkaErrorFields {
  name?: unknown;
  message?: unknown;
  retriable?: unknown;
  type?: unknown;
  cause?: unknown;
}

function fields(error: unknown): KafkaErrorFields {
  return typeof error === 'object' && error !== null ? error : {};
}

function isRetriable(error: unknown): boolean {
  return fields(error).retriable === true;
}

function errorText(error: unknown): string {
  const { name, message } = fields(error);
  return typeof message === 'string' ? `${typeof name === 'string' ? name : 'Error'}: ${message}` : describeValue(error);
}

/** Turns whatever kafkajs threw into a BusError; protocol error types pick a sharper code. */
function wrapKafkaError(code: BusErrorCode, expected: string, error: unknown, context: BusErrorContext = {}, outcome?: string): BusError {
  let type: unknown;
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 5; e = fields(e).cause, depth++) {
    type ??= fields(e).type;
  }
  const finalCode: BusErrorCode = type === 'UNKNOWN_TOPIC_OR_PARTITION' ? 'unknown-topic' : code;
  return new BusError(finalCode, `${expected}, got ${errorText(error)}${outcome ? `; ${outcome}` : ''}`, {
    cause: error,
    retriable: isRetriable(error),
    context,
  });
}
