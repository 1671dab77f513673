import { isUtf8 } from 'node:buffer';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '@cityops/schemas';
import { deadLetters, type Producer } from '@cityops/bus';
import { bodyFormat, parseBody, type ParsedBody } from './body-parse.js';
import { IngestError, toIngestError } from './errors.js';
import { ingestReadings, ingestTicks, type IngestResult, type RecordError } from './ingest-records.js';

export interface IngestHandlerOptions {
  producer: Producer;
  /**
   * Keys accepted in the `X-API-Key` header. A function is asked on every request, so keys can
   * be rotated without a restart. An empty list rejects every request (there is no "open" mode).
   * Not needed when `checkApiKey` is given.
   */
  apiKeys?: readonly string[] | (() => readonly string[]);
  /** A custom key check (a key store, per-tenant keys) used instead of `apiKeys`. */
  checkApiKey?: (presentedKey: string) => boolean;
  /** Largest request body accepted, in bytes; larger ones get 413. Default 10 MiB. */
  maxBodyBytes?: number;
  /** Stamps dead letters. Production passes Date.now. */
  clock: Clock;
  /** Where the two endpoints live: `<basePath>/readings`, `<basePath>/ticks`. Default '/api/ingest'. */
  basePath?: string;
  /** Most per-record errors listed in one response; all of them are dead-lettered regardless. Default 1000. */
  maxErrorsInResponse?: number;
  /** Told about failures that have no caller to throw to (a dead letter the bus refused). Default: console.error. */
  onError?: (error: IngestError) => void;
}

/** Handles the ingest endpoints; resolves true when the request was one of them (answered), else false. */
export type IngestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

/** Response body of a batch with rejected records. */
export interface IngestRejectionBody {
  accepted: number;
  rejected: number;
  errors: RecordError[];
  /** Present when more records were rejected than `maxErrorsInResponse` lists. */
  errors_truncated?: true;
}

type Endpoint = 'readings' | 'ticks';

const logError = (error: IngestError): void => {
  console.error(`[cityops/ingest] ${error.code}: ${error.message}`);
};

/**
 * The HTTP ingest API for outside producers: `POST /api/ingest/readings` and
 * `POST /api/ingest/ticks`, a JSON array (or one record) or NDJSON, authenticated by X-API-Key.
 *
 * Responses (JSON):
 * - 202 `{accepted}` — every record is on the bus (the send resolved before the answer).
 * - 422 `{accepted, rejected, errors: [{index, errors: [{path, message}]}]}` — some records were
 *   invalid; the valid ones ARE on the bus, the invalid ones are in the dead-letter topic.
 *   `index` is the position in the JSON array, or the 0-based line number in NDJSON. Re-sending
 *   the whole batch is safe: ids are derived from (sensor_id, ts), so accepted ones dedupe.
 *   422 rather than 207: nothing is partially applied within a record, and a client that only
 *   checks for 2xx must notice that something it sent was not taken.
 * - 400 malformed JSON (line and column named) or a body that is not records; 401 no/unknown
 *   key; 405 not POST; 413 body too large; 503 the bus did not accept the batch (retriable).
 * Every rejected input except an unauthenticated one is also dead-lettered with its reason.
 * Unauthenticated requests are not, so anyone on the network cannot fill the DLQ.
 */
export function createIngestHandler(options: IngestHandlerOptions): IngestHandler {
  const { producer, clock } = options;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const basePath = (options.basePath ?? '/api/ingest').replace(/\/+$/, '');
  const maxErrorsInResponse = options.maxErrorsInResponse ?? 1000;
  const onError = options.onError ?? logError;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes <= 0) {
    throw new IngestError('invalid-options', `expected maxBodyBytes to be a positive integer; got ${maxBodyBytes}`);
  }
  const checkKey = keyChecker(options);
  const routes = new Map<string, Endpoint>([
    [`${basePath}/readings`, 'readings'],
    [`${basePath}/ticks`, 'ticks'],
  ]);

  return async (req, res) => {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const endpoint = routes.get(path);
    if (endpoint === undefined) return false;
    const source = `http:${path}`;
    try {
      await handle(endpoint, source, req, res);
    } catch (e) {
      // Last line of defence: whatever happened, answer and keep the process alive.
      const err = toIngestError(e, 'internal', `expected to handle ${req.method ?? '?'} ${path}; it failed`);
      onError(err);
      if (!res.headersSent) sendJson(res, 500, { error: err.code, message: err.message, retriable: true });
      else res.destroy();
    }
    return true;
  };

  async function handle(endpoint: Endpoint, source: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      req.resume();
      sendJson(res, 405, { error: 'method-not-allowed', message: `expected POST; got ${req.method ?? 'no method'}`, retriable: false });
      return;
    }
    const presented = req.headers['x-api-key'];
    const key = Array.isArray(presented) ? presented[0] : presented;
    if (key === undefined || key === '' || !checkKey(key)) {
      req.resume();
      sendJson(res, 401, {
        error: 'unauthorized',
        message:
          key === undefined || key === ''
            ? 'expected an X-API-Key header; got none'
            : 'expected a valid X-API-Key; got a key that is not one of the configured keys',
        retriable: false,
      });
      return;
    }

    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBodyBytes) {
      // Refused before reading: a 1 GB upload must not be buffered to find out it is too big.
      const reason = `expected a body of at most ${maxBodyBytes} bytes; got Content-Length ${declared}`;
      await deadLetterQuietly(source, reason, `<body not read: Content-Length ${declared} bytes>`);
      await drainUpload(req, maxBodyBytes);
      tooLarge(res, reason);
      return;
    }

    const body = await readBody(req, maxBodyBytes);
    if (body.kind === 'aborted') return; // the client is gone; nothing to answer, nothing was taken
    if (body.kind === 'too-large') {
      const reason = `expected a body of at most ${maxBodyBytes} bytes; got more (${body.bytesRead}+ bytes before reading stopped)`;
      await deadLetterQuietly(source, reason, body.head.toString('utf8'));
      await drainUpload(req, maxBodyBytes);
      tooLarge(res, reason);
      return;
    }

    const buffer = body.buffer;
    if (!isUtf8(buffer)) {
      const reason = 'expected a UTF-8 text body (JSON or NDJSON); got bytes that are not valid UTF-8';
      await deadLetterQuietly(source, reason, `<${buffer.byteLength} bytes, not UTF-8>`);
      sendJson(res, 400, { error: 'invalid-encoding', message: reason, retriable: false });
      return;
    }
    let text = buffer.toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a BOM from Windows tools is not an error

    let parsed: ParsedBody;
    try {
      parsed = parseBody(text, bodyFormat(headerValue(req.headers['content-type']), text));
    } catch (e) {
      const err = toIngestError(e, 'invalid-body', 'expected a JSON array of records or NDJSON');
      await deadLetterQuietly(source, err.message, text);
      sendJson(res, 400, { error: err.code, message: err.message, retriable: false });
      return;
    }

    let result: IngestResult;
    try {
      const ctx = { producer, clock, source };
      const extras =
        parsed.indexOf === undefined ? { preRejected: parsed.preRejected } : { preRejected: parsed.preRejected, indexOf: parsed.indexOf };
      result = endpoint === 'readings' ? await ingestReadings(parsed.records, ctx, extras) : await ingestTicks(parsed.records, ctx, extras);
    } catch (e) {
      const err = toIngestError(e, 'bus-unavailable', 'expected the bus to accept the batch', true);
      onError(err);
      res.setHeader('Retry-After', '1');
      sendJson(res, 503, { error: err.code, message: err.message, retriable: true });
      return;
    }

    if (result.rejected === 0) {
      sendJson(res, 202, { accepted: result.accepted });
      return;
    }
    const listed = result.errors.length > maxErrorsInResponse ? result.errors.slice(0, maxErrorsInResponse) : result.errors;
    const out: IngestRejectionBody = { accepted: result.accepted, rejected: result.rejected, errors: listed };
    if (listed.length < result.errors.length) out.errors_truncated = true;
    sendJson(res, 422, out);
  }

  /**
   * Rejections that are not per-record (too large, not JSON) go to the DLQ too. If the bus
   * refuses even that, the client still gets its 4xx, so the input is not lost silently.
   */
  async function deadLetterQuietly(source: string, reason: string, payload: string): Promise<void> {
    try {
      await deadLetters(producer, [{ source, reason, errors: [], payload, key: '', ts: clock() }]);
    } catch (e) {
      onError(toIngestError(e, 'bus-unavailable', `expected the bus to accept a dead letter (${reason})`, true));
    }
  }
}

function keyChecker(options: IngestHandlerOptions): (key: string) => boolean {
  const custom = options.checkApiKey;
  if (custom !== undefined) return (key) => custom(key) === true;
  const apiKeys = options.apiKeys;
  if (apiKeys === undefined) {
    throw new IngestError('invalid-options', 'expected apiKeys (a list or a function returning one) or checkApiKey; got neither');
  }
  const list = typeof apiKeys === 'function' ? apiKeys : () => apiKeys;
  return (presented) => {
    // Compare SHA-256 digests: equal length always, so timingSafeEqual applies and neither the
    // content nor the length of a configured key leaks through response timing.
    const p = sha256(presented);
    let ok = false;
    for (const k of list()) ok = timingSafeEqual(p, sha256(k)) || ok;
    return ok;
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

type BodyResult = { kind: 'ok'; buffer: Buffer } | { kind: 'too-large'; bytesRead: number; head: Buffer } | { kind: 'aborted' };

const DEAD_LETTER_HEAD_BYTES = 65_536;

function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const done = (result: BodyResult): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('aborted', onAbort);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.byteLength;
      if (total > maxBytes) {
        const head = Buffer.concat(chunks, Math.min(DEAD_LETTER_HEAD_BYTES, total - chunk.byteLength)).subarray(0, DEAD_LETTER_HEAD_BYTES);
        // Keep consuming (and discarding) so the client can read our 413 instead of a reset;
        // the response closes the connection, which ends the upload.
        req.on('data', discard);
        req.on('error', discard);
        done({ kind: 'too-large', bytesRead: total, head: head.byteLength > 0 ? head : chunk.subarray(0, DEAD_LETTER_HEAD_BYTES) });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => done({ kind: 'ok', buffer: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total) });
    const onAbort = (): void => done({ kind: 'aborted' });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('aborted', onAbort);
  });
}

function discard(): void {}

/**
 * Reads and discards the rest of a refused upload before answering. Answering first and closing
 * the connection makes most clients (fetch included) fail with EPIPE while still sending, so they
 * never see the 413 that says why. The bytes are not kept; past a cap of a few bodies' worth the
 * connection is cut instead, so a huge upload cannot hold the server.
 */
function drainUpload(req: IncomingMessage, maxBodyBytes: number): Promise<void> {
  const capBytes = maxBodyBytes * DRAIN_CAP_BODIES;
  if (req.complete) return Promise.resolve();
  return new Promise((resolve) => {
    let drained = 0;
    const finish = (): void => {
      req.off('data', onData);
      req.off('end', finish);
      req.off('close', finish);
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      drained += chunk.byteLength;
      if (drained > capBytes) {
        finish();
        req.destroy();
      }
    };
    req.on('data', onData);
    req.on('end', finish);
    req.on('close', finish);
    req.resume();
  });
}

/** How many maximum-size bodies a refused upload may still send before the connection is cut. */
const DRAIN_CAP_BODIES = 8;

function tooLarge(res: ServerResponse, reason: string): void {
  res.setHeader('Connection', 'close');
  sendJson(res, 413, { error: 'body-too-large', message: `${reason}; split the batch into smaller requests`, retriable: false });
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function sendJson(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}
