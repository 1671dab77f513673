import type { BufferPool } from './batch-buffers.js';

/**
 * Writes contract records as JSON straight into bytes, with no string per record.
 *
 * Ingest encodes every accepted reading once, on the hot path (ADR 0004). Building a template
 * string per record and joining them made V8 flatten a rope of a dozen pieces per record and then
 * copy the text again into UTF-8: together the largest cost of the whole readings path. Here each
 * piece goes into the buffer as it is: constant field names as prepared bytes, validated ids and
 * integers as ASCII written digit by digit, only non-integer numbers through `String(n)`.
 *
 * The output is byte for byte `JSON.stringify` of the record in field order (a test pins it).
 */
export class JsonBytes {
  private buf: Buffer;
  /** Bytes written so far. */
  at = 0;

  /**
   * With `pool`, the buffers come from it (and one outgrown goes back to it); the last one is
   * the caller's to lend (`buffer`).
   */
  constructor(
    capacity: number,
    private readonly pool?: BufferPool,
  ) {
    // Every byte handed out is written first, so an unzeroed or reused buffer exposes nothing.
    this.buf = pool === undefined ? Buffer.allocUnsafeSlow(Math.max(64, capacity)) : pool.take(capacity);
  }

  /** The buffer written into; `view`s are parts of it. */
  get buffer(): Buffer {
    return this.buf;
  }

  /** The bytes [start, end) written so far; views into the buffer, valid until it grows. */
  view(start: number, end: number): Buffer {
    return this.buf.subarray(start, end);
  }

  /** Makes room for `n` more bytes, moving what was written into a buffer twice as large. */
  reserve(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const size = Math.max(this.buf.length * 2, this.at + n);
    const grown = this.pool === undefined ? Buffer.allocUnsafeSlow(size) : this.pool.take(size);
    this.buf.copy(grown, 0, 0, this.at);
    // No view of the old buffer was handed out yet (views are taken once writing is done).
    this.pool?.give(this.buf);
    this.buf = grown;
  }

  /** Prepared bytes (a field name with its punctuation, a quoted constant). */
  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    this.reserve(n);
    const buf = this.buf;
    let at = this.at;
    // TypedArray.set costs about as much as copying 14 bytes one by one, whatever the length.
    if (n > SET_FROM_BYTES) {
      buf.set(bytes, at);
      this.at = at + n;
      return;
    }
    for (let i = 0; i < n; i++) buf[at++] = bytes[i]!;
    this.at = at;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.at++] = b;
  }

  /**
   * A string known to be printable ASCII that JSON need not escape — an id that passed the
   * contract's id pattern. Written as is, without quotes.
   */
  ascii(text: string): void {
    const n = text.length;
    this.reserve(n);
    const buf = this.buf;
    let at = this.at;
    for (let i = 0; i < n; i++) buf[at++] = text.charCodeAt(i);
    this.at = at;
  }

  /**
   * A finite number as JSON writes it. Kept small enough for V8 to inline into the record
   * writers: a double passed to a call that is not inlined is boxed, a heap object per number.
   */
  number(n: number): void {
    // Readings mostly carry a sensor's resolution, one or two decimals (or none). Such a number
    // is the double nearest k/100, and its shortest round-trip form (what JSON writes) is k/100's
    // digits: below 2^31/100 a double's spacing is far finer than 0.01, so no shorter decimal
    // reaches it. k is then a small integer, which V8 passes on without boxing.
    const k = Math.round(n * 100);
    if (k / 100 === n && k < CENTS_LIMIT && k > -CENTS_LIMIT) this.hundredths(k);
    else this.other(n);
  }

  /**
   * Epoch milliseconds (a contract-checked EpochMs: a safe integer of at least 1e8), written as
   * two parts below 2^31 so that no double crosses a call.
   */
  epochMs(ts: number): void {
    this.reserve(17);
    const high = Math.floor(ts / 1e8);
    this.small(high, 0);
    this.small(ts - high * 1e8, 8);
  }

  /**
   * `line` with a 13-digit epoch-ms timestamp written into it at two offsets (a template whose id
   * and ts field hold the same digits).
   */
  lineWithTs(line: Uint8Array, ts: number, first: number, second: number): void {
    this.reserve(line.length);
    const buf = this.buf;
    const at = this.at;
    buf.set(line, at);
    const a = at + first;
    const b = at + second;
    // Two parts below 2^31, so that the digit loop runs on small integers: the last 8 digits
    // are ts mod 1e8, the first 5 are `high`.
    const high = Math.floor(ts / 1e8);
    let n = ts - high * 1e8;
    for (let i = 12; i >= 0; i--) {
      if (i === 4) n = high;
      const q = (n / 10) | 0;
      const d = 0x30 + (n - q * 10);
      buf[a + i] = d;
      buf[b + i] = d;
      n = q;
    }
    this.at = at + line.length;
  }

  /** k/100 for an integer |k| < 2^31: the integer part, then '.' and one or two decimals unless k is a multiple of 100. */
  private hundredths(k: number): void {
    this.reserve(13);
    if (k < 0) {
      this.buf[this.at++] = 0x2d;
      k = -k;
    }
    // -0 is written as 0, as JSON.stringify does.
    const whole = (k / 100) | 0;
    const frac = k - whole * 100;
    this.small(whole, 0);
    if (frac === 0) return;
    const buf = this.buf;
    buf[this.at++] = 0x2e;
    const tenths = (frac / 10) | 0;
    buf[this.at++] = 0x30 + tenths;
    const hundredths = frac - tenths * 10;
    if (hundredths !== 0) buf[this.at++] = 0x30 + hundredths;
  }

  /** A number that is not a whole number of hundredths below 2^31/100. */
  private other(n: number): void {
    if (Number.isSafeInteger(n)) this.integer(n);
    else this.ascii(String(n)); // digits, '.', 'e', '+', '-': always ASCII
  }

  /** A safe integer; -0 is written as 0, as JSON.stringify does. */
  private integer(n: number): void {
    this.reserve(17);
    if (n < 0) {
      this.buf[this.at++] = 0x2d;
      n = -n;
    }
    // Epoch milliseconds have 13 digits: split into two parts below 2^31 so that the digit loop
    // runs on small integers instead of doubles.
    if (n >= 1e8) {
      const high = Math.floor(n / 1e8);
      this.small(high, 0);
      this.small(n - high * 1e8, 8);
    } else {
      this.small(n, 0);
    }
  }

  /** A non-negative integer below 1e9, left-padded with zeros to `width` digits. */
  private small(n: number, width: number): void {
    let digits = 1;
    while (digits < 9 && n >= POWERS_OF_TEN[digits]!) digits++;
    if (digits < width) digits = width;
    const buf = this.buf;
    let at = this.at + digits;
    this.at = at;
    for (let i = 0; i < digits; i++) {
      const q = (n / 10) | 0;
      buf[--at] = 0x30 + (n - q * 10);
      n = q;
    }
  }
}

const POWERS_OF_TEN = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8];
/** Prepared pieces longer than this are copied by TypedArray.set, shorter ones byte by byte. */
const SET_FROM_BYTES = 16;
/** |k| below 2^31: the cents path's integer part stays a small integer (and under 1e9 for `small`). */
const CENTS_LIMIT = 2 ** 31;

/** UTF-8 bytes of a constant piece of JSON. */
export function jsonPiece(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}

const quotedCache = new Map<string, Uint8Array>();

/**
 * A free-text string as a JSON string literal in UTF-8 ('µg/m³' is 5 characters and 8 bytes),
 * cached: the units of a city's sensors are few. A producer sending random ones cannot grow the
 * cache without bound.
 */
export function quotedBytes(text: string): Uint8Array {
  let q = quotedCache.get(text);
  if (q === undefined) {
    q = jsonPiece(JSON.stringify(text));
    if (quotedCache.size < 1024) quotedCache.set(text, q);
  }
  return q;
}
