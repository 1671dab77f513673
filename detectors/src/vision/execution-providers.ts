import { buildIdentityModel } from './onnx-probe-model.js';

/**
 * Which ONNX Runtime execution providers work on this machine — what `cityops doctor` shows
 * before the vision worker picks one.
 *
 * "Listed" is not "usable": onnxruntime-node lists CUDA and TensorRT on Linux even when their
 * provider libraries were never installed, and WebGPU is bundled but needs an adapter (a GPU
 * and driver this process can see). So each provider is proven by doing the real thing: create a
 * session restricted to it on a one-node model built in memory, run it, and check the answer.
 *
 * onnxruntime-node is imported lazily, here only: loading its native binding costs time and
 * memory, and a process that never probes (the anomaly worker) should not pay for it.
 */

export const PROBED_PROVIDERS = ['cpu', 'cuda', 'tensorrt', 'webgpu'] as const;
export type ProbedProvider = (typeof PROBED_PROVIDERS)[number];

export interface ProviderProbe {
  provider: string;
  usable: boolean;
  /** What happened, in plain words, for an operator. */
  detail: string;
}

export interface ProbeOptions {
  /** Providers to try, in order. Default ['cpu', 'cuda', 'tensorrt', 'webgpu']. */
  providers?: readonly string[];
  /** Longest wait for one provider's session and run. Default 60 000 ms (TensorRT builds an engine). */
  timeoutMs?: number;
}

const PROBE_INPUT = 3.5;

/** Tries each provider in turn; never throws — a failure is a `usable: false` row with the reason. */
export async function probeExecutionProviders(options: ProbeOptions = {}): Promise<ProviderProbe[]> {
  const providers = options.providers ?? PROBED_PROVIDERS;
  const timeoutMs = options.timeoutMs ?? 60_000;
  let ort: typeof import('onnxruntime-node');
  try {
    ort = await import('onnxruntime-node');
  } catch (e) {
    const why = firstLine(e);
    return providers.map((provider) => ({ provider, usable: false, detail: `ONNX Runtime could not be loaded on this platform: ${why}` }));
  }
  // ONNX Runtime prints its own error lines when a provider library is missing, through the
  // process-wide logger that the first session creates; the probe reports each failure in plain
  // words, so it quiets that logger (a vision worker in the same process sets its own level).
  ort.env.logLevel = 'fatal';
  const listed = new Map<string, boolean>();
  try {
    for (const b of ort.listSupportedBackends()) listed.set(b.name, b.bundled);
  } catch {
    // Older bindings have no list; the session attempt below still answers.
  }
  const model = buildIdentityModel();
  const results: ProviderProbe[] = [];
  for (const provider of providers) {
    results.push(await probeOne(ort, model, provider, listed, timeoutMs));
  }
  return results;
}

async function probeOne(
  ort: typeof import('onnxruntime-node'),
  model: Uint8Array,
  provider: string,
  listed: ReadonlyMap<string, boolean>,
  timeoutMs: number,
): Promise<ProviderProbe> {
  if (listed.size > 0 && !listed.has(provider)) {
    return { provider, usable: false, detail: `not built into this onnxruntime-node (it offers ${[...listed.keys()].join(', ')})` };
  }
  const attempt = async (): Promise<ProviderProbe> => {
    // Severity 4 (fatal only): a provider that fails to load would otherwise print ONNX Runtime's
    // own error lines; the failure comes back as the thrown message, which the probe reports.
    const session = await ort.InferenceSession.create(model, { executionProviders: [provider], logSeverityLevel: 4 });
    try {
      const input = new ort.Tensor('float32', Float32Array.from([PROBE_INPUT]), [1]);
      const out = await session.run({ x: input });
      const y = out['y']?.data;
      const value = y instanceof Float32Array ? y[0] : undefined;
      if (value !== PROBE_INPUT) {
        return {
          provider,
          usable: false,
          detail: `a session started but returned ${String(value)} instead of ${PROBE_INPUT} for an identity model`,
        };
      }
      return { provider, usable: true, detail: `created a session and ran a test model on ${provider}` };
    } finally {
      await session.release();
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ProviderProbe>((resolve) => {
    timer = setTimeout(() => resolve({ provider, usable: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([attempt(), timeout]);
  } catch (e) {
    return { provider, usable: false, detail: explain(provider, firstLine(e), listed.get(provider)) };
  } finally {
    clearTimeout(timer);
  }
}

/** Turns ONNX Runtime's messages into what an operator should know. */
function explain(provider: string, message: string, bundled: boolean | undefined): string {
  if (/Failed to load shared library|cannot open shared object|LoadLibrary failed/i.test(message)) {
    const libs = provider === 'tensorrt' ? 'TensorRT and CUDA libraries' : 'CUDA and cuDNN libraries';
    return (
      `not installed: the ${provider} provider library${bundled === false ? ' is not bundled with onnxruntime-node and' : ''} could not be loaded ` +
      `(CityOps installs from the npm registry only and skips onnxruntime-node's CUDA download; it also needs the ${libs} on this machine) — ${message}`
    );
  }
  if (/adapter/i.test(message) && provider === 'webgpu') {
    // ORT prefixes the reason with a source path and a C++ lambda signature; keep the reason.
    const reason = /Failed to get a WebGPU adapter[^\n]*/.exec(message)?.[0] ?? message;
    return `no WebGPU adapter: no GPU or driver is visible to this process — ${reason}`;
  }
  return `could not start a session: ${message}`;
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const line = text.split('\n').find((l) => l.trim() !== '') ?? text;
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
