/**
 * Writes guest data into an open RBD image with a bounded number of writes in flight, never
 * writing zeros (the image stays sparse). The first write error stops everything.
 */
import type { Image } from '../ceph/index.js';

const ZEROS = Buffer.alloc(1024 * 1024);

/** True when every byte of `buf` is zero (compared a megabyte at a time by memcmp). */
export function isZero(buf: Buffer): boolean {
  for (let off = 0; off < buf.length; off += ZEROS.length) {
    const n = Math.min(ZEROS.length, buf.length - off);
    if (!buf.subarray(off, off + n).equals(n === ZEROS.length ? ZEROS : ZEROS.subarray(0, n))) return false;
  }
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
