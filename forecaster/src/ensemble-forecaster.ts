import { ForecastError } from './errors.js';
import {
  forecastOne,
  globalApplies,
  openGlobalMember,
  parseEnsembleModel,
  type EnsembleModel,
  type GlobalMemberRunner,
  type MemberCache,
} from './ensemble.js';
import type { GlobalMlpSessionOptions } from './global-mlp-onnx.js';
import { FORECAST_METHOD, type ForecastOutput } from './seasonal-naive.js';

/**
 * The ensemble behind the same streaming interface as SeasonalNaiveForecaster (register, push,
 * forecast a batch), so the forecast worker can run either. Per indicator it keeps a ring of the
 * last `historyCapacity` observations and its fitted ETS model; the AICc selection (15 models by
 * simplex) runs again only every `refitEveryObservations` new observations — in between the
 * cached model is re-filtered over the current window, O(n) — because refitting on every
 * forecast would cost ~25 ms per indicator. Theta is refitted each time (two passes).
 */

export interface EnsembleForecasterOptions {
  /** Observations kept per indicator. Default 512. */
  historyCapacity: number;
  /** New observations after which ETS is selected and fitted again. Default 240. */
  refitEveryObservations: number;
  /** Simplex evaluations per ETS candidate. Default 200. */
  etsMaxEvaluations: number;
  /** Fewer observations than this: no forecast. Default 8. */
  minHistory: number;
}

export const ENSEMBLE_FORECASTER_DEFAULTS: Readonly<EnsembleForecasterOptions> = {
  historyCapacity: 512,
  refitEveryObservations: 240,
  etsMaxEvaluations: 200,
  minHistory: 8,
};

export const FORECAST_METHOD_ENSEMBLE = 3;

export class EnsembleForecaster {
  readonly options: Readonly<EnsembleForecasterOptions>;
  readonly model: EnsembleModel;
  private readonly histories: Float64Array[] = [];
  private readonly counts: number[] = [];
  private readonly seen: number[] = [];
  private readonly seasons: number[] = [];
  private readonly caches: (MemberCache | undefined)[] = [];

  /** Opens the global member's runner (ONNX Runtime for the nets) on the given providers. */
  static async open(
    model: EnsembleModel,
    options: Partial<EnsembleForecasterOptions> = {},
    runtime: GlobalMlpSessionOptions = {},
  ): Promise<EnsembleForecaster> {
    const checked = parseEnsembleModel(model);
    return new EnsembleForecaster(checked, options, await openGlobalMember(checked, runtime));
  }

  /** Where the global member runs ('cpu', 'cuda', …; 'ts' for the linear model), or null without one. */
  get globalProvider(): string | null {
    return this.runner?.provider ?? null;
  }

  /** Prefer `open`; `runner` must be the model's (openGlobalMember), null when it has no global member. */
  constructor(
    model: EnsembleModel,
    options: Partial<EnsembleForecasterOptions>,
    private readonly runner: GlobalMemberRunner | null,
  ) {
    this.model = parseEnsembleModel(model);
    if (runner === null && this.model.global !== null && this.model.weights.global > 0) {
      throw new ForecastError('invalid-argument', `expected a runner for the global member of model ${this.model.version}; got none`);
    }
    this.options = { ...ENSEMBLE_FORECASTER_DEFAULTS, ...options };
    const o = this.options;
    if (!(Number.isInteger(o.historyCapacity) && o.historyCapacity >= 8)) {
      throw new ForecastError('invalid-config', `'historyCapacity': expected a whole number ≥ 8; got ${o.historyCapacity}`);
    }
    if (!(Number.isInteger(o.refitEveryObservations) && o.refitEveryObservations >= 1)) {
      throw new ForecastError('invalid-config', `'refitEveryObservations': expected a whole number ≥ 1; got ${o.refitEveryObservations}`);
    }
  }

  get indicatorCount(): number {
    return this.histories.length;
  }

  addIndicator(seasonLength: number): number {
    this.checkSeason(seasonLength);
    this.histories.push(new Float64Array(this.options.historyCapacity));
    this.counts.push(0);
    this.seen.push(0);
    this.seasons.push(seasonLength);
    this.caches.push(undefined);
    return this.histories.length - 1;
  }

  setSeasonLength(indicator: number, seasonLength: number): void {
    this.checkIndicator(indicator);
    this.checkSeason(seasonLength);
    if (this.seasons[indicator] !== seasonLength) this.caches[indicator] = undefined;
    this.seasons[indicator] = seasonLength;
  }

  seasonLength(indicator: number): number {
    this.checkIndicator(indicator);
    return this.seasons[indicator]!;
  }

  push(indicator: number, value: number): void {
    this.checkIndicator(indicator);
    if (!Number.isFinite(value)) {
      throw new ForecastError('invalid-argument', `expected a finite observation for indicator ${indicator}; got ${value}`);
    }
    const h = this.histories[indicator]!;
    const n = this.counts[indicator]!;
    // Kept in time order; when full, shift by a quarter so the copy is amortised.
    if (n === h.length) {
      const drop = h.length >> 2;
      h.copyWithin(0, drop);
      this.counts[indicator] = n - drop;
    }
    h[this.counts[indicator]!] = value;
    this.counts[indicator] = this.counts[indicator]! + 1;
    this.seen[indicator] = this.seen[indicator]! + 1;
  }

  /**
   * Same contract as SeasonalNaiveForecaster.forecastBatch (method is FORECAST_METHOD_ENSEMBLE or
   * none), asynchronous: the global member's run for all due indicators is one session call.
   * Pushes must wait for it to settle.
   */
  async forecastBatch(indices: Int32Array, horizon: number, out: ForecastOutput): Promise<void> {
    if (!Number.isInteger(horizon) || horizon < 1)
      throw new ForecastError('invalid-argument', `expected a whole horizon ≥ 1; got ${horizon}`);
    for (let j = 0; j < indices.length; j++) this.checkIndicator(indices[j]!);
    const globalRows: number[] = [];
    const globalSeries: Float64Array[] = [];
    for (let j = 0; j < indices.length; j++) {
      const i = indices[j]!;
      const n = this.counts[i]!;
      if (n >= this.options.minHistory && this.runner !== null && globalApplies(this.model, this.seasons[i]!, horizon)) {
        globalRows.push(j);
        globalSeries.push(this.histories[i]!.subarray(0, n));
      }
    }
    const global = new Float64Array(globalRows.length * horizon);
    if (this.runner !== null && globalRows.length > 0) await this.runner.forecast(globalSeries, horizon, global);
    let next = 0;
    for (let j = 0; j < indices.length; j++) {
      const i = indices[j]!;
      const n = this.counts[i]!;
      const row = j * horizon;
      if (n < this.options.minHistory) {
        out.method[j] = FORECAST_METHOD.none;
        out.mean.fill(Number.NaN, row, row + horizon);
        out.lower.fill(Number.NaN, row, row + horizon);
        out.upper.fill(Number.NaN, row, row + horizon);
        continue;
      }
      let globalPath: Float64Array | null = null;
      if (globalRows[next] === j) {
        globalPath = global.subarray(next * horizon, (next + 1) * horizon);
        next++;
      }
      const y = this.histories[i]!.subarray(0, n);
      const cache = this.caches[i];
      const refit = cache === undefined || this.seen[i]! - cache.fittedAt >= this.options.refitEveryObservations;
      this.caches[i] = forecastOne(
        this.model,
        y,
        this.seasons[i]!,
        horizon,
        cache,
        refit,
        this.seen[i]!,
        out,
        row,
        globalPath,
        this.options.etsMaxEvaluations,
      );
      out.method[j] = FORECAST_METHOD_ENSEMBLE;
    }
  }

  /** Ends the global member's session. */
  async release(): Promise<void> {
    await this.runner?.release();
  }

  private checkIndicator(indicator: number): void {
    if (!(Number.isInteger(indicator) && indicator >= 0 && indicator < this.histories.length)) {
      throw new ForecastError(
        'invalid-argument',
        `expected an indicator index 0…${this.histories.length - 1} (from addIndicator); got ${indicator}`,
      );
    }
  }

  private checkSeason(m: number): void {
    const max = Math.floor((this.options.historyCapacity - 2) / 2);
    if (!Number.isInteger(m) || m < 1 || m > max) {
      throw new ForecastError(
        'invalid-argument',
        `expected a season length 1…${max} (historyCapacity ${this.options.historyCapacity} holds two seasons); got ${m}`,
      );
    }
  }
}
