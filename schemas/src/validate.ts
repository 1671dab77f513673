import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FieldError } from './records.js';

/**
 * A compiled validator. Validation happens at every process edge (HTTP ingest, bus consumers),
 * so it must be cheap on the hot path: TypeBox compiles each schema to a plain JS function once.
 */
export interface Validator<T> {
  readonly name: string;
  check(value: unknown): value is T;
  /** Every problem with `value`, each naming the field (JSON pointer) and what was expected. */
  errors(value: unknown, maxErrors?: number): FieldError[];
}

const cache = new WeakMap<TSchema, Validator<unknown>>();

export function validator<S extends TSchema>(schema: S): Validator<Static<S>> {
  const cached = cache.get(schema);
  if (cached) return cached;
  const compiled = TypeCompiler.Compile(schema);
  const v: Validator<Static<S>> = {
    name: typeof schema.$id === 'string' ? schema.$id : 'record',
    check: (value: unknown): value is Static<S> => compiled.Check(value),
    errors(value, maxErrors = 20) {
      const out: FieldError[] = [];
      for (const e of compiled.Errors(value)) {
        out.push({ path: e.path === '' ? '/' : e.path, message: describe(e.message, e.value) });
        if (out.length >= maxErrors) break;
      }
      return out;
    },
  };
  cache.set(schema, v);
  return v;
}

/** TypeBox says what was expected; add what came instead. */
function describe(expected: string, got: unknown): string {
  return `${expected}; got ${preview(got)}`;
}

function preview(value: unknown): string {
  if (value === undefined) return 'nothing (missing)';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  let text: string;
  try {
    // JSON.stringify gives undefined for functions and symbols, which no JSON input contains.
    text = JSON.stringify(value) ?? typeof value;
  } catch {
    text = `<${typeof value} that cannot be shown as JSON>`;
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
