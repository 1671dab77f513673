import { RECORD_SCHEMAS, type RecordName } from './records.js';

/**
 * JSON Schema (draft 2020-12) documents for every contract, so producers outside this codebase
 * can validate before they send. TypeBox schemas already are JSON Schema; this adds the
 * meta-schema and an $id an outside tool can resolve.
 */
export function jsonSchemaDocuments(): Record<RecordName, object> {
  const out = {} as Record<RecordName, object>;
  for (const [name, schema] of Object.entries(RECORD_SCHEMAS) as [RecordName, object][]) {
    out[name] = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      // The round trip drops TypeBox's symbol-keyed metadata, leaving plain JSON Schema.
      ...(JSON.parse(JSON.stringify(schema)) as object),
      $id: `https://cityops.dev/schemas/${name}.v1.json`,
    };
  }
  return out;
}
