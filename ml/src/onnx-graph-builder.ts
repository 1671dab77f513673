/**
 * A small ONNX graph encoder: nodes, attributes, float/int64 initializers and tensor value
 * infos (with symbolic dims), written as protobuf by hand.
 *
 * Why: onnx-probe-model.ts showed that a model needs no protobuf library; the vision tests need
 * a few more message kinds than its one Identity node (Conv weights, Reshape shapes, ints
 * attributes) to build detector-shaped models in code, so that a REAL ONNX Runtime session runs
 * in tests without a model file. Field numbers are from onnx/onnx.proto: ModelProto, GraphProto,
 * NodeProto, AttributeProto, TensorProto, ValueInfoProto, TypeProto, TensorShapeProto.
 */

const textEncoder = new TextEncoder();

/** ONNX TensorProto.DataType values used here. */
export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;

function varint(value: number): number[] {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`expected a non-negative integer for a varint; got ${value}`);
  const out: number[] = [];
  let v = value;
  while (v > 0x7f) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function tag(field: number, wireType: number): number[] {
  return varint(field * 8 + wireType);
}

function intField(field: number, value: number): number[] {
  return [...tag(field, 0), ...varint(value)];
}

function bytesField(field: number, payload: readonly number[] | Uint8Array): number[] {
  return [...tag(field, 2), ...varint(payload.length), ...payload];
}

function stringField(field: number, text: string): number[] {
  return bytesField(field, textEncoder.encode(text));
}

/** A float attribute (AttributeProto.f, fixed32). */
function floatField(field: number, value: number): number[] {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, value, true);
  return [...tag(field, 5), ...b];
}

export type AttributeValue = { ints: readonly number[] } | { int: number } | { float: number };

export interface GraphNode {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: Readonly<Record<string, AttributeValue>>;
}

export interface Initializer {
  name: string;
  dims: readonly number[];
  /** float32 values, or int64 values (as numbers; they may be negative, e.g. Reshape's -1). */
  data: Float32Array | { int64: readonly number[] };
}

export interface TensorInfo {
  name: string;
  /** Numbers are fixed sizes, strings symbolic dims (a dynamic batch). */
  shape: readonly (number | string)[];
}

export interface GraphSpec {
  name: string;
  nodes: readonly GraphNode[];
  initializers: readonly Initializer[];
  inputs: readonly TensorInfo[];
  outputs: readonly TensorInfo[];
  /** Default 13. */
  opset?: number;
}

function attribute(name: string, value: AttributeValue): number[] {
  // AttributeProto: name=1, f=2, i=3, ints=8, type=20 (FLOAT=1, INT=2, INTS=7).
  if ('ints' in value) {
    return [...stringField(1, name), ...value.ints.flatMap((v) => intField(8, v)), ...intField(20, 7)];
  }
  if ('int' in value) return [...stringField(1, name), ...intField(3, value.int), ...intField(20, 2)];
  return [...stringField(1, name), ...floatField(2, value.float), ...intField(20, 1)];
}

function node(n: GraphNode, index: number): number[] {
  return [
    ...n.inputs.flatMap((i) => stringField(1, i)),
    ...n.outputs.flatMap((o) => stringField(2, o)),
    ...stringField(3, `${n.op.toLowerCase()}_${index}`),
    ...stringField(4, n.op),
    ...Object.entries(n.attributes ?? {}).flatMap(([k, v]) => bytesField(5, attribute(k, v))),
  ];
}

function initializer(t: Initializer): number[] {
  // TensorProto: dims=1, data_type=2, name=8, raw_data=9 (little-endian).
  let raw: Uint8Array;
  let type: number;
  if (t.data instanceof Float32Array) {
    type = ONNX_FLOAT;
    raw = new Uint8Array(t.data.length * 4);
    const view = new DataView(raw.buffer);
    t.data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  } else {
    type = ONNX_INT64;
    raw = new Uint8Array(t.data.int64.length * 8);
    const view = new DataView(raw.buffer);
    t.data.int64.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  }
  const count = t.dims.reduce((a, b) => a * b, 1);
  const length = t.data instanceof Float32Array ? t.data.length : t.data.int64.length;
  if (count !== length)
    throw new RangeError(`initializer ${t.name}: expected ${count} values for dims [${t.dims.join(', ')}]; got ${length}`);
  return [...t.dims.flatMap((d) => intField(1, d)), ...intField(2, type), ...stringField(8, t.name), ...bytesField(9, raw)];
}

function valueInfo(t: TensorInfo): number[] {
  // Dimension: dim_value=1, dim_param=2; TensorShapeProto.dim=1; TypeProto.Tensor: elem_type=1, shape=2.
  const dims = t.shape.flatMap((d) => bytesField(1, typeof d === 'number' ? intField(1, d) : stringField(2, d)));
  const tensorType = [...intField(1, ONNX_FLOAT), ...bytesField(2, dims)];
  return [...stringField(1, t.name), ...bytesField(2, bytesField(1, tensorType))];
}

/** The model bytes for a float32-in, float32-out graph (IR version 8). */
export function encodeModel(spec: GraphSpec): Uint8Array {
  const graph = [
    ...spec.nodes.flatMap((n, i) => bytesField(1, node(n, i))),
    ...stringField(2, spec.name),
    ...spec.initializers.flatMap((t) => bytesField(5, initializer(t))),
    ...spec.inputs.flatMap((t) => bytesField(11, valueInfo(t))),
    ...spec.outputs.flatMap((t) => bytesField(12, valueInfo(t))),
  ];
  const opset = [...stringField(1, ''), ...intField(2, spec.opset ?? 13)];
  return Uint8Array.from([...intField(1, 8), ...stringField(2, 'cityops'), ...bytesField(7, graph), ...bytesField(8, opset)]);
}
