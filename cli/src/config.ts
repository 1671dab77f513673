import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { tileServerFromEnv, type TileServerConfig } from '@cityops/dashboard';
import { parseTimeseriesDetectorConfig, type TimeseriesDetectorConfig } from '@cityops/detectors';

/** The roles `cityops <role>` runs. `all` is everything in one process (the embedded default). */
export const ROLES = [
  'all',
  'ingest',
  'vision',
  'anomaly',
  'forecast',
  'incidents',
  'sink',
  'dashboard',
  'migrate',
  'doctor',
  'replay',
] as const;
export type Role = (typeof ROLES)[number];

/**
 * Everything the process is configured with. Environment variables are read here, once, at the
 * entry point; components get typed options.
 */
export interface CityOpsConfig {
  role: Role;
  /** HTTP port for the dashboard, ingest API and /api/health. `PORT`, default 3000. */
  port: number;
  /** Where embedded ClickHouse keeps its data. `CITYOPS_DATA_DIR`, default ./data. */
  dataDir: string;
  /** Kafka bootstrap brokers; empty means the in-process bus. `KAFKA_BROKERS` (comma-separated). */
  kafkaBrokers: string[];
  /** ClickHouse server URL; empty means embedded chDB. `CLICKHOUSE_URL`. */
  clickhouseUrl: string;
  clickhouseUser: string;
  clickhousePassword: string;
  clickhouseDatabase: string;
  /** Ingest API key; generated and printed at start when `CITYOPS_API_KEY` is unset. */
  apiKey: string;
  apiKeyGenerated: boolean;
  /** Run the demo-city simulator (`CITYOPS_SIMULATOR`, default on for `all`, off otherwise). */
  simulator: boolean;
  /** Simulated time runs this many times faster than real time (`CITYOPS_SIM_SPEEDUP`, default 1). */
  simulatorSpeedup: number;
  /** ffmpeg binary (`FFMPEG_PATH`, default `ffmpeg` on PATH). */
  ffmpegPath: string;
  /** Responsibility table file (`CITYOPS_RESPONSIBILITY_FILE`; default `<dataDir>/responsibility.yaml`, seeded from the shipped demo table). */
  responsibilityFile: string;
  /** Mark the session cookie `Secure`: set when users reach the platform over https (`CITYOPS_SECURE_COOKIES=1`, default off). */
  secureCookies: boolean;
  /** Take client addresses from X-Forwarded-For (a reverse proxy in front; `CITYOPS_TRUST_PROXY=1`, default off). */
  trustProxy: boolean;
  /**
   * The first administrator's password, used only when no account exists yet
   * (`CITYOPS_ADMIN_PASSWORD`, for automated installs). Unset (the default): a one-time password
   * is generated and printed once, and must be changed at first login.
   */
  adminPassword: string;
  /**
   * Vision: a JSON file with `models` (by name, see the detectors package's VisionModelConfig),
   * `cameras` (zones, rules, homography) and `sources` (camera id, url, fps) for the ffmpeg camera
   * sources (`CITYOPS_VISION_CONFIG`). Unset (or no `models`): the built-in default model
   * (NanoDet-g COCO, converted from the TF.js model in node_modules) on every camera seen.
   */
  visionConfigFile: string;
  /**
   * The forecaster's trained ensemble (`CITYOPS_FORECAST_MODEL`): a model file from
   * `npm run train:m4`, 'builtin' (default: the model shipped in forecaster/models) or
   * 'seasonal-naive' for the first simple forecaster.
   */
  forecastModel: string;
  /**
   * ONNX Runtime execution providers for the forecaster's networks, in order of preference
   * (`CITYOPS_FORECAST_PROVIDERS`, comma-separated, e.g. `cuda,cpu`; default `cpu`). One that
   * cannot start is logged and skipped; cpu is always the last resort.
   */
  forecastProviders: string[];
  /**
   * The anomaly worker's detector (`CITYOPS_ANOMALY_DETECTOR`): a plugin type — `by-cadence` (the
   * default: the robust z for sensors reporting more often than every 2 minutes, the ensemble for
   * the rest), `rolling-robust-z`, `ensemble`, `seasonal-robust`, `online-ar`, `knn-distance` — or
   * a JSON detector config such as `{"type":"ensemble","threshold":0.6}`. Checked at start.
   */
  anomalyDetector: TimeseriesDetectorConfig;
  /** Signed webhooks for incident events: a JSON array of {url, secret, types?, departmentIds?} (`CITYOPS_WEBHOOKS`). */
  webhooks: { url: string; secret: string; types?: string[]; departmentIds?: string[] }[];
  /**
   * An on-premises XYZ raster tile server drawn under the wall's own basemap (`CITYOPS_TILE_URL`,
   * `CITYOPS_TILE_ATTRIBUTION`, `CITYOPS_TILE_MAX_ZOOM`); null (the default) draws the basemap only.
   */
  tiles: TileServerConfig | null;
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  readonly retriable = false;
}

export function readConfig(argv: readonly string[], env: NodeJS.ProcessEnv): CityOpsConfig {
  const roleArg = argv.find((a) => !a.startsWith('-')) ?? 'all';
  if (!(ROLES as readonly string[]).includes(roleArg)) {
    throw new ConfigError(`expected a role, one of ${ROLES.join(', ')}; got '${roleArg}'`);
  }
  const role = roleArg as Role;
  const port = env.PORT === undefined || env.PORT === '' ? 3000 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`expected PORT to be a TCP port 0…65535; got '${env.PORT}'`);
  }
  const speedup = env.CITYOPS_SIM_SPEEDUP ? Number(env.CITYOPS_SIM_SPEEDUP) : 1;
  if (!Number.isFinite(speedup) || speedup <= 0) {
    throw new ConfigError(`expected CITYOPS_SIM_SPEEDUP to be a positive number; got '${env.CITYOPS_SIM_SPEEDUP}'`);
  }
  const apiKey = env.CITYOPS_API_KEY ?? '';
  const adminPassword = env.CITYOPS_ADMIN_PASSWORD ?? '';
  if (adminPassword !== '' && adminPassword.length < 12) {
    throw new ConfigError(
      `expected CITYOPS_ADMIN_PASSWORD to have at least 12 characters (or to be unset for a one-time password); got ${adminPassword.length}`,
    );
  }
  const simulatorFlag = env.CITYOPS_SIMULATOR;
  return {
    role,
    port,
    dataDir: resolve(env.CITYOPS_DATA_DIR ?? './data'),
    kafkaBrokers: (env.KAFKA_BROKERS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    clickhouseUrl: env.CLICKHOUSE_URL ?? '',
    clickhouseUser: env.CLICKHOUSE_USER ?? 'default',
    clickhousePassword: env.CLICKHOUSE_PASSWORD ?? '',
    clickhouseDatabase: env.CLICKHOUSE_DATABASE ?? 'cityops',
    apiKey: apiKey !== '' ? apiKey : `co_${randomBytes(18).toString('base64url')}`,
    apiKeyGenerated: apiKey === '',
    simulator: simulatorFlag === undefined ? role === 'all' : !['0', 'false', 'off', 'no'].includes(simulatorFlag.toLowerCase()),
    simulatorSpeedup: speedup,
    ffmpegPath: env.FFMPEG_PATH ?? 'ffmpeg',
    responsibilityFile: env.CITYOPS_RESPONSIBILITY_FILE ?? '',
    secureCookies: flag(env.CITYOPS_SECURE_COOKIES),
    trustProxy: flag(env.CITYOPS_TRUST_PROXY),
    adminPassword,
    visionConfigFile: env.CITYOPS_VISION_CONFIG ?? '',
    forecastModel: env.CITYOPS_FORECAST_MODEL || 'builtin',
    forecastProviders: (env.CITYOPS_FORECAST_PROVIDERS || 'cpu')
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== ''),
    anomalyDetector: parseAnomalyDetector(env.CITYOPS_ANOMALY_DETECTOR),
    webhooks: parseWebhooks(env.CITYOPS_WEBHOOKS),
    tiles: parseTiles(env),
  };
}

function parseAnomalyDetector(raw: string | undefined): TimeseriesDetectorConfig {
  const text = (raw ?? '').trim();
  let input: unknown = { type: text === '' ? 'by-cadence' : text };
  if (text.startsWith('{')) {
    try {
      input = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(
        `expected CITYOPS_ANOMALY_DETECTOR to be a detector type or a JSON config; got JSON that does not parse (${(e as Error).message})`,
      );
    }
  }
  try {
    return parseTimeseriesDetectorConfig(input);
  } catch (e) {
    throw new ConfigError(`CITYOPS_ANOMALY_DETECTOR: ${(e as Error).message}`);
  }
}

function parseTiles(env: NodeJS.ProcessEnv): TileServerConfig | null {
  try {
    return tileServerFromEnv(env);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
}

function parseWebhooks(raw: string | undefined): CityOpsConfig['webhooks'] {
  if (raw === undefined || raw.trim() === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new ConfigError(
      `expected CITYOPS_WEBHOOKS to be a JSON array of {url, secret}; got text that is not JSON (${(e as Error).message})`,
    );
  }
  if (!Array.isArray(parsed)) throw new ConfigError(`expected CITYOPS_WEBHOOKS to be a JSON array of {url, secret}; got ${typeof parsed}`);
  return parsed.map((entry: unknown, i) => {
    const e = entry as Record<string, unknown> | null;
    if (typeof e !== 'object' || e === null || typeof e.url !== 'string' || typeof e.secret !== 'string') {
      throw new ConfigError(`CITYOPS_WEBHOOKS[${i}]: expected {url: string, secret: string}; got ${JSON.stringify(entry)?.slice(0, 200)}`);
    }
    if (!/^https?:\/\//.test(e.url)) throw new ConfigError(`CITYOPS_WEBHOOKS[${i}].url: expected an http(s) URL; got '${e.url}'`);
    if (e.secret.length < 16)
      throw new ConfigError(`CITYOPS_WEBHOOKS[${i}].secret: expected at least 16 characters; got ${e.secret.length}`);
    return {
      url: e.url,
      secret: e.secret,
      ...(Array.isArray(e.types) ? { types: e.types.map(String) } : {}),
      ...(Array.isArray(e.departmentIds) ? { departmentIds: e.departmentIds.map(String) } : {}),
    };
  });
}

function flag(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'on', 'yes'].includes(value.toLowerCase());
}
