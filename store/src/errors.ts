/**
 * The one error class of store/. Every failure that leaves the package is a StoreError with a
 * stable `code` and a `retriable` flag, so the batch writer (and anyone above it) retries only
 * what can succeed on a second attempt: a dropped connection yes, a malformed row never.
 */

export type StoreErrorCode =
  /** Config passed to open a store was not usable (e.g. an empty data dir, a bad URL). */
  | 'invalid_config'
  /** The embedded engine already has another data directory open in this process. */
  | 'data_dir_in_use'
  /** The server or engine could not be reached or went away mid-request. */
  | 'connection_failed'
  /** A query or statement was refused or failed inside ClickHouse. */
  | 'query_failed'
  /** An insert was refused or failed inside ClickHouse. */
  | 'insert_failed'
  /** A row handed to insert does not match its table (missing field, wrong type). */
  | 'invalid_row'
  /** ClickHouse answered with something the typed mapping did not expect. */
  | 'unexpected_result'
  /** A migration failed, or an applied migration's text changed since it was applied. */
  | 'migration_failed'
  | 'migration_changed'
  /** The store or writer was closed before the call. */
  | 'closed';

export interface StoreErrorOptions {
  retriable?: boolean;
  cause?: unknown;
  /** The ClickHouse exception code, when the failure came from the engine. */
  clickhouseCode?: number;
}

export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly code: StoreErrorCode;
  readonly retriable: boolean;
  readonly clickhouseCode: number | undefined;

  constructor(code: StoreErrorCode, message: string, options: StoreErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.clickhouseCode = options.clickhouseCode;
  }
}

/**
 * ClickHouse exception codes worth a second attempt: overload, timeouts, lost connections and
 * "the insert may or may not have happened" (319). Retrying those is safe for inserts only
 * because every insert carries a dedup token (see batch-writer.ts).
 */
const RETRIABLE_CLICKHOUSE_CODES: ReadonlySet<number> = new Set([
  159, // TIMEOUT_EXCEEDED
  202, // TOO_MANY_SIMULTANEOUS_QUERIES
  203, // NO_FREE_CONNECTION
  209, // SOCKET_TIMEOUT
  210, // NETWORK_ERROR
  236, // ABORTED
  241, // MEMORY_LIMIT_EXCEEDED
  242, // TABLE_IS_READ_ONLY
  252, // TOO_MANY_PARTS
  285, // TOO_FEW_LIVE_REPLICAS
  319, // UNKNOWN_STATUS_OF_INSERT
  394, // QUERY_WAS_CANCELLED
  425, // SYSTEM_ERROR
  999, // KEEPER_EXCEPTION
]);

/** Node socket errors: the request may not have reached the server; trying again is sound. */
const RETRIABLE_NODE_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
]);

function readProp(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && key in value ? (value as Record<string, unknown>)[key] : undefined;
}

/** The ClickHouse exception code carried by a chdb error (`clickhouseCode`) or a server error (`code` as digits). */
export function clickhouseCodeOf(error: unknown): number | undefined {
  const chdb = readProp(error, 'clickhouseCode');
  if (typeof chdb === 'number') return chdb;
  const code = readProp(error, 'code');
  if (typeof code === 'string' && /^\d+$/.test(code)) return Number(code);
  if (typeof code === 'number') return code;
  const match = /Code: (\d+)\./.exec(error instanceof Error ? error.message : '');
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/**
 * Wraps anything thrown by a ClickHouse client at the boundary, keeping the original as `cause`.
 * `what` names the operation ("insert into readings") so the message says what was attempted.
 */
export function toStoreError(error: unknown, what: string, fallback: 'query_failed' | 'insert_failed'): StoreError {
  if (error instanceof StoreError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const chCode = clickhouseCodeOf(error);
  const code = readProp(error, 'code');
  if (code === 'CHDB_CLOSED') {
    return new StoreError('closed', `${what}: expected an open embedded store; the chDB session is closed`, { cause: error });
  }
  if (code === 'CHDB_CONNECTION') {
    return new StoreError('data_dir_in_use', `${what}: ${message}`, { cause: error });
  }
  if (code === 'CHDB_TIMEOUT' || code === 'CHDB_ABORT') {
    return new StoreError(fallback, `${what}: ${message}`, { cause: error, retriable: true });
  }
  if (typeof code === 'string' && RETRIABLE_NODE_CODES.has(code)) {
    return new StoreError('connection_failed', `${what}: expected a reachable ClickHouse server; got ${code} (${message})`, {
      cause: error,
      retriable: true,
    });
  }
  if (chCode === undefined && /socket hang up|timeout error|fetch failed|other side closed/i.test(message)) {
    return new StoreError('connection_failed', `${what}: ${message}`, { cause: error, retriable: true });
  }
  const options: StoreErrorOptions = { cause: error, retriable: chCode !== undefined && RETRIABLE_CLICKHOUSE_CODES.has(chCode) };
  if (chCode !== undefined) options.clickhouseCode = chCode;
  return new StoreError(fallback, `${what}: ${message}`, options);
}

/**
 * ClickHouse codes meaning "this data cannot go into this column" (a parse or range failure),
 * as opposed to "ClickHouse is unwell". Only these justify isolating and dead-lettering rows;
 * anything else (a missing table, a full disk) must stop and retry, not discard the stream.
 */
// 25 (CANNOT_PARSE_ESCAPE_SEQUENCE): JSON input with a lone surrogate escape ("\ud800"), which
// JSON.parse and the contracts accept.
const DATA_ERROR_CODES: ReadonlySet<number> = new Set([6, 25, 26, 27, 38, 41, 53, 69, 70, 72, 117, 128, 131, 321, 349, 407]);

/** True when rows themselves were refused: an invalid row, or a ClickHouse parse/range error. */
export function isDataError(error: unknown): boolean {
  if (!(error instanceof StoreError)) return false;
  if (error.code === 'invalid_row') return true;
  return error.code === 'insert_failed' && error.clickhouseCode !== undefined && DATA_ERROR_CODES.has(error.clickhouseCode);
}
