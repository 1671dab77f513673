/**
 * The dashboard's one error class. Every failure the HTTP layer turns into a response is a
 * DashboardError with a stable `code` (what API clients switch on), the HTTP status it maps to,
 * and `retriable` saying whether the same request can succeed later. Unknown errors (a store
 * query that threw) are wrapped at the route boundary and kept as `cause`.
 */
export type DashboardErrorCode =
  /** A query parameter or path segment is malformed; the message names it, what was expected and what came. */
  | 'bad-request'
  /** The route exists but the method is not GET/HEAD. */
  | 'method-not-allowed'
  /** A store query failed; the wall keeps showing what it has and retries. */
  | 'store-failed'
  /** The live stream is not running (start() not called yet, or stopped). */
  | 'live-unavailable'
  /** Too many live-stream clients connected at once. */
  | 'too-many-clients'
  /** createDashboardServer was given an option outside its documented range. */
  | 'invalid-option';

const HTTP_STATUS: Readonly<Record<DashboardErrorCode, number>> = {
  'bad-request': 400,
  'method-not-allowed': 405,
  'store-failed': 503,
  'live-unavailable': 503,
  'too-many-clients': 503,
  'invalid-option': 500,
};

export class DashboardError extends Error {
  override readonly name = 'DashboardError';
  readonly code: DashboardErrorCode;
  readonly retriable: boolean;
  override readonly cause: unknown;

  constructor(code: DashboardErrorCode, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.cause = options.cause;
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }
}

/** Anything thrown below the route boundary, as a DashboardError (unknown errors are store failures). */
export function toDashboardError(error: unknown): DashboardError {
  if (error instanceof DashboardError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DashboardError('store-failed', `store query failed: ${message}`, { retriable: true, cause: error });
}
