/**
 * The one error class of @cityops/incidents. `code` is stable (callers and tests branch on it,
 * never on the message); `retriable` says whether trying the same thing again can succeed, so a
 * caller's retry loop retries only those (the kafkajs habit).
 */
export type IncidentsErrorCode =
  /** The responsibility table (权责清单) is not valid YAML or breaks its schema; `issues` lists each problem. */
  | 'table-invalid'
  /** The responsibility table file could not be read. */
  | 'table-unreadable'
  /** A commander action named an incident the engine does not hold (unknown, or already closed). */
  | 'incident-not-found'
  /** A commander action is not allowed in the incident's current status (e.g. accept before dispatch). */
  | 'invalid-transition'
  /** An argument is malformed (a login with spaces, an unknown department). */
  | 'invalid-argument'
  /** Rebuilding state from the incidents topic did not reach the end in time. */
  | 'restore-timeout'
  /** The bus failed while the worker was starting or publishing. */
  | 'bus-failure'
  /** The principal may not do this (role or department scope); an HTTP layer answers 403. */
  | 'forbidden'
  /** A webhook could not be delivered (after retries, or refused for good). */
  | 'webhook-failed';

/** One problem in the responsibility table, located in its source text. */
export interface TableIssue {
  /** 1-based line in the YAML source; 0 when the problem has no single place (a missing rule). */
  line: number;
  /** 1-based column; 0 when unknown. */
  column: number;
  /** Where in the document, e.g. `rules[3].sla.accept_minutes`; '' for the whole document. */
  path: string;
  /** What was expected and what came instead. */
  message: string;
}

export interface IncidentsErrorOptions {
  retriable?: boolean;
  cause?: unknown;
  issues?: readonly TableIssue[];
}

export class IncidentsError extends Error {
  override readonly name = 'IncidentsError';
  readonly code: IncidentsErrorCode;
  readonly retriable: boolean;
  override readonly cause: unknown;
  /** For 'table-invalid': every problem found, each with its line. Empty otherwise. */
  readonly issues: readonly TableIssue[];

  constructor(code: IncidentsErrorCode, message: string, options: IncidentsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.cause = options.cause;
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.issues = options.issues ?? [];
  }
}

/**
 * Unknown errors are wrapped at the boundary so callers see one class with a code. A cause that
 * already knows whether it is retriable (a BusError) keeps its say; otherwise `retriable` decides.
 */
export function wrapError(code: IncidentsErrorCode, what: string, cause: unknown, retriable: boolean): IncidentsError {
  if (cause instanceof IncidentsError) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  const causeRetriable =
    typeof cause === 'object' && cause !== null && 'retriable' in cause && typeof cause.retriable === 'boolean'
      ? cause.retriable
      : undefined;
  return new IncidentsError(code, `${what}: ${detail}`, { cause, retriable: causeRetriable ?? retriable });
}

/** The HTTP status an API layer should answer an IncidentsError with (500 for anything unexpected). */
export function httpStatusOf(error: unknown): number {
  if (!(error instanceof IncidentsError)) return 500;
  switch (error.code) {
    case 'forbidden':
      return 403;
    case 'incident-not-found':
      return 404;
    case 'invalid-transition':
      return 409;
    case 'invalid-argument':
      return 400;
    case 'table-invalid':
      return 422;
    default:
      return error.retriable ? 503 : 500;
  }
}
