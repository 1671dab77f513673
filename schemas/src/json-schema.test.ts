import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jsonSchemaDocuments } from './json-schema.js';

describe('exported JSON Schema', () => {
  it('matches the committed files outside producers use (run npm run export:json-schema -w @cityops/schemas)', () => {
    for (const [name, doc] of Object.entries(jsonSchemaDocuments())) {
      const committed: unknown = JSON.parse(readFileSync(new URL(`../json-schema/${name}.v1.json`, import.meta.url), 'utf8'));
      expect(committed, name).toEqual(doc);
    }
  });

  it('describes required fields and forbids unknown ones', () => {
    const reading = jsonSchemaDocuments().SensorReading as { required: string[]; additionalProperties: boolean };
    expect(reading.required).toEqual(expect.arrayContaining(['id', 'schema_version', 'sensor_id', 'kind', 'ts', 'value', 'unit']));
    expect(reading.additionalProperties).toBe(false);
  });
});
