import type { NeuralForecastConfig } from './detector-config.js';
import { NEURAL_FORECAST_DEFAULTS } from './detector-config.js';
import { LIKELIHOOD_STRIDE, calibratedProbability, likelihoodOptionsOf, likelihoodStep } from './likelihood.js';
import type { LikelihoodOptions } from './likelihood.js';
import type { NeuralForecastWeights, WindowNormalisation } from './neural-forecast-model.js';
import { forwardRow, loadNeuralForecastWeights, normaliseWindow } from './neural-forecast-model.js';
import type { BatchForward } from './neural-forecast-runtime.js';
import { openNeuralForecastRuntime } from './neural-forecast-runtime.js';
import { refractoryStep } from './refractory.js';
import { StreamingDetector } from './streaming-detector.js';
import type { DetectorRuntimeOptions, PredictionCounts } from './timeseries-detector.js';

/**
 * The neural forecast detector: the ensemble's learned member, and a plugin of its own.
 *
 * One global network (neural-forecast-model.ts), trained offline on generated series, predicts
 * each series' next value from its last `window` values normalised by the window itself. Unlike
 * the per-series RLS of online-ar it needs no time to learn a series and brings shape knowledge
 * no single series has (what follows a ramp, a plateau edge, a burst's decay); unlike it, it
 * does not adapt, so the per-series part is left to the calibration: the prediction error over
 * its running mean absolute error is the surprise, and the surprise goes through the same anomaly
 * likelihood and refractory step as the other members.
 *
 * Batching: a prediction depends only on past values, so the next point's prediction can be made
 * as soon as a point is taken. `predictAhead()` does that for every series that took points since
 * the last call, in ONE ONNX Runtime call (rows = series); `scorePoint` then uses the stored
 * prediction. A point whose prediction is not there (no runtime opened, or a second point of a
 * series in the same batch) gets the TypeScript reference forward pass instead — the same
 * network, the same result to float32 rounding — and is counted (`predictionCounts`).
 */

export const NEURAL_FORECAST_VERSION = '1.0.0';

const MAE_TO_SIGMA = 1.2533141373155003;

let defaultWeights: NeuralForecastWeights | undefined;

/** The shipped weights, read once per process. */
export function defaultNeuralForecastWeights(): NeuralForecastWeights {
  defaultWeights ??= loadNeuralForecastWeights();
  return defaultWeights;
}

export function neuralForecastFields(window: number) {
  return {
    /** The last `window` raw values as a ring, each written twice (at i mod W and i mod W + W) so a window is contiguous. */
    ring: { stride: 2 * window, kind: 'f64', init: 0 },
    mean: { stride: 1, kind: 'f64', init: 0 },
    spread: { stride: 1, kind: 'f64', init: 0 },
    mae: { stride: 1, kind: 'f64', init: Number.NaN },
    /** Prediction of the next point in the series' unit, valid when `predictedFor` equals its accepted count. */
    prediction: { stride: 1, kind: 'f64', init: 0 },
    predictedFor: { stride: 1, kind: 'f64', init: -1 },
    /** 1 while the series waits in the predictAhead queue. */
    queued: { stride: 1, kind: 'i32', init: 0 },
    likelihood: { stride: LIKELIHOOD_STRIDE, kind: 'f64', init: 0 },
    peak: { stride: 1, kind: 'f64', init: 0 },
  } as const;
}

export class NeuralForecastDetector extends StreamingDetector<ReturnType<typeof neuralForecastFields>> {
  readonly type = 'neural-forecast';
  readonly version = NEURAL_FORECAST_VERSION;
  readonly threshold: number;
  readonly config: Readonly<NeuralForecastConfig>;
  readonly weights: NeuralForecastWeights;
  private readonly window: number;
  private readonly likelihoodOptions: LikelihoodOptions;
  private readonly norm: WindowNormalisation = { center: 0, scale: 1 };
  private readonly row: Float64Array;
  private readonly hidden: Float64Array;
  private runtime: BatchForward | undefined;
  private queue = new Int32Array(64);
  private queueLength = 0;
  private input = new Float32Array(0);
  private centers = new Float64Array(0);
  private scales = new Float64Array(0);
  private stamps = new Float64Array(0);
  private readonly counts: PredictionCounts = { batched: 0, inline: 0, runtimeCalls: 0 };

  constructor(config: Readonly<NeuralForecastConfig> = NEURAL_FORECAST_DEFAULTS, initialCapacity = 64, weights?: NeuralForecastWeights) {
    const w = weights ?? defaultNeuralForecastWeights();
    super(neuralForecastFields(w.window), config.maxGapMs, config.scaleFloor, initialCapacity);
    this.config = config;
    this.threshold = config.threshold;
    this.weights = w;
    this.window = w.window;
    this.likelihoodOptions = likelihoodOptionsOf(config);
    this.row = new Float64Array(w.window);
    this.hidden = new Float64Array(w.hidden1.outputs + w.hidden2.outputs);
  }

  protected configJson(): string {
    return JSON.stringify(this.config);
  }

  probability(score: number): number {
    return calibratedProbability(score);
  }

  describe(): string {
    return `global neural forecast (MLP on the last ${this.window} values, trained on generated series) per series; prediction error through the anomaly likelihood (threshold ${this.threshold})`;
  }

  /** The execution provider predictions run on: 'reference' until `open`. */
  get provider(): string {
    return this.runtime?.provider ?? 'reference';
  }

  predictionCounts(): PredictionCounts {
    return { ...this.counts };
  }

  async open(options: DetectorRuntimeOptions = {}): Promise<void> {
    if (this.runtime !== undefined) return;
    this.runtime = await openNeuralForecastRuntime(this.weights, options);
  }

  async close(): Promise<void> {
    const r = this.runtime;
    this.runtime = undefined;
    if (r !== undefined) await r.release();
  }

  async predictAhead(): Promise<void> {
    const runtime = this.runtime;
    const n = this.queueLength;
    if (runtime === undefined || n === 0) return;
    const W = this.window;
    if (this.input.length < n * W) {
      const size = Math.max(n, this.input.length / W || 0) * 2;
      this.input = new Float32Array(size * W);
      this.centers = new Float64Array(size);
      this.scales = new Float64Array(size);
      this.stamps = new Float64Array(size);
    }
    const st = this.state.fields;
    const ring = st.ring;
    const accepted = st.accepted;
    const floorArr = st.floor;
    const queued = st.queued;
    const norm = this.norm;
    let rows = 0;
    const order = this.queue.slice(0, n);
    for (let q = 0; q < n; q++) {
      const s = order[q]!;
      queued[s] = 0;
      const count = accepted[s]!;
      if (count < W) continue;
      normaliseWindow(ring, s * 2 * W + (count % W), W, floorArr[s]!, this.input, rows * W, norm);
      this.centers[rows] = norm.center;
      this.scales[rows] = norm.scale;
      this.stamps[rows] = count;
      order[rows] = s;
      rows++;
    }
    this.queueLength = 0;
    if (rows === 0) return;
    this.counts.runtimeCalls++;
    const out = await runtime.run(this.input, rows);
    // State may have moved on while the call ran (it does not in the worker, which awaits this
    // before its next batch): a prediction is kept only for the point it was made for.
    const acceptedNow = this.state.fields.accepted;
    const prediction = this.state.fields.prediction;
    const predictedFor = this.state.fields.predictedFor;
    for (let r = 0; r < rows; r++) {
      const s = order[r]!;
      if (s >= this.state.seriesCount || acceptedNow[s] !== this.stamps[r]) continue;
      prediction[s] = this.centers[r]! + this.scales[r]! * out[r]!;
      predictedFor[s] = this.stamps[r]! + 1;
    }
  }

  protected override onReset(series: number): void {
    // The reset put `queued` back to 0 while the series may still sit in the queue; predictAhead
    // skips it (too few points), and a duplicate entry is harmless.
    void series;
  }

  scorePoint(s: number, x: number, t: number): number {
    void t;
    const c = this.config;
    const st = this.state.fields;
    const o = this.outcome;
    const W = this.window;
    const n = st.accepted[s]!;
    const ring = st.ring;
    const meanArr = st.mean;
    const spreadArr = st.spread;
    const maeArr = st.mae;
    const rb = s * 2 * W;
    const seen = n - 1;

    let raw = Number.NaN;
    let score = Number.NaN;
    o.expected = Number.NaN;
    o.scale = Number.NaN;
    if (seen >= W) {
      let pred: number;
      if (st.predictedFor[s] === n) {
        pred = st.prediction[s]!;
        this.counts.batched++;
      } else {
        normaliseWindow(ring, rb + (seen % W), W, st.floor[s]!, this.row, 0, this.norm);
        pred = this.norm.center + this.norm.scale * forwardRow(this.weights, this.row, 0, this.hidden);
        this.counts.inline++;
      }
      const e = x - pred;
      const m = maeArr[s]!;
      let errScale = MAE_TO_SIGMA * (m === m ? m : Math.abs(e));
      const minScale = c.minErrorScale * MAE_TO_SIGMA * spreadArr[s]!;
      if (errScale < minScale) errScale = minScale;
      const floor = st.floor[s]!;
      if (errScale < floor) errScale = floor;
      const z = e / errScale;
      const az = z < 0 ? -z : z;
      const surprise = az < c.surpriseCap ? az : c.surpriseCap;
      raw = likelihoodStep(st.likelihood, s * LIKELIHOOD_STRIDE, surprise, this.likelihoodOptions);
      score = refractoryStep(st.peak, s, raw, c.refractoryDecay, c.suppressedFactor, this.threshold);
      if (z < 0) score = -score;
      // The error scale learns from winsorised errors, so one outlier does not inflate it.
      const clip = c.surpriseCap * errScale;
      const ae = e < 0 ? -e : e;
      const k = seen - W + 1;
      const wErr = k < 1 / c.scaleAlpha ? 1 / k : c.scaleAlpha;
      maeArr[s] = m === m ? m + wErr * ((ae > clip ? clip : ae) - m) : ae;
      o.expected = pred;
      o.scale = errScale;
    }
    // The series' long-run spread (mean absolute deviation), the error scale's floor reference.
    const wNorm = 1 / n > c.normAlpha ? 1 / n : c.normAlpha;
    const mu = meanArr[s]!;
    if (n === 1) meanArr[s] = x;
    else {
      const dev = x - mu < 0 ? mu - x : x - mu;
      spreadArr[s] = spreadArr[s]! + wNorm * (dev - spreadArr[s]!);
      meanArr[s] = mu + wNorm * (x - mu);
    }
    const slot = seen % W;
    ring[rb + slot] = x;
    ring[rb + slot + W] = x;
    if (n >= W) this.enqueue(s);
    o.raw = raw;
    o.stuck = false;
    if (n <= c.warmupPoints) return Number.NaN;
    return score;
  }

  private enqueue(s: number): void {
    const queued = this.state.fields.queued;
    if (queued[s] === 1 || this.runtime === undefined) return;
    queued[s] = 1;
    if (this.queueLength === this.queue.length) {
      const next = new Int32Array(this.queue.length * 2);
      next.set(this.queue);
      this.queue = next;
    }
    this.queue[this.queueLength++] = s;
  }
}
