import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Server } from 'node:http';
import { DEFAULT_PARTITIONS, TOPICS, type Clock, type Incident, type IncidentEvent, type RunningWorker } from '@cityops/schemas';
import { createBus, type Bus } from '@cityops/bus';
import { openStore, startSink, type Store } from '@cityops/store';
import { createIngestHandler, createDemoCity, demoCityGeoJson, runSimulator, startCameraSource } from '@cityops/ingest';
import {
  defaultVisionModelConfig,
  startAnomalyWorker,
  startVisionWorker,
  visionInputLayout,
  type VisionModelConfig,
  type VisionWorkerConfig,
} from '@cityops/detectors';
import { builtinEnsembleModelPath, readEnsembleModelFile, startForecastWorker, type ForecastWorkerConfig } from '@cityops/forecaster';
import {
  createIncidentsApi,
  defaultResponsibilityTablePath,
  openTableSource,
  startIncidentWorker,
  type IncidentsApi,
  type IncidentsBackend,
  type TableSource,
  type WebhookEndpoint,
} from '@cityops/incidents';
import { ApiKeyStore, apiKeysFilePath, createDashboardServer, openAuth, type DashboardAuth } from '@cityops/dashboard';
import type { CityOpsConfig, Role } from './config.js';
import { ConfigError } from './config.js';
import { createHealthHandler } from './health.js';
import { closeServer, startHttpServer, type RequestHandler } from './http-server.js';
import { log, logError } from './log.js';

export const VERSION = '0.1.0';

export interface RunningSystem {
  role: Role;
  /** The port the HTTP server listens on (useful with PORT=0). */
  port: number;
  bus: Bus;
  store: Store | undefined;
  workers: readonly RunningWorker[];
  /** Stops producing, lets consumers drain, then stops workers and closes the store. */
  stop(): Promise<void>;
}

export interface SystemOptions {
  clock?: Clock;
  /** How long shutdown waits for consumers to drain before stopping them anyway. */
  drainTimeoutMs?: number;
}

const needsStore: ReadonlySet<Role> = new Set(['all', 'sink', 'dashboard']);

/**
 * Composition root: builds the bus and the store from the config, starts the workers the role
 * asks for, and serves HTTP. `all` runs every role in this one process.
 */
export async function startSystem(config: CityOpsConfig, options: SystemOptions = {}): Promise<RunningSystem> {
  const clock = options.clock ?? Date.now;
  const role = config.role;
  const has = (r: Role) => role === 'all' || role === r;

  // Read before anything starts: a broken vision file fails the start, not the first frame.
  // Without one, the vision worker runs the built-in default model on every camera it sees.
  const vision = config.visionConfigFile === '' ? defaultVisionFile() : readVisionFile(config.visionConfigFile);
  if (role !== 'all' && config.kafkaBrokers.length === 0) {
    throw new ConfigError(
      `role '${role}' runs as its own process and needs KAFKA_BROKERS; the in-process bus only connects roles inside one process — use 'cityops all' for the embedded default`,
    );
  }
  const bus =
    config.kafkaBrokers.length > 0
      ? createBus({ kind: 'kafka', brokers: config.kafkaBrokers, clientId: `cityops-${role}` })
      : createBus({ kind: 'in-process' });
  log('bus', bus.kind === 'kafka' ? `Kafka at ${config.kafkaBrokers.join(',')}` : 'in-process bus (embedded default)');
  await bus.ensureTopics(Object.values(TOPICS).map((name) => ({ name, partitions: DEFAULT_PARTITIONS[name] })));

  let store: Store | undefined;
  if (needsStore.has(role)) {
    store = config.clickhouseUrl
      ? await openStore({
          kind: 'server',
          url: config.clickhouseUrl,
          username: config.clickhouseUser,
          password: config.clickhousePassword,
          database: config.clickhouseDatabase,
        })
      : await openStore({ kind: 'embedded', dataDir: config.dataDir });
    log(
      'store',
      store.kind === 'server' ? `ClickHouse server at ${config.clickhouseUrl}` : `embedded ClickHouse (chDB) in ${config.dataDir}`,
    );
    const m = await store.migrate();
    log(
      'store',
      m.applied.length > 0 ? `applied migrations: ${m.applied.join(', ')}` : `schema up to date (${m.alreadyApplied.length} migrations)`,
    );
  }

  // Accounts, sessions and ingest keys live in <dataDir>/auth/. The dashboard owns them; an ingest
  // process on its own reads the key file only (and re-reads it, so keys made in the dashboard work there).
  let auth: DashboardAuth | undefined;
  let apiKeys: ApiKeyStore | undefined;
  try {
    if (store && has('dashboard')) {
      const opened = await openAuth({
        dataDir: config.dataDir,
        clock,
        secureCookie: config.secureCookies,
        trustProxy: config.trustProxy,
        bootstrapApiKeys: [config.apiKey],
        ...(config.adminPassword === '' ? {} : { initialAdminPassword: config.adminPassword }),
      });
      auth = opened.auth;
      apiKeys = auth.apiKeys;
      const first = opened.firstAdmin;
      if (first?.generated === true) {
        // Printed here once and nowhere else: only the scrypt hash is stored.
        log('auth', `first start: created administrator '${first.login}' with one-time password: ${first.password}`);
        log('auth', 'log in at /login and choose a new password; this password is not shown again');
      } else if (first !== undefined) {
        log('auth', `first start: created administrator '${first.login}' with the password from CITYOPS_ADMIN_PASSWORD`);
      }
    } else if (has('ingest')) {
      apiKeys = await ApiKeyStore.open({ path: apiKeysFilePath(config.dataDir), clock, bootstrapKeys: [config.apiKey] });
    }
  } catch (e) {
    await bus.close();
    await store?.close();
    throw e;
  }

  const workers: RunningWorker[] = [];
  // Producers of new data: stopped first on shutdown so consumers can drain behind them.
  const sources: RunningWorker[] = [];
  const handlers: RequestHandler[] = [];
  const stoppers: (() => Promise<void>)[] = [];
  const authStores = auth ?? apiKeys;
  // Last: pending API-key last-use times are written after the servers stop.
  const closeAuth = () => authStores?.close() ?? Promise.resolve();
  const producer = bus.producer();
  let incidentsApi: IncidentsApi | undefined;
  /** The responsibility table in force, when the incidents role runs here: administrators edit it. */
  let rulesSource: TableSource | undefined;

  try {
    // Sink first, so it is consuming before anything is produced; it is stopped last.
    if (store && has('sink')) workers.push(await startSink({ bus, store }));
    if (has('anomaly')) {
      log('anomaly', `detector ${config.anomalyDetector.type} (CITYOPS_ANOMALY_DETECTOR)`);
      workers.push(
        await startAnomalyWorker({
          bus,
          clock,
          // Per-series state survives a restart: no second warm-up, no second warning for an open episode.
          config: { detector: config.anomalyDetector, checkpointPath: join(config.dataDir, 'anomaly-state.bin') },
          log: (line) => log('anomaly', line),
        }),
      );
    }
    if (has('forecast'))
      workers.push(await startForecastWorker({ bus, clock, config: await forecastConfig(config.forecastModel, config.forecastProviders) }));
    if (has('incidents')) {
      // By default an editable copy in the data directory, seeded from the shipped table on the
      // first start: administrators save new versions of it from the admin page.
      const file = config.responsibilityFile || join(config.dataDir, 'responsibility.yaml');
      // Watched: an edited table applies without a restart; a broken edit keeps the last good one.
      const tableSource = await openTableSource({
        path: file,
        ...(config.responsibilityFile === '' ? { seedFrom: defaultResponsibilityTablePath() } : {}),
        onChange: (next, previous) => log('incidents', `responsibility table ${previous.version} → ${next.version} from ${file}`),
        onError: (e) => logError('incidents', `responsibility table ${file} not reloaded, the previous version stays in force`, e),
      });
      stoppers.push(() => Promise.resolve(tableSource.close()));
      rulesSource = tableSource;
      const table = tableSource.current();
      log('incidents', `responsibility table ${table.version} from ${file}`);
      // On the in-process bus the topics start empty: open cases come back from the store.
      const restored = store && bus.kind === 'in-process' ? await openCasesFrom(store) : undefined;
      const worker = await startIncidentWorker({
        bus,
        clock,
        table,
        tableSource,
        ...(restored === undefined ? {} : { initialIncidents: restored.incidents, initialEvents: restored.events }),
        ...(config.webhooks.length === 0 ? {} : { webhooks: { endpoints: config.webhooks as WebhookEndpoint[] } }),
      });
      if (config.webhooks.length > 0) log('incidents', `webhooks to ${config.webhooks.map((w) => new URL(w.url).host).join(', ')}`);
      incidentsApi = createIncidentsApi({ backend: withStoreHistory(worker.backend, store), clock });
      workers.push(worker);
    }
    if (has('vision')) {
      workers.push(await startVisionWorker({ bus, clock, log: (line) => log('vision', line), config: vision.worker }));
    }
    if (has('ingest')) {
      for (const source of vision.sources) {
        const layout = visionInputLayout(vision.modelFor(source.id));
        const camera = startCameraSource({
          producer,
          camera: source,
          clock,
          ffmpegPath: config.ffmpegPath,
          width: layout.width,
          height: layout.height,
          letterbox: layout.letterbox,
        });
        sources.push(camera);
        workers.push(camera);
      }
      if (vision.sources.length > 0) log('ingest', `camera sources: ${vision.sources.map((s) => s.id).join(', ')}`);
    }
    if (has('ingest')) {
      // Keys made by administrators (stored hashed) and the bootstrap CITYOPS_API_KEY.
      const keys = apiKeys;
      handlers.push(createIngestHandler({ producer, checkApiKey: (key) => keys?.verify(key) ?? false, clock }));
      if (config.apiKeyGenerated) log('ingest', `API key for POST /api/ingest/* (set CITYOPS_API_KEY to choose one): ${config.apiKey}`);
      if (config.simulator) {
        const city = createDemoCity();
        const sim = runSimulator({ producer, city, clock, speedup: config.simulatorSpeedup });
        sources.push(sim);
        workers.push(sim);
        log(
          'simulator',
          `demo city running: ${city.sensors.length} sensors, ${city.indicators.length} indicators, ${city.cameras.length} cameras, ${city.areas.length} districts`,
        );
      }
    }
    if (store && has('dashboard')) {
      if (!auth) throw new Error('expected the auth stores to be open for the dashboard role');
      const dashboard = createDashboardServer({
        store,
        bus,
        basemap: demoCityGeoJson(),
        clock,
        auth,
        tiles: config.tiles,
        ...(incidentsApi === undefined ? {} : { incidents: incidentsApi }),
        ...(rulesSource === undefined ? {} : { rules: rulesSource }),
      });
      await dashboard.start();
      handlers.push((req, res) => dashboard.handle(req, res));
      stoppers.push(() => dashboard.stop());
    }
  } catch (e) {
    await Promise.allSettled([...stoppers.map((s) => s()), ...workers.map((w) => w.stop()), closeAuth()]);
    await bus.close();
    await store?.close();
    throw e;
  }

  const startedAtMs = Date.now();
  const health = createHealthHandler({ role, version: VERSION, startedAtMs, bus, store, workers: () => workers });
  let http: Awaited<ReturnType<typeof startHttpServer>>;
  try {
    http = await startHttpServer(config.port, [health.handler, ...handlers], (e) => logError('http', 'request failed', e));
  } catch (e) {
    // A taken port must not leave workers running behind a process that is about to exit.
    await Promise.allSettled([...stoppers.map((s) => s()), ...workers.map((w) => w.stop()), closeAuth()]);
    await bus.close();
    await store?.close();
    throw e;
  }
  log(
    'http',
    `listening on http://localhost:${http.port} (dashboard${store && has('dashboard') ? ' with login at /login' : ''}, /api/health${has('ingest') ? ', /api/ingest/readings, /api/ingest/ticks' : ''})`,
  );

  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= shutdown(http.server));
  async function shutdown(server: Server): Promise<void> {
    log('system', 'stopping: no new input, draining the bus…');
    await Promise.allSettled(sources.map((s) => s.stop()));
    await producer.flush();
    await drain(
      workers.filter((w) => !sources.includes(w)),
      options.drainTimeoutMs ?? 15_000,
    );
    for (const s of stoppers) await s();
    await closeServer(server);
    // Upstream first (detectors, then incidents, then the sink), draining what each one's last
    // flush produced before stopping the next: a downstream consumer still runs while its
    // upstream finishes.
    const pipeline = workers.filter((w) => !sources.includes(w));
    const ordered = [
      ...pipeline.filter((w) => w.name !== 'sink' && w.name !== 'incidents'),
      ...pipeline.filter((w) => w.name === 'incidents'),
      ...pipeline.filter((w) => w.name === 'sink'),
    ];
    for (let i = 0; i < ordered.length; i++) {
      await ordered[i]!.stop();
      await drain(ordered.slice(i + 1), 5_000);
    }
    await closeAuth();
    await bus.close();
    await store?.close();
    log('system', 'stopped');
  }
  return { role, port: http.port, bus, store, workers, stop };
}

async function drain(workers: readonly RunningWorker[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (workers.every((w) => w.health().lag === 0)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  log('system', `drain timed out after ${timeoutMs} ms; uncommitted messages are redelivered on the next start`);
}

/** The trained ensemble the forecaster runs, or none (seasonal naive). */
async function forecastConfig(model: string, executionProviders: readonly string[]): Promise<ForecastWorkerConfig> {
  if (model === 'seasonal-naive') {
    log('forecast', 'seasonal-naive forecaster (CITYOPS_FORECAST_MODEL=seasonal-naive)');
    return {};
  }
  const path = model === 'builtin' ? builtinEnsembleModelPath() : resolve(model);
  const ensemble = await readEnsembleModelFile(path);
  log('forecast', `ensemble model ${ensemble.version} from ${path}; ONNX Runtime providers ${executionProviders.join(', ')}`);
  return { ensemble, executionProviders, log: (line) => log('forecast', line) };
}

/** Open incidents and their events from the store, for an incidents worker on a bus that kept no history. */
async function openCasesFrom(store: Store): Promise<{ incidents: Incident[]; events: IncidentEvent[] }> {
  const incidents = await store.queries.incidents({ limit: 10_000, statuses: ['open', 'dispatched', 'accepted', 'resolved'] });
  const events: IncidentEvent[] = [];
  for (const incident of incidents) events.push(...(await store.queries.incidentEvents(incident.id)));
  if (incidents.length > 0) log('incidents', `restored ${incidents.length} open incidents from the store`);
  return { incidents, events };
}

/** The worker's backend, with each incident's audit trail read from the store. */
function withStoreHistory(backend: IncidentsBackend, store: Store | undefined): IncidentsBackend {
  if (store === undefined) return backend;
  return { ...backend, history: (incidentId) => store.queries.incidentEvents(incidentId) };
}

/** No CITYOPS_VISION_CONFIG: no camera sources or rules; the worker runs the built-in default model. */
function defaultVisionFile(): VisionFile {
  return { worker: { models: {}, cameras: [] }, sources: [], modelFor: () => defaultVisionModelConfig() };
}

interface VisionFile {
  worker: VisionWorkerConfig;
  sources: { id: string; url: string; fps: number }[];
  modelFor(cameraId: string): VisionModelConfig | ReturnType<typeof defaultVisionModelConfig>;
}

/**
 * CITYOPS_VISION_CONFIG: `{ "models": {...}, "cameras": [...], "sources": [{ "id", "url", "fps" }] }`.
 * Relative model and label paths are relative to the file.
 */
function readVisionFile(path: string): VisionFile {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(`CITYOPS_VISION_CONFIG: expected a readable JSON file at '${path}'; ${(e as Error).message}`);
  }
  const base = dirname(resolve(path));
  const models: Record<string, VisionModelConfig> = {};
  for (const [name, raw] of Object.entries((json.models ?? {}) as Record<string, Record<string, unknown>>)) {
    const m = { ...raw };
    for (const key of ['modelPath', 'labelsPath']) if (typeof m[key] === 'string') m[key] = resolve(base, m[key]);
    models[name] = m as unknown as VisionModelConfig;
  }
  const cameras = (Array.isArray(json.cameras) ? json.cameras : []) as Record<string, unknown>[];
  const sources = (Array.isArray(json.sources) ? json.sources : []) as { id: string; url: string; fps: number }[];
  for (const [i, s] of sources.entries()) {
    if (typeof s.id !== 'string' || typeof s.url !== 'string' || typeof s.fps !== 'number') {
      throw new ConfigError(
        `CITYOPS_VISION_CONFIG sources[${i}]: expected {id: string, url: string, fps: number}; got ${JSON.stringify(s)}`,
      );
    }
  }
  return {
    worker: { models, cameras },
    sources,
    modelFor(cameraId) {
      const name = cameras.find((c) => c.cameraId === cameraId)?.model;
      // No models in the file: the worker runs the built-in default.
      return models[typeof name === 'string' ? name : 'default'] ?? Object.values(models)[0] ?? defaultVisionModelConfig();
    },
  };
}
