import { encodeModel, type GraphNode, type Initializer, type TensorInfo } from '@cityops/ml';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { ForecastError } from './errors.js';
import {
  combineGlobalMlpOutputs,
  globalMlpInputs,
  globalMlpNetOutputs,
  globalMlpNetWeights,
  type GlobalMlpInputs,
  type GlobalMlpModel,
} from './global-mlp.js';

/**
 * The global nets at inference time, through ONNX Runtime: the trained weights become one ONNX
 * graph (built in memory, never a file to ship), with one input and one output per net and a
 * symbolic batch dimension, so all indicators that fall due in a call go through in one run.
 *
 * Why ONNX Runtime and not the TS forward pass that trained them: the runtime's matrix kernels
 * are vectorised and threaded where V8 is neither, and the same graph runs on a GPU provider
 * when the machine has one. Training stays in TS (plain Adam; no runtime needed).
 *
 * Graph per net q: x_q [batch × L] → Gemm(W1, b1) → Relu → Gemm(W2, b2) → Relu → Gemm(W3, b3),
 * plus MatMul(x_q, W_skip) → Add → y_q [batch × h]. Default Gemm attributes (no transposes,
 * α = β = 1): the weights are stored input-major, which is what Gemm's B expects. The window
 * normalisation before and the median over nets after stay in TS (globalMlpInputs,
 * combineGlobalMlpOutputs), shared with the TS path, so both paths differ only in arithmetic.
 */

export function globalMlpOnnxGraph(model: GlobalMlpModel): Uint8Array {
  const nodes: GraphNode[] = [];
  const initializers: Initializer[] = [];
  const inputs: TensorInfo[] = [];
  const outputs: TensorInfo[] = [];
  for (let q = 0; q < model.nets.length; q++) {
    const w = globalMlpNetWeights(model, q);
    const p = (name: string): string => `net${q}_${name}`;
    const add = (name: string, dims: number[], data: Float32Array): void => {
      initializers.push({ name: p(name), dims, data });
    };
    add('w1', [w.inputLength, w.hidden], w.w1);
    add('b1', [w.hidden], w.b1);
    add('w2', [w.hidden, w.hidden], w.w2);
    add('b2', [w.hidden], w.b2);
    add('w3', [w.hidden, w.horizon], w.w3);
    add('b3', [w.horizon], w.b3);
    add('skip', [w.inputLength, w.horizon], w.skip);
    const x = inputName(q);
    nodes.push(
      { op: 'Gemm', inputs: [x, p('w1'), p('b1')], outputs: [p('z1')] },
      { op: 'Relu', inputs: [p('z1')], outputs: [p('a1')] },
      { op: 'Gemm', inputs: [p('a1'), p('w2'), p('b2')], outputs: [p('z2')] },
      { op: 'Relu', inputs: [p('z2')], outputs: [p('a2')] },
      { op: 'Gemm', inputs: [p('a2'), p('w3'), p('b3')], outputs: [p('deep')] },
      { op: 'MatMul', inputs: [x, p('skip')], outputs: [p('linear')] },
      { op: 'Add', inputs: [p('deep'), p('linear')], outputs: [outputName(q)] },
    );
    inputs.push({ name: x, shape: ['batch', w.inputLength] });
    outputs.push({ name: outputName(q), shape: ['batch', w.horizon] });
  }
  return encodeModel({ name: 'cityops-global-mlp', nodes, initializers, inputs, outputs });
}

function inputName(q: number): string {
  return `x${q}`;
}

function outputName(q: number): string {
  return `y${q}`;
}

export interface GlobalMlpSessionOptions {
  /**
   * ONNX Runtime execution providers to try, in order ('cpu', 'cuda', 'tensorrt', 'webgpu', …).
   * The first that creates a session and reproduces the TS forward pass on a probe batch is
   * used; 'cpu' is always the last resort. Default ['cpu'].
   */
  executionProviders?: readonly string[];
  /** Rows per run: larger batches are split, bounding the input tensors' memory. Default 4096. */
  maxBatchRows?: number;
  /** Where the provider choice and fallbacks are reported. Default console.log. */
  log?: (line: string) => void;
}

type Ort = typeof import('onnxruntime-node');

/**
 * A session running a trained global-MLP model. Open it once per model (the graph is built and
 * optimised then), run any number of batches, release it at the end.
 */
export class GlobalMlpSession {
  private constructor(
    readonly model: GlobalMlpModel,
    /** The execution provider the session runs on. */
    readonly provider: string,
    private readonly ort: Ort,
    private readonly session: InferenceSession,
    private readonly maxBatchRows: number,
  ) {}

  static async open(model: GlobalMlpModel, options: GlobalMlpSessionOptions = {}): Promise<GlobalMlpSession> {
    const log = options.log ?? ((line: string): void => console.log(line));
    const maxBatchRows = options.maxBatchRows ?? 4096;
    if (!(Number.isInteger(maxBatchRows) && maxBatchRows >= 1))
      throw new ForecastError('invalid-config', `'maxBatchRows': expected a whole number ≥ 1; got ${maxBatchRows}`);
    const wanted = options.executionProviders ?? ['cpu'];
    const providers = [...new Set([...wanted, 'cpu'])];
    // Loaded lazily: a worker that forecasts with the seasonal naive never pays for the binding.
    let ort: Ort;
    try {
      ort = await import('onnxruntime-node');
    } catch (e) {
      throw new ForecastError('invalid-config', `expected onnxruntime-node to load for the global model; it did not: ${firstLine(e)}`, {
        cause: e,
      });
    }
    const graph = globalMlpOnnxGraph(model);
    const probe = probeBatch(model);
    const failures: string[] = [];
    for (const provider of providers) {
      let session: InferenceSession | undefined;
      try {
        // Severity 3 (errors only): a missing provider library is reported below in plain words.
        session = await ort.InferenceSession.create(graph, { executionProviders: [provider], logSeverityLevel: 3 });
        const candidate = new GlobalMlpSession(model, provider, ort, session, maxBatchRows);
        const gap = maxGap(await candidate.runNets(probe.batch), probe.expected);
        if (!(gap <= 1e-3)) throw new Error(`its outputs differ from the TS forward pass by ${gap} on a probe batch`);
        log(
          `forecast: global model (${model.nets.length} net${model.nets.length === 1 ? '' : 's'}) runs on ONNX Runtime provider '${provider}'${failures.length > 0 ? ` after ${failures.join('; ')}` : ''}`,
        );
        return candidate;
      } catch (e) {
        if (session !== undefined) await session.release();
        failures.push(`'${provider}' unusable: ${firstLine(e)}`);
        if (provider !== 'cpu') log(`forecast: ONNX Runtime provider '${provider}' unusable, falling back — ${firstLine(e)}`);
      }
    }
    throw new ForecastError('invalid-config', `expected an ONNX Runtime session for the global model; ${failures.join('; ')}`);
  }

  /** Each net's raw outputs [n × model horizon] for prepared inputs, in runs of at most maxBatchRows. */
  async runNets(batch: GlobalMlpInputs): Promise<Float32Array[]> {
    const h = this.model.horizon;
    const n = batch.n;
    const K = this.model.nets.length;
    const outputs = Array.from({ length: K }, () => new Float32Array(n * h));
    for (let from = 0; from < n; from += this.maxBatchRows) {
      const rows = Math.min(this.maxBatchRows, n - from);
      const feeds: Record<string, Tensor> = {};
      for (let q = 0; q < K; q++) {
        const L = this.model.nets[q]!.inputLength;
        feeds[inputName(q)] = new this.ort.Tensor('float32', batch.inputs[q]!.subarray(from * L, (from + rows) * L), [rows, L]);
      }
      const result = await this.session.run(feeds);
      for (let q = 0; q < K; q++) {
        const data = result[outputName(q)]?.data;
        if (!(data instanceof Float32Array) || data.length !== rows * h) {
          throw new ForecastError('invalid-state', `expected ${rows}×${h} float32 outputs from net ${q}; got ${describe(data)}`);
        }
        outputs[q]!.set(data, from * h);
      }
    }
    return outputs;
  }

  /** Same contract as forecastGlobalMlp: `horizon` values per series, NaN rows for series without logs. */
  async forecast(series: readonly ArrayLike<number>[], horizon: number, out: Float64Array): Promise<void> {
    if (horizon > this.model.horizon)
      throw new ForecastError('invalid-argument', `expected a horizon ≤ ${this.model.horizon} (the model's); got ${horizon}`);
    if (series.length === 0) return;
    const batch = globalMlpInputs(this.model, series);
    combineGlobalMlpOutputs(this.model, batch, await this.runNets(batch), horizon, out);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** A few synthetic windows and the TS forward pass's answer for them: the session must agree. */
function probeBatch(model: GlobalMlpModel): { batch: GlobalMlpInputs; expected: Float32Array[] } {
  const m = model.seasonLength;
  const series = [0.1, 0.3].map((amp) =>
    Float64Array.from(
      { length: 2 * Math.max(...model.nets.map((n) => n.inputLength)) },
      (_, t) => 100 * Math.exp(amp * Math.sin((2 * Math.PI * t) / Math.max(2, m))),
    ),
  );
  const batch = globalMlpInputs(model, series);
  return { batch, expected: globalMlpNetOutputs(model, batch) };
}

function maxGap(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  let gap = 0;
  for (let q = 0; q < a.length; q++) for (let i = 0; i < a[q]!.length; i++) gap = Math.max(gap, Math.abs(a[q]![i]! - b[q]![i]!));
  return gap;
}

function describe(data: unknown): string {
  if (data instanceof Float32Array) return `${data.length} values`;
  return data === undefined ? 'no output' : typeof data;
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const line = text.split('\n').find((l) => l.trim() !== '') ?? text;
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
