export { DetectorError, type DetectorErrorCode, type DetectorErrorOptions } from './errors.js';
export {
  POINT_STATUS,
  type PointStatus,
  type ScoreDetail,
  type DetectorStats,
  type TimeseriesDetector,
} from './timeseries/timeseries-detector.js';
export {
  ROLLING_ROBUST_Z_DEFAULTS,
  parseTimeseriesDetectorConfig,
  type RollingRobustZConfig,
  type TimeseriesDetectorConfig,
  type TimeseriesDetectorType,
} from './timeseries/detector-config.js';
export { RollingRobustDetector, ROLLING_ROBUST_Z_VERSION, MAD_TO_SIGMA } from './timeseries/rolling-robust-detector.js';
export { createTimeseriesDetector } from './timeseries/registry.js';
export {
  DEFAULT_WARNING_POLICY,
  EVENT_BY_KIND,
  levelFor,
  type Direction,
  type LevelLine,
  type WarningPolicy,
} from './timeseries/warning-policy.js';
export { EpisodeTracker, eventFor, type EpisodeDecision, type ObservedPoint } from './timeseries/episode-tracker.js';
export {
  startAnomalyWorker,
  DEFAULT_SCALE_FLOOR_BY_KIND,
  type AnomalyWorkerOptions,
  type AnomalyWorkerConfig,
} from './timeseries/anomaly-worker.js';
export {
  probeExecutionProviders,
  PROBED_PROVIDERS,
  type ProbedProvider,
  type ProviderProbe,
  type ProbeOptions,
} from './vision/execution-providers.js';
