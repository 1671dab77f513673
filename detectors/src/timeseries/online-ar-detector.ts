import type { OnlineArConfig } from './detector-config.js';
import { ONLINE_AR_DEFAULTS } from './detector-config.js';
import { LIKELIHOOD_STRIDE, likelihoodStep, likelihoodOptionsOf, calibratedProbability } from './likelihood.js';
import type { LikelihoodOptions } from './likelihood.js';
import { refractoryStep } from './refractory.js';
import { StreamingDetector } from './streaming-detector.js';

/**
 * Online autoregressive detector: the learned member of the ensemble, and a plugin of its own.
 *
 * Each series learns, online and without labels, a linear model of its next normalised value
 * u_t = (x_t − μ) / σ from the last `lags` values and its time-of-day profile:
 *
 *     û_t = θ · φ_t,   φ_t = [1, u_{t−1}, …, u_{t−p}, profile(t)]
 *
 * θ is fitted by recursive least squares with exponential forgetting λ (Haykin, "Adaptive Filter
 * Theory", ch. 10): each point costs O(F²) for F = p + 2 features and the fit tracks a series
 * whose dynamics drift, with an effective memory of 1 / (1 − λ) points. μ and σ are slow EWMAs,
 * so one set of RLS settings fits series of any unit and level. The prediction error over its
 * running mean absolute error is the point's surprise, and the surprise goes through the same
 * anomaly likelihood and refractory step as the statistical member.
 *
 * Where the statistical member asks "is this value unusual for this time of day", this one asks
 * "does this value break the series' short-term dynamics" — a spike against a smooth trajectory,
 * an oscillation that changes frequency — which is why the two disagree usefully.
 *
 * Numerical care: with λ < 1 and inputs that stop varying (a flat series), P = (ΦᵀΛΦ)⁻¹ grows
 * without bound ("covariance wind-up"); its trace is capped, which bounds the gain.
 */

export const ONLINE_AR_VERSION = '1.0.0';

const MAE_TO_SIGMA = 1.2533141373155003;
const DAY_MS = 86_400_000;
/** Bins of the normalised time-of-day profile fed to the model (30 minutes). */
const PROFILE_BINS = 48;
/** Upper bound on trace(P) per feature; see wind-up above. */
const MAX_TRACE_PER_FEATURE = 1e4;
/** Points before the model starts fitting: the normalising μ and σ must mean something first. */
const NORM_WARMUP_POINTS = 32;
/** Normalised inputs are clipped to ±this. */
const MAX_ABS_INPUT = 20;

export function onlineArFields(lags: number) {
  const features = lags + 2;
  return {
    mean: { stride: 1, kind: 'f64', init: 0 },
    spread: { stride: 1, kind: 'f64', init: Number.NaN },
    /** Last `lags` normalised values, newest first. */
    history: { stride: lags, kind: 'f64', init: 0 },
    profile: { stride: PROFILE_BINS, kind: 'f32', init: 0 },
    theta: { stride: features, kind: 'f64', init: 0 },
    /** RLS inverse correlation matrix P (features × features), row-major. */
    cov: { stride: features * features, kind: 'f64', init: 0 },
    mae: { stride: 1, kind: 'f64', init: Number.NaN },
    likelihood: { stride: LIKELIHOOD_STRIDE, kind: 'f64', init: 0 },
    peak: { stride: 1, kind: 'f64', init: 0 },
  } as const;
}

export class OnlineArDetector extends StreamingDetector<ReturnType<typeof onlineArFields>> {
  readonly type = 'online-ar';
  readonly version = ONLINE_AR_VERSION;
  readonly threshold: number;
  readonly config: Readonly<OnlineArConfig>;
  private readonly features: number;
  private readonly likelihoodOptions: LikelihoodOptions;
  /** Scratch: φ and Pφ of the current point. */
  private readonly phi: Float64Array;
  private readonly pphi: Float64Array;

  constructor(config: Readonly<OnlineArConfig> = ONLINE_AR_DEFAULTS, initialCapacity = 64) {
    super(onlineArFields(config.lags), config.maxGapMs, config.scaleFloor, initialCapacity);
    this.config = config;
    this.threshold = config.threshold;
    this.features = config.lags + 2;
    this.phi = new Float64Array(this.features);
    this.pphi = new Float64Array(this.features);
    this.likelihoodOptions = likelihoodOptionsOf(config);
  }

  protected configJson(): string {
    return JSON.stringify(this.config);
  }

  probability(score: number): number {
    return calibratedProbability(score);
  }

  describe(): string {
    return `online AR(${this.config.lags}) + time-of-day, fitted by recursive least squares per series; prediction error through the anomaly likelihood (threshold ${this.threshold})`;
  }

  /** The model's weights θ of one series (a copy), e.g. for inspection or a batched forward pass. */
  weights(series: number): Float64Array {
    this.state.checkSeries(series);
    const f = this.features;
    return this.state.fields.theta.slice(series * f, (series + 1) * f);
  }

  scorePoint(s: number, x: number, t: number): number {
    const c = this.config;
    const st = this.state.fields;
    const o = this.outcome;
    const n = st.accepted[s]!;
    const f = this.features;
    const p = c.lags;
    const meanArr = st.mean;
    const spreadArr = st.spread;
    const hist = st.history;
    const profile = st.profile;
    const theta = st.theta;
    const cov = st.cov;
    const maeArr = st.mae;

    // Normalisation: a slow mean and mean absolute deviation, starting as running averages.
    const wNorm = 1 / n > c.normAlpha ? 1 / n : c.normAlpha;
    const mu = meanArr[s]!;
    let sigma = spreadArr[s]!;
    const floor = st.floor[s]!;
    if (n === 1) {
      meanArr[s] = x;
      spreadArr[s] = 0;
      const cb = s * f * f;
      for (let i = 0; i < f; i++) cov[cb + i * f + i] = c.initialCovariance;
      o.expected = Number.NaN;
      o.scale = Number.NaN;
      o.raw = Number.NaN;
      o.stuck = false;
      return Number.NaN;
    }
    let sd = MAE_TO_SIGMA * sigma;
    const rel = 1e-4 * (mu < 0 ? -mu : mu);
    if (sd < floor) sd = floor;
    if (sd < rel) sd = rel;
    // Clipped: while μ and σ are young (or after a shift) u can be huge, and one huge input
    // collapses P along its direction for ~1/(1 − λ) points.
    let u = (x - mu) / sd;
    if (u > MAX_ABS_INPUT) u = MAX_ABS_INPUT;
    else if (u < -MAX_ABS_INPUT) u = -MAX_ABS_INPUT;

    // Features and forward pass.
    const phi = this.phi;
    const hb = s * p;
    const bin = s * PROFILE_BINS + Math.floor(((((t % DAY_MS) + DAY_MS) % DAY_MS) * PROFILE_BINS) / DAY_MS);
    phi[0] = 1;
    for (let k = 0; k < p; k++) phi[k + 1] = hist[hb + k]!;
    phi[p + 1] = profile[bin]!;
    const tb = s * f;
    let pred = 0;
    for (let k = 0; k < f; k++) pred += theta[tb + k]! * phi[k]!;
    const e = u - pred;

    // Surprise: error over its running mean absolute error (in normalised units).
    let errScale = MAE_TO_SIGMA * (maeArr[s]! === maeArr[s]! ? maeArr[s] : 1);
    if (errScale < c.minErrorScale) errScale = c.minErrorScale;
    const z = e / errScale;
    const az = z < 0 ? -z : z;
    const surprise = az < c.surpriseCap ? az : c.surpriseCap;
    const raw = likelihoodStep(st.likelihood, s * LIKELIHOOD_STRIDE, surprise, this.likelihoodOptions);
    o.raw = raw;
    const score = refractoryStep(st.peak, s, raw, c.refractoryDecay, c.suppressedFactor, this.threshold);

    // Learn: RLS on the winsorised error, so one outlier does not swing the fit.
    const clip = c.surpriseCap * errScale;
    const eFit = e > clip ? clip : e < -clip ? -clip : e;
    if (n > NORM_WARMUP_POINTS) this.fit(s * f * f, tb, eFit);
    const ae = e < 0 ? -e : e;
    const m = maeArr[s]!;
    const wErr = n - 1 < 1 / c.scaleAlpha ? 1 / (n - 1) : c.scaleAlpha;
    maeArr[s] = m === m ? m + wErr * ((ae > clip ? clip : ae) - m) : ae;
    for (let k = p - 1; k > 0; k--) hist[hb + k] = hist[hb + k - 1]!;
    if (p > 0) hist[hb] = u;
    profile[bin] = profile[bin]! + c.profileAlpha * (u - profile[bin]!);
    const dev = x - mu < 0 ? mu - x : x - mu;
    sigma = sigma + wNorm * (dev - sigma);
    spreadArr[s] = sigma;
    meanArr[s] = mu + wNorm * (x - mu);

    o.expected = mu + pred * sd;
    o.scale = errScale * sd;
    o.stuck = false;
    if (n <= c.warmupPoints) return Number.NaN;
    return z < 0 ? -score : score;
  }

  /** One RLS step on the current φ (in this.phi) with error e: θ += P φ e / (λ + φᵀPφ); P ← (P − gφᵀP) / λ. */
  private fit(cb: number, tb: number, e: number): void {
    const f = this.features;
    const lambda = this.config.forgetting;
    const pphi = this.pphi;
    const phi = this.phi;
    const cov = this.state.fields.cov;
    const theta = this.state.fields.theta;
    let denom = lambda;
    for (let i = 0; i < f; i++) {
      let acc = 0;
      for (let j = 0; j < f; j++) acc += cov[cb + i * f + j]! * phi[j]!;
      pphi[i] = acc;
      denom += phi[i]! * acc;
    }
    const inv = 1 / denom;
    let trace = 0;
    for (let i = 0; i < f; i++) {
      const gain = pphi[i]! * inv;
      theta[tb + i] = theta[tb + i]! + gain * e;
      for (let j = 0; j < f; j++) {
        // P is symmetric, so φᵀP = (Pφ)ᵀ.
        const v = (cov[cb + i * f + j]! - gain * pphi[j]!) / lambda;
        cov[cb + i * f + j] = v;
      }
      trace += cov[cb + i * f + i]!;
    }
    if (trace > MAX_TRACE_PER_FEATURE * f) {
      const shrink = (MAX_TRACE_PER_FEATURE * f) / trace;
      for (let i = 0; i < f * f; i++) cov[cb + i] = cov[cb + i]! * shrink;
    }
  }
}
