import { spawnSync } from 'node:child_process';
import { createBus } from '@cityops/bus';
import { openStore } from '@cityops/store';
import { probeExecutionProviders } from '@cityops/detectors';
import type { CityOpsConfig } from './config.js';

export interface DoctorCheck {
  name: string;
  usable: boolean;
  /** Plain words: what was found, or what is wrong and what to do about it. */
  detail: string;
}

/**
 * `cityops doctor`: can this machine run CityOps as configured? Each check answers in plain
 * words; nothing here changes state.
 */
export async function runDoctor(config: CityOpsConfig): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  checks.push(await checkBus(config));
  checks.push(await checkStore(config));
  checks.push(checkFfmpeg(config.ffmpegPath));
  for (const ep of await probeExecutionProviders()) {
    checks.push({ name: `ONNX Runtime ${ep.provider} execution provider`, usable: ep.usable, detail: ep.detail });
  }
  return checks;
}

async function checkBus(config: CityOpsConfig): Promise<DoctorCheck> {
  if (config.kafkaBrokers.length === 0) {
    return { name: 'bus', usable: true, detail: 'in-process bus (KAFKA_BROKERS unset): all roles must run in one process (cityops all)' };
  }
  // Quiet: the doctor reports the failure in one plain line instead of kafkajs's retry log.
  const bus = createBus({ kind: 'kafka', brokers: config.kafkaBrokers, clientId: 'cityops-doctor', logLevel: 'nothing' });
  try {
    const c = bus.consumer({ groupId: 'cityops-doctor', topics: ['dlq'] });
    await withTimeout(c.lag(), 10_000, `no answer from Kafka at ${config.kafkaBrokers.join(',')} within 10 s`);
    return { name: 'bus', usable: true, detail: `Kafka at ${config.kafkaBrokers.join(',')} answers` };
  } catch (e) {
    return { name: 'bus', usable: false, detail: `Kafka at ${config.kafkaBrokers.join(',')} is not usable: ${message(e)}` };
  } finally {
    await bus.close().catch(() => undefined);
  }
}

async function checkStore(config: CityOpsConfig): Promise<DoctorCheck> {
  const where = config.clickhouseUrl ? `ClickHouse server at ${config.clickhouseUrl}` : `embedded ClickHouse (chDB) in ${config.dataDir}`;
  try {
    const store = config.clickhouseUrl
      ? await openStore({
          kind: 'server',
          url: config.clickhouseUrl,
          username: config.clickhouseUser,
          password: config.clickhousePassword,
          database: config.clickhouseDatabase,
        })
      : await openStore({ kind: 'embedded', dataDir: config.dataDir });
    try {
      const [row] = await store.query<{ v: string }>('SELECT version() AS v');
      return { name: 'store', usable: true, detail: `${where} answers, ClickHouse ${row?.v ?? '?'}` };
    } finally {
      await store.close();
    }
  } catch (e) {
    return { name: 'store', usable: false, detail: `${where} is not usable: ${message(e)}` };
  }
}

function checkFfmpeg(path: string): DoctorCheck {
  const r = spawnSync(path, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) {
    return {
      name: 'ffmpeg',
      usable: false,
      detail: `'${path}' could not be run (${r.error?.message ?? `exit ${r.status}`}): cameras cannot be decoded; install ffmpeg (apt-get install ffmpeg) or set FFMPEG_PATH`,
    };
  }
  const first = r.stdout.split('\n')[0] ?? '';
  return { name: 'ffmpeg', usable: true, detail: first.trim() };
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
