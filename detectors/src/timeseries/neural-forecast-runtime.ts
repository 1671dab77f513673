import type { InferenceSession } from 'onnxruntime-node';
import { toDetectorError } from '../errors.js';
import type { NeuralForecastWeights } from './neural-forecast-model.js';
import { NEURAL_FORECAST_INPUT, NEURAL_FORECAST_OUTPUT, buildNeuralForecastOnnx } from './neural-forecast-model.js';

/**
 * The learned member's network in ONNX Runtime: one session, one `run` per batch of series
 * (the graph's batch dimension is dynamic), on the configured execution provider.
 *
 * onnxruntime-node is imported here, lazily: a detector that never opens a runtime (tests of the
 * statistics, the throughput bench's statistical rows) does not load the native binding.
 */

export interface BatchForward {
  /** The execution provider the session runs on (after any fallback). */
  readonly provider: string;
  /** Predictions for `rows` rows of `input` ([rows][window], normalised); one runtime call. */
  run(input: Float32Array, rows: number): Promise<Float32Array>;
  release(): Promise<void>;
}

export interface NeuralForecastRuntimeOptions {
  /** ONNX Runtime execution provider: 'cpu' (default), 'cuda', 'tensorrt', 'webgpu', … */
  executionProvider?: string;
  /** Threads of the CPU provider; 0 lets ONNX Runtime choose. Default 1 (the worker owns one core). */
  intraOpThreads?: number;
  /** Where the provider choice and any fallback are said. Default console.log. */
  log?: (line: string) => void;
}

type Ort = typeof import('onnxruntime-node');

export async function openNeuralForecastRuntime(
  weights: NeuralForecastWeights,
  options: NeuralForecastRuntimeOptions = {},
): Promise<BatchForward> {
  const log = options.log ?? ((line: string) => console.log(line));
  const wanted = options.executionProvider ?? 'cpu';
  let ort: Ort;
  try {
    ort = await import('onnxruntime-node');
  } catch (e) {
    throw toDetectorError('start-failed', 'expected onnxruntime-node to load for the learned anomaly member', e, false);
  }
  const bytes = buildNeuralForecastOnnx(weights);
  const threads = options.intraOpThreads ?? 1;
  const base: InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    ...(threads > 0 ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
  };
  let session: InferenceSession;
  let provider = wanted;
  try {
    // Fatal-only logging while trying a GPU provider: its failure is said below in one plain line.
    const quiet = wanted === 'cpu' ? {} : { logSeverityLevel: 4 as const };
    session = await ort.InferenceSession.create(bytes, { ...base, ...quiet, executionProviders: [wanted] });
  } catch (e) {
    if (wanted === 'cpu')
      throw toDetectorError('start-failed', 'expected ONNX Runtime to load the learned anomaly member on cpu', e, false);
    log(`anomaly: learned member: execution provider '${wanted}' could not start (${firstLine(e)}); falling back to cpu`);
    provider = 'cpu';
    try {
      session = await ort.InferenceSession.create(bytes, { ...base, executionProviders: ['cpu'] });
    } catch (e2) {
      throw toDetectorError(
        'start-failed',
        `expected ONNX Runtime to load the learned anomaly member on cpu (after '${wanted}' failed)`,
        e2,
        false,
      );
    }
  }
  log(
    `anomaly: learned member: neural forecast (window ${weights.window}) on ONNX Runtime, execution provider '${provider}', dynamic batch`,
  );
  const window = weights.window;
  return {
    provider,
    async run(input: Float32Array, rows: number): Promise<Float32Array> {
      const tensor = new ort.Tensor('float32', input.subarray(0, rows * window), [rows, window]);
      const out = await session.run({ [NEURAL_FORECAST_INPUT]: tensor });
      const data = out[NEURAL_FORECAST_OUTPUT]?.data;
      if (!(data instanceof Float32Array) || data.length !== rows) {
        throw toDetectorError(
          'invalid-state',
          `expected ${rows} predictions from the learned member's session`,
          new Error(`got ${String(data?.length)}`),
          true,
        );
      }
      return data;
    },
    release: () => session.release(),
  };
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const line = text.split('\n').find((l) => l.trim() !== '') ?? text;
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
