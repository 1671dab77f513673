import { describe, expect, it } from 'vitest';
import { probeExecutionProviders } from './execution-providers.js';
import { buildIdentityModel } from './onnx-probe-model.js';

describe('execution provider probe', () => {
  it('reports every provider in plain words, with cpu usable', async () => {
    const results = await probeExecutionProviders();
    expect(results.map((r) => r.provider)).toEqual(['cpu', 'cuda', 'tensorrt', 'webgpu']);
    expect(results[0]).toMatchObject({ provider: 'cpu', usable: true });
    for (const r of results) {
      expect(typeof r.usable).toBe('boolean');
      expect(r.detail.length).toBeGreaterThan(10);
      // Details are one line for a terminal, not a stack trace.
      expect(r.detail).not.toContain('\n');
    }
  });

  it('answers for a provider name it does not know instead of throwing', async () => {
    const [result] = await probeExecutionProviders({ providers: ['quantum'] });
    expect(result).toMatchObject({ provider: 'quantum', usable: false });
  });

  it('builds a small, stable ONNX model', () => {
    const model = buildIdentityModel();
    expect(model.length).toBeLessThan(200);
    // ModelProto field 1 (ir_version, varint) comes first.
    expect(model[0]).toBe(0x08);
    expect(buildIdentityModel()).toEqual(model);
  });
});
