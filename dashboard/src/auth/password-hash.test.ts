import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SCRYPT_PARAMS,
  generateOneTimePassword,
  hashPassword,
  needsRehash,
  passwordProblem,
  verifyPassword,
  type ScryptParams,
} from './password-hash.js';

const CHEAP: ScryptParams = { N: 2 ** 10, r: 8, p: 1, keyLength: 32 };

describe('password hashing (scrypt)', () => {
  it('uses memory-hard production parameters: N ≥ 2^15, r = 8, p = 1', async () => {
    expect(DEFAULT_SCRYPT_PARAMS.N).toBeGreaterThanOrEqual(2 ** 15);
    expect(DEFAULT_SCRYPT_PARAMS).toMatchObject({ r: 8, p: 1 });
    // One real hash with the defaults: Node's default maxmem (32 MiB) would refuse these parameters.
    const stored = await hashPassword('a long enough passphrase');
    expect(stored.params).toEqual(DEFAULT_SCRYPT_PARAMS);
    expect(await verifyPassword('a long enough passphrase', stored)).toBe(true);
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const stored = await hashPassword('correct horse battery staple', CHEAP);
    expect(stored.algorithm).toBe('scrypt');
    expect(await verifyPassword('correct horse battery staple', stored)).toBe(true);
    expect(await verifyPassword('correct horse battery stapler', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  it('salts every hash: the same password twice gives different hashes', async () => {
    const a = await hashPassword('same password here', CHEAP);
    const b = await hashPassword('same password here', CHEAP);
    expect(a.salt).not.toBe(b.salt);
    expect(a.hash).not.toBe(b.hash);
    expect(Buffer.from(a.salt, 'base64')).toHaveLength(16);
  });

  it('compares the whole key: one flipped bit in the last byte is a mismatch', async () => {
    const stored = await hashPassword('correct horse battery staple', CHEAP);
    const key = Buffer.from(stored.hash, 'base64');
    key[key.length - 1] = (key[key.length - 1] ?? 0) ^ 1;
    expect(await verifyPassword('correct horse battery staple', { ...stored, hash: key.toString('base64') })).toBe(false);
  });

  it('asks for a re-hash when the stored parameters are weaker than the current ones', async () => {
    const old = await hashPassword('correct horse battery staple', CHEAP);
    expect(needsRehash(old)).toBe(true);
    expect(needsRehash(old, CHEAP)).toBe(false);
  });

  it('generates one-time passwords of 24 base64url characters, all different', () => {
    const seen = new Set(Array.from({ length: 100 }, () => generateOneTimePassword()));
    expect(seen.size).toBe(100);
    for (const p of seen) expect(p).toMatch(/^[A-Za-z0-9_-]{24}$/);
  });

  it('names what is wrong with a weak password', () => {
    expect(passwordProblem('short', 'ann')).toBe('expected a password of at least 12 characters; got 5');
    expect(passwordProblem('my name is ann!!', 'ann')).toBe('expected a password that does not contain the login name');
    expect(passwordProblem('aaaaaaaaaaaaaaa', 'bob')).toBe('expected a password with at least 5 different characters');
    expect(passwordProblem('x'.repeat(2000), 'bob')).toBe('expected a password of at most 1024 characters; got 2000');
    expect(passwordProblem('correct horse battery staple', 'bob')).toBeUndefined();
  });
});
