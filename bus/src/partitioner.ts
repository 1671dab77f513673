/**
 * Key → partition, shared by both buses so a key lands on the same partition whether CityOps
 * runs embedded or on Kafka.
 *
 * The hash is Kafka's own default: murmur2 over the key's UTF-8 bytes, sign bit cleared, modulo
 * the partition count (Java client `Utils.murmur2` / `toPositive`, kafkajs DefaultPartitioner).
 * Choosing it over a cheaper string hash costs a few nanoseconds per message and buys
 * interoperability: a Java or librdkafka producer writing the same keys to the same Kafka topic
 * puts them on the same partitions, so per-key order holds across mixed producers.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Scratch space for non-ASCII keys; keys longer than this fall back to an allocation. */
const scratch = new Uint8Array(1024);
const encoder = new TextEncoder();

/** Java-compatible murmur2 of the UTF-8 encoding of `key`, as a signed 32-bit integer. */
export function murmur2(key: string): number {
  const length = key.length;
  // Hot path: ASCII keys (camera/sensor ids) hash straight from char codes, no encoding step.
  for (let i = 0; i < length; i++) {
    if (key.charCodeAt(i) > 0x7f) return murmur2Bytes(utf8(key));
  }
  let h = (SEED ^ length) | 0;
  const length4 = length & ~3;
  for (let i = 0; i < length4; i += 4) {
    let k = key.charCodeAt(i) | (key.charCodeAt(i + 1) << 8) | (key.charCodeAt(i + 2) << 16) | (key.charCodeAt(i + 3) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  if (rest !== 0) {
    if (rest === 3) h ^= key.charCodeAt(length4 + 2) << 16;
    if (rest >= 2) h ^= key.charCodeAt(length4 + 1) << 8;
    h ^= key.charCodeAt(length4);
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

function utf8(key: string): Uint8Array {
  // A UTF-16 code unit never needs more than 3 UTF-8 bytes.
  if (key.length * 3 <= scratch.length) {
    const { written } = encoder.encodeInto(key, scratch);
    return scratch.subarray(0, written);
  }
  return encoder.encode(key);
}

function murmur2Bytes(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length & ~3;
  for (let i = 0; i < length4; i += 4) {
    let k = (data[i] as number) | ((data[i + 1] as number) << 8) | ((data[i + 2] as number) << 16) | ((data[i + 3] as number) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const rest = length & 3;
  if (rest !== 0) {
    if (rest === 3) h ^= (data[length4 + 2] as number) << 16;
    if (rest >= 2) h ^= (data[length4 + 1] as number) << 8;
    h ^= data[length4] as number;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition a key goes to on a topic with `partitionCount` partitions. */
export function partitionForKey(key: string, partitionCount: number): number {
  return (murmur2(key) & 0x7fffffff) % partitionCount;
}
