import { encodeModel, type GraphNode, type GraphSpec, type Initializer, type TensorInfo } from '@cityops/ml';
import { DetectorError } from '../errors.js';
import type { TfjsAttr, TfjsGraphModel, TfjsNode, TfjsTensor } from './tfjs-graph-model.js';

/**
 * TensorFlow.js graph model → ONNX, op by op, so a pretrained detector published for the browser
 * runs in ONNX Runtime (native threads, batching, GPU providers) instead of pure-JS tfjs.
 *
 * - Every tensor keeps the layout TF gave it; an NHWC op (Conv2D, pooling, resize) becomes
 *   Transpose → the NCHW ONNX op → Transpose back. Two transposes in a row compose (and vanish
 *   when they cancel), which removes the pairs that onnx-tf style graphs (NCHW in, NHWC convs)
 *   are full of. A bias Add right after a convolution becomes the Conv's bias.
 * - Subgraphs of constants (shape arithmetic such as SparseToDense + Add feeding a Reshape) are
 *   evaluated here and enter the model as initializers.
 * - With `batchDim` (default 'batch') dim 0 of the input is symbolic, so one run takes frames of
 *   several cameras; a Reshape whose target starts with the model's fixed batch keeps the
 *   input's dim 0 instead (ONNX Reshape's 0).
 * - What is not supported (an op, a dtype, a Reshape that folds the batch away) fails with
 *   DetectorError 'invalid-config' naming the node and what was expected.
 */

export interface TfjsToOnnxOptions {
  /** Name of the symbolic batch dimension given to dim 0 of the inputs; '' keeps the model's fixed batch. Default 'batch'. */
  batchDim?: string;
  /** Signature outputs to keep (e.g. `Identity:0`); default all, in signature order. */
  outputs?: readonly string[];
  /** Model name in the ONNX file. Default 'tfjs-graph-model'. */
  name?: string;
}

/** An ONNX graph with the names its inputs and outputs got. */
export interface ConvertedGraph extends GraphSpec {
  /** Signature tensor (`Identity:0`) → ONNX output name (`Identity`). */
  outputNames: ReadonlyMap<string, string>;
  /** Dims of each ONNX output (the batch dim by its symbolic name). */
  outputShapes: ReadonlyMap<string, readonly (number | string)[]>;
}

const BATCH = 'batch' as const;
type Dim = number | typeof BATCH;

interface Value {
  /** ONNX tensor name; '' for a constant not yet written as an initializer. */
  name: string;
  shape: Dim[];
  dtype: 'float32' | 'int32' | 'bool';
  /** Known at conversion time. */
  constant?: TfjsTensor;
  /** Made by a Transpose emitted here: its input and perm, so a following Transpose can compose with it. */
  transposeOf?: { input: Value; perm: number[] };
}

const ELEMENTWISE_BINARY: Readonly<Record<string, string>> = {
  Add: 'Add',
  AddV2: 'Add',
  BiasAdd: 'Add',
  Sub: 'Sub',
  Mul: 'Mul',
  RealDiv: 'Div',
  Maximum: 'Max',
  Minimum: 'Min',
};
const ELEMENTWISE_UNARY: Readonly<Record<string, string>> = {
  Relu: 'Relu',
  Sigmoid: 'Sigmoid',
  Tanh: 'Tanh',
  Exp: 'Exp',
  Elu: 'Elu',
};
const SUPPORTED = [
  'Const',
  'Placeholder',
  'Identity',
  'Transpose',
  'Conv2D',
  'DepthwiseConv2dNative',
  'Pad',
  'PadV2',
  'MaxPool',
  'AvgPool',
  'ConcatV2',
  'ResizeBilinear',
  'ResizeNearestNeighbor',
  'SplitV',
  'Split',
  'Reshape',
  'LeakyRelu',
  'Relu6',
  'Softmax',
  'SparseToDense',
  'Cast',
  ...Object.keys(ELEMENTWISE_BINARY),
  ...Object.keys(ELEMENTWISE_UNARY),
];

function fail(node: TfjsNode | undefined, what: string): DetectorError {
  return new DetectorError('invalid-config', node === undefined ? what : `TF.js node '${node.name}' (${node.op}): ${what}`);
}

function parseRef(ref: string): { node: string; index: number } {
  const m = /^(.*):(\d+)$/.exec(ref);
  return m === null ? { node: ref, index: 0 } : { node: m[1]!, index: Number(m[2]) };
}

function refKey(ref: string): string {
  const { node, index } = parseRef(ref);
  return index === 0 ? node : `${node}:${index}`;
}

/** Converts and encodes; see `tfjsToOnnxGraph`. */
export function tfjsToOnnx(model: TfjsGraphModel, options: TfjsToOnnxOptions = {}): Uint8Array {
  return encodeModel(tfjsToOnnxGraph(model, options));
}

/** The ONNX graph (opset 13) equivalent to a TF.js graph model. */
export function tfjsToOnnxGraph(model: TfjsGraphModel, options: TfjsToOnnxOptions = {}): ConvertedGraph {
  return new Converter(model, options).run();
}

class Converter {
  private readonly byName = new Map<string, TfjsNode>();
  private readonly values = new Map<string, Value>();
  private readonly nodes: GraphNode[] = [];
  private readonly initializers = new Map<string, Initializer>();
  private readonly consumers = new Map<string, number>();
  /** Conv node → the bias it absorbs; the Add that carried it → the conv. */
  private readonly convBias = new Map<string, Float32Array>();
  private readonly fusedAdd = new Map<string, string>();
  private readonly batchDim: string;
  private fixedBatch = 1;
  private counter = 0;

  constructor(
    private readonly model: TfjsGraphModel,
    private readonly options: TfjsToOnnxOptions,
  ) {
    this.batchDim = options.batchDim ?? BATCH;
    for (const n of model.nodes) this.byName.set(n.name, n);
  }

  run(): ConvertedGraph {
    const wanted = this.options.outputs ?? this.model.outputs.map((o) => o.name);
    if (wanted.length === 0) throw fail(undefined, 'expected the TF.js model signature to name its outputs; it names none');
    const order = this.topologicalOrder(wanted.map((r) => parseRef(r).node));
    for (const name of order)
      for (const ref of this.byName.get(name)!.inputs) this.consumers.set(refKey(ref), (this.consumers.get(refKey(ref)) ?? 0) + 1);
    this.findBiasFusions(order);
    const inputs: TensorInfo[] = [];
    for (const name of order) {
      const node = this.byName.get(name)!;
      if (node.op === 'Placeholder') inputs.push(this.placeholder(node));
      else this.convert(node);
    }
    const outputNames = new Map<string, string>();
    const outputShapes = new Map<string, readonly (number | string)[]>();
    const outputs: TensorInfo[] = [];
    for (const ref of wanted) {
      const v = this.value(refKey(ref), undefined);
      const name = parseRef(ref).node.replace(/[^A-Za-z0-9_.-]/g, '_');
      if (v.constant !== undefined)
        throw fail(this.byName.get(parseRef(ref).node), 'expected an output computed from the input; it is a constant');
      this.emit('Identity', [v.name], [name]);
      const shape = v.shape.map((d) => (d === BATCH ? this.batchDim || this.fixedBatch : d));
      outputNames.set(ref, name);
      outputShapes.set(name, shape);
      outputs.push({ name, shape });
    }
    const { nodes, initializers } = this.prune(outputs.map((o) => o.name));
    return { name: this.options.name ?? 'tfjs-graph-model', nodes, initializers, inputs, outputs, outputNames, outputShapes };
  }

  // ---- graph walking ----------------------------------------------------------------------------

  private topologicalOrder(roots: readonly string[]): string[] {
    const order: string[] = [];
    const state = new Map<string, 1 | 2>();
    const stack: { name: string; expanded: boolean }[] = roots.map((name) => ({ name, expanded: false }));
    while (stack.length > 0) {
      const top = stack.pop()!;
      const node = this.byName.get(top.name);
      if (node === undefined) throw fail(undefined, `expected a node named '${top.name}' in the TF.js graph; there is none`);
      if (top.expanded) {
        state.set(top.name, 2);
        order.push(top.name);
        continue;
      }
      if (state.has(top.name)) continue;
      state.set(top.name, 1);
      stack.push({ name: top.name, expanded: true });
      for (const ref of node.inputs) {
        const dep = parseRef(ref).node;
        if (state.get(dep) === 1) throw fail(node, `expected an acyclic graph; '${dep}' feeds back into it`);
        if (!state.has(dep)) stack.push({ name: dep, expanded: false });
      }
    }
    return order;
  }

  private findBiasFusions(order: readonly string[]): void {
    for (const name of order) {
      const add = this.byName.get(name)!;
      if (add.op !== 'Add' && add.op !== 'AddV2' && add.op !== 'BiasAdd') continue;
      if (add.op === 'BiasAdd' && attrString(add, 'data_format', 'NHWC') !== 'NHWC') continue;
      for (const [convSide, biasSide] of [
        [0, 1],
        [1, 0],
      ] as const) {
        const convRef = parseRef(add.inputs[convSide] ?? '');
        const conv = this.byName.get(convRef.node);
        const bias = this.model.weights.get(parseRef(add.inputs[biasSide] ?? '').node);
        if (conv === undefined || convRef.index !== 0 || bias === undefined || bias.dtype !== 'float32' || bias.shape.length !== 1)
          continue;
        if (conv.op !== 'Conv2D' && conv.op !== 'DepthwiseConv2dNative') continue;
        if (attrString(conv, 'data_format', 'NHWC') !== 'NHWC' || this.consumers.get(conv.name) !== 1) continue;
        if (this.convBias.has(conv.name)) continue;
        this.convBias.set(conv.name, bias.data as Float32Array);
        this.fusedAdd.set(add.name, conv.name);
        break;
      }
    }
  }

  /** Keeps the nodes and initializers the outputs depend on. */
  private prune(outputs: readonly string[]): { nodes: GraphNode[]; initializers: Initializer[] } {
    const producer = new Map<string, GraphNode>();
    for (const n of this.nodes) for (const o of n.outputs) producer.set(o, n);
    const needed = new Set<GraphNode>();
    const names = new Set<string>();
    const stack = [...outputs];
    while (stack.length > 0) {
      const name = stack.pop()!;
      if (names.has(name)) continue;
      names.add(name);
      const n = producer.get(name);
      if (n === undefined || needed.has(n)) continue;
      needed.add(n);
      for (const i of n.inputs) if (i !== '') stack.push(i);
    }
    return {
      nodes: this.nodes.filter((n) => needed.has(n)),
      initializers: [...this.initializers.values()].filter((t) => names.has(t.name)),
    };
  }

  // ---- values -----------------------------------------------------------------------------------

  private value(ref: string, node: TfjsNode | undefined): Value {
    const v = this.values.get(refKey(ref));
    if (v === undefined) throw fail(node, `expected input '${ref}' to be computed before it; it is not (unsupported producer?)`);
    return v;
  }

  private inputs(node: TfjsNode): Value[] {
    return node.inputs.map((r) => this.value(r, node));
  }

  private set(node: TfjsNode, v: Value, index = 0): void {
    this.values.set(index === 0 ? node.name : `${node.name}:${index}`, v);
  }

  private fresh(base: string): string {
    return `${base}__${this.counter++}`;
  }

  private emit(op: string, inputs: readonly string[], outputs: readonly string[], attributes?: GraphNode['attributes']): void {
    this.nodes.push({ op, inputs, outputs, ...(attributes === undefined ? {} : { attributes }), name: `${outputs[0]}__${op}` });
  }

  /** The ONNX name of a value; a constant is written as an initializer (float32, or int64 for integers). */
  private ref(v: Value, as: 'float' | 'int64' = v.dtype === 'float32' ? 'float' : 'int64'): string {
    if (v.constant === undefined) return v.name;
    const c = v.constant;
    const name = `${v.name || this.fresh('const')}__${as}`;
    if (!this.initializers.has(name)) {
      const dims = c.shape;
      this.initializers.set(
        name,
        as === 'float'
          ? { name, dims, data: c.data instanceof Float32Array ? c.data : Float32Array.from(c.data) }
          : { name, dims, data: { int64: Array.from(c.data, (x) => Math.round(x)) } },
      );
    }
    return name;
  }

  private runtime(node: TfjsNode, shape: Dim[], dtype: Value['dtype'] = 'float32', index = 0): Value {
    const v: Value = { name: index === 0 ? node.name : `${node.name}:${index}`, shape, dtype };
    this.set(node, v, index);
    return v;
  }

  private constOf(node: TfjsNode, input: number, what: string): TfjsTensor {
    const v = this.value(node.inputs[input] ?? '', node);
    if (v.constant === undefined) throw fail(node, `expected ${what} (input ${input}) to be a constant; it is computed at run time`);
    return v.constant;
  }

  private ints(node: TfjsNode, input: number, what: string): number[] {
    return Array.from(this.constOf(node, input, what).data);
  }

  private num(d: Dim): number {
    return d === BATCH ? this.fixedBatch : d;
  }

  // ---- ops ----------------------------------------------------------------------------------------

  private placeholder(node: TfjsNode): TensorInfo {
    const sig = this.model.inputs.find((i) => parseRef(i.name).node === node.name);
    const attrShape = node.attr['shape'];
    const shape = sig?.shape ?? (attrShape?.kind === 'shape' ? attrShape.value : []);
    const dtype = attrType(node, 'dtype');
    if (dtype !== 'DT_FLOAT') throw fail(node, `expected a float32 input; got ${dtype}`);
    if (shape.length === 0 || shape.slice(1).some((d) => d <= 0)) {
      throw fail(node, `expected an input shape with fixed sizes after dim 0; got [${shape.join(', ')}]`);
    }
    this.fixedBatch = shape[0]! > 0 ? shape[0]! : 1;
    const dims: Dim[] = shape.map((d, i) => (i === 0 && (this.batchDim !== '' || d <= 0) ? BATCH : d));
    this.runtime(node, dims);
    return { name: node.name, shape: dims.map((d) => (d === BATCH ? this.batchDim || this.fixedBatch : d)) };
  }

  private convert(node: TfjsNode): void {
    if (!SUPPORTED.includes(node.op)) {
      throw fail(node, `expected one of the supported ops (${SUPPORTED.join(', ')}); this op is not converted`);
    }
    if (node.op === 'Const') {
      const w = this.model.weights.get(node.name);
      if (w === undefined) throw fail(node, 'expected its value in the weights manifest; it is not there');
      this.set(node, { name: node.name.replace(/[^A-Za-z0-9_./-]/g, '_'), shape: [...w.shape], dtype: w.dtype, constant: w });
      return;
    }
    const fusedInto = this.fusedAdd.get(node.name);
    if (fusedInto !== undefined) {
      this.set(node, this.value(fusedInto, node));
      return;
    }
    const ins = this.inputs(node);
    if (ins.length > 0 && ins.every((v) => v.constant !== undefined) && this.fold(node, ins)) return;
    const binary = ELEMENTWISE_BINARY[node.op];
    if (binary !== undefined) return this.binary(node, binary, ins);
    const unary = ELEMENTWISE_UNARY[node.op];
    if (unary !== undefined) return this.unary(node, unary, ins[0]!);
    switch (node.op) {
      case 'Identity':
        this.set(node, ins[0]!);
        return;
      case 'LeakyRelu':
        return this.unary(node, 'LeakyRelu', ins[0]!, { alpha: { float: attrNumber(node, 'alpha', 0.2) } });
      case 'Relu6':
        return this.relu6(node, ins[0]!);
      case 'Softmax':
        return this.unary(node, 'Softmax', ins[0]!, { axis: { int: -1 } });
      case 'Transpose':
        this.set(node, this.transpose(ins[0]!, this.ints(node, 1, 'the permutation'), node.name));
        return;
      case 'Conv2D':
      case 'DepthwiseConv2dNative':
        return this.conv(node, ins[0]!);
      case 'Pad':
      case 'PadV2':
        return this.pad(node, ins);
      case 'MaxPool':
      case 'AvgPool':
        return this.pool(node, ins[0]!);
      case 'ConcatV2':
        return this.concat(node, ins);
      case 'ResizeBilinear':
      case 'ResizeNearestNeighbor':
        return this.resize(node, ins[0]!);
      case 'SplitV':
      case 'Split':
        return this.split(node, ins);
      case 'Reshape':
        return this.reshape(node, ins[0]!);
      case 'Cast':
        if (ins[0]!.dtype !== 'float32' || attrType(node, 'DstT') !== 'DT_FLOAT') {
          throw fail(node, `expected a float32 → float32 cast at run time; got ${ins[0]!.dtype} → ${attrType(node, 'DstT')}`);
        }
        this.set(node, ins[0]!);
        return;
      default:
        throw fail(node, 'expected constant inputs (it is converted only as a constant subgraph)');
    }
  }

  private binary(node: TfjsNode, op: string, ins: Value[]): void {
    const [a, b] = ins as [Value, Value];
    if ((a.constant === undefined && a.dtype !== 'float32') || (b.constant === undefined && b.dtype !== 'float32')) {
      throw fail(node, `expected float32 operands at run time; got ${a.dtype}, ${b.dtype}`);
    }
    const out = this.runtime(node, broadcast(a.shape, b.shape, node));
    this.emit(op, [this.ref(a, 'float'), this.ref(b, 'float')], [out.name]);
  }

  private unary(node: TfjsNode, op: string, x: Value, attributes?: GraphNode['attributes']): void {
    const out = this.runtime(node, [...x.shape]);
    this.emit(op, [x.name], [out.name], attributes);
  }

  private relu6(node: TfjsNode, x: Value): void {
    const out = this.runtime(node, [...x.shape]);
    const lo = this.scalar(0);
    const hi = this.scalar(6);
    this.emit('Clip', [x.name, lo, hi], [out.name]);
  }

  private scalar(v: number): string {
    const name = `scalar_${v}`;
    if (!this.initializers.has(name)) this.initializers.set(name, { name, dims: [], data: Float32Array.of(v) });
    return name;
  }

  private int64s(base: string, values: readonly number[]): string {
    const name = this.fresh(base);
    this.initializers.set(name, { name, dims: [values.length], data: { int64: values } });
    return name;
  }

  /** A Transpose, composed with the one that made `x` (and dropped when the two cancel). */
  private transpose(x: Value, perm: readonly number[], base: string): Value {
    if (perm.length !== x.shape.length) {
      throw fail(undefined, `Transpose '${base}': expected a permutation of ${x.shape.length} axes; got [${perm.join(', ')}]`);
    }
    let input = x;
    let p = [...perm];
    if (x.transposeOf !== undefined) {
      const inner = x.transposeOf.perm;
      input = x.transposeOf.input;
      p = p.map((i) => inner[i]!);
    }
    if (p.every((v, i) => v === i)) return input;
    const name = this.fresh(base);
    this.emit('Transpose', [input.name], [name], { perm: { ints: p } });
    return { name, shape: p.map((i) => input.shape[i]!), dtype: input.dtype, transposeOf: { input, perm: p } };
  }

  private conv(node: TfjsNode, x: Value): void {
    const nhwc = attrString(node, 'data_format', 'NHWC') === 'NHWC';
    const depthwise = node.op === 'DepthwiseConv2dNative';
    const w = this.constOf(node, 1, 'the filter');
    if (w.dtype !== 'float32' || w.shape.length !== 4)
      throw fail(node, `expected a float32 HWIO filter; got ${w.dtype} [${w.shape.join(', ')}]`);
    const [kh, kw, cin, cout] = w.shape as [number, number, number, number];
    const strides = spatial(attrInts(node, 'strides', [1, 1, 1, 1]), nhwc);
    const dilations = spatial(attrInts(node, 'dilations', [1, 1, 1, 1]), nhwc);
    const [sh, sw] = strides;
    const [dh, dw] = dilations;
    const xn = nhwc ? this.transpose(x, [0, 3, 1, 2], `${node.name}/nchw`) : x;
    const [n, c, h, wi] = xn.shape as [Dim, Dim, number, number];
    if (c !== cin) throw fail(node, `expected ${cin} input channels (the filter's); the input has ${String(c)}`);
    const pads = this.padding(node, [h, wi], [kh, kw], strides, dilations) as [number, number, number, number];
    // ONNX Conv wants OIHW; a depthwise filter [H, W, C, M] is a grouped conv with C·M outputs of 1 input each.
    const outC = depthwise ? cin * cout : cout;
    const oihw = new Float32Array(w.data.length);
    for (let y = 0; y < kh; y++)
      for (let xx = 0; xx < kw; xx++)
        for (let i = 0; i < cin; i++)
          for (let o = 0; o < cout; o++) {
            const src = ((y * kw + xx) * cin + i) * cout + o;
            const dst = depthwise ? ((i * cout + o) * kh + y) * kw + xx : ((o * cin + i) * kh + y) * kw + xx;
            oihw[dst] = w.data[src]!;
          }
    const wName = `${node.name}/filter_oihw`;
    this.initializers.set(wName, { name: wName, dims: depthwise ? [outC, 1, kh, kw] : [cout, cin, kh, kw], data: oihw });
    const inputs = [xn.name, wName];
    const bias = this.convBias.get(node.name);
    if (bias !== undefined) {
      if (bias.length !== outC) throw fail(node, `expected a bias of ${outC} values; got ${bias.length}`);
      const bName = `${node.name}/bias`;
      this.initializers.set(bName, { name: bName, dims: [outC], data: bias });
      inputs.push(bName);
    }
    const oh = Math.floor((h + pads[0] + pads[2] - ((kh - 1) * dh + 1)) / sh) + 1;
    const ow = Math.floor((wi + pads[1] + pads[3] - ((kw - 1) * dw + 1)) / sw) + 1;
    const convName = nhwc ? this.fresh(`${node.name}/nchw_out`) : node.name;
    this.emit('Conv', inputs, [convName], {
      kernel_shape: { ints: [kh, kw] },
      strides: { ints: strides },
      dilations: { ints: dilations },
      pads: { ints: pads },
      group: { int: depthwise ? cin : 1 },
    });
    const out: Value = { name: convName, shape: [n, outC, oh, ow], dtype: 'float32' };
    this.set(node, nhwc ? this.transpose(out, [0, 2, 3, 1], node.name) : out);
  }

  /** ONNX pads [top, left, bottom, right] for TF's VALID / SAME / EXPLICIT padding. */
  private padding(node: TfjsNode, size: [number, number], kernel: [number, number], strides: number[], dilations: number[]): number[] {
    const mode = attrString(node, 'padding', 'VALID');
    if (mode === 'VALID') return [0, 0, 0, 0];
    if (mode === 'SAME') {
      const begin: number[] = [];
      const end: number[] = [];
      for (let i = 0; i < 2; i++) {
        const out = Math.ceil(size[i]! / strides[i]!);
        const total = Math.max(0, (out - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - size[i]!);
        begin.push(Math.floor(total / 2));
        end.push(total - Math.floor(total / 2));
      }
      return [begin[0]!, begin[1]!, end[0]!, end[1]!];
    }
    if (mode === 'EXPLICIT') {
      const e = attrInts(node, 'explicit_paddings', []);
      const nhwc = attrString(node, 'data_format', 'NHWC') === 'NHWC';
      const [hAxis, wAxis] = nhwc ? [1, 2] : [2, 3];
      return [e[hAxis * 2]!, e[wAxis * 2]!, e[hAxis * 2 + 1]!, e[wAxis * 2 + 1]!];
    }
    throw fail(node, `expected padding VALID, SAME or EXPLICIT; got ${mode}`);
  }

  private pad(node: TfjsNode, ins: Value[]): void {
    const x = ins[0]!;
    const p = this.ints(node, 1, 'the paddings');
    if (p.length !== x.shape.length * 2) throw fail(node, `expected ${x.shape.length}×2 paddings; got ${p.length} values`);
    const begins = p.filter((_, i) => i % 2 === 0);
    const ends = p.filter((_, i) => i % 2 === 1);
    const inputs = [x.name, this.int64s(`${node.name}/pads`, [...begins, ...ends])];
    if (node.op === 'PadV2') inputs.push(this.ref(ins[2]!, 'float'));
    if (x.shape[0] === BATCH && (begins[0] !== 0 || ends[0] !== 0)) throw fail(node, 'expected no padding of the batch dim');
    const out = this.runtime(
      node,
      x.shape.map((d, i) => (d === BATCH ? d : d + begins[i]! + ends[i]!)),
    );
    this.emit('Pad', inputs, [out.name], { mode: { string: 'constant' } });
  }

  private pool(node: TfjsNode, x: Value): void {
    const nhwc = attrString(node, 'data_format', 'NHWC') === 'NHWC';
    const k = spatial(attrInts(node, 'ksize', [1, 1, 1, 1]), nhwc);
    const s = spatial(attrInts(node, 'strides', [1, 1, 1, 1]), nhwc);
    const xn = nhwc ? this.transpose(x, [0, 3, 1, 2], `${node.name}/nchw`) : x;
    const [n, c, h, w] = xn.shape as [Dim, Dim, number, number];
    const pads = this.padding(node, [h, w], [k[0], k[1]], s, [1, 1]) as [number, number, number, number];
    const oh = Math.floor((h + pads[0] + pads[2] - k[0]) / s[0]) + 1;
    const ow = Math.floor((w + pads[1] + pads[3] - k[1]) / s[1]) + 1;
    const name = nhwc ? this.fresh(`${node.name}/nchw_out`) : node.name;
    // TF's SAME average pooling divides by the cells inside the picture: ONNX's count_include_pad 0.
    this.emit(node.op === 'MaxPool' ? 'MaxPool' : 'AveragePool', [xn.name], [name], {
      kernel_shape: { ints: k },
      strides: { ints: s },
      pads: { ints: pads },
    });
    const out: Value = { name, shape: [n, c, oh, ow], dtype: 'float32' };
    this.set(node, nhwc ? this.transpose(out, [0, 2, 3, 1], node.name) : out);
  }

  private concat(node: TfjsNode, ins: Value[]): void {
    const parts = ins.slice(0, -1);
    const rank = parts[0]!.shape.length;
    const raw = this.ints(node, ins.length - 1, 'the axis')[0]!;
    const axis = raw < 0 ? raw + rank : raw;
    const shape = [...parts[0]!.shape];
    let total = 0;
    for (const p of parts) {
      const d = p.shape[axis];
      if (typeof d !== 'number') throw fail(node, 'expected a concat along a fixed-size axis (not the batch)');
      total += d;
    }
    shape[axis] = total;
    const out = this.runtime(node, shape);
    this.emit(
      'Concat',
      parts.map((p) => this.ref(p, 'float')),
      [out.name],
      { axis: { int: axis } },
    );
  }

  private resize(node: TfjsNode, x: Value): void {
    const [oh, ow] = this.ints(node, 1, 'the output size') as [number, number];
    const xn = this.transpose(x, [0, 3, 1, 2], `${node.name}/nchw`);
    const [n, c, h, w] = xn.shape as [Dim, Dim, number, number];
    const alignCorners = attrBool(node, 'align_corners');
    const halfPixel = attrBool(node, 'half_pixel_centers');
    const bilinear = node.op === 'ResizeBilinear';
    const coordinate = alignCorners ? 'align_corners' : halfPixel ? (bilinear ? 'half_pixel' : 'tf_half_pixel_for_nn') : 'asymmetric';
    const scalesName = this.fresh(`${node.name}/scales`);
    this.initializers.set(scalesName, { name: scalesName, dims: [4], data: Float32Array.of(1, 1, oh / h, ow / w) });
    const name = this.fresh(`${node.name}/nchw_out`);
    this.emit('Resize', [xn.name, '', scalesName], [name], {
      mode: { string: bilinear ? 'linear' : 'nearest' },
      coordinate_transformation_mode: { string: coordinate },
      ...(bilinear ? {} : { nearest_mode: { string: alignCorners ? 'round_prefer_ceil' : 'floor' } }),
    });
    this.set(node, this.transpose({ name, shape: [n, c, oh, ow], dtype: 'float32' }, [0, 2, 3, 1], node.name));
  }

  private split(node: TfjsNode, ins: Value[]): void {
    // SplitV(value, size_splits, axis); Split(axis, value) with num_split equal parts.
    const x = node.op === 'SplitV' ? ins[0]! : ins[1]!;
    const rawAxis = this.ints(node, node.op === 'SplitV' ? 2 : 0, 'the axis')[0]!;
    const axis = rawAxis < 0 ? rawAxis + x.shape.length : rawAxis;
    const size = x.shape[axis];
    if (typeof size !== 'number') throw fail(node, 'expected a split along a fixed-size axis (not the batch)');
    let sizes: number[];
    if (node.op === 'SplitV') {
      sizes = this.ints(node, 1, 'the split sizes');
      const known = sizes.filter((s) => s >= 0).reduce((a, b) => a + b, 0);
      sizes = sizes.map((s) => (s < 0 ? size - known : s));
    } else {
      const parts = attrNumber(node, 'num_split', 1);
      sizes = Array.from({ length: parts }, () => size / parts);
    }
    const outs = sizes.map(
      (s, i) =>
        this.runtime(
          node,
          x.shape.map((d, j) => (j === axis ? s : d)),
          'float32',
          i,
        ).name,
    );
    this.emit('Split', [x.name, this.int64s(`${node.name}/sizes`, sizes)], outs, { axis: { int: axis } });
  }

  private reshape(node: TfjsNode, x: Value): void {
    const target = this.ints(node, 1, 'the shape');
    const count = x.shape.reduce<number>((a, d) => a * this.num(d), 1);
    const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const dims: Dim[] = target.map((d) => (d === -1 ? count / known : d));
    const onnxShape = [...target];
    if (x.shape[0] === BATCH) {
      if (target[0] !== this.fixedBatch) {
        throw fail(
          node,
          `expected a Reshape that keeps dim 0 (the batch, ${this.fixedBatch}); got [${target.join(', ')}] — convert with batchDim '' for a fixed batch`,
        );
      }
      onnxShape[0] = 0;
      dims[0] = BATCH;
    }
    const out = this.runtime(node, dims);
    this.emit('Reshape', [x.name, this.int64s(`${node.name}/shape`, onnxShape)], [out.name]);
  }

  // ---- constant folding ------------------------------------------------------------------------

  /** Evaluates a node whose inputs are all constants; false when the op is not evaluated here. */
  private fold(node: TfjsNode, ins: Value[]): boolean {
    const c = ins.map((v) => v.constant!);
    let result: TfjsTensor | undefined;
    switch (node.op) {
      case 'Identity':
        result = c[0];
        break;
      case 'Cast': {
        const to = attrType(node, 'DstT');
        const src = c[0]!;
        result =
          to === 'DT_FLOAT'
            ? { dtype: 'float32', shape: src.shape, data: Float32Array.from(src.data) }
            : { dtype: 'int32', shape: src.shape, data: Int32Array.from(src.data, (v) => Math.trunc(v)) };
        break;
      }
      case 'Add':
      case 'AddV2':
      case 'Sub':
      case 'Mul':
        result = foldBinary(node, c[0]!, c[1]!);
        break;
      case 'Reshape': {
        const target = Array.from(c[1]!.data);
        const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
        result = { ...c[0]!, shape: target.map((d) => (d === -1 ? c[0]!.data.length / known : d)) };
        break;
      }
      case 'SparseToDense':
        result = foldSparseToDense(node, c[0]!, c[1]!, c[2]!, c[3]!);
        break;
      default:
        return false;
    }
    this.set(node, {
      name: node.name.replace(/[^A-Za-z0-9_./-]/g, '_'),
      shape: [...result!.shape],
      dtype: result!.dtype,
      constant: result!,
    });
    return true;
  }
}

function foldBinary(node: TfjsNode, a: TfjsTensor, b: TfjsTensor): TfjsTensor {
  const shape = broadcast([...a.shape], [...b.shape], node) as number[];
  const size = shape.reduce((x, y) => x * y, 1);
  const float = a.dtype === 'float32' || b.dtype === 'float32';
  const data = float ? new Float32Array(size) : new Int32Array(size);
  const at = (t: TfjsTensor, i: number): number => {
    // Index of flat output position i in a broadcast operand.
    let idx = 0;
    let stride = 1;
    let rem = i;
    const offset = shape.length - t.shape.length;
    const coords: number[] = [];
    for (let k = shape.length - 1; k >= 0; k--) {
      coords[k] = rem % shape[k]!;
      rem = Math.floor(rem / shape[k]!);
    }
    for (let k = t.shape.length - 1; k >= 0; k--) {
      const d = t.shape[k]!;
      idx += (d === 1 ? 0 : coords[k + offset]!) * stride;
      stride *= d;
    }
    return t.data[idx]!;
  };
  for (let i = 0; i < size; i++) {
    const x = at(a, i);
    const y = at(b, i);
    data[i] = node.op === 'Sub' ? x - y : node.op === 'Mul' ? x * y : x + y;
  }
  return { dtype: float ? 'float32' : 'int32', shape, data };
}

function foldSparseToDense(node: TfjsNode, indices: TfjsTensor, outputShape: TfjsTensor, values: TfjsTensor, fill: TfjsTensor): TfjsTensor {
  const shape = Array.from(outputShape.data);
  const size = shape.reduce((a, b) => a * b, 1);
  const float = values.dtype === 'float32';
  const data = float ? new Float32Array(size).fill(fill.data[0] ?? 0) : new Int32Array(size).fill(fill.data[0] ?? 0);
  const rank = shape.length;
  const count = indices.shape.length === 0 ? 1 : indices.shape[0]!;
  for (let i = 0; i < count; i++) {
    let flat = 0;
    for (let k = 0; k < rank; k++) flat = flat * shape[k]! + indices.data[i * rank + k]!;
    if (flat < 0 || flat >= size) throw fail(node, `expected indices inside [${shape.join(', ')}]`);
    data[flat] = values.data.length === 1 ? values.data[0]! : values.data[i]!;
  }
  return { dtype: float ? 'float32' : 'int32', shape, data };
}

function broadcast(a: readonly Dim[], b: readonly Dim[], node: TfjsNode): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else throw fail(node, `expected shapes that broadcast; got [${a.join(', ')}] and [${b.join(', ')}]`);
  }
  return out;
}

function spatial(v: readonly number[], nhwc: boolean): [number, number] {
  return nhwc ? [v[1] ?? 1, v[2] ?? 1] : [v[2] ?? 1, v[3] ?? 1];
}

function attrString(node: TfjsNode, key: string, fallback: string): string {
  const a: TfjsAttr | undefined = node.attr[key];
  return a?.kind === 'string' ? a.value : fallback;
}

function attrType(node: TfjsNode, key: string): string {
  const a = node.attr[key];
  return a?.kind === 'type' ? a.value : '';
}

function attrInts(node: TfjsNode, key: string, fallback: number[]): number[] {
  const a = node.attr[key];
  return a?.kind === 'ints' && a.value.length > 0 ? a.value : fallback;
}

function attrNumber(node: TfjsNode, key: string, fallback: number): number {
  const a = node.attr[key];
  return a?.kind === 'float' || a?.kind === 'int' ? a.value : fallback;
}

function attrBool(node: TfjsNode, key: string): boolean {
  const a = node.attr[key];
  return a?.kind === 'bool' && a.value;
}
