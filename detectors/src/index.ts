export { DetectorError, type DetectorErrorCode, type DetectorErrorOptions } from './errors.js';
export {
  POINT_STATUS,
  type PointStatus,
  type ScoreDetail,
  type DetectorStats,
  type SeriesScorer,
  type TimeseriesDetector,
  scorerOf,
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
export { BY_CADENCE_DEFAULTS, type ByCadenceConfig } from './timeseries/detector-config.js';
export { CadenceRoutedDetector, BY_CADENCE_VERSION } from './timeseries/cadence-router.js';
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
export type { DetectorRuntimeOptions, PredictionCounts } from './timeseries/timeseries-detector.js';
export { NEURAL_FORECAST_DEFAULTS, type NeuralForecastConfig } from './timeseries/detector-config.js';
export { NeuralForecastDetector, NEURAL_FORECAST_VERSION } from './timeseries/neural-forecast-detector.js';
export {
  loadNeuralForecastWeights,
  buildNeuralForecastOnnx,
  weightsToJson,
  type NeuralForecastWeights,
} from './timeseries/neural-forecast-model.js';
export { trainNeuralForecast, type NeuralForecastTrainingOptions } from './timeseries/neural-forecast-training.js';
export { DEFAULT_PHYSICAL_LINES_BY_KIND, powerLoadLines, physicalLevelOf, type PhysicalLines } from './timeseries/warning-policy.js';
export {
  probeExecutionProviders,
  PROBED_PROVIDERS,
  type ProbedProvider,
  type ProviderProbe,
  type ProbeOptions,
} from './vision/execution-providers.js';
export {
  startVisionWorker,
  type VisionWorker,
  type VisionWorkerConfig,
  type VisionWorkerOptions,
  type CameraStatus,
  type ModelStatus,
} from './vision/vision-worker.js';
export {
  parseVisionModelConfig,
  visionInputLayout,
  parseLabels,
  MODEL_TYPE_DEFAULTS,
  VISION_MODEL_TYPES,
  EXECUTION_PROVIDERS,
  type VisionModelConfig,
  type VisionModelType,
  type VisionInputLayout,
  type ExecutionProvider,
  type LetterboxPlacement,
  type ChannelOrder,
} from './vision/model-config.js';
export {
  laneShape,
  loadVisionModel,
  type VisionModel,
  type VisionFrame,
  type Detection,
  type LoadVisionModelOptions,
} from './vision/vision-model.js';
export { detectorPlugin, type DetectorPlugin, type OutputLayout } from './vision/detector-plugins.js';
export {
  parseCameraVisionConfig,
  RULE_TYPES,
  RULE_DEFAULTS,
  type CameraVisionConfig,
  type RuleConfig,
  type RuleType,
  type ZoneConfig,
  type LineConfig,
  type LevelThresholds,
  type CrossingDirection,
} from './vision/camera-config.js';
export { ByteTracker, TRACKER_DEFAULTS, type Track, type TrackerConfig, type TrackerUpdate } from './vision/byte-tracker.js';
export { CameraRules, VISION_RULES_VERSION, type RuleContext, type RuleOutput } from './vision/event-rules.js';
export { homographyFromPoints, applyHomography, type Homography, type Point } from './vision/geometry.js';
export { maskPrivateRegions, privateRegions, type MaskBox, type PrivacyMaskOptions, type PixelRect } from './vision/privacy-mask.js';
export { buildSyntheticDetectorModel, type SyntheticModelOptions, type SyntheticFormat } from './vision/synthetic-detector-model.js';
export {
  COCO_LABELS,
  DEFAULT_VISION_MODEL_DESCRIPTION,
  DEFAULT_VISION_MODEL_PACKAGE,
  defaultVisionModelConfig,
  defaultVisionModelPath,
} from './vision/default-vision-model.js';
export { readTfjsGraphModel, parseTfjsGraphModel, type TfjsGraphModel, type TfjsNode, type TfjsTensor } from './vision/tfjs-graph-model.js';
export { tfjsToOnnx, tfjsToOnnxGraph, type ConvertedGraph, type TfjsToOnnxOptions } from './vision/tfjs-to-onnx.js';
export { nanodetOnnxFromTfjs, nanodetOnnxFromTfjsFile, type NanodetConversion } from './vision/nanodet-tfjs.js';
