export { ForecastError, type ForecastErrorCode, type ForecastErrorOptions } from './errors.js';
export { normalCdf, normalQuantile } from './normal.js';
export {
  SeasonalNaiveForecaster,
  SEASONAL_NAIVE_DEFAULTS,
  SEASON_LENGTH_BY_FREQUENCY,
  STEP_MS_BY_FREQUENCY,
  FORECAST_METHOD,
  orderStatisticInPlace,
  type ForecastMethod,
  type ForecastOutput,
  type Frequency,
  type SeasonalNaiveOptions,
} from './seasonal-naive.js';
export { DEFAULT_MOVE_POLICY, DEFAULT_BREACH_LEVELS, CoolDown, type MovePolicy } from './warning-lines.js';
export {
  CoMovementMonitor,
  DEFAULT_CO_MOVEMENT_POLICY,
  validateCoMovementPolicy,
  type CoMovementBreak,
  type CoMovementPolicy,
} from './co-movement.js';
export {
  startForecastWorker,
  breachProbability,
  FORECAST_MODEL,
  FORECAST_MODEL_VERSION,
  type ForecastWorkerOptions,
  type ForecastWorkerConfig,
} from './forecast-worker.js';
export { autocorrelations, isSeasonal, classicalSeasonalIndices, seasonalAdjust, type SeasonalAdjustment } from './seasonality.js';
export { smape, mase, maseScale, msis, coverage, owa, scoreAll, type Scores } from './m4-metrics.js';
export { nelderMead, NELDER_MEAD_DEFAULTS, type NelderMeadOptions, type Minimum } from './nelder-mead.js';
export { fitSes, sesAt, sesLevels, type SesFit } from './ses.js';
export { fitTheta, thetaForecast, linearTrend, type ThetaFit } from './theta.js';
export {
  selectEts,
  fitEts,
  etsSpecs,
  specName,
  etsStates,
  etsForecast,
  etsOnWindow,
  type EtsSpec,
  type EtsFit,
  type EtsStates,
  type EtsOptions,
  type EtsError,
  type EtsTrend,
  type EtsSeason,
} from './ets.js';
export { trainGlobalLinear, forecastGlobalLinear, type GlobalLinearModel, type GlobalLinearOptions } from './global-linear.js';
export {
  trainGlobalMlp,
  forecastGlobalMlp,
  globalMlpInputs,
  globalMlpNetOutputs,
  globalMlpNetWeights,
  combineGlobalMlpOutputs,
  type GlobalMlpInputs,
  type GlobalMlpNetWeights,
  type GlobalMlpModel,
  type GlobalMlpNet,
  type GlobalMlpOptions,
  type GlobalMlpNetOptions,
} from './global-mlp.js';
export { GlobalMlpSession, globalMlpOnnxGraph, type GlobalMlpSessionOptions } from './global-mlp-onnx.js';
export {
  scaledErrorQuantiles,
  seriesScale,
  applyScaledQuantiles,
  intervalScale,
  type ScaledQuantiles,
  type IntervalScale,
} from './intervals.js';
export {
  ENSEMBLE_MEMBERS,
  trainEnsemble,
  parseEnsembleModel,
  memberForecasts,
  globalForecast,
  combine,
  forecastEnsemble,
  forecastOne,
  globalApplies,
  openGlobalMember,
  type ForecastEnsembleOptions,
  type GlobalMemberRunner,
  type EnsembleMember,
  type EnsembleModel,
  type EnsembleTrainOptions,
  type EnsembleBatchOutput,
  type GlobalModel,
  type GlobalMemberOptions,
  type MemberForecasts,
  type MemberCache,
} from './ensemble.js';
export {
  EnsembleForecaster,
  ENSEMBLE_FORECASTER_DEFAULTS,
  FORECAST_METHOD_ENSEMBLE,
  type EnsembleForecasterOptions,
} from './ensemble-forecaster.js';
export { BUILTIN_ENSEMBLE_MODEL_FILE, builtinEnsembleModelPath, readEnsembleModelFile } from './model-file.js';
