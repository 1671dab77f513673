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
  startForecastWorker,
  breachProbability,
  FORECAST_MODEL,
  FORECAST_MODEL_VERSION,
  type ForecastWorkerOptions,
  type ForecastWorkerConfig,
} from './forecast-worker.js';
