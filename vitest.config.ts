import { defineConfig } from 'vitest/config';

/*
 * One root config, one project per package. Tests import other packages through the
 * '@cityops/source' export condition, so they run against TypeScript sources without a build.
 */
const packages = ['schemas', 'ml', 'bus', 'store', 'ingest', 'detectors', 'forecaster', 'incidents', 'dashboard', 'cli'];

export default defineConfig({
  test: {
    projects: [
      ...packages.map((name) => ({
        resolve: { conditions: ['@cityops/source'] },
        ssr: { resolve: { conditions: ['@cityops/source'] } },
        test: {
          name,
          root: `./${name}`,
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      })),
      {
        resolve: { conditions: ['@cityops/source'] },
        ssr: { resolve: { conditions: ['@cityops/source'] } },
        test: { name: 'benchmarks', root: './benchmarks', include: ['**/*.test.ts'], environment: 'node', testTimeout: 60_000 },
      },
      {
        resolve: { conditions: ['@cityops/source'] },
        ssr: { resolve: { conditions: ['@cityops/source'] } },
        test: { name: 'e2e', root: './e2e', include: ['**/*.test.ts'], environment: 'node', testTimeout: 300_000, hookTimeout: 300_000 },
      },
    ],
  },
});
