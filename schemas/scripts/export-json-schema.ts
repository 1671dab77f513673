// Writes schemas/json-schema/<Name>.v1.json; a test fails when they drift from the sources.
import { mkdirSync, writeFileSync } from 'node:fs';
import { jsonSchemaDocuments } from '../src/json-schema.js';

const dir = new URL('../json-schema/', import.meta.url);
mkdirSync(dir, { recursive: true });
for (const [name, doc] of Object.entries(jsonSchemaDocuments())) {
  writeFileSync(new URL(`${name}.v1.json`, dir), `${JSON.stringify(doc, null, 2)}\n`);
}
console.log(`wrote ${Object.keys(jsonSchemaDocuments()).length} JSON Schema files to ${dir.pathname}`);
