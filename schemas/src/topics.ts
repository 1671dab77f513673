/**
 * Topic names are part of the contract: outside producers and the Kafka topic config in infra/
 * use the same strings.
 */
export const TOPICS = {
  cameraFrames: 'camera.frames',
  sensorReadings: 'sensor.readings',
  marketTicks: 'market.ticks',
  visionDetections: 'vision.detections',
  /** Masked PNG snapshots, the evidence of camera warnings (binary value, header beside it). */
  visionSnapshots: 'vision.snapshots',
  anomalies: 'anomalies',
  forecasts: 'forecasts',
  warnings: 'warnings',
  /** Ends of warning episodes (WarningCleared), keyed by source: the all-clear incidents verify with. */
  warningsCleared: 'warnings.cleared',
  incidents: 'incidents',
  incidentEvents: 'incident.events',
  dispatches: 'dispatches',
  deadLetters: 'dlq',
  /**
   * What exists in the city (areas, sensors, cameras, indicators, departments), keyed by id.
   * Compacted in Kafka: a worker reads it from the beginning to build its lookup tables.
   */
  dimensions: 'city.dimensions',
  /** The simulator's labelled ground truth, so detection delay and recall can be measured. */
  groundTruth: 'simulator.ground_truth',
} as const;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

/**
 * Default partition counts. Readings and frames are the hot topics and are keyed per sensor /
 * camera, so they get more partitions to spread across replicas; the rest are low-volume.
 */
export const DEFAULT_PARTITIONS: Readonly<Record<TopicName, number>> = {
  'camera.frames': 8,
  'sensor.readings': 8,
  'market.ticks': 4,
  'vision.detections': 4,
  'vision.snapshots': 4,
  anomalies: 4,
  forecasts: 4,
  warnings: 2,
  'warnings.cleared': 2,
  incidents: 2,
  'incident.events': 2,
  dispatches: 2,
  dlq: 1,
  'city.dimensions': 1,
  'simulator.ground_truth': 1,
};
