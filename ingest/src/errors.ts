/**
 * The ingest package's one error class. Every failure that leaves this package is an IngestError
 * with a stable `code` callers can switch on and `retriable` saying whether the same call can
 * succeed later (a bus that is backed up: yes; a body that is not JSON: no). Errors from below
 * (the bus, ffmpeg, the OS) are kept as `cause`, never re-thrown as they are.
 */

export type IngestErrorCode =
  /** The request had no or an unknown API key. */
  | 'unauthorized'
  /** The body is larger than the configured limit. */
  | 'body-too-large'
  /** The body is not UTF-8 text. */
  | 'invalid-encoding'
  /** The body is not JSON (or a line of NDJSON is not). */
  | 'malformed-json'
  /** The body is JSON but not an array of records (or a single record). */
  | 'invalid-body'
  /** Producing to the bus failed; the whole batch was not accepted and may be sent again. */
  | 'bus-unavailable'
  /** The request stream broke before the body was complete. */
  | 'request-aborted'
  /** A caller passed options the component cannot work with. */
  | 'invalid-options'
  /** The ffmpeg process could not be started or exited. */
  | 'ffmpeg-failed'
  /** Anything not foreseen; wrapped so the process keeps going. */
  | 'internal';

export interface IngestErrorOptions {
  retriable?: boolean;
  cause?: unknown;
}

export class IngestError extends Error {
  override readonly name = 'IngestError';
  readonly code: IngestErrorCode;
  readonly retriable: boolean;
  override readonly cause: unknown;

  constructor(code: IngestErrorCode, message: string, options: IngestErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.cause = options.cause;
  }
}

/** Wraps anything thrown below this package, keeping an IngestError as it is. */
export function toIngestError(error: unknown, code: IngestErrorCode, message: string, retriable = false): IngestError {
  if (error instanceof IngestError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  const retriableBelow = typeof error === 'object' && error !== null && 'retriable' in error && error.retriable === true;
  return new IngestError(code, `${message}: ${detail}`, { cause: error, retriable: retriable || retriableBelow });
}
