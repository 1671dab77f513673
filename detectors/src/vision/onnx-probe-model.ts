/**
 * A minimal valid ONNX model (one Identity node, float32[1] → float32[1]) encoded by hand.
 *
 * Why by hand: `cityops doctor` must be able to probe execution providers with no model file on
 * disk and no network, and pulling in a protobuf library for ~100 bytes is not worth a
 * dependency. Field numbers are from onnx/onnx.proto (ModelProto, GraphProto, NodeProto,
 * ValueInfoProto, TypeProto, TensorShapeProto, OperatorSetIdProto).
 */

const textEncoder = new TextEncoder();

/** Protobuf base-128 varint. Values here are small non-negative integers. */
function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** Wire type 0 (varint) field. */
function intField(field: number, value: number): number[] {
  return [...varint((field << 3) | 0), ...varint(value)];
}

/** Wire type 2 (length-delimited) field: strings, bytes and embedded messages. */
function bytesField(field: number, payload: readonly number[] | Uint8Array): number[] {
  return [...varint((field << 3) | 2), ...varint(payload.length), ...payload];
}

function stringField(field: number, text: string): number[] {
  return bytesField(field, textEncoder.encode(text));
}

/** ValueInfoProto{name, type: TypeProto{tensor_type: {elem_type: FLOAT, shape: [1]}}}. */
function floatVectorValueInfo(name: string): number[] {
  const dim = intField(1, 1); // TensorShapeProto.Dimension.dim_value = 1
  const shape = bytesField(1, dim); // TensorShapeProto.dim
  const tensorType = [...intField(1, 1), ...bytesField(2, shape)]; // elem_type FLOAT(1), shape
  const typeProto = bytesField(1, tensorType); // TypeProto.tensor_type
  return [...stringField(1, name), ...bytesField(2, typeProto)];
}

/** ONNX IR version 8 with opset 13: old enough for every ONNX Runtime 1.x build still in use. */
export const PROBE_MODEL_IR_VERSION = 8;
export const PROBE_MODEL_OPSET = 13;

/** The model bytes: graph `y = Identity(x)` with x, y of type float32[1]. */
export function buildIdentityModel(): Uint8Array {
  const node = [...stringField(1, 'x'), ...stringField(2, 'y'), ...stringField(3, 'identity'), ...stringField(4, 'Identity')];
  const graph = [
    ...bytesField(1, node), // GraphProto.node
    ...stringField(2, 'cityops-probe'), // GraphProto.name
    ...bytesField(11, floatVectorValueInfo('x')), // GraphProto.input
    ...bytesField(12, floatVectorValueInfo('y')), // GraphProto.output
  ];
  const opset = [...stringField(1, ''), ...intField(2, PROBE_MODEL_OPSET)];
  const model = [
    ...intField(1, PROBE_MODEL_IR_VERSION), // ModelProto.ir_version
    ...stringField(2, 'cityops'), // ModelProto.producer_name
    ...bytesField(7, graph), // ModelProto.graph
    ...bytesField(8, opset), // ModelProto.opset_import
  ];
  return Uint8Array.from(model);
}
