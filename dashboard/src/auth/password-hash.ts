import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/*
 * Password hashing with scrypt (RFC 7914), Node's built-in memory-hard KDF: no native addon, no
 * new dependency. Parameters follow the OWASP Password Storage Cheat Sheet's scrypt line
 * (N=2^17, r=8, p=1 there; N=2^15 is RFC 7914's interactive-login figure and the floor the project
 * set): N=2^15, r=8 costs 128·N·r = 32 MiB of memory and roughly 50–100 ms of one core per
 * attempt, which makes an offline guess on a stolen users.json about as expensive for an attacker
 * as for us, while a login stays well under a second. The parameters are stored with every hash,
 * so raising them later re-hashes each account at its next login (see needsRehash).
 */

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  /** Block size. */
  r: number;
  /** Parallelisation. */
  p: number;
  /** Derived key length in bytes. */
  keyLength: number;
}

/** The production parameters (see the comment above). */
export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 15, r: 8, p: 1, keyLength: 32 });

/** What a user record keeps: never the password, only this. */
export interface PasswordHash {
  algorithm: 'scrypt';
  /** base64 */
  salt: string;
  /** base64 */
  hash: string;
  params: ScryptParams;
}

/** 16 random bytes: unique per hash, so equal passwords never share a hash and precomputed tables are useless. */
const SALT_BYTES = 16;

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<PasswordHash> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params);
  return { algorithm: 'scrypt', salt: salt.toString('base64'), hash: key.toString('base64'), params: { ...params } };
}

/** Constant-time comparison of the derived key (timingSafeEqual): no early exit leaks how many bytes matched. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const expected = Buffer.from(stored.hash, 'base64');
  const key = await derive(password, Buffer.from(stored.salt, 'base64'), { ...stored.params, keyLength: expected.length });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** True when the stored hash used weaker parameters than the current ones: re-hash after a successful login. */
export function needsRehash(stored: PasswordHash, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): boolean {
  return (
    stored.params.N < params.N || stored.params.r < params.r || stored.params.p < params.p || stored.params.keyLength < params.keyLength
  );
}

/**
 * A random password for a first start or a reset: 18 bytes from the CSPRNG, 24 base64url
 * characters (144 bits), shown once to the person who has to type it.
 */
export function generateOneTimePassword(): string {
  return randomBytes(18).toString('base64url');
}

/** Longest password accepted: beyond this it is a denial-of-service payload, not a passphrase. */
export const MAX_PASSWORD_LENGTH = 1024;
/** NIST SP 800-63B allows 8; 12 is the project's floor for accounts that can dispatch city services. */
export const MIN_PASSWORD_LENGTH = 12;

/** Why a new password is refused, or undefined when it is acceptable. */
export function passwordProblem(password: string, login: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH)
    return `expected a password of at least ${MIN_PASSWORD_LENGTH} characters; got ${password.length}`;
  if (password.length > MAX_PASSWORD_LENGTH)
    return `expected a password of at most ${MAX_PASSWORD_LENGTH} characters; got ${password.length}`;
  if (password.toLowerCase().includes(login.toLowerCase())) return 'expected a password that does not contain the login name';
  if (new Set(password).size < 5) return 'expected a password with at least 5 different characters';
  return undefined;
}

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  // maxmem must exceed 128·N·r (plus a little); Node's default of 32 MiB is exactly N=2^15, r=8 and fails.
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    // The async form runs on the libuv thread pool: a login never blocks the event loop (and the live stream).
    scrypt(password.normalize('NFKC'), salt, params.keyLength, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}
