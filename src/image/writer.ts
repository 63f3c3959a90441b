/**
 * Writes guest data into an open RBD image with a bounded number of writes in flight, never
 * writing zeros (the image stays sparse). The first write error stops everything.
 */
import type { Image } from '../ceph/index.js';

/** True when every byte of `buf` is zero (8 bytes at a time). */
export function isZero(buf: Buffer): boolean {
  const words = buf.length >>> 3;
  for (let i = 0; i < words; i++) if (buf.readBigUInt64LE(i << 3) !== 0n) return false;
  for (let i = words << 3; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

export class ImageWriter {
  readonly #inflight = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;
  bytesWritten = 0;
  zeroBytesSkipped = 0;

  constructor(
    private readonly image: Image,
    private readonly maxInflight: number,
  ) {}

  /** Queues `data` for `offset`, waiting while too many writes are in flight. `data` must not change afterwards. */
  async write(offset: number, data: Buffer): Promise<void> {
    this.#throwIfFailed();
    if (isZero(data)) {
      this.zeroBytesSkipped += data.length;
      return;
    }
    while (this.#inflight.size >= this.maxInflight) await Promise.race(this.#inflight);
    this.#throwIfFailed();
    const p: Promise<void> = this.image.aioWrite(data, offset).then(
      () => {
        this.bytesWritten += data.length;
      },
      (e: unknown) => {
        this.#failure ??= { error: e };
      },
    );
    const tracked = p.finally(() => this.#inflight.delete(tracked));
    this.#inflight.add(tracked);
  }

  /** Waits for every write, then flushes. Throws the first write error. */
  async finish(): Promise<void> {
    await Promise.all(this.#inflight);
    this.#throwIfFailed();
    await this.image.flush();
  }

  #throwIfFailed(): void {
    const f = this.#failure;
    if (f) throw f.error;
  }

  /** Waits for writes in flight without flushing (before cleanup). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#inflight]);
  }
}
