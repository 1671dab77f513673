import { PACKED_BYTES_PER_READING, type LivePackedReadingsHeader } from '../../src/live-protocol.js';

/*
 * Decoding a `readings-packed` event (see LivePackedReadingsHeader) without per-reading objects:
 * the base64 block is decoded natively into one buffer that is reused from second to second, and
 * the three arrays are views on it. Nothing here allocates per sensor.
 */

export interface PackedReadings {
  header: LivePackedReadingsHeader;
  values: Float64Array;
  readingTs: Float64Array;
  slots: Uint32Array;
}

/** Uint8Array.prototype.setFromBase64 (TC39 proposal, Chromium 140+), not yet in TypeScript's lib. */
type Base64Target = Uint8Array & { setFromBase64?: (text: string) => { read: number; written: number } };

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export class PackedReadingsDecoder {
  private scratch: Base64Target = new Uint8Array(0);

  /** The event's data (header line, '\n', base64 line); throws an Error saying what is wrong. */
  decode(text: string): PackedReadings {
    const cut = text.indexOf('\n');
    if (cut < 0) throw new Error('expected a header line and a base64 line; got one line');
    const header = JSON.parse(text.slice(0, cut)) as unknown;
    if (!isHeader(header)) throw new Error('expected a packed readings header {server_ts, count, first_new_slot, new_sensor_ids}');
    const n = header.count;
    const bytes = n * PACKED_BYTES_PER_READING;
    const b64Length = text.length - cut - 1;
    if (Math.floor((b64Length * 3) / 4) - (text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0) !== bytes) {
      throw new Error(`expected ${bytes} bytes for ${n} readings; got ${b64Length} base64 characters`);
    }
    if (this.scratch.byteLength < bytes) this.scratch = new Uint8Array(Math.ceil(bytes * 1.25));
    const target = this.scratch;
    const b64 = text.slice(cut + 1);
    if (typeof target.setFromBase64 === 'function') {
      target.setFromBase64(b64);
    } else {
      const binary = atob(b64);
      for (let i = 0; i < bytes; i++) target[i] = binary.charCodeAt(i);
    }
    const buffer = target.buffer;
    if (!LITTLE_ENDIAN) swapToBigEndian(target, n);
    return {
      header,
      values: new Float64Array(buffer, 0, n),
      readingTs: new Float64Array(buffer, 8 * n, n),
      slots: new Uint32Array(buffer, 16 * n, n),
    };
  }
}

/** The block is little-endian; on a big-endian CPU each element's bytes are reversed in place. */
function swapToBigEndian(bytes: Uint8Array, n: number): void {
  const swap = (at: number, size: number) => {
    for (let a = at, b = at + size - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  };
  for (let i = 0; i < 2 * n; i++) swap(8 * i, 8);
  for (let i = 0; i < n; i++) swap(16 * n + 4 * i, 4);
}

function isHeader(value: unknown): value is LivePackedReadingsHeader {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.server_ts === 'number' &&
    Number.isSafeInteger(v.count) &&
    (v.count as number) >= 0 &&
    Number.isSafeInteger(v.first_new_slot) &&
    Array.isArray(v.new_sensor_ids) &&
    (v.new_sensor_ids as unknown[]).every((id) => typeof id === 'string')
  );
}
