import type {
  Anomaly,
  Area,
  Camera,
  Department,
  DispatchOrder,
  EarlyWarning,
  Incident,
  IncidentEvent,
  Sensor,
  SensorReading,
} from '@cityops/schemas';
import type { RollupPoint } from '@cityops/store';

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
  departments: Department[];
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

/** Every error response. `code` is DashboardError's code. */
export interface ApiErrorBody {
  error: { code: string; message: string };
}
