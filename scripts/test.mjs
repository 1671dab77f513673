#!/usr/bin/env node
// `npm test`: build (the dashboard test serves the built app, the end-to-end test runs the
// compiled CLI), then every Vitest project. Extra arguments go to Vitest.
import { spawnSync } from 'node:child_process';
import { offlineEnv } from './turbo-env.mjs';

const build = spawnSync('node_modules/.bin/turbo', ['run', 'build', '--output-logs=errors-only'], { stdio: 'inherit', env: offlineEnv });
if (build.status !== 0) process.exit(build.status ?? 1);
const test = spawnSync('node_modules/.bin/vitest', ['run', ...process.argv.slice(2)], { stdio: 'inherit', env: offlineEnv });
process.exit(test.status ?? 1);
