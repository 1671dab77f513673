import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DetectorError, toDetectorError } from '../errors.js';

/**
 * A TensorFlow.js graph model (`model.json` with `format: 'graph-model'`, a TF GraphDef in
 * `modelTopology.node` and its weights in `weightsManifest` shards), read into plain data:
 * nodes with decoded attributes, and every weight as float32 or int32 values.
 *
 * Weights may be quantized by the tfjs converter: float16 (`--quantize_float16`) is widened,
 * uint8/uint16 affine (`value = q · scale + min`) is expanded; an int32 weight stored quantized is
 * rounded back. The signature gives the input and output tensors with their shapes.
 */

export type TfjsDtype = 'float32' | 'int32' | 'bool';

export interface TfjsTensor {
  dtype: TfjsDtype;
  shape: readonly number[];
  /** float32 weights as Float32Array; int32 and bool as Int32Array. */
  data: Float32Array | Int32Array;
}

/** A GraphDef attribute, decoded: numbers for ints/floats (int64 strings parsed), strings for s/type. */
export type TfjsAttr =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'string'; value: string }
  | { kind: 'type'; value: string }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'strings'; value: string[] }
  | { kind: 'shape'; value: number[] }
  | { kind: 'other' };

export interface TfjsNode {
  name: string;
  op: string;
  /** Tensor references as written in the GraphDef: `node`, `node:1`; control inputs (`^node`) are dropped. */
  inputs: string[];
  attr: Readonly<Record<string, TfjsAttr>>;
}

export interface TfjsSignatureTensor {
  /** Tensor reference, e.g. `input_1:0`. */
  name: string;
  /** -1 for an unknown size. */
  shape: number[];
  dtype: string;
}

export interface TfjsGraphModel {
  nodes: TfjsNode[];
  weights: Map<string, TfjsTensor>;
  inputs: TfjsSignatureTensor[];
  outputs: TfjsSignatureTensor[];
  /** `generatedBy` / `convertedBy` from model.json, for logs and provenance. */
  generatedBy: string;
  convertedBy: string;
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; min?: number; scale?: number; original_dtype?: string };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(source: string, what: string): DetectorError {
  return new DetectorError('invalid-config', `TF.js graph model ${source}: ${what}`);
}

/** Reads `model.json` and the weight shards it names (paths relative to it). */
export async function readTfjsGraphModel(modelJsonPath: string): Promise<TfjsGraphModel> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(modelJsonPath, 'utf8'));
  } catch (e) {
    throw toDetectorError('start-failed', `expected a TF.js model.json at ${modelJsonPath}`, e, false);
  }
  if (!isRecord(json) || !Array.isArray(json['weightsManifest'])) {
    throw invalid(modelJsonPath, `expected an object with 'weightsManifest'; got ${JSON.stringify(json).slice(0, 80)}`);
  }
  const shards: Uint8Array[] = [];
  for (const group of json['weightsManifest'] as unknown[]) {
    const paths = isRecord(group) && Array.isArray(group['paths']) ? (group['paths'] as unknown[]) : [];
    for (const p of paths) {
      const file = join(dirname(modelJsonPath), String(p));
      try {
        shards.push(await readFile(file));
      } catch (e) {
        throw toDetectorError('start-failed', `expected the weight shard ${file} named by ${modelJsonPath}`, e, false);
      }
    }
  }
  return parseTfjsGraphModel(json, concat(shards), modelJsonPath);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Parses a model.json object and its weight bytes (all shards, in manifest order). */
export function parseTfjsGraphModel(json: unknown, weightBytes: Uint8Array, source = 'model.json'): TfjsGraphModel {
  if (!isRecord(json)) throw invalid(source, 'expected a JSON object');
  if (json['format'] !== undefined && json['format'] !== 'graph-model') {
    throw invalid(
      source,
      `expected format 'graph-model'; got ${JSON.stringify(json['format'])} (a layers model has no GraphDef to convert)`,
    );
  }
  const topology = json['modelTopology'];
  if (!isRecord(topology) || !Array.isArray(topology['node'])) throw invalid(source, `expected 'modelTopology.node' (a GraphDef)`);
  if (isRecord(topology['library']) && Array.isArray(topology['library']['function']) && topology['library']['function'].length > 0) {
    throw invalid(source, 'expected a graph without function library (control flow is not converted)');
  }

  const nodes: TfjsNode[] = (topology['node'] as unknown[]).map((raw) => {
    if (!isRecord(raw) || typeof raw['name'] !== 'string' || typeof raw['op'] !== 'string') {
      throw invalid(source, `expected nodes with 'name' and 'op'; got ${JSON.stringify(raw).slice(0, 120)}`);
    }
    const inputs = (Array.isArray(raw['input']) ? (raw['input'] as string[]) : []).filter((i) => !i.startsWith('^'));
    const attr: Record<string, TfjsAttr> = {};
    if (isRecord(raw['attr'])) for (const [k, v] of Object.entries(raw['attr'])) attr[k] = decodeAttr(v);
    return { name: raw['name'], op: raw['op'], inputs, attr };
  });

  const weights = new Map<string, TfjsTensor>();
  let offset = 0;
  for (const group of json['weightsManifest'] as unknown[]) {
    const specs = isRecord(group) && Array.isArray(group['weights']) ? (group['weights'] as WeightSpec[]) : [];
    for (const spec of specs) {
      const { tensor, bytes } = readWeight(spec, weightBytes, offset, source);
      weights.set(spec.name, tensor);
      offset += bytes;
    }
  }
  if (offset !== weightBytes.length) {
    throw invalid(source, `expected ${offset} bytes of weights as the manifest describes; the shards hold ${weightBytes.length}`);
  }

  const signature = isRecord(json['signature']) ? json['signature'] : {};
  const sigTensors = (key: 'inputs' | 'outputs'): TfjsSignatureTensor[] =>
    Object.values(isRecord(signature[key]) ? signature[key] : {}).map((t) => {
      const r = t as { name: string; dtype?: string; tensorShape?: { dim?: { size?: string }[] } };
      return { name: r.name, dtype: r.dtype ?? '', shape: (r.tensorShape?.dim ?? []).map((d) => Number(d.size ?? -1)) };
    });
  return {
    nodes,
    weights,
    inputs: sigTensors('inputs'),
    outputs: sigTensors('outputs'),
    generatedBy: typeof json['generatedBy'] === 'string' ? json['generatedBy'] : '',
    convertedBy: typeof json['convertedBy'] === 'string' ? json['convertedBy'] : '',
  };
}

function decodeAttr(v: unknown): TfjsAttr {
  if (!isRecord(v)) return { kind: 'other' };
  if ('i' in v) return { kind: 'int', value: Number(v['i']) };
  if ('f' in v) return { kind: 'float', value: Number(v['f']) };
  if ('b' in v) return { kind: 'bool', value: v['b'] === true };
  if ('s' in v) return { kind: 'string', value: Buffer.from(String(v['s']), 'base64').toString('utf8') };
  if ('type' in v) return { kind: 'type', value: String(v['type']) };
  if (isRecord(v['shape'])) {
    const dims = (v['shape']['dim'] ?? []) as { size?: string }[];
    return { kind: 'shape', value: dims.map((d) => Number(d.size ?? -1)) };
  }
  if (isRecord(v['list'])) {
    const l = v['list'];
    if (Array.isArray(l['i'])) return { kind: 'ints', value: l['i'].map(Number) };
    if (Array.isArray(l['f'])) return { kind: 'floats', value: l['f'].map(Number) };
    if (Array.isArray(l['s'])) return { kind: 'strings', value: l['s'].map((s) => Buffer.from(String(s), 'base64').toString('utf8')) };
    return { kind: 'ints', value: [] };
  }
  return { kind: 'other' };
}

function readWeight(spec: WeightSpec, bytes: Uint8Array, offset: number, source: string): { tensor: TfjsTensor; bytes: number } {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const dtype = spec.dtype;
  if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'bool') {
    throw invalid(source, `weight '${spec.name}': expected dtype float32, int32 or bool; got ${dtype}`);
  }
  const q = spec.quantization;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (width: number): void => {
    if (offset + count * width > bytes.length) {
      throw invalid(source, `weight '${spec.name}' [${spec.shape.join(', ')}] runs past the end of the weights (${bytes.length} bytes)`);
    }
  };
  const out = dtype === 'float32' ? new Float32Array(count) : new Int32Array(count);
  if (q === undefined) {
    const width = dtype === 'bool' ? 1 : 4;
    need(width);
    for (let i = 0; i < count; i++) {
      const at = offset + i * width;
      out[i] = dtype === 'float32' ? view.getFloat32(at, true) : dtype === 'int32' ? view.getInt32(at, true) : bytes[at]!;
    }
    return { tensor: { dtype, shape: spec.shape, data: out }, bytes: count * width };
  }
  if (q.dtype === 'float16') {
    need(2);
    for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(offset + i * 2, true));
    return { tensor: { dtype, shape: spec.shape, data: out }, bytes: count * 2 };
  }
  if (q.dtype === 'uint8' || q.dtype === 'uint16') {
    const width = q.dtype === 'uint8' ? 1 : 2;
    need(width);
    const scale = q.scale ?? 1;
    const min = q.min ?? 0;
    for (let i = 0; i < count; i++) {
      const raw = width === 1 ? bytes[offset + i]! : view.getUint16(offset + i * 2, true);
      const v = raw * scale + min;
      out[i] = dtype === 'float32' ? v : Math.round(v);
    }
    return { tensor: { dtype, shape: spec.shape, data: out }, bytes: count * width };
  }
  throw invalid(source, `weight '${spec.name}': expected quantization float16, uint8 or uint16; got ${q.dtype}`);
}

/** IEEE 754 half → single precision (subnormals, infinities and NaN included). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}
