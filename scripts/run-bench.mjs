#!/usr/bin/env node
// npm run bench:<name> -- [args]: runs benchmarks/<name>.ts from the TypeScript sources (no build
// needed) with Node's --conditions pointing package imports at src/, and the same V8 heap
// settings `npm start` uses.
import { spawnSync } from 'node:child_process';

const [name, ...rest] = process.argv.slice(2);
const r = spawnSync(
  process.execPath,
  ['--max-semi-space-size=64', '--conditions=@cityops/source', '--import', 'tsx', `benchmarks/${name}.ts`, ...rest],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
