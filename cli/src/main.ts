#!/usr/bin/env node
import { openStore } from '@cityops/store';
import { ConfigError, readConfig, ROLES } from './config.js';
import { runDoctor, type DoctorCheck } from './doctor.js';
import { log, logError } from './log.js';
import { replayFile, replayOptions } from './replay.js';
import { startSystem } from './system.js';

const USAGE = `usage: cityops [role]

roles:
  all         everything in one process (default; what npm start runs)
  ingest      HTTP ingest API, demo-city simulator and camera sources
  vision      camera-frame vision worker
  anomaly     sensor anomaly worker
  forecast    market forecaster
  incidents   incident correlation and dispatch
  sink        writes every topic to ClickHouse
  dashboard   wall display, query API and live stream
  migrate     create or upgrade the ClickHouse schema, then exit
  doctor      check the bus, the store, ffmpeg and ONNX Runtime, then exit
  replay      send a history file (CSV with a header: ticks or readings) to a running
              platform's ingest API in event-time order: cityops replay FILE [--speed N] [--url URL]

environment: PORT, CITYOPS_DATA_DIR, KAFKA_BROKERS, CLICKHOUSE_URL, CLICKHOUSE_USER,
CLICKHOUSE_PASSWORD, CLICKHOUSE_DATABASE, CITYOPS_API_KEY, CITYOPS_SIMULATOR,
CITYOPS_SIM_SPEEDUP, FFMPEG_PATH, CITYOPS_RESPONSIBILITY_FILE, CITYOPS_SECURE_COOKIES,
CITYOPS_TRUST_PROXY, CITYOPS_ADMIN_PASSWORD (see README)

first start: the dashboard creates the administrator 'admin' and prints a one-time password
once; log in at /login and choose a new one. Accounts, ingest API keys and the audit trail
live in $CITYOPS_DATA_DIR/auth/.`;

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const config = readConfig(argv, process.env);

  if (config.role === 'doctor') {
    const checks = await runDoctor(config);
    // Only the bus and the store are required to run; ffmpeg and GPU providers are optional.
    const required = (c: DoctorCheck) => c.name === 'bus' || c.name === 'store';
    for (const c of checks) console.log(`${c.usable ? 'ok  ' : required(c) ? 'FAIL' : 'no  '}  ${c.name}: ${c.detail}`);
    return checks.filter(required).every((c) => c.usable) ? 0 : 1;
  }
  if (config.role === 'replay') {
    const r = await replayFile(replayOptions(argv, process.env), (line) => log('replay', line));
    log(
      'replay',
      `done: ${r.rows} rows, ${r.accepted} accepted, ${r.rejected} refused${r.firstError === '' ? '' : ` (first: ${r.firstError})`}`,
    );
    return 0;
  }
  if (config.role === 'migrate') {
    const store = config.clickhouseUrl
      ? await openStore({
          kind: 'server',
          url: config.clickhouseUrl,
          username: config.clickhouseUser,
          password: config.clickhousePassword,
          database: config.clickhouseDatabase,
        })
      : await openStore({ kind: 'embedded', dataDir: config.dataDir });
    const r = await store.migrate();
    log('migrate', `applied: ${r.applied.join(', ') || 'none'}; already applied: ${r.alreadyApplied.length}`);
    await store.close();
    return 0;
  }

  const system = await startSystem(config);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals) => {
      // A second Ctrl-C means "now"; a repeated SIGTERM (a supervisor and a wrapper both
      // forwarding it) must not cut the drain short.
      if (stopping) {
        if (sig === 'SIGINT') {
          logError('system', 'second SIGINT: exiting without draining');
          process.exit(130);
        }
        return;
      }
      stopping = true;
      system.stop().then(resolve, (e: unknown) => {
        logError('system', 'shutdown failed', e);
        resolve();
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof ConfigError) {
      logError('config', e.message);
      console.error(`\nroles: ${ROLES.join(', ')}`);
      process.exit(2);
    }
    logError('system', 'failed to start', e);
    if (e instanceof Error && e.stack) console.error(e.stack);
    process.exit(1);
  },
);
