/**
 * The forecaster package's one error class. Every failure that leaves this package is a
 * ForecastError with a stable `code` callers can switch on and `retriable` saying whether trying
 * the same thing again can succeed (the kafkajs habit). Errors from elsewhere (the bus) are
 * wrapped at the boundary and kept as `cause`.
 */

export type ForecastErrorCode =
  /** An option is not what the component allows (wrong type, out of range, inconsistent). */
  | 'invalid-config'
  /** A caller passed arguments that break the method's contract (array lengths, indicator index). */
  | 'invalid-argument'
  /** A call made in the wrong lifecycle state (use after stop). */
  | 'invalid-state'
  /** Producing results to the bus failed; the batch stays uncommitted and is retried. */
  | 'produce-failed'
  /** Starting the worker's consumers failed. */
  | 'start-failed';

export interface ForecastErrorOptions {
  retriable?: boolean;
  cause?: unknown;
}

export class ForecastError extends Error {
  override readonly name = 'ForecastError';
  readonly code: ForecastErrorCode;
  readonly retriable: boolean;
  override readonly cause: unknown;

  constructor(code: ForecastErrorCode, message: string, options: ForecastErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.cause = options.cause;
  }
}

/** Wraps anything thrown from outside this package; ForecastErrors pass through unchanged. */
export function toForecastError(code: ForecastErrorCode, message: string, cause: unknown, retriable: boolean): ForecastError {
  if (cause instanceof ForecastError) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new ForecastError(code, `${message}: ${detail}`, { cause, retriable });
}
