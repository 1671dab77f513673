import type { Static, TSchema } from '@sinclair/typebox';
import type { CameraFrameHeader, FieldError, VisionSnapshot } from './records.js';
import { CameraFrameHeader as CameraFrameHeaderSchema, VisionSnapshot as VisionSnapshotSchema } from './records.js';
import { validator } from './validate.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Bus header naming the contract and its version, so a consumer can tell what it got. */
export const SCHEMA_HEADER = 'cityops-schema';
/** Bus header carrying a frame's JSON header next to its binary pixels. */
export const FRAME_HEADER = 'cityops-frame';

/** A record as bytes for the bus (UTF-8 JSON: small records, read by outside consumers too). */
export function encodeRecord(record: object): Uint8Array {
  return encoder.encode(JSON.stringify(record));
}

/**
 * A record as a bus message (structurally the bus's OutgoingMessage): its bytes, its key, the
 * schema header naming the contract and version, and its event time.
 */
export function recordMessage(
  key: string,
  record: object,
  contract: string,
  timestampMs: number,
): { key: string; value: Uint8Array; headers: Record<string, string>; timestampMs: number } {
  return { key, value: encodeRecord(record), headers: { [SCHEMA_HEADER]: `${contract}@1` }, timestampMs };
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: string; errors: FieldError[]; payload: string };

/**
 * On the in-process bus every consumer group receives the same bytes object, so the first
 * successful decode is remembered on it: the anomaly worker, the sink and the dashboard then
 * share one UTF-8 decode and one JSON.parse per record instead of three. Bytes on a bus are
 * immutable once sent, and decoded records are read-only to consumers, so sharing is safe; over
 * Kafka every message is a fresh buffer and this never hits.
 */
const DECODED = Symbol('cityops.decoded');
// The ok-result itself is kept, so a hit allocates nothing (two consumers per record). A message
// of several records (record-batch.ts) keeps its whole decoded batch the same way.
type DecodeMemo = { schema: TSchema; result: unknown };
type MemoBytes = Uint8Array & { [DECODED]?: DecodeMemo };

/** What a decode of `bytes` against `schema` left on them, if anything (see rememberDecoded). */
export function rememberedDecode(bytes: Uint8Array, schema: TSchema): unknown {
  const memo = (bytes as MemoBytes)[DECODED];
  return memo !== undefined && memo.schema === schema ? memo.result : undefined;
}

/** Leaves a decode result on the bytes it came from, for the next consumer in this process. */
export function rememberDecode(bytes: Uint8Array, schema: TSchema, result: unknown): void {
  (bytes as MemoBytes)[DECODED] = { schema, result };
}

/**
 * Bytes from the bus back to a validated record. Never throws: a consumer turns a failure into
 * a dead letter with the reason and keeps going.
 */
export function decodeRecord<S extends TSchema>(schema: S, bytes: Uint8Array): DecodeResult<Static<S>> {
  const memo = (bytes as MemoBytes)[DECODED];
  if (memo !== undefined && memo.schema === schema) return memo.result as DecodeResult<Static<S>>;
  const result = decodeRecordUncached(schema, bytes);
  if (result.ok) (bytes as MemoBytes)[DECODED] = { schema, result };
  return result;
}

/**
 * For a producer that has just validated `value` against `schema` and encoded it to `bytes`:
 * co-located consumers then take the record without parsing it again. Call it only for bytes
 * that are exactly that record's encoding, and do not mutate `value` afterwards.
 */
export function rememberDecoded<S extends TSchema>(bytes: Uint8Array, schema: S, value: Static<S>): void {
  (bytes as MemoBytes)[DECODED] = { schema, result: { ok: true, value } };
}

function decodeRecordUncached<S extends TSchema>(schema: S, bytes: Uint8Array): DecodeResult<Static<S>> {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return notUtf8(bytes);
  }
  return decodeRecordText(schema, text);
}

/** The failure for bytes that are not UTF-8 (binary where JSON was expected). */
export function notUtf8(bytes: Uint8Array): { ok: false; reason: string; errors: FieldError[]; payload: string } {
  return {
    ok: false,
    reason: 'expected UTF-8 JSON; got bytes that are not valid UTF-8',
    errors: [],
    payload: `<${bytes.byteLength} binary bytes>`,
  };
}

/** One record's JSON text to a validated record. */
export function decodeRecordText<S extends TSchema>(schema: S, text: string): DecodeResult<Static<S>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: `expected JSON; ${(e as Error).message}`, errors: [], payload: truncate(text) };
  }
  const v = validator(schema);
  if (v.check(parsed)) return { ok: true, value: parsed };
  const errors = v.errors(parsed);
  return {
    ok: false,
    reason: `not a valid ${v.name}: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`,
    errors,
    payload: truncate(text),
  };
}

/** Dead-letter payloads are capped so one huge bad message cannot bloat the store. */
export const MAX_DEAD_LETTER_PAYLOAD_CHARS = 65_536;

export function truncate(text: string, maxChars = MAX_DEAD_LETTER_PAYLOAD_CHARS): string {
  return text.length <= maxChars ? text : `${text.slice(0, maxChars)}…[truncated ${text.length - maxChars} chars]`;
}

/** Bus header carrying a snapshot's JSON header next to its binary image. */
export const SNAPSHOT_HEADER = 'cityops-snapshot';

/** A snapshot as a bus message: the image bytes as the value, its header as JSON in a bus header. */
export function encodeSnapshot(header: VisionSnapshot, image: Uint8Array): { value: Uint8Array; headers: Record<string, string> } {
  return { value: image, headers: { [SNAPSHOT_HEADER]: JSON.stringify(header), [SCHEMA_HEADER]: 'VisionSnapshot@1' } };
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function decodeSnapshot(
  headers: Readonly<Record<string, string>>,
  value: Uint8Array,
): DecodeResult<{ header: VisionSnapshot; image: Uint8Array }> {
  const raw = headers[SNAPSHOT_HEADER];
  if (raw === undefined) {
    return {
      ok: false,
      reason: `expected a '${SNAPSHOT_HEADER}' bus header with the snapshot header; got none`,
      errors: [],
      payload: `<${value.byteLength} binary bytes>`,
    };
  }
  const header = decodeRecord(VisionSnapshotSchema, encoder.encode(raw));
  if (!header.ok) return header;
  if (value.byteLength < 8 || PNG_SIGNATURE.some((b, i) => value[i] !== b)) {
    return {
      ok: false,
      reason: `expected PNG bytes (signature 89 50 4E 47 …); got ${value.byteLength} bytes that are not`,
      errors: [{ path: '/value', message: 'not a PNG image' }],
      payload: raw,
    };
  }
  return { ok: true, value: { header: header.value, image: value } };
}

/** A frame as a bus message: pixels as the value, the header as JSON in a bus header. */
export function encodeFrame(header: CameraFrameHeader, pixels: Uint8Array): { value: Uint8Array; headers: Record<string, string> } {
  return { value: pixels, headers: { [FRAME_HEADER]: JSON.stringify(header), [SCHEMA_HEADER]: 'CameraFrameHeader@1' } };
}

export function decodeFrame(
  headers: Readonly<Record<string, string>>,
  value: Uint8Array,
): DecodeResult<{ header: CameraFrameHeader; pixels: Uint8Array }> {
  const raw = headers[FRAME_HEADER];
  if (raw === undefined) {
    return {
      ok: false,
      reason: `expected a '${FRAME_HEADER}' bus header with the frame header; got none`,
      errors: [],
      payload: `<${value.byteLength} binary bytes>`,
    };
  }
  const header = decodeRecord(CameraFrameHeaderSchema, encoder.encode(raw));
  if (!header.ok) return header;
  const h = header.value;
  if (h.pixel_format === 'rgb24' && value.byteLength !== h.width * h.height * 3) {
    return {
      ok: false,
      reason: `expected ${h.width}×${h.height}×3 = ${h.width * h.height * 3} bytes of rgb24; got ${value.byteLength}`,
      errors: [{ path: '/value', message: 'payload size does not match width×height×3' }],
      payload: raw,
    };
  }
  return { ok: true, value: { header: h, pixels: value } };
}
