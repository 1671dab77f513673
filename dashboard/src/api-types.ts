import type {
  Anomaly,
  Area,
  Camera,
  Department,
  DispatchOrder,
  EarlyWarning,
  Forecast,
  Incident,
  IncidentEvent,
  Indicator,
  MarketTick,
  Sensor,
  SensorReading,
} from '@cityops/schemas';
import type { ReplayAnomaly, ReplayIncidentStep, RollupPoint, StoreQueries } from '@cityops/store';

/*
 * The dashboard's HTTP API, as the wall display (app/) reads it. Bodies are the contracts from
 * @cityops/schemas, wrapped in envelopes; nothing here re-declares a record's fields.
 */

/** GeoJSON (RFC 7946) as far as the basemap needs it: the caller's roads and water layers. */
export type GeoJsonPosition = readonly number[];
export type GeoJsonGeometry =
  | { type: 'Point'; coordinates: GeoJsonPosition }
  | { type: 'MultiPoint'; coordinates: readonly GeoJsonPosition[] }
  | { type: 'LineString'; coordinates: readonly GeoJsonPosition[] }
  | { type: 'MultiLineString'; coordinates: readonly (readonly GeoJsonPosition[])[] }
  | { type: 'Polygon'; coordinates: readonly (readonly GeoJsonPosition[])[] }
  | { type: 'MultiPolygon'; coordinates: readonly (readonly (readonly GeoJsonPosition[])[])[] };
export interface GeoJsonFeature {
  type: 'Feature';
  geometry: GeoJsonGeometry | null;
  // `object`, not a string-keyed record: producers type their properties as interfaces.
  properties: object | null;
  id?: string | number;
}
export interface GeoJsonFeatureCollection {
  type: 'FeatureCollection';
  features: readonly GeoJsonFeature[];
}

/** The project's own basemap: no tiles are fetched at run time (no network beyond the platform). */
export interface Basemap {
  roads: GeoJsonFeatureCollection;
  water: GeoJsonFeatureCollection;
}

/** GET /api/city — what exists: areas (with their GeoJSON geometry text), sensors, cameras, departments. */
export interface CityResponse {
  areas: Area[];
  sensors: Sensor[];
  cameras: Camera[];
  /** With their station (`lon`, `lat`) and field `units` where the record has them. */
  departments: Department[];
  /** The on-premises raster tile server to draw under the basemap (CITYOPS_TILE_URL); null when none is configured. */
  tiles: WallTileServer | null;
}

/** What the wall needs to draw an XYZ raster tile server. */
export interface WallTileServer {
  /** XYZ template with {z}, {x}, {y}, e.g. `http://tiles.ops.local/{z}/{x}/{y}.png`. */
  url: string;
  /** Shown small in a corner of the map; '' for none. */
  attribution: string;
  /** Highest zoom level the server has tiles for. */
  max_zoom: number;
}

/** GET /api/sensors/latest */
export interface LatestReadingsResponse {
  readings: SensorReading[];
}

/** GET /api/warnings?limit= — newest first. */
export interface WarningsResponse {
  warnings: EarlyWarning[];
}

/** GET /api/anomalies?limit=&since= — newest first. */
export interface AnomaliesResponse {
  anomalies: Anomaly[];
}

/** GET /api/incidents?limit=&status= — latest revision of each, newest first. */
export interface IncidentsResponse {
  incidents: Incident[];
}

/** GET /api/incidents/:id/events — the audit trail of one incident. */
export interface IncidentEventsResponse {
  incident_id: string;
  events: IncidentEvent[];
}

/** GET /api/dispatches?limit= — newest first. */
export interface DispatchesResponse {
  dispatches: DispatchOrder[];
}

/** GET /api/sensors/:id/series?from=&to= — per-minute rollup. */
export interface SensorSeriesResponse {
  sensor_id: string;
  from: number;
  to: number;
  points: RollupPoint[];
}

/** GET /api/indicators — the market and economic indicators, with their risk thresholds. */
export interface IndicatorsResponse {
  indicators: Indicator[];
}

/** GET /api/indicators/:id/ticks?from=&to= — realised values in [from, to), oldest first. */
export interface IndicatorTicksResponse {
  indicator_id: string;
  from: number;
  to: number;
  ticks: MarketTick[];
}

/**
 * GET /api/indicators/:id/forecasts?from=&to=&limit= — forecast steps whose target time lies in
 * [from, to), by target time then issue time; each carries its 95% interval and breach probability.
 */
export interface IndicatorForecastsResponse {
  indicator_id: string;
  from: number;
  to: number;
  forecasts: Forecast[];
}

/** GET /api/indicators/:id/warnings?from=&to=&limit= — the market warnings on the indicator, newest first. */
export interface IndicatorWarningsResponse {
  indicator_id: string;
  from: number;
  to: number;
  warnings: EarlyWarning[];
}

/** One model's forecast-vs-actual record on one indicator (the store's row) and the match tolerance used. */
export type ForecastTrackRecordRow = Awaited<ReturnType<StoreQueries['forecastTrackRecord']>>[number] & {
  /** A forecast is scored against the tick nearest its target time, at most this far away (half the indicator's tick interval). */
  tolerance_ms: number;
};

/**
 * GET /api/forecast-track-record?indicator_id=&from=&to= — per indicator and model, the forecasts
 * whose target time lies in [from, to) and has passed (`to` is clamped to now).
 */
export interface ForecastTrackRecordResponse {
  from: number;
  to: number;
  records: ForecastTrackRecordRow[];
}

/** One indicator's newest forecast path on the wall, with the realised values just before it. */
export interface WallForecast {
  indicator: Indicator;
  /** The highest breach probability along `path`: what the indicators are ranked by. */
  peak_breach_probability: number;
  /**
   * The newest issue's steps (by horizon step) of the model whose path peaks highest when several
   * models issued at that time: the wall shows the worst case it was warned of.
   */
  path: Forecast[];
  /** Realised values from as long before the issue time as the path reaches after it, up to now, oldest first. */
  ticks: MarketTick[];
}

/**
 * GET /api/wall/forecasts?limit= — the wall's risk-forecast view (city:read, so a wall display may
 * read it): the indicators whose newest forecast (issued in the last WALL_FORECAST_MAX_AGE_MS) has
 * the highest breach probability, highest first, at most `limit` (1…12, default 4).
 */
export interface WallForecastsResponse {
  generated_at: number;
  forecasts: WallForecast[];
}

/**
 * GET /api/replay?from=&to=&step_ms= — the city over a past window for the wall's time slider:
 * frame k covers [from + k·step_ms, from + (k+1)·step_ms). Sensor values come from the
 * per-minute rollups (parallel arrays, `sensor` indexing `sensor_ids`); anomalies start
 * `anomaly_lookback_ms` and warnings `warning_lookback_ms` before `from`, so the first frame
 * shows what was already anomalous or shaded; incidents are their latest revision with the
 * lifecycle steps that say which status each had when.
 */
export interface ReplayResponse {
  from: number;
  to: number;
  step_ms: number;
  frames: number;
  anomaly_lookback_ms: number;
  warning_lookback_ms: number;
  sensors: { sensor_ids: string[]; frame: number[]; sensor: number[]; avg: number[]; count: number[] };
  anomalies: ReplayAnomaly[];
  warnings: EarlyWarning[];
  incidents: Incident[];
  incident_steps: ReplayIncidentStep[];
}

/** Every error response. `code` is DashboardError's code. */
export interface ApiErrorBody {
  error: { code: string; message: string };
}
