// `next build` with telemetry off. CityOps builds and runs without outside calls (an on-premises
// government deployment may have no route to the internet at all), and Next.js would otherwise
// try to send anonymous build telemetry. Arguments are passed through (e.g. --webpack).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const nextBin = require.resolve('next/dist/bin/next');
const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));

const result = spawnSync(process.execPath, [nextBin, 'build', ...process.argv.slice(2)], {
  cwd: packageDir,
  stdio: 'inherit',
  env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
});
process.exit(result.status ?? 1);
