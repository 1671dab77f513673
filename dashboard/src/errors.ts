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
  | 'invalid-option'
  /** No valid session (or API key): log in first. */
  | 'unauthorized'
  /** Authenticated, but the role or department lacks the right; the message says what was required and what the principal has. */
  | 'forbidden'
  /** A state-changing call made with a session cookie lacked a valid X-CSRF-Token header. */
  | 'csrf-failed'
  /** The account must change its one-time password before anything else. */
  | 'password-change-required'
  /** Too many attempts; `retryAfterS` says when to try again. */
  | 'rate-limited'
  /** The addressed user, key or record does not exist (or is not visible to the principal). */
  | 'not-found'
  /** The change conflicts with the current state (a login that exists, the last administrator). */
  | 'conflict'
  /** The request body is larger than the route accepts. */
  | 'payload-too-large'
  /** The request body is not JSON (cross-site forms cannot send application/json without a preflight). */
  | 'unsupported-media-type';

const HTTP_STATUS: Readonly<Record<DashboardErrorCode, number>> = {
  'bad-request': 400,
  'method-not-allowed': 405,
  'store-failed': 503,
  'live-unavailable': 503,
  'too-many-clients': 503,
  'invalid-option': 500,
  unauthorized: 401,
  forbidden: 403,
  'csrf-failed': 403,
  'password-change-required': 403,
  'rate-limited': 429,
  'not-found': 404,
  conflict: 409,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
};

export class DashboardError extends Error {
  override readonly name = 'DashboardError';
  readonly code: DashboardErrorCode;
  readonly retriable: boolean;
  override readonly cause: unknown;
  /** Seconds until a retry can succeed (the Retry-After header); set for 'rate-limited'. */
  readonly retryAfterS: number | undefined;

  constructor(code: DashboardErrorCode, message: string, options: { retriable?: boolean; cause?: unknown; retryAfterS?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retriable = options.retriable ?? options.retryAfterS !== undefined;
    this.cause = options.cause;
    this.retryAfterS = options.retryAfterS;
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
