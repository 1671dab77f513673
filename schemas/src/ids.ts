/**
 * Stable ids make at-least-once delivery idempotent: the same event always gets the same id,
 * so a retried or replayed record replaces itself in ClickHouse instead of adding a row.
 *
 * FNV-1a over 2×32 bits gives a 64-bit id in pure JS (no node:crypto, so the dashboard can use
 * it too). Collisions at 64 bits are negligible for the volumes of one city.
 */
export function stableId(...parts: readonly (string | number)[]): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x050c5d1f;
  for (let p = 0; p < parts.length; p++) {
    const s = String(parts[p]);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x01000193) ^ (h1 >>> 15);
    }
    // A separator keeps ('ab','c') and ('a','bc') apart.
    h1 = Math.imul(h1 ^ 0x1f, 0x01000193);
    h2 = Math.imul(h2 ^ 0x1f, 0x01000193);
  }
  return hex8(h1) + hex8(h2);
}

/** 32 bits as 8 lowercase hex digits, without the toString/padStart allocations. */
function hex8(h: number): string {
  let s = '';
  for (let shift = 28; shift >= 0; shift -= 4) s += HEX[(h >>> shift) & 15]!;
  return s;
}
const HEX = '0123456789abcdef';

/** A fresh random id for things that have no natural key (a user comment, an API key). */
export function randomId(): string {
  const a = new Uint32Array(2);
  globalThis.crypto.getRandomValues(a);
  return (a[0]! >>> 0).toString(16).padStart(8, '0') + (a[1]! >>> 0).toString(16).padStart(8, '0');
}

/** Longest id the contracts accept (the `Id` pattern's maxLength). */
export const MAX_ID_LENGTH = 128;

/**
 * The id of a measurement: `<entity>@<epoch ms>`. One sensor (or indicator) reports one value
 * per instant, so the natural key is already stable and unique — and readable in ClickHouse,
 * where it sorts beside its sensor. It costs a string concatenation instead of a hash on the
 * hottest path (every reading). Falls back to a hash when the entity id is too long to fit.
 */
export function entityTimeId(entityId: string, ts: number): string {
  const id = `${entityId}@${ts}`;
  return id.length <= MAX_ID_LENGTH ? id : stableId(entityId, ts);
}
