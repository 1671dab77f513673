import { DetectorError } from '../errors.js';

/**
 * Per-series detector state as struct-of-arrays: every field is one typed array holding
 * `stride` slots per series, so a detector with 10,000 series allocates a handful of arrays
 * rather than 10,000 objects, and a checkpoint is those arrays' bytes.
 *
 * The checkpoint format (little-endian) is versioned and self-describing, so a restore into a
 * detector whose config or state layout differs fails with what was expected instead of
 * silently mixing state from another algorithm:
 *
 *   'CTSS' · u32 format version · str detector type · str detector version · str config JSON ·
 *   u32 series count · u32 field count · per field: str name · u8 kind · u32 stride ·
 *   u32 byte length · bytes (padded to 8)
 *
 * where `str` is a u32 byte length followed by UTF-8.
 */

export type FieldKind = 'f64' | 'f32' | 'i32';

export interface FieldSpec {
  /** Slots per series. */
  stride: number;
  kind: FieldKind;
  /** Value of every slot in a new or reset series. */
  init: number;
}

type ArrayOf<K extends FieldKind> = K extends 'f64' ? Float64Array : K extends 'f32' ? Float32Array : Int32Array;

const KIND_CODE: Record<FieldKind, number> = { f64: 1, f32: 2, i32: 3 };
const MAGIC = 0x53535443; // 'CTSS' read as a little-endian u32
const FORMAT_VERSION = 1;

function allocate(kind: FieldKind, length: number): Float64Array | Float32Array | Int32Array {
  if (kind === 'f64') return new Float64Array(length);
  if (kind === 'f32') return new Float32Array(length);
  return new Int32Array(length);
}

export interface CheckpointIdentity {
  type: string;
  version: string;
  /** The detector's config, so a restore into a differently configured detector is refused. */
  config: string;
}

export class SeriesState<S extends Record<string, FieldSpec>> {
  readonly spec: Readonly<S>;
  private capacityValue: number;
  private countValue = 0;
  private arrays: Record<keyof S, Float64Array | Float32Array | Int32Array>;

  constructor(spec: S, initialCapacity = 64) {
    this.spec = spec;
    this.capacityValue = Math.max(1, initialCapacity);
    this.arrays = this.allocateAll(this.capacityValue);
  }

  /**
   * Every field's array, built by Object.fromEntries: an object filled key by key in a loop
   * turns into a hash table in V8 past a dozen fields, and the detectors read `fields.<name>` on
   * every point's path.
   */
  private allocateAll(capacity: number): Record<keyof S, Float64Array | Float32Array | Int32Array> {
    return Object.fromEntries(
      Object.entries<FieldSpec>(this.spec).map(([name, f]) => [name, allocate(f.kind, capacity * f.stride).fill(f.init)]),
    ) as Record<keyof S, Float64Array | Float32Array | Int32Array>;
  }

  get seriesCount(): number {
    return this.countValue;
  }

  /**
   * Every field's array by name. In hot loops read `state.fields.level`: a load V8 specialises at
   * each use, where a lookup by a name passed in is one generic lookup shared by every caller.
   * Re-read it after `addSeries` or a restore: growing replaces the arrays.
   */
  get fields(): { readonly [K in keyof S]: ArrayOf<S[K]['kind']> } {
    return this.arrays as { readonly [K in keyof S]: ArrayOf<S[K]['kind']> };
  }

  addSeries(): number {
    if (this.countValue === this.capacityValue) this.grow(this.capacityValue * 2);
    return this.countValue++;
  }

  /** Puts every field of one series back to its initial value. */
  reset(series: number): void {
    for (const name of Object.keys(this.spec) as (keyof S)[]) {
      const f = this.spec[name];
      this.arrays[name].fill(f.init, series * f.stride, (series + 1) * f.stride);
    }
  }

  checkSeries(series: number): void {
    if (!Number.isInteger(series) || series < 0 || series >= this.countValue) {
      throw new DetectorError('invalid-argument', `expected a series index 0…${this.countValue - 1} (from addSeries); got ${series}`);
    }
  }

  private grow(capacity: number): void {
    const next = this.allocateAll(capacity);
    for (const name of Object.keys(this.spec) as (keyof S)[]) next[name].set(this.arrays[name]);
    this.arrays = next;
    this.capacityValue = capacity;
  }

  /** Every series' state as bytes (see the format above). */
  encode(identity: CheckpointIdentity): Uint8Array {
    const w = new ByteWriter();
    w.u32(MAGIC);
    w.u32(FORMAT_VERSION);
    w.str(identity.type);
    w.str(identity.version);
    w.str(identity.config);
    w.u32(this.countValue);
    const names = Object.keys(this.spec);
    w.u32(names.length);
    for (const name of names) {
      const f = this.spec[name]!;
      const a = this.arrays[name]!;
      const used = a.subarray(0, this.countValue * f.stride);
      w.str(name);
      w.u8(KIND_CODE[f.kind]);
      w.u32(f.stride);
      w.bytes(new Uint8Array(used.buffer, used.byteOffset, used.byteLength));
    }
    return w.finish();
  }

  /**
   * Replaces every series' state with a checkpoint's. The series count becomes the checkpoint's;
   * throws DetectorError 'invalid-argument' when the bytes are not a checkpoint of this exact
   * detector type, version, config and state layout.
   */
  decode(bytes: Uint8Array, identity: CheckpointIdentity): void {
    const r = new ByteReader(bytes);
    const magic = r.u32();
    if (magic !== MAGIC)
      throw new DetectorError('invalid-argument', `expected a detector checkpoint ('CTSS' header); got 0x${magic.toString(16)}`);
    const format = r.u32();
    if (format !== FORMAT_VERSION)
      throw new DetectorError('invalid-argument', `expected checkpoint format ${FORMAT_VERSION}; got ${format}`);
    const expect = (what: string, want: string, got: string): void => {
      if (want !== got) throw new DetectorError('invalid-argument', `expected a checkpoint of ${what} ${want}; got ${got}`);
    };
    expect('detector type', identity.type, r.str());
    expect('detector version', identity.version, r.str());
    expect('config', identity.config, r.str());
    const series = r.u32();
    const fieldCount = r.u32();
    const names = Object.keys(this.spec);
    if (fieldCount !== names.length) {
      throw new DetectorError('invalid-argument', `expected ${names.length} state fields in the checkpoint; got ${fieldCount}`);
    }
    const incoming: { name: string; data: Uint8Array }[] = [];
    for (const name of names) {
      const f = this.spec[name]!;
      expect('state field', name, r.str());
      const kind = r.u8();
      const stride = r.u32();
      if (kind !== KIND_CODE[f.kind] || stride !== f.stride) {
        throw new DetectorError('invalid-argument', `expected field '${name}' as ${f.kind}×${f.stride}; got kind ${kind}×${stride}`);
      }
      const data = r.bytes();
      const want = series * f.stride * allocate(f.kind, 0).BYTES_PER_ELEMENT;
      if (data.byteLength !== want) {
        throw new DetectorError('invalid-argument', `expected ${want} bytes for field '${name}'; got ${data.byteLength}`);
      }
      incoming.push({ name, data });
    }
    // Everything checked: only now replace the state, so a bad checkpoint leaves it untouched.
    let capacity = this.capacityValue;
    while (capacity < series) capacity *= 2;
    if (capacity !== this.capacityValue) this.grow(capacity);
    for (const { name, data } of incoming) {
      const target = this.arrays[name]!;
      new Uint8Array(target.buffer, target.byteOffset, data.byteLength).set(data);
      const f = this.spec[name]!;
      target.fill(f.init, series * f.stride);
    }
    this.countValue = series;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

class ByteWriter {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  private at = 0;

  private ensure(n: number): void {
    if (this.at + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.at + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.at));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.view.setUint8(this.at, v);
    this.at += 1;
  }

  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.at, v, true);
    this.at += 4;
  }

  str(s: string): void {
    this.bytes(encoder.encode(s), false);
  }

  /** Length-prefixed bytes; array payloads are padded to 8 so they can be viewed in place. */
  bytes(b: Uint8Array, pad = true): void {
    this.u32(b.byteLength);
    const padding = pad ? (8 - ((this.at + b.byteLength) % 8)) % 8 : 0;
    this.ensure(b.byteLength + padding);
    this.buf.set(b, this.at);
    this.at += b.byteLength + padding;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.at);
  }
}

class ByteReader {
  private readonly view: DataView;
  private at = 0;

  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private need(n: number): void {
    if (this.at + n > this.buf.byteLength) {
      throw new DetectorError(
        'invalid-argument',
        `expected ${n} more checkpoint bytes at offset ${this.at}; the checkpoint ends at ${this.buf.byteLength}`,
      );
    }
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.at++);
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.at, true);
    this.at += 4;
    return v;
  }

  str(): string {
    return decoder.decode(this.bytes(false));
  }

  bytes(pad = true): Uint8Array {
    const n = this.u32();
    this.need(n);
    const out = this.buf.slice(this.at, this.at + n);
    const padding = pad ? (8 - ((this.at + n) % 8)) % 8 : 0;
    this.at += n + padding;
    return out;
  }
}
