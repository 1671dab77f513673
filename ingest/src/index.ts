/**
 * @cityops/ingest — sources: the HTTP ingest API for sensor readings and market ticks, cameras
 * through ffmpeg, and the demo-city simulator. Everything here validates at the edge and sends
 * what it rejects to the dead-letter topic with the reason.
 */
export { IngestError, type IngestErrorCode, type IngestErrorOptions } from './errors.js';
export {
  ingestReadings,
  ingestTicks,
  DEFAULT_MAX_RECORDS_PER_MESSAGE,
  type BatchExtras,
  type IngestContext,
  type IngestResult,
  type PreRejected,
  type RecordError,
} from './ingest-records.js';
export {
  createIngestHandler,
  DEFAULT_MAX_BODY_BYTES,
  type IngestHandler,
  type IngestHandlerOptions,
  type IngestRejectionBody,
} from './http-ingest.js';
export { locateJsonError, type JsonErrorLocation } from './body-parse.js';
export {
  createDemoCity,
  demoCityGeoJson,
  DEMO_CITY_DEFAULT_SEED,
  type DemoCity,
  type DemoCityGeoJson,
  type DemoCityOptions,
  type DistrictProperties,
  type IndicatorModel,
  type RoadProperties,
  type TrafficStation,
  type WaterProperties,
} from './demo-city/city.js';
export type { Feature, FeatureCollection, LineStringGeometry, PolygonGeometry, Position } from './demo-city/geo.js';
export { INJECTED_KINDS, envelope, type InjectedKind, type PlannedIncident, type SourceEffect } from './demo-city/incidents.js';
export {
  createSimulation,
  type Simulation,
  type SimulationOptions,
  type SimulatedReading,
  type SimulatedTick,
} from './demo-city/simulation.js';
export { runSimulator, dimensionMessages, type RunningSimulator, type SimulatorOptions } from './demo-city/run-simulator.js';
export {
  startCameraSource,
  ffmpegArgs,
  computeLetterbox,
  type CameraSource,
  type CameraSourceOptions,
  type Letterbox,
  type LetterboxPlacement,
} from './camera/input-camera-ffmpeg.js';
