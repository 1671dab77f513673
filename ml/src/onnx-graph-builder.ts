/**
 * A small ONNX graph encoder: nodes, attributes, float/int64/int32 initializers and tensor value
 * infos (with symbolic dims), written as protobuf by hand.
 *
 * Why: onnx-probe-model.ts showed that a model needs no protobuf library; the vision tests need
 * a few more message kinds than its one Identity node (Conv weights, Reshape shapes, ints
 * attributes) to build detector-shaped models in code, so that a REAL ONNX Runtime session runs
 * in tests without a model file; the TF.js → ONNX converter writes pretrained detectors (millions
 * of weights) through it too, so messages are built from byte chunks, never from number arrays.
 * Field numbers are from onnx/onnx.proto: ModelProto, GraphProto, NodeProto, AttributeProto,
 * TensorProto, ValueInfoProto, TypeProto, TensorShapeProto.
 */

const textEncoder = new TextEncoder();
/** raw_data is little-endian: on such a host a typed array's bytes are copied as they are. */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** ONNX TensorProto.DataType values used here. */
export const ONNX_FLOAT = 1;
export const ONNX_INT32 = 6;
export const ONNX_INT64 = 7;

/**
 * A node attribute: `int`/`ints` (AttributeProto INT/INTS), `float`/`floats`, `string`
 * (UTF-8, e.g. Resize's `mode`) or `strings`.
 */
export type AttributeValue =
  | { ints: readonly number[] }
  | { int: number }
  | { float: number }
  | { floats: readonly number[] }
  | { string: string }
  | { strings: readonly string[] };

export interface GraphNode {
  op: string;
  /** Input names; '' leaves an optional input out (e.g. Resize's roi). */
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: Readonly<Record<string, AttributeValue>>;
  /** Node name; default `<op>_<index>`. */
  name?: string;
}

export interface Initializer {
  name: string;
  dims: readonly number[];
  /**
   * float32 values, int64 values (as numbers; they may be negative, e.g. Reshape's -1) or int32
   * values.
   */
  data: Float32Array | { int64: readonly number[] } | Int32Array;
}

export interface TensorInfo {
  name: string;
  /** Numbers are fixed sizes, strings symbolic dims (a dynamic batch). */
  shape: readonly (number | string)[];
  /** Element type (ONNX_FLOAT, ONNX_INT32, ONNX_INT64). Default ONNX_FLOAT. */
  elemType?: number;
}

export interface GraphSpec {
  name: string;
  nodes: readonly GraphNode[];
  initializers: readonly Initializer[];
  inputs: readonly TensorInfo[];
  outputs: readonly TensorInfo[];
  /** Default 13. */
  opset?: number;
  /** ModelProto.producer_name. Default 'cityops'. */
  producer?: string;
}

/** A protobuf message under construction: its fields as byte chunks (nested messages are not copied). */
class Message {
  readonly parts: Uint8Array[] = [];
  length = 0;

  private push(bytes: Uint8Array): this {
    this.parts.push(bytes);
    this.length += bytes.length;
    return this;
  }

  private key(field: number, wireType: number): this {
    return this.push(varint(field * 8 + wireType));
  }

  /** A varint field; negative values are written as 64-bit two's complement (int64 semantics). */
  int(field: number, value: number): this {
    return this.key(field, 0).push(Number.isInteger(value) && value < 0 ? varint64Negative(value) : varint(value));
  }

  float(field: number, value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    return this.key(field, 5).push(b);
  }

  bytes(field: number, payload: Uint8Array | Message): this {
    this.key(field, 2).push(varint(payload.length));
    if (payload instanceof Message) {
      for (const p of payload.parts) this.push(p);
      return this;
    }
    return this.push(payload);
  }

  string(field: number, text: string): this {
    return this.bytes(field, textEncoder.encode(text));
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

function varint(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`expected a non-negative integer for a varint; got ${value}`);
  const out: number[] = [];
  let v = value;
  while (v > 0x7f) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Uint8Array.from(out);
}

/** A negative int64 as protobuf writes it: ten bytes of two's complement. */
function varint64Negative(value: number): Uint8Array {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

function attribute(name: string, value: AttributeValue): Message {
  // AttributeProto: name=1, f=2, i=3, s=4, floats=7, ints=8, strings=9, type=20
  // (FLOAT=1, INT=2, STRING=3, FLOATS=6, INTS=7, STRINGS=8).
  const m = new Message().string(1, name);
  if ('ints' in value) {
    for (const v of value.ints) m.int(8, v);
    return m.int(20, 7);
  }
  if ('int' in value) return m.int(3, value.int).int(20, 2);
  if ('float' in value) return m.float(2, value.float).int(20, 1);
  if ('floats' in value) {
    for (const v of value.floats) m.float(7, v);
    return m.int(20, 6);
  }
  if ('string' in value) return m.string(4, value.string).int(20, 3);
  for (const s of value.strings) m.string(9, s);
  return m.int(20, 8);
}

function node(n: GraphNode, index: number): Message {
  const m = new Message();
  for (const i of n.inputs) m.string(1, i);
  for (const o of n.outputs) m.string(2, o);
  m.string(3, n.name ?? `${n.op.toLowerCase()}_${index}`).string(4, n.op);
  for (const [k, v] of Object.entries(n.attributes ?? {})) m.bytes(5, attribute(k, v));
  return m;
}

function initializer(t: Initializer): Message {
  // TensorProto: dims=1, data_type=2, name=8, raw_data=9 (little-endian).
  let raw: Uint8Array;
  let type: number;
  let length: number;
  if (t.data instanceof Float32Array || t.data instanceof Int32Array) {
    type = t.data instanceof Float32Array ? ONNX_FLOAT : ONNX_INT32;
    length = t.data.length;
    if (LITTLE_ENDIAN) {
      raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    } else {
      raw = new Uint8Array(length * 4);
      const view = new DataView(raw.buffer);
      if (type === ONNX_FLOAT) t.data.forEach((v, i) => view.setFloat32(i * 4, v, true));
      else t.data.forEach((v, i) => view.setInt32(i * 4, v, true));
    }
  } else {
    type = ONNX_INT64;
    length = t.data.int64.length;
    raw = new Uint8Array(length * 8);
    const view = new DataView(raw.buffer);
    t.data.int64.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  }
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (count !== length)
    throw new RangeError(`initializer ${t.name}: expected ${count} values for dims [${t.dims.join(', ')}]; got ${length}`);
  const m = new Message();
  for (const d of t.dims) m.int(1, d);
  return m.int(2, type).string(8, t.name).bytes(9, raw);
}

function valueInfo(t: TensorInfo): Message {
  // Dimension: dim_value=1, dim_param=2; TensorShapeProto.dim=1; TypeProto.tensor_type=1;
  // TypeProto.Tensor: elem_type=1, shape=2.
  const shape = new Message();
  for (const d of t.shape) shape.bytes(1, typeof d === 'number' ? new Message().int(1, d) : new Message().string(2, d));
  const tensorType = new Message().int(1, t.elemType ?? ONNX_FLOAT).bytes(2, shape);
  return new Message().string(1, t.name).bytes(2, new Message().bytes(1, tensorType));
}

/** The model bytes (IR version 8). */
export function encodeModel(spec: GraphSpec): Uint8Array {
  const graph = new Message();
  spec.nodes.forEach((n, i) => graph.bytes(1, node(n, i)));
  graph.string(2, spec.name);
  for (const t of spec.initializers) graph.bytes(5, initializer(t));
  for (const t of spec.inputs) graph.bytes(11, valueInfo(t));
  for (const t of spec.outputs) graph.bytes(12, valueInfo(t));
  const opset = new Message().string(1, '').int(2, spec.opset ?? 13);
  return new Message()
    .int(1, 8)
    .string(2, spec.producer ?? 'cityops')
    .bytes(7, graph)
    .bytes(8, opset)
    .finish();
}
