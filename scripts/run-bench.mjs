#!/usr/bin/env node
// npm run bench:<name> -- [args]: runs benchmarks/<name>.ts from the TypeScript sources (no build
// needed) with Node's --conditions pointing package imports at src/.
import { spawnSync } from 'node:child_process';

const [name, ...rest] = process.argv.slice(2);
const r = spawnSync(process.execPath, ['--conditions=@cityops/source', '--import', 'tsx', `benchmarks/${name}.ts`, ...rest], { stdio: 'inherit' });
process.exit(r.status ?? 1);
