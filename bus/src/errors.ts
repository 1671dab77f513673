/**
 * The bus's one error class. Every failure that leaves this package is a BusError with a stable
 * `code` callers can switch on, and `retriable` saying whether trying the same thing again can
 * succeed (the kafkajs habit: only retriable errors are retried). Client errors (kafkajs) are
 * wrapped at the adapter boundary and kept as `cause`, never re-thrown as they are.
 */

export type BusErrorCode =
  /** A batch handler threw or rejected; the batch stays uncommitted and is delivered again. */
  | 'handler-failed'
  /** Produce to or consume from a topic that was never created (see Bus.ensureTopics). */
  | 'unknown-topic'
  /** A caller passed something the contract does not allow (wrong type, out of range). */
  | 'invalid-argument'
  /** A call made in the wrong lifecycle state (run twice, use after stop). */
  | 'invalid-state'
  /** The bus was closed while the call was waiting or before it was made. */
  | 'closed'
  /** Connecting to the brokers failed. */
  | 'connect-failed'
  /** The brokers did not accept a batch. */
  | 'send-failed'
  /** Fetching, joining the group or committing offsets failed. */
  | 'consume-failed'
  /** An admin request (topic metadata, offsets, lag) failed. */
  | 'admin-failed'
  /** ensureTopics could not create a topic and it does not exist. */
  | 'topic-creation-failed';

/** Where an error happened, when it concerns one topic-partition or group. */
export interface BusErrorContext {
  topic?: string;
  partition?: number;
  groupId?: string;
  /** First offset of the batch concerned, as a decimal string. */
  offset?: string;
  /** How many times in a row this batch has failed, starting at 1. */
  attempt?: number;
}

export interface BusErrorOptions {
  retriable?: boolean;
  cause?: unknown;
  context?: BusErrorContext;
}

export class BusError extends Error {
  override readonly name = 'BusError';
  readonly code: BusErrorCode;
  readonly retriable: boolean;
  override readonly cause: unknown;
  readonly context: BusErrorContext;

  constructor(code: BusErrorCode, message: string, options: BusErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.cause = options.cause;
    this.context = options.context ?? {};
  }
}

/** Receives failures that have no caller to throw to (a handler that threw, a consumer crash). */
export type BusErrorListener = (error: BusError) => void;

/**
 * The default listener. Handler failures are retried forever, so staying silent would hide a
 * poison message; one line per failure is the least that keeps it visible.
 */
export const logBusError: BusErrorListener = (error) => {
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  console.error(`[cityops/bus] ${error.code}: ${error.message}${cause}`);
};

/** Calls a user listener without letting it break the delivery loop that reports through it. */
export function reportError(listener: BusErrorListener, error: BusError): void {
  try {
    listener(error);
  } catch (listenerError) {
    logBusError(
      new BusError('invalid-state', 'expected onError to return, but it threw', {
        cause: listenerError,
      }),
    );
  }
}

/** Describes an unknown thrown value for an error message: `got <this>`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return `${value.constructor.name}(${value.byteLength})`;
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === 'string') return `string ${JSON.stringify(value.slice(0, 80))}`;
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  if (typeof value === 'function') return 'function';
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${typeof value} ${String(value)}`;
  }
  return 'undefined';
}
