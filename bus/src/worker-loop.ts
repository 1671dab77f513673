/**
 * The consumer-loop machinery the roles share: wait for a topic to be read to its end, and run a
 * consumer whose batches are handled one at a time with an outbox flushed first. Payload-free:
 * topics and the work itself are passed in.
 */
import type { BatchHandler, Consumer, MessageBatch, Producer } from './bus.js';

const CATCH_UP_POLL_MS = 20;

/** Runs async sections one at a time; a section that fails does not stop the ones after it. */
export type Serial = <T>(fn: () => Promise<T>) => Promise<T>;

/** A queue for async sections that share state (a model, an outbox) across partitions. */
export function serializer(): Serial {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

/** Waits until a consumer has nothing left to read on `topic`; false if the timeout passed first. */
export async function catchUp(consumer: Consumer, topic: string, timeoutMs: number, pollMs = CATCH_UP_POLL_MS): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lag = (await consumer.lag())[topic] ?? 0;
    if (lag === 0) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** A consumer of a reference topic (dimensions, state) read to its end before the loop starts. */
export interface Follow {
  consumer: Consumer;
  topic: string;
  handle: BatchHandler;
  /** Longest wait for `topic` to be read to its end. */
  timeoutMs: number;
  /** Told when the wait timed out; the loop starts anyway (whether that is fatal is the caller's call). */
  onBehind: () => void;
}

export interface ConsumerLoopOptions {
  consumer: Consumer;
  /** Handles one batch; resolving lets the bus commit it. */
  handle: BatchHandler;
  /**
   * Sends results an earlier attempt could not (the outbox). Runs first in every batch's turn —
   * the redelivered messages are duplicates to the handler by then, so without it their results
   * would be lost — and once more at stop.
   */
  flush: () => Promise<void>;
  /** Started and read to its end before `consumer` runs; stopped after the last flush. */
  follow?: Follow;
  /** Further consumers to stop, in order, after the last flush: the flush may need what they read. */
  alsoStop?: readonly Consumer[];
  /** Flushed last at stop, so nothing the outbox sent is left buffered. */
  producer?: Producer;
  /** Told of each failure's message (a batch, the flush at stop, the stop), e.g. for last_error. */
  onError: (message: string) => void;
  /** Told when the loop has stopped, or failed to start or to stop. */
  onState?: (state: 'stopped' | 'failed') => void;
  /** The error a failed batch is rethrown as (the bus then redelivers the batch). Default as is. */
  wrapBatchError?: (error: unknown, batch: MessageBatch) => unknown;
  /** The error a failed stop rejects with. Default as is. */
  wrapStopError?: (error: unknown) => unknown;
  /** The queue batches go through; pass one to share it with other work (a timer). Default a new one. */
  serial?: Serial;
}

export interface ConsumerLoop {
  /** The queue batches go through, for other work on the same state. */
  readonly serial: Serial;
  /** Lag summed over the partitions this loop has handled a batch of. */
  lag(): number;
  /**
   * Stops the consumer, flushes in turn (after any batch in flight), stops the other consumers
   * and flushes the producer. Memoised: every call gets the first call's promise.
   */
  stop(): Promise<void>;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Reads `follow` to its end, then runs `consumer` with batches handled through one serial queue.
 * Resolves once the consumer has joined its group; if anything fails to start, stops every
 * consumer it was given and rejects with the error as it is.
 */
export async function startConsumerLoop(options: ConsumerLoopOptions): Promise<ConsumerLoop> {
  const { consumer, handle, flush, follow, onError } = options;
  const serial = options.serial ?? serializer();
  const others = [...(follow === undefined ? [] : [follow.consumer]), ...(options.alsoStop ?? [])];
  const lagByPartition = new Map<number, number>();
  try {
    if (follow !== undefined) {
      await follow.consumer.run(follow.handle);
      if (!(await catchUp(follow.consumer, follow.topic, follow.timeoutMs))) follow.onBehind();
    }
    await consumer.run((batch) =>
      serial(async () => {
        await flush();
        await handle(batch);
        lagByPartition.set(batch.partition, batch.lag);
      }).catch((e: unknown) => {
        const error = options.wrapBatchError === undefined ? e : options.wrapBatchError(e, batch);
        onError(messageOf(error));
        // Rethrown so the bus leaves the batch uncommitted and delivers it again.
        throw error;
      }),
    );
  } catch (e) {
    options.onState?.('failed');
    await Promise.allSettled([...others, consumer].map((c) => c.stop()));
    throw e;
  }

  const stop = async (): Promise<void> => {
    await consumer.stop();
    await serial(flush).catch((e: unknown) => onError(messageOf(e)));
    for (const other of others) await other.stop();
    await options.producer?.flush();
    options.onState?.('stopped');
  };
  let stopping: Promise<void> | undefined;
  return {
    serial,
    lag: () => [...lagByPartition.values()].reduce((a, b) => a + b, 0),
    stop: () => {
      stopping ??= stop().catch((e: unknown) => {
        options.onState?.('failed');
        onError(messageOf(e));
        throw options.wrapStopError === undefined ? e : options.wrapStopError(e);
      });
      return stopping;
    },
  };
}
