import { Type } from '@sinclair/typebox';
import { afterEach, describe, expect, it } from 'vitest';
import { validator } from './validate.js';

const realFunction = globalThis.Function;

describe('validator under a Content-Security-Policy without unsafe-eval', () => {
  afterEach(() => {
    globalThis.Function = realFunction;
  });

  it('falls back to the interpreter and gives the same answers as the compiled checker', () => {
    const shape = () =>
      Type.Object({ id: Type.String({ minLength: 1 }), value: Type.Number({ minimum: 0 }) }, { additionalProperties: false });
    const compiled = validator(shape());
    // What a browser does when the page's policy forbids evaluating strings.
    globalThis.Function = function blocked() {
      throw new EvalError("Evaluating a string as JavaScript violates the following Content Security Policy directive: script-src 'self'");
    } as unknown as FunctionConstructor;
    const interpreted = validator(shape());

    for (const value of [
      { id: 'a', value: 1 },
      { id: '', value: 1 },
      { id: 'a', value: -1 },
      { id: 'a' },
      { id: 'a', value: 1, extra: 2 },
      'x',
    ]) {
      expect(interpreted.check(value)).toBe(compiled.check(value));
      expect(interpreted.errors(value)).toEqual(compiled.errors(value));
    }
    expect(interpreted.errors({ id: 'a', value: -1 })).toEqual([
      { path: '/value', message: 'Expected number to be greater or equal to 0; got -1' },
    ]);
  });
});

describe('validator of an object that allows no other fields', () => {
  it('answers as TypeBox does for extra, missing and wrongly typed fields, and names the extra one', () => {
    const v = validator(Type.Object({ id: Type.String(), value: Type.Number() }, { additionalProperties: false }));
    expect(v.check({ id: 'a', value: 1 })).toBe(true);
    expect(v.check(JSON.parse('{"value":1,"id":"a"}'))).toBe(true);
    expect(v.check({ id: 'a', value: 1, extra: 2 })).toBe(false);
    expect(v.check({ id: 'a' })).toBe(false);
    expect(v.check({ id: 'a', value: '1' })).toBe(false);
    expect(v.check({ id: 'a', extra: 1 })).toBe(false);
    expect(v.check(['a', 1])).toBe(false);
    expect(v.errors({ id: 'a', value: 1, extra: 2 }).map((e) => e.path)).toEqual(['/extra']);
  });
});
