/**
 * The detectors package's one error class. Every failure that leaves this package is a
 * DetectorError with a stable `code` callers can switch on and `retriable` saying whether trying
 * the same thing again can succeed (the kafkajs habit). Errors from elsewhere (the bus, ONNX
 * Runtime) are wrapped at the boundary and kept as `cause`.
 */

export type DetectorErrorCode =
  /** A detector config is not what its `type` allows (unknown key, wrong type, out of range). */
  | 'invalid-config'
  /** A caller passed arguments that break the method's contract (array lengths, series index). */
  | 'invalid-argument'
  /** A call made in the wrong lifecycle state (start twice, use after stop). */
  | 'invalid-state'
  /** Producing results to the bus failed; the batch stays uncommitted and is retried. */
  | 'produce-failed'
  /** Starting the worker's consumers failed. */
  | 'start-failed';

export interface DetectorErrorOptions {
  retriable?: boolean;
  cause?: unknown;
}

export class DetectorError extends Error {
  override readonly name = 'DetectorError';
  readonly code: DetectorErrorCode;
  readonly retriable: boolean;
  override readonly cause: unknown;

  constructor(code: DetectorErrorCode, message: string, options: DetectorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.cause = options.cause;
  }
}

/** Wraps anything thrown from outside this package; DetectorErrors pass through unchanged. */
export function toDetectorError(code: DetectorErrorCode, message: string, cause: unknown, retriable: boolean): DetectorError {
  if (cause instanceof DetectorError) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new DetectorError(code, `${message}: ${detail}`, { cause, retriable });
}
