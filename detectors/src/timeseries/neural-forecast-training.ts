import type { DenseLayer, NeuralForecastWeights, WindowNormalisation } from './neural-forecast-model.js';
import { MAX_ABS_NORMALISED, forwardRow, normaliseWindow } from './neural-forecast-model.js';

/**
 * Trains the learned member's network on series the project generates — the shapes city sensors
 * make (daily and weekly cycles, drifting levels, AR noise, plateaus switching on and off, bursty
 * counts, quantised readings) — never on benchmark data: the network must learn what "the next
 * value follows from the recent shape" means in general, not the benchmark's files.
 *
 * Plain minibatch Adam (Kingma & Ba 2015) on a Huber loss (δ = 1: a generated jump must not
 * dominate the fit), hand-written backpropagation, a seeded generator: the same options give the
 * same weights, so the shipped file is reproducible by `detectors/src/timeseries/train-neural-forecast.ts`.
 */

export interface NeuralForecastTrainingOptions {
  /** Seed of every random choice (series, samples, initial weights). Default 20260401. */
  seed: number;
  /** Values in the input window. Default 24. */
  window: number;
  /** Units in each hidden layer. Default 32. */
  hidden: number;
  /** Generated training series. Default 600. */
  trainSeries: number;
  /** Generated validation series (other seeds). Default 100. */
  validationSeries: number;
  /** Points per generated series. Default 1500. */
  seriesLength: number;
  /** Training samples drawn in all (windows with their next value). Default 800,000. */
  samples: number;
  /** Samples per Adam step. Default 32. */
  batchSize: number;
  /** Adam step size at the start; it decays on a cosine to a tenth. Default 0.002. */
  learningRate: number;
}

export const NEURAL_FORECAST_TRAINING_DEFAULTS: Readonly<NeuralForecastTrainingOptions> = {
  seed: 20260401,
  window: 24,
  hidden: 32,
  trainSeries: 600,
  validationSeries: 100,
  seriesLength: 1500,
  samples: 800_000,
  batchSize: 32,
  learningRate: 0.002,
};

export interface NeuralForecastTrainingResult {
  weights: NeuralForecastWeights;
  /** Mean Huber loss on the validation series: the network's, and "next = last value"'s. */
  validationLoss: number;
  persistenceLoss: number;
}

/** mulberry32 + Box–Muller: small, seeded, good enough for generated data. */
export class SeededRandom {
  private state: number;
  constructor(seed: number) {
    this.state = seed | 0;
  }
  uniform(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  gaussian(): number {
    return Math.sqrt(-2 * Math.log(1 - this.uniform())) * Math.cos(2 * Math.PI * this.uniform());
  }
  between(a: number, b: number): number {
    return a + (b - a) * this.uniform();
  }
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }
}

/** The generated series' families (see the module comment). */
export const GENERATED_FAMILIES = ['seasonal', 'ar', 'random-walk', 'plateaus', 'bursty', 'quantised', 'trend-seasonal', 'weekly'] as const;

/** One generated series of a family, `length` points, anomaly-free by construction. */
export function generateSeries(rng: SeededRandom, family: (typeof GENERATED_FAMILIES)[number], length: number): Float64Array {
  const x = new Float64Array(length);
  const level = rng.between(-50, 500);
  const amp = Math.exp(rng.between(Math.log(0.5), Math.log(100)));
  const noise = amp * Math.exp(rng.between(Math.log(0.01), Math.log(0.5)));
  const period = Math.round(rng.between(24, 300));
  const phase = rng.between(0, 2 * Math.PI);
  const h2 = rng.between(0, 0.5);
  const seasonal = (t: number): number =>
    amp * (Math.sin((2 * Math.PI * t) / period + phase) + h2 * Math.sin((4 * Math.PI * t) / period + 2 * phase));
  switch (family) {
    case 'seasonal':
      for (let t = 0; t < length; t++) x[t] = level + seasonal(t) + noise * rng.gaussian();
      break;
    case 'trend-seasonal': {
      const slope = rng.between(-1, 1) * (amp / period);
      for (let t = 0; t < length; t++) x[t] = level + slope * t + seasonal(t) + noise * rng.gaussian();
      break;
    }
    case 'weekly': {
      // A daily cycle whose amplitude drops on two days of seven (weekends).
      const weekend = rng.between(0.2, 0.8);
      for (let t = 0; t < length; t++) {
        const day = Math.floor(t / period) % 7;
        x[t] = level + (day >= 5 ? weekend : 1) * seasonal(t) + noise * rng.gaussian();
      }
      break;
    }
    case 'ar': {
      // A stationary AR(2): roots inside the unit circle.
      const r = rng.between(0.3, 0.98);
      const w = rng.between(0, Math.PI / 3);
      const a1 = 2 * r * Math.cos(w);
      const a2 = -r * r;
      let p1 = 0;
      let p2 = 0;
      for (let t = 0; t < length; t++) {
        const v = a1 * p1 + a2 * p2 + noise * rng.gaussian();
        p2 = p1;
        p1 = v;
        x[t] = level + v;
      }
      break;
    }
    case 'random-walk': {
      let l = level;
      const q = noise * rng.between(0.05, 1);
      for (let t = 0; t < length; t++) {
        l += q * rng.gaussian();
        x[t] = l + noise * rng.gaussian();
      }
      break;
    }
    case 'plateaus': {
      // Equipment switching between a few levels (pumps, signals), dwelling a random time on each.
      const levels = [level, level + amp, level + amp * rng.between(0.2, 0.8)];
      let current = 0;
      for (let t = 0; t < length; t++) {
        if (rng.uniform() < 1 / rng.between(20, 200)) current = rng.int(levels.length);
        x[t] = levels[current]! + noise * rng.gaussian();
      }
      break;
    }
    case 'bursty': {
      // Counts with a daily rhythm and bursts that decay (events, social volume).
      const base = Math.abs(level) / 10 + 5;
      let burst = 0;
      for (let t = 0; t < length; t++) {
        if (rng.uniform() < 0.01) burst += base * rng.between(0.5, 3);
        burst *= rng.between(0.8, 0.95);
        const mean = base * (1 + 0.5 * Math.sin((2 * Math.PI * t) / period + phase)) + burst;
        x[t] = Math.max(0, Math.round(mean + Math.sqrt(mean) * rng.gaussian()));
      }
      break;
    }
    case 'quantised': {
      const q = noise * rng.between(1, 5);
      for (let t = 0; t < length; t++) x[t] = Math.round((level + seasonal(t) + noise * rng.gaussian()) / q) * q;
      break;
    }
  }
  return x;
}

/** Windows and targets of a set of series: input rows [n][window] and targets n, both normalised. */
interface Samples {
  inputs: Float32Array;
  targets: Float64Array;
  count: number;
}

function makeSeriesSet(rng: SeededRandom, count: number, length: number): Float64Array[] {
  const out: Float64Array[] = [];
  for (let i = 0; i < count; i++) out.push(generateSeries(rng, GENERATED_FAMILIES[i % GENERATED_FAMILIES.length]!, length));
  return out;
}

function sampleWindows(rng: SeededRandom, series: readonly Float64Array[], window: number, count: number): Samples {
  const inputs = new Float32Array(count * window);
  const targets = new Float64Array(count);
  const norm: WindowNormalisation = { center: 0, scale: 1 };
  for (let n = 0; n < count; n++) {
    const s = series[rng.int(series.length)]!;
    const from = rng.int(s.length - window - 1);
    normaliseWindow(s, from, window, 1e-9, inputs, n * window, norm);
    const t = (s[from + window]! - norm.center) / norm.scale;
    targets[n] = t > MAX_ABS_NORMALISED ? MAX_ABS_NORMALISED : t < -MAX_ABS_NORMALISED ? -MAX_ABS_NORMALISED : t;
  }
  return { inputs, targets, count };
}

function huber(e: number): number {
  const a = e < 0 ? -e : e;
  return a <= 1 ? 0.5 * e * e : a - 0.5;
}

function huberGrad(e: number): number {
  return e > 1 ? 1 : e < -1 ? -1 : e;
}

function denseLayer(rng: SeededRandom, inputs: number, outputs: number): DenseLayer {
  // Glorot uniform.
  const limit = Math.sqrt(6 / (inputs + outputs));
  const weights = new Float32Array(inputs * outputs);
  for (let i = 0; i < weights.length; i++) weights[i] = rng.between(-limit, limit);
  return { inputs, outputs, weights, bias: new Float32Array(outputs) };
}

/** Trains the network; deterministic for given options. */
export function trainNeuralForecast(options: Partial<NeuralForecastTrainingOptions> = {}): NeuralForecastTrainingResult {
  const o = { ...NEURAL_FORECAST_TRAINING_DEFAULTS, ...options };
  const rng = new SeededRandom(o.seed);
  const W = o.window;
  const H = o.hidden;
  const trainSet = makeSeriesSet(rng, o.trainSeries, o.seriesLength);
  const validationSet = makeSeriesSet(new SeededRandom(o.seed ^ 0x5eed), o.validationSeries, o.seriesLength);
  const validation = sampleWindows(new SeededRandom(o.seed ^ 0xa11), validationSet, W, 20_000);

  // Parameters as float64 during training (Adam's small steps would vanish in float32).
  const l1 = denseLayer(rng, W, H);
  const l2 = denseLayer(rng, H, H);
  const l3 = denseLayer(rng, H, 1);
  const params = [
    Float64Array.from(l1.weights),
    new Float64Array(H),
    Float64Array.from(l2.weights),
    new Float64Array(H),
    Float64Array.from(l3.weights),
    new Float64Array(1),
    new Float64Array(W),
  ] as const;
  // Start from persistence (next = last value): the skip carries it, the hidden layers learn the rest.
  params[6][W - 1] = 1;
  const [w1, b1, w2, b2, w3, b3, ws] = params;
  const grads = params.map((p) => new Float64Array(p.length));
  const [gw1, gb1, gw2, gb2, gw3, gb3, gws] = grads as [
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
  ];
  const m1 = params.map((p) => new Float64Array(p.length));
  const m2 = params.map((p) => new Float64Array(p.length));
  const beta1 = 0.9;
  const beta2 = 0.999;
  let step = 0;

  const h1 = new Float64Array(H);
  const h2 = new Float64Array(H);
  const d2 = new Float64Array(H);
  const chunk = 50_000;
  const steps = Math.ceil(o.samples / o.batchSize);
  let drawn = 0;
  while (drawn < o.samples) {
    const batch = sampleWindows(rng, trainSet, W, Math.min(chunk, o.samples - drawn));
    drawn += batch.count;
    for (let start = 0; start < batch.count; start += o.batchSize) {
      const end = Math.min(batch.count, start + o.batchSize);
      for (const g of grads) g.fill(0);
      for (let n = start; n < end; n++) {
        const at = n * W;
        const u = batch.inputs;
        for (let j = 0; j < H; j++) h1[j] = b1[j]!;
        let y = b3[0]!;
        for (let i = 0; i < W; i++) {
          const v = u[at + i]!;
          y += v * ws[i]!;
          for (let j = 0; j < H; j++) h1[j] = h1[j]! + v * w1[i * H + j]!;
        }
        for (let j = 0; j < H; j++) h1[j] = Math.tanh(h1[j]!);
        for (let k = 0; k < H; k++) h2[k] = b2[k]!;
        for (let j = 0; j < H; j++) for (let k = 0; k < H; k++) h2[k] = h2[k]! + h1[j]! * w2[j * H + k]!;
        for (let k = 0; k < H; k++) {
          h2[k] = Math.tanh(h2[k]!);
          y += h2[k]! * w3[k]!;
        }
        const dy = huberGrad(y - batch.targets[n]!);
        gb3[0] = gb3[0]! + dy;
        for (let k = 0; k < H; k++) {
          gw3[k] = gw3[k]! + h2[k]! * dy;
          d2[k] = w3[k]! * dy * (1 - h2[k]! * h2[k]!);
          gb2[k] = gb2[k]! + d2[k]!;
        }
        for (let j = 0; j < H; j++) {
          let d1 = 0;
          for (let k = 0; k < H; k++) {
            gw2[j * H + k] = gw2[j * H + k]! + h1[j]! * d2[k]!;
            d1 += w2[j * H + k]! * d2[k]!;
          }
          h1[j] = d1 * (1 - h1[j]! * h1[j]!);
          gb1[j] = gb1[j]! + h1[j]!;
        }
        for (let i = 0; i < W; i++) {
          const v = u[at + i]!;
          gws[i] = gws[i]! + v * dy;
          for (let j = 0; j < H; j++) gw1[i * H + j] = gw1[i * H + j]! + v * h1[j]!;
        }
      }
      step++;
      const lr = o.learningRate * (0.1 + 0.45 * (1 + Math.cos((Math.PI * step) / steps)));
      const scale = 1 / (end - start);
      const c1 = 1 - beta1 ** step;
      const c2 = 1 - beta2 ** step;
      for (let p = 0; p < params.length; p++) {
        const P = params[p]!;
        const G = grads[p]!;
        const M = m1[p]!;
        const V = m2[p]!;
        for (let i = 0; i < P.length; i++) {
          const g = G[i]! * scale;
          M[i] = beta1 * M[i]! + (1 - beta1) * g;
          V[i] = beta2 * V[i]! + (1 - beta2) * g * g;
          P[i] = P[i]! - (lr * (M[i]! / c1)) / (Math.sqrt(V[i]! / c2) + 1e-8);
        }
      }
    }
  }

  const weights: NeuralForecastWeights = {
    window: W,
    hidden1: { inputs: W, outputs: H, weights: Float32Array.from(w1), bias: Float32Array.from(b1) },
    hidden2: { inputs: H, outputs: H, weights: Float32Array.from(w2), bias: Float32Array.from(b2) },
    output: { inputs: H, outputs: 1, weights: Float32Array.from(w3), bias: Float32Array.from(b3) },
    skip: Float32Array.from(ws),
    provenance: {},
  };
  const { network, persistence } = validationLosses(weights, validation);
  weights.provenance = {
    trainedBy: 'node --conditions=@cityops/source --import tsx detectors/src/timeseries/train-neural-forecast.ts',
    data: `generated: ${o.trainSeries} series of ${o.seriesLength} points, families ${GENERATED_FAMILIES.join(', ')} (no benchmark data)`,
    options: o,
    loss: 'Huber (δ = 1) on the next value, window-normalised',
    validationLoss: round(network),
    persistenceLoss: round(persistence),
  };
  return { weights, validationLoss: network, persistenceLoss: persistence };
}

function validationLosses(w: NeuralForecastWeights, v: Samples): { network: number; persistence: number } {
  const buf = new Float64Array(w.hidden1.outputs + w.hidden2.outputs);
  let network = 0;
  let persistence = 0;
  for (let n = 0; n < v.count; n++) {
    const t = v.targets[n]!;
    network += huber(forwardRow(w, v.inputs, n * w.window, buf) - t);
    persistence += huber(v.inputs[n * w.window + w.window - 1]! - t);
  }
  return { network: network / v.count, persistence: persistence / v.count };
}

function round(v: number): number {
  return Math.round(v * 1e5) / 1e5;
}
