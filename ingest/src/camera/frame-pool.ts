/**
 * Frame-sized buffers, recycled. A camera at 25 fps with a 416×416 model allocates 13 MB/s of
 * frames; taking them from here and handing them back when the bus releases them (the
 * OutgoingMessage.onReleased contract) keeps that memory out of the garbage collector's way.
 * A buffer that is never handed back is simply collected: the pool holds only free buffers.
 */
export class FrameBufferPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly frameBytes: number,
    /** Free buffers kept; more are let go. */
    private readonly keep = 4,
  ) {}

  acquire(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(this.frameBytes);
  }

  /** Hands a buffer back. One of another size, or one already free, is ignored. */
  release(buffer: Buffer): void {
    if (buffer.byteLength !== this.frameBytes || this.free.length >= this.keep || this.free.includes(buffer)) return;
    this.free.push(buffer);
  }

  get freeCount(): number {
    return this.free.length;
  }
}
