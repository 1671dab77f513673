/**
 * Runs librdkafka's mock Kafka cluster (mock-cluster.c) as a child process so the kafkajs bus
 * is tested over the real wire protocol: no JVM, no Docker, no network beyond localhost.
 *
 * The binary is built on demand with the system C compiler against Debian's librdkafka-dev and
 * rebuilt when the source is newer. It is git-ignored.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const SOURCE = join(here, 'mock-cluster.c');
export const MOCK_CLUSTER_BINARY = join(here, 'mock-cluster');

const STARTUP_TIMEOUT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 5_000;
const STOP_TIMEOUT_MS = 5_000;

export type MockClusterPrerequisites = { ok: true } | { ok: false; reason: string };

/**
 * Builds the mock cluster binary if it is missing or older than its source. Synchronous so a
 * test file can decide at collection time whether its suite runs.
 */
export function prepareMockCluster(): MockClusterPrerequisites {
  if (existsSync(MOCK_CLUSTER_BINARY) && statSync(MOCK_CLUSTER_BINARY).mtimeMs >= statSync(SOURCE).mtimeMs) {
    return { ok: true };
  }
  const probe = spawnSync('cc', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined) {
    return {
      ok: false,
      reason:
        'expected a C compiler as `cc` to build the librdkafka mock cluster, got none on PATH (Debian: apt-get install gcc librdkafka-dev)',
    };
  }
  // Build to a private name and rename, so a concurrent run never executes a half-written file.
  const scratch = `${MOCK_CLUSTER_BINARY}.${process.pid}.tmp`;
  const build = spawnSync('cc', ['-O2', '-o', scratch, SOURCE, '-lrdkafka'], { encoding: 'utf8' });
  if (build.status !== 0) {
    rmSync(scratch, { force: true });
    const output = `${build.stderr ?? ''}${build.stdout ?? ''}`.trim().split('\n').slice(0, 6).join('\n');
    return {
      ok: false,
      reason:
        'expected `cc mock-cluster.c -lrdkafka` to build against librdkafka (Debian package librdkafka-dev), ' +
        `got exit status ${String(build.status)}:\n${output}`,
    };
  }
  renameSync(scratch, MOCK_CLUSTER_BINARY);
  return { ok: true };
}

export interface MockTopic {
  name: string;
  partitions: number;
}

export interface MockCluster {
  /** Bootstrap servers, `host:port`. */
  brokers: string[];
  /**
   * Creates topics in the mock, which does not implement the CreateTopics API. Topics that
   * exist already are left as they are.
   */
  createTopics(topics: readonly MockTopic[]): Promise<void>;
  stop(): Promise<void>;
}

export interface StartMockClusterOptions {
  /** Brokers in the mock cluster; partition leaders are spread over them. Default 3. */
  brokerCount?: number;
  topics?: readonly MockTopic[];
}

export async function startMockCluster(options: StartMockClusterOptions = {}): Promise<MockCluster> {
  const prerequisites = prepareMockCluster();
  if (!prerequisites.ok) throw new Error(prerequisites.reason);

  const args = ['--brokers', String(options.brokerCount ?? 3)];
  for (const topic of options.topics ?? []) args.push(`${topic.name}:${topic.partitions}`);
  const child = spawn(MOCK_CLUSTER_BINARY, args, { stdio: ['pipe', 'pipe', 'pipe'] });

  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  // The first stdout line is the bootstrap list; every later line answers one command, in order.
  const lines = createInterface({ input: child.stdout });
  const waiting: ((line: string) => void)[] = [];
  const early: string[] = [];
  lines.on('line', (line) => {
    const next = waiting.shift();
    if (next) next(line);
    else early.push(line);
  });
  const nextLine = (what: string, timeoutMs: number): Promise<string> => {
    const ready = early.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`expected ${what} from the mock cluster within ${timeoutMs} ms, got nothing; stderr: ${stderr || '(empty)'}`));
      }, timeoutMs);
      const onLine = (line: string): void => {
        clearTimeout(timer);
        resolve(line);
      };
      waiting.push(onLine);
      void exited.then((code) => {
        const index = waiting.indexOf(onLine);
        if (index === -1) return;
        waiting.splice(index, 1);
        clearTimeout(timer);
        reject(new Error(`expected ${what} from the mock cluster, got exit code ${String(code)}; stderr: ${stderr || '(empty)'}`));
      });
    });
  };

  const bootstrap = await nextLine('the bootstrap servers line', STARTUP_TIMEOUT_MS).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  const brokers = bootstrap
    .trim()
    .split(',')
    .filter((broker) => broker !== '');
  if (brokers.length === 0) {
    child.kill('SIGKILL');
    throw new Error(`expected host:port list on the mock cluster's first line, got '${bootstrap}'`);
  }

  // One command at a time, so answers cannot be matched to the wrong request.
  let queue: Promise<void> = Promise.resolve();
  const createTopic = async (topic: MockTopic): Promise<void> => {
    if (!/^[A-Za-z0-9._-]+$/.test(topic.name)) {
      throw new Error(`expected a Kafka topic name ([A-Za-z0-9._-]+), got '${topic.name}'`);
    }
    child.stdin.write(`topic ${topic.name} ${topic.partitions}\n`);
    const answer = await nextLine(`an answer to creating topic '${topic.name}'`, COMMAND_TIMEOUT_MS);
    if (answer !== `ok topic ${topic.name}` && answer !== `exists topic ${topic.name}`) {
      throw new Error(`expected 'ok topic ${topic.name}' or 'exists topic ${topic.name}' from the mock cluster, got '${answer}'`);
    }
  };

  return {
    brokers,
    createTopics(topics) {
      const run = queue.then(async () => {
        for (const topic of topics) await createTopic(topic);
      });
      queue = run.catch(() => undefined);
      return run;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
      lines.close();
    },
  };
}
