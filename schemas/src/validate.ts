import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler, type ValueError } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
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

interface Checker {
  check(value: unknown): boolean;
  errors(value: unknown): Iterable<ValueError>;
}

/**
 * TypeBox's compiled checker, or — where the page's Content-Security-Policy forbids evaluating
 * strings (the dashboard's pages do; see dashboard/src/security-headers.ts) and compiling throws
 * an EvalError — its interpreter, which gives the same answers more slowly. Servers always
 * compile: the fallback is for browsers, which check a few records a second.
 */
function checkerFor(schema: TSchema): Checker {
  try {
    const compiled = TypeCompiler.Compile(schema);
    const keys = exactKeyCount(schema);
    if (keys === undefined) return { check: (value) => compiled.Check(value), errors: (value) => compiled.Errors(value) };
    // TypeBox checks `additionalProperties: false` with Object.getOwnPropertyNames(value), an
    // array per record checked: on the readings hot path, a third of what ingest allocated. The
    // same schema without that rule, then a count of the object's keys, allocates nothing; a
    // value that fails either goes to the full check. The answers differ only for an object
    // with a non-enumerable or inherited property, which neither JSON nor a literal makes.
    const open = { ...schema };
    delete open.additionalProperties;
    const openCompiled = TypeCompiler.Compile(open);
    return {
      check: (value) => (openCompiled.Check(value) && enumerableKeyCount(value as object) === keys) || compiled.Check(value),
      errors: (value) => compiled.Errors(value),
    };
  } catch (e) {
    if (!(e instanceof EvalError)) throw e;
    return { check: (value) => Value.Check(schema, value), errors: (value) => Value.Errors(schema, value) };
  }
}

/**
 * For an object schema whose properties are all required and that allows no others: how many
 * keys a valid value has. Otherwise undefined.
 */
function exactKeyCount(schema: TSchema): number | undefined {
  if (schema.type !== 'object' || schema.additionalProperties !== false) return undefined;
  const properties = schema.properties as Record<string, unknown> | undefined;
  const required = schema.required as readonly string[] | undefined;
  if (properties === undefined) return undefined;
  const count = Object.keys(properties).length;
  return required !== undefined && required.length === count ? count : undefined;
}

/**
 * The keys for-in visits. With every property present, equal to the property count only if
 * there are no others (an enumerable one inherited counts too, and then the full check decides).
 */
function enumerableKeyCount(value: object): number {
  let n = 0;
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- only the keys' count matters
  for (const key in value) n++;
  return n;
}

export function validator<S extends TSchema>(schema: S): Validator<Static<S>> {
  const cached = cache.get(schema);
  if (cached) return cached;
  const compiled = checkerFor(schema);
  const v: Validator<Static<S>> = {
    name: typeof schema.$id === 'string' ? schema.$id : 'record',
    check: (value: unknown): value is Static<S> => compiled.check(value),
    errors(value, maxErrors = 20) {
      const out: FieldError[] = [];
      for (const e of compiled.errors(value)) {
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
