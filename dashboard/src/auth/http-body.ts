import type { IncomingMessage } from 'node:http';
import { DashboardError } from '../errors.js';

/** Auth and admin bodies are a few hundred bytes; anything near this is not a real client. */
export const MAX_JSON_BODY_BYTES = 16 * 1024;

/**
 * Reads a JSON object body. Only `application/json` is accepted: an HTML form on another site
 * can POST urlencoded or multipart bodies without a CORS preflight, but not JSON — one more
 * reason a cross-site login or admin form cannot work (csrf.ts).
 */
export async function readJsonObject(req: IncomingMessage, what: string, maxBytes = MAX_JSON_BODY_BYTES): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new DashboardError(
      'unsupported-media-type',
      `${what}: expected Content-Type application/json; got ${type === '' ? 'none' : `'${type?.slice(0, 80)}'`}`,
    );
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > maxBytes) throw new DashboardError('payload-too-large', `${what}: expected a body of at most ${maxBytes} bytes; got more`);
    chunks.push(chunk);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new DashboardError('bad-request', `${what}: expected a JSON object body; got text that is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DashboardError(
      'bad-request',
      `${what}: expected a JSON object body; got ${Array.isArray(value) ? 'an array' : typeof value}`,
    );
  }
  return value as Record<string, unknown>;
}

/** Body field readers: each names the field, what it expected and what came. */
export function stringField(body: Record<string, unknown>, name: string, options: { optional: true; max?: number }): string | undefined;
export function stringField(body: Record<string, unknown>, name: string, options?: { optional?: false; max?: number }): string;
export function stringField(
  body: Record<string, unknown>,
  name: string,
  options: { optional?: boolean; max?: number } = {},
): string | undefined {
  const value = body[name];
  if (value === undefined && options.optional === true) return undefined;
  const max = options.max ?? 1024;
  if (typeof value !== 'string' || value.length > max) {
    throw new DashboardError(
      'bad-request',
      `field '${name}': expected a string of at most ${max} characters; got ${typeof value === 'string' ? `${value.length} characters` : value === undefined ? 'nothing' : typeof value}`,
    );
  }
  return value;
}

export function booleanField(body: Record<string, unknown>, name: string): boolean | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean')
    throw new DashboardError('bad-request', `field '${name}': expected true or false; got ${JSON.stringify(value)?.slice(0, 40)}`);
  return value;
}

/** Refuses fields the route does not read: a typo ('disable' for 'disabled') must not be ignored silently. */
export function assertKnownFields(body: Record<string, unknown>, known: readonly string[], what: string): void {
  for (const name of Object.keys(body)) {
    if (!known.includes(name)) {
      throw new DashboardError('bad-request', `${what}: unknown field '${name.slice(0, 60)}': expected ${known.join(', ')}`);
    }
  }
}
