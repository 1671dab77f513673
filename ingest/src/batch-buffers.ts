/**
 * Buffers for ingest's batch messages, lent to the bus and handed back once it no longer refers
 * to them (OutgoingMessage.onReleased, ADR 0006).
 *
 * A batch of 5,000 readings is about 0.8 MB of JSON, and at 300k readings/s a fresh buffer per
 * batch is 45 MB/s of new ArrayBuffers. V8 counts those against the heap: after the columns change
 * (ADR 0004, session 14) they, with the store's insert bodies, set off nearly every collection in
 * the pipeline, each one a burst of GC threads beside ClickHouse's insert. A buffer handed back is
 * written again by a later batch instead.
 *
 * Sizes are rounded up to powers of two (64 KiB at least), so buffers of one class serve any
 * batch of about the same size.
 */
export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private pooledBytes = 0;

  /** `maxPooledBytes`: buffers beyond it, handed back at a quiet moment, are left to the collector. */
  constructor(private readonly maxPooledBytes: number) {}

  /** A buffer of at least `size` bytes; its contents are whatever was written last. */
  take(size: number): Buffer {
    const bytes = sizeClass(size);
    const buffer = this.free.get(bytes)?.pop();
    if (buffer === undefined) return Buffer.allocUnsafeSlow(bytes);
    this.pooledBytes -= bytes;
    return buffer;
  }

  /** Hands `buffer` (from take) back; nothing may read or write it after this. */
  give(buffer: Buffer): void {
    if (this.pooledBytes + buffer.length > this.maxPooledBytes) return;
    let list = this.free.get(buffer.length);
    if (list === undefined) this.free.set(buffer.length, (list = []));
    list.push(buffer);
    this.pooledBytes += buffer.length;
  }

  /** Bytes held for reuse. */
  get size(): number {
    return this.pooledBytes;
  }
}

const MIN_CLASS = 64 * 1024;

function sizeClass(size: number): number {
  let bytes = MIN_CLASS;
  while (bytes < size) bytes *= 2;
  return bytes;
}
