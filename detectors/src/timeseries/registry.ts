import type { TimeseriesDetectorConfig } from './detector-config.js';
import { parseTimeseriesDetectorConfig } from './detector-config.js';
import { RollingRobustDetector } from './rolling-robust-detector.js';
import { SeasonalRobustDetector } from './seasonal-robust-detector.js';
import { OnlineArDetector } from './online-ar-detector.js';
import { EnsembleDetector } from './ensemble-detector.js';
import { KnnDistanceDetector } from './knn-distance-detector.js';
import { NeuralForecastDetector } from './neural-forecast-detector.js';
import { CadenceRoutedDetector } from './cadence-router.js';
import type { TimeseriesDetector } from './timeseries-detector.js';

/**
 * The plugin registry: a config's `type` chooses the implementation. The switch is exhaustive
 * over the config union, so adding a plugin type without registering it fails to compile.
 */
export function createTimeseriesDetector(config: TimeseriesDetectorConfig | Record<string, unknown> = {}): TimeseriesDetector {
  const parsed = parseTimeseriesDetectorConfig(config);
  switch (parsed.type) {
    case 'rolling-robust-z':
      return new RollingRobustDetector(parsed);
    case 'seasonal-robust':
      return new SeasonalRobustDetector(parsed);
    case 'online-ar':
      return new OnlineArDetector(parsed);
    case 'knn-distance':
      return new KnnDistanceDetector(parsed);
    case 'neural-forecast':
      return new NeuralForecastDetector(parsed);
    case 'ensemble':
      return new EnsembleDetector(parsed);
    case 'by-cadence':
      return new CadenceRoutedDetector(parsed);
  }
}
