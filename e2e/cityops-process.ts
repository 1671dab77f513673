import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HealthReport } from '@cityops/schemas';

const cliMain = fileURLToPath(new URL('../cli/dist/main.js', import.meta.url));

export function cliIsBuilt(): boolean {
  return existsSync(cliMain);
}

/** `cityops all` as a child process, exactly as `npm start` runs it. */
export interface CityOpsProcess {
  baseUrl: string;
  apiKey: string;
  output: () => string;
  health: () => Promise<HealthReport>;
  /** SIGTERM and wait for the graceful, draining exit. */
  stop: () => Promise<number | null>;
}

export async function startCityOps(env: Record<string, string>, startTimeoutMs = 120_000): Promise<CityOpsProcess> {
  const apiKey = env.CITYOPS_API_KEY ?? 'e2e-test-key';
  const child: ChildProcess = spawn(process.execPath, [cliMain, 'all'], {
    env: { ...process.env, PORT: '0', CITYOPS_API_KEY: apiKey, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  const deadline = Date.now() + startTimeoutMs;
  let port: number | undefined;
  while (port === undefined) {
    const m = /listening on http:\/\/localhost:(\d+)/.exec(out);
    if (m) port = Number(m[1]);
    else if (child.exitCode !== null) throw new Error(`cityops exited with ${child.exitCode} before listening:\n${out}`);
    else if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`cityops did not listen within ${startTimeoutMs} ms:\n${out}`);
    } else await sleep(100);
  }
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    apiKey,
    output: () => out,
    health: async () => (await (await fetch(`${baseUrl}/api/health`)).json()) as HealthReport,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until `probe` returns a value, or fails naming what it was waiting for. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
}
