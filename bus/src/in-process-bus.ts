/**
 * The embedded bus: Kafka's model (partitioned append-only logs, consumer groups, committed
 * offsets) inside one Node process, for `npm start` on a single box.
 *
 * Design notes, because this sits on the hot path of everything:
 * - A message is turned into its IncomingMessage once, when appended, and every group is handed
 *   that same object; a batch is one `slice` of the log. Nothing is copied per delivery, and
 *   there is no promise or closure per message — one handler call, one `then` per batch.
 * - Values and headers are passed by reference, not copied (frames are large). A producer must
 *   not mutate a value or headers object after `send()`; a consumer must not mutate what it is
 *   handed, since other groups see the same objects.
 * - Delivery is driven by a pump scheduled with setImmediate, so a burst of sends becomes a few
 *   large batches and a busy bus still lets timers and I/O run between rounds.
 * - By default one batch per group and partition is in flight, and the next one starts at the
 *   committed offset. A consumer may take up to `maxBatchesInFlight` (the sink does: its batches
 *   wait on ClickHouse, and while they wait, ingest keeps appending instead of taking turns with
 *   the insert): the next batch starts where the last delivered one ended, and commits still
 *   advance in order — a batch that finishes early waits for those before it. A rebalance never
 *   hands a partition to a new member while the old one still has batches of it in flight, and a
 *   failure redelivers from the committed offset once every batch of the partition has settled
 *   (the later ones' results are not committed: at-least-once, as with one batch).
 */
import type {
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
import { BusError, describeValue, logBusError, reportError, type BusErrorListener } from './errors.js';
import { partitionForKey } from './partitioner.js';
import {
  callReleased,
  invalidMessage,
  isOutgoingMessage,
  nonNegative,
  positiveInteger,
  releaseMessages,
  validateConsumerOptions,
  validateTopicSpecs,
} from './validate.js';

export interface InProcessBusOptions {
  /**
   * Per partition, how many messages the slowest consumer group may have left unprocessed
   * before `producer.send()` waits for it to catch up (backpressure). On a topic that no group
   * reads, the size of the ring that is kept (oldest messages are dropped), so a group that
   * joins later with `fromBeginning` still finds recent history. Default 20_000.
   *
   * A group whose consumers have all stopped still counts: its committed offsets are kept so a
   * restarted consumer resumes where it left off, and producers wait for it rather than
   * dropping what it has not seen.
   */
  maxBacklogMessages?: number;
  /**
   * The same bound in bytes of message values, per partition: a backlog of camera frames hits
   * it long before the message bound (100_000 frames would be gigabytes). A single message
   * larger than the bound is still accepted into an empty backlog. Default 4 MiB.
   */
  maxBacklogBytes?: number;
  /** Delay before a batch whose handler threw is delivered again; doubles per consecutive failure. Default 100 ms. */
  retryDelayMs?: number;
  /** Upper bound of the redelivery delay. Default 5_000 ms. */
  maxRetryDelayMs?: number;
  /** Receives handler failures (code 'handler-failed'); defaults to one console.error line each. */
  onError?: BusErrorListener;
}

// 20k per partition: enough to keep every consumer's batches full, small enough that a
// saturated pipeline queues about a second of data, not tens (latency and memory both follow
// the queue; measured 100k → 6 s ingest-to-warning and 1.7 GB under overload). Readings travel
// ~600 to a message (~100 KB), so for them the byte bound is the one that holds: 4 MiB × 8
// partitions is ~220k readings, about a second at the platform's target rate (8 MiB measured
// p99 ingest-to-warning above a second whenever the pipeline briefly fell behind).
const DEFAULT_MAX_BACKLOG_MESSAGES = 20_000;
const DEFAULT_MAX_BACKLOG_BYTES = 4 * 1024 * 1024;
const DEFAULT_RETRY_DELAY_MS = 100;
const DEFAULT_MAX_RETRY_DELAY_MS = 5_000;
const DEFAULT_MAX_BATCH_SIZE = 1000;

/**
 * Messages per log segment. Memory is returned in whole segments once every group has committed
 * past them; entries of the partly consumed head segment are cleared one by one so large values
 * (frames) are not held until the segment fills.
 */
const SEGMENT_SIZE = 4096;

const EMPTY_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
const RESOLVED: Promise<void> = Promise.resolve();

export function createInProcessBus(options: InProcessBusOptions = {}): Bus {
  return new InProcessBus(options);
}

/** One partition's append-only log; offsets start at 0 and never repeat. */
class PartitionLog {
  /** Every segment but the last holds exactly SEGMENT_SIZE entries; cleared entries are undefined. */
  private readonly segments: (IncomingMessage | undefined)[][] = [];
  /**
   * Per segment entry: value bytes appended up to and including that message. Byte accounting
   * reads these numbers instead of the (by then cold) message objects being released.
   */
  private readonly cumulative: Float64Array[] = [];
  /** Offset of segments[0][0]; equals `end` while there are no segments. */
  private headBase = 0;
  private appendedBytes = 0;
  private releasedBytes = 0;
  /** OutgoingMessage.onReleased by offset, for the few messages that have one (in offset order). */
  private readonly releases = new Map<number, () => void>();
  /** First offset still held. */
  start = 0;
  /** Offset the next message gets. */
  end = 0;

  constructor(
    private readonly topic: string,
    private readonly partition: number,
  ) {}

  /** Value bytes held, for the byte bound on the backlog. */
  get bytes(): number {
    return this.appendedBytes - this.releasedBytes;
  }

  append(
    key: string,
    value: Uint8Array,
    headers: Readonly<Record<string, string>>,
    timestampMs: number,
    onReleased: (() => void) | undefined,
  ): void {
    let segment = this.segments[this.segments.length - 1];
    let cumulative = this.cumulative[this.cumulative.length - 1];
    if (segment === undefined || cumulative === undefined || segment.length === SEGMENT_SIZE) {
      segment = [];
      cumulative = new Float64Array(SEGMENT_SIZE);
      this.segments.push(segment);
      this.cumulative.push(cumulative);
    }
    this.appendedBytes += value.byteLength;
    cumulative[segment.length] = this.appendedBytes;
    segment.push({
      topic: this.topic,
      partition: this.partition,
      offset: String(this.end),
      key,
      value,
      headers,
      timestampMs,
    });
    if (onReleased !== undefined) this.releases.set(this.end, onReleased);
    this.end++;
  }

  /** Up to `max` messages from `from` (which must be >= start) in offset order. */
  read(from: number, max: number): IncomingMessage[] {
    const count = Math.min(this.end - from, max);
    let relative = from - this.headBase;
    let segmentIndex = Math.floor(relative / SEGMENT_SIZE);
    let index = relative - segmentIndex * SEGMENT_SIZE;
    const first = this.segments[segmentIndex] as IncomingMessage[];
    if (index + count <= first.length) return first.slice(index, index + count);
    const out: IncomingMessage[] = first.slice(index);
    while (out.length < count) {
      relative = from + out.length - this.headBase;
      segmentIndex = Math.floor(relative / SEGMENT_SIZE);
      index = relative - segmentIndex * SEGMENT_SIZE;
      const segment = this.segments[segmentIndex] as IncomingMessage[];
      const take = Math.min(count - out.length, segment.length - index);
      for (let i = 0; i < take; i++) out.push(segment[index + i] as IncomingMessage);
    }
    return out;
  }

  /** Value bytes appended up to and including `offset` (start <= offset < end). */
  private bytesThrough(offset: number): number {
    const relative = offset - this.headBase;
    const segmentIndex = Math.floor(relative / SEGMENT_SIZE);
    return (this.cumulative[segmentIndex] as Float64Array)[relative - segmentIndex * SEGMENT_SIZE] as number;
  }

  /** Releases everything before `offset`. */
  trim(offset: number): void {
    const to = Math.min(offset, this.end);
    if (to <= this.start) return;
    this.releasedBytes = this.bytesThrough(to - 1);
    // Whole segments go at once; the entries of a partly released head segment are cleared so
    // their values (frames) can be collected before the segment is.
    while (this.segments.length > 0 && this.headBase + SEGMENT_SIZE <= to) {
      this.segments.shift();
      this.cumulative.shift();
      this.headBase += SEGMENT_SIZE;
    }
    const head = this.segments[0];
    if (head !== undefined) {
      const clearTo = to - this.headBase;
      for (let i = Math.max(0, this.start - this.headBase); i < clearTo; i++) head[i] = undefined;
    }
    this.start = to;
    // Map order is offset order: the released ones are at the front.
    for (const [offset, release] of this.releases) {
      if (offset >= to) break;
      this.releases.delete(offset);
      callReleased(release);
    }
  }

  /** Ring mode: drops the oldest messages until at most `maxMessages` and `maxBytes` are held; keeps the newest. */
  trimToLimits(maxMessages: number, maxBytes: number): void {
    let to = Math.max(this.start, this.end - maxMessages);
    while (to < this.end - 1) {
      const released = to > this.start ? this.bytesThrough(to - 1) : this.releasedBytes;
      if (this.appendedBytes - released <= maxBytes) break;
      to++;
    }
    this.trim(to);
  }
}

interface SendWaiter {
  resolve: () => void;
  reject: (error: BusError) => void;
}

class TopicState {
  readonly logs: PartitionLog[];
  readonly groups = new Map<string, GroupState>();
  /** Producers waiting for backlog room on this topic. */
  waiters: SendWaiter[] = [];

  constructor(
    readonly name: string,
    partitionCount: number,
  ) {
    this.logs = [];
    for (let p = 0; p < partitionCount; p++) this.logs.push(new PartitionLog(name, p));
  }
}

/** A consumer group's view of one topic. Outlives its members: committed offsets persist. */
/** A delivered batch not committed yet, in delivery order. */
interface PendingBatch {
  readonly next: number;
  done: boolean;
}

class GroupState {
  readonly committed: number[];
  /** Where the next batch of each partition starts: the committed offset, or past the batches in flight. */
  readonly position: number[];
  /** Batches of each partition with a handler, in delivery order. */
  readonly pending: PendingBatch[][];
  /** 1 while a failed batch waits for its partition's other batches to settle and out its retry delay. */
  readonly busy: Uint8Array;
  /** The consumer holding each partition's batches in flight (a rebalance waits for them). */
  readonly holder: (InProcessConsumer | undefined)[];
  /** Consecutive handler failures at the committed offset, for the retry backoff. */
  readonly failures: number[];
  readonly owners: (InProcessConsumer | undefined)[];
  readonly members: InProcessConsumer[] = [];
  queued = false;

  constructor(
    readonly groupId: string,
    readonly topic: TopicState,
    startAtEnd: boolean,
  ) {
    const n = topic.logs.length;
    this.committed = topic.logs.map((log) => (startAtEnd ? log.end : log.start));
    this.position = [...this.committed];
    this.pending = Array.from({ length: n }, () => []);
    this.busy = new Uint8Array(n);
    this.holder = new Array<InProcessConsumer | undefined>(n).fill(undefined);
    this.failures = new Array<number>(n).fill(0);
    this.owners = new Array<InProcessConsumer | undefined>(n).fill(undefined);
  }

  /** Round-robin assignment over members in join order, like Kafka's RoundRobinAssigner. */
  rebalance(): void {
    const m = this.members.length;
    for (let p = 0; p < this.owners.length; p++) this.owners[p] = m === 0 ? undefined : this.members[p % m];
  }
}

class InProcessBus implements Bus {
  readonly kind = 'in-process' as const;
  readonly maxBacklogMessages: number;
  readonly maxBacklogBytes: number;
  readonly retryDelayMs: number;
  readonly maxRetryDelayMs: number;
  readonly onError: BusErrorListener;
  closed = false;

  private readonly topics = new Map<string, TopicState>();
  private readonly consumers = new Set<InProcessConsumer>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private queue: GroupState[] = [];
  private spare: GroupState[] = [];
  private pumpScheduled = false;
  /** Partition of each message of the batch being sent; reused so send() does not allocate it. */
  private partitionScratch = new Int32Array(1024);
  private closing: Promise<void> | undefined;

  constructor(options: InProcessBusOptions) {
    this.maxBacklogMessages = positiveInteger('maxBacklogMessages', options.maxBacklogMessages ?? DEFAULT_MAX_BACKLOG_MESSAGES);
    this.maxBacklogBytes = positiveInteger('maxBacklogBytes', options.maxBacklogBytes ?? DEFAULT_MAX_BACKLOG_BYTES);
    this.retryDelayMs = nonNegative('retryDelayMs', options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS);
    this.maxRetryDelayMs = nonNegative('maxRetryDelayMs', options.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS);
    this.onError = options.onError ?? logBusError;
  }

  ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    try {
      this.assertOpen('ensureTopics');
      validateTopicSpecs(topics);
      for (const spec of topics) {
        if (!this.topics.has(spec.name)) this.topics.set(spec.name, new TopicState(spec.name, spec.partitions));
      }
      return RESOLVED;
    } catch (error) {
      return rejected(error);
    }
  }

  producer(): Producer {
    return new InProcessProducer(this);
  }

  consumer(options: ConsumerOptions): Consumer {
    const consumer = new InProcessConsumer(this, options);
    this.consumers.add(consumer);
    return consumer;
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    const closedError = new BusError('closed', 'expected the bus to be open while send() waited for backlog room, but it was closed');
    for (const topic of this.topics.values()) {
      const waiters = topic.waiters;
      topic.waiters = [];
      for (const waiter of waiters) waiter.reject(closedError);
    }
    await Promise.all([...this.consumers].map((consumer) => consumer.stop()));
  }

  assertOpen(operation: string): void {
    if (this.closed) {
      throw new BusError('closed', `expected an open bus for ${operation}(), but close() was already called`);
    }
  }

  topic(name: string, operation: string): TopicState {
    const topic = this.topics.get(name);
    if (topic === undefined) {
      throw new BusError(
        'unknown-topic',
        `expected topic '${name}' to exist for ${operation}(), got no such topic (create it with ensureTopics first)`,
        { context: { topic: name } },
      );
    }
    return topic;
  }

  // ---- producing -------------------------------------------------------------------------

  /** True when no partition of the topic is at its backlog limit. */
  hasRoom(topic: TopicState): boolean {
    // Ring topics (no group) trim on append instead of waiting.
    if (topic.groups.size === 0) return true;
    // The log is trimmed to the slowest group's committed offset, so its length is that
    // group's backlog.
    for (const log of topic.logs) {
      if (log.end - log.start >= this.maxBacklogMessages || log.bytes >= this.maxBacklogBytes) return false;
    }
    return true;
  }

  waitForRoom(topic: TopicState): Promise<void> {
    return new Promise<void>((resolve, reject) => topic.waiters.push({ resolve, reject }));
  }

  /** Validates the whole batch first so a bad message never leaves half a batch appended. */
  append(topic: TopicState, messages: readonly OutgoingMessage[]): void {
    const count = messages.length;
    if (this.partitionScratch.length < count) this.partitionScratch = new Int32Array(count);
    const partitions = this.partitionScratch;
    const partitionCount = topic.logs.length;
    for (let i = 0; i < count; i++) {
      const message = messages[i];
      if (!isOutgoingMessage(message)) throw invalidMessage(topic.name, i, message);
      partitions[i] = partitionForKey(message.key, partitionCount);
    }
    const now = Date.now();
    for (let i = 0; i < count; i++) {
      const message = messages[i] as OutgoingMessage;
      (topic.logs[partitions[i] as number] as PartitionLog).append(
        message.key,
        message.value,
        message.headers ?? EMPTY_HEADERS,
        message.timestampMs ?? now,
        message.onReleased,
      );
    }
    if (topic.groups.size === 0) {
      for (const log of topic.logs) {
        if (log.end - log.start > this.maxBacklogMessages || log.bytes > this.maxBacklogBytes) {
          log.trimToLimits(this.maxBacklogMessages, this.maxBacklogBytes);
        }
      }
      return;
    }
    for (const group of topic.groups.values()) this.schedule(group);
  }

  // ---- consuming -------------------------------------------------------------------------

  join(consumer: InProcessConsumer, topic: TopicState, groupId: string, fromBeginning: boolean): GroupState {
    let group = topic.groups.get(groupId);
    if (group === undefined) {
      group = new GroupState(groupId, topic, !fromBeginning);
      topic.groups.set(groupId, group);
      // A group starting at the end releases the history a ring topic was keeping.
      for (let p = 0; p < topic.logs.length; p++) this.trimPartition(topic, p);
    }
    group.members.push(consumer);
    group.rebalance();
    this.schedule(group);
    return group;
  }

  leave(consumer: InProcessConsumer, group: GroupState): void {
    const index = group.members.indexOf(consumer);
    if (index === -1) return;
    group.members.splice(index, 1);
    // Partitions move at once; one still in flight stays busy until its batch settles, so the
    // new owner starts after the old one's commit.
    group.rebalance();
    this.schedule(group);
  }

  forget(consumer: InProcessConsumer): void {
    this.consumers.delete(consumer);
  }

  schedule(group: GroupState): void {
    if (!group.queued) {
      group.queued = true;
      this.queue.push(group);
    }
    if (!this.pumpScheduled && !this.closed) {
      this.pumpScheduled = true;
      setImmediate(this.pump);
    }
  }

  private readonly pump = (): void => {
    this.pumpScheduled = false;
    const queue = this.queue;
    this.queue = this.spare;
    this.spare = queue;
    for (let i = 0; i < queue.length; i++) {
      const group = queue[i] as GroupState;
      group.queued = false;
      this.dispatch(group);
    }
    queue.length = 0;
  };

  private dispatch(group: GroupState): void {
    if (this.closed) return;
    const logs = group.topic.logs;
    for (let p = 0; p < logs.length; p++) {
      if (group.busy[p] === 1) continue;
      const owner = group.owners[p];
      if (owner === undefined || !owner.canReceive()) continue;
      const pending = group.pending[p] as PendingBatch[];
      // A new owner starts after the old one's batches settle; an owner keeps to its own limit.
      if (pending.length > 0 && (group.holder[p] !== owner || pending.length >= owner.maxBatchesInFlight)) continue;
      const log = logs[p] as PartitionLog;
      const from = group.position[p] as number;
      if (from >= log.end) continue;
      this.deliver(group, p, owner, log, from);
      // Deliver more of this partition in the same round while the owner takes more.
      if (owner.maxBatchesInFlight > 1) p--;
    }
  }

  private deliver(group: GroupState, partition: number, owner: InProcessConsumer, log: PartitionLog, from: number): void {
    const messages = log.read(from, owner.maxBatchSize);
    const next = from + messages.length;
    const batch: MessageBatch = { topic: group.topic.name, partition, messages, lag: log.end - next };
    const entry: PendingBatch = { next, done: false };
    (group.pending[partition] as PendingBatch[]).push(entry);
    group.position[partition] = next;
    group.holder[partition] = owner;
    owner.inFlight++;
    let result: Promise<void>;
    try {
      result = (owner.handler as BatchHandler)(batch);
    } catch (error) {
      this.onBatchFailed(group, partition, owner, entry, from, error);
      return;
    }
    void Promise.resolve(result).then(
      () => this.onBatchDone(group, partition, owner, entry),
      (error: unknown) => this.onBatchFailed(group, partition, owner, entry, from, error),
    );
  }

  /** Removes a settled batch; once a partition has none left in flight, it may change hands. */
  private release(group: GroupState, partition: number, entry: PendingBatch): PendingBatch[] {
    const pending = group.pending[partition] as PendingBatch[];
    entry.done = true;
    if (pending.every((b) => b.done) && group.busy[partition] === 1) pending.length = 0;
    if (pending.length === 0) group.holder[partition] = undefined;
    return pending;
  }

  private onBatchDone(group: GroupState, partition: number, owner: InProcessConsumer, entry: PendingBatch): void {
    owner.settled();
    if (group.busy[partition] === 1) {
      // An earlier batch failed: nothing after it commits; redelivery waits for this one to settle.
      this.release(group, partition, entry);
      return;
    }
    entry.done = true;
    const pending = group.pending[partition] as PendingBatch[];
    // Commits advance in order: past every finished batch at the front, and no further.
    while (pending.length > 0 && (pending[0] as PendingBatch).done) group.committed[partition] = (pending.shift() as PendingBatch).next;
    if (pending.length === 0) group.holder[partition] = undefined;
    group.failures[partition] = 0;
    const topic = group.topic;
    this.trimPartition(topic, partition);
    if (topic.waiters.length > 0 && this.hasRoom(topic)) {
      const waiters = topic.waiters;
      topic.waiters = [];
      for (const waiter of waiters) waiter.resolve();
    }
    this.schedule(group);
  }

  private onBatchFailed(
    group: GroupState,
    partition: number,
    owner: InProcessConsumer,
    entry: PendingBatch,
    from: number,
    error: unknown,
  ): void {
    owner.settled();
    const alreadyFailing = group.busy[partition] === 1;
    group.busy[partition] = 1;
    this.release(group, partition, entry);
    // One report and one retry per failure round: a later batch failing in the same round adds nothing.
    if (alreadyFailing) return;
    const attempt = (group.failures[partition] as number) + 1;
    group.failures[partition] = attempt;
    const delayMs = Math.min(this.maxRetryDelayMs, this.retryDelayMs * 2 ** (attempt - 1));
    const topic = group.topic.name;
    reportError(
      this.onError,
      new BusError(
        'handler-failed',
        `expected the batch handler of group '${group.groupId}' to resolve for ${topic}[${partition}] from offset ${from}, ` +
          `but it ${error instanceof Error ? `threw ${error.name}: ${error.message}` : `rejected with ${describeValue(error)}`}; ` +
          `nothing was committed and the batch is delivered again in ${delayMs} ms (attempt ${attempt})`,
        {
          retriable: true,
          cause: error,
          context: { topic, partition, groupId: group.groupId, offset: String(from), attempt },
        },
      ),
    );
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.retryWhenSettled(group, partition);
    }, delayMs);
    this.retryTimers.add(timer);
  }

  /** Redelivers from the committed offset once every batch of the partition has settled. */
  private retryWhenSettled(group: GroupState, partition: number): void {
    const pending = group.pending[partition] as PendingBatch[];
    if (pending.some((b) => !b.done)) {
      const timer = setTimeout(() => {
        this.retryTimers.delete(timer);
        this.retryWhenSettled(group, partition);
      }, 5);
      this.retryTimers.add(timer);
      return;
    }
    pending.length = 0;
    group.holder[partition] = undefined;
    group.position[partition] = group.committed[partition] as number;
    group.busy[partition] = 0;
    this.schedule(group);
  }

  /** Drops what every group has committed past (or, with no group, what is beyond the ring). */
  private trimPartition(topic: TopicState, partition: number): void {
    const log = topic.logs[partition] as PartitionLog;
    let min = Infinity;
    for (const group of topic.groups.values()) {
      const committed = group.committed[partition] as number;
      if (committed < min) min = committed;
    }
    if (min === Infinity) log.trimToLimits(this.maxBacklogMessages, this.maxBacklogBytes);
    else log.trim(min);
  }
}

class InProcessProducer implements Producer {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly bus: InProcessBus) {}

  send(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    try {
      this.bus.assertOpen('send');
      if (!Array.isArray(messages)) {
        throw new BusError('invalid-argument', `expected an array of messages for topic '${topic}', got ${describeValue(messages)}`);
      }
      const state = this.bus.topic(topic, 'send');
      if (this.bus.hasRoom(state)) {
        this.bus.append(state, messages);
        return RESOLVED;
      }
      const sending = this.sendWhenRoom(state, messages).catch((error: unknown) => {
        // Never appended: the values go straight back to the producer.
        releaseMessages(messages);
        throw error;
      });
      this.pending.add(sending);
      const forget = (): void => {
        this.pending.delete(sending);
      };
      void sending.then(forget, forget);
      return sending;
    } catch (error) {
      releaseMessages(messages);
      return rejected(error);
    }
  }

  private async sendWhenRoom(topic: TopicState, messages: readonly OutgoingMessage[]): Promise<void> {
    this.bus.assertOpen('send');
    while (!this.bus.hasRoom(topic)) {
      await this.bus.waitForRoom(topic);
      // close() rejects the waiters it finds; one woken just before it must not wait again.
      this.bus.assertOpen('send');
    }
    this.bus.append(topic, messages);
  }

  async flush(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}

class InProcessConsumer implements Consumer {
  readonly maxBatchSize: number;
  readonly maxBatchesInFlight: number;
  handler: BatchHandler | undefined;
  inFlight = 0;
  private state: 'idle' | 'running' | 'stopped' = 'idle';
  private paused = false;
  private groups: GroupState[] = [];
  private stopWaiters: (() => void)[] = [];
  private readonly groupId: string;
  private readonly topics: readonly string[];
  private readonly fromBeginning: boolean;

  constructor(
    private readonly bus: InProcessBus,
    options: ConsumerOptions,
  ) {
    validateConsumerOptions(options);
    this.groupId = options.groupId;
    this.topics = [...new Set(options.topics)];
    this.fromBeginning = options.fromBeginning ?? true;
    this.maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
    this.maxBatchesInFlight = options.maxBatchesInFlight ?? 1;
  }

  canReceive(): boolean {
    return this.state === 'running' && !this.paused;
  }

  run(handler: BatchHandler): Promise<void> {
    try {
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
      const topics = this.topics.map((name) => this.bus.topic(name, 'run'));
      this.handler = handler;
      this.state = 'running';
      this.groups = topics.map((topic) => this.bus.join(this, topic, this.groupId, this.fromBeginning));
      return RESOLVED;
    } catch (error) {
      return rejected(error);
    }
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const group of this.groups) this.bus.schedule(group);
  }

  stop(): Promise<void> {
    if (this.state === 'running') {
      this.state = 'stopped';
      for (const group of this.groups) this.bus.leave(this, group);
    }
    this.state = 'stopped';
    this.bus.forget(this);
    if (this.inFlight === 0) return RESOLVED;
    return new Promise<void>((resolve) => this.stopWaiters.push(resolve));
  }

  /** A batch handed to this consumer finished, committed or not. */
  settled(): void {
    this.inFlight--;
    if (this.inFlight === 0 && this.stopWaiters.length > 0) {
      const waiters = this.stopWaiters;
      this.stopWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  lag(): Promise<Record<string, number>> {
    try {
      const lag: Record<string, number> = {};
      for (const name of this.topics) {
        const topic = this.bus.topic(name, 'lag');
        const group = topic.groups.get(this.groupId);
        let total = 0;
        for (let p = 0; p < topic.logs.length; p++) {
          const log = topic.logs[p] as PartitionLog;
          const position = group ? (group.committed[p] as number) : this.fromBeginning ? log.start : log.end;
          total += log.end - position;
        }
        lag[name] = total;
      }
      return Promise.resolve(lag);
    } catch (error) {
      return rejected(error);
    }
  }
}

/** Turns what a synchronous check threw into the rejected promise the async API promises. */
function rejected(error: unknown): Promise<never> {
  return Promise.reject(
    error instanceof Error ? error : new BusError('invalid-state', `expected an Error to be thrown, got ${describeValue(error)}`),
  );
}
