/**
 * Writes guest data into an open RBD image with a bounded number of writes in flight, never
 * writing zeros (the image stays sparse). The first write error stops everything.
 */
import type { Image } from '../ceph/index.js';

const ZEROS = Buffer.alloc(1024 * 1024);

/** Zeros shorter than this inside data are written rather than split around (one write beats many). */
export const ZERO_GRANULARITY = 64 * 1024;

export class ImageWriter {
  #inflight = 0;
  readonly #slotFreed: (() => void)[] = [];
  #failure: { error: unknown } | undefined;
  readonly #settled = new Set<Promise<void>>();
  bytesWritten = 0;
  zeroBytesSkipped = 0;

  constructor(
    private readonly image: Image,
    private readonly maxInflight: number,
  ) {}

  /**
   * Queues the non-zero parts of `data` for `offset` (zeros are checked per {@link ZERO_GRANULARITY}
   * block), waiting while too many writes are in flight. `data` must not change until `release`
   * runs, which happens once every write of it has settled (at once when it is all zeros).
   */
  async write(offset: number, data: Buffer, release: () => void = () => {}): Promise<void> {
    this.#throwIfFailed();
    const runs: [number, number][] = [];
    for (let at = 0; at < data.length; at += ZERO_GRANULARITY) {
      const end = Math.min(data.length, at + ZERO_GRANULARITY);
      if (ZEROS.compare(data, at, end, 0, end - at) === 0) continue;
      const last = runs[runs.length - 1];
      if (last && last[1] === at) last[1] = end;
      else runs.push([at, end]);
    }
    let left = runs.length;
    this.zeroBytesSkipped += data.length - runs.reduce((n, [s, e]) => n + e - s, 0);
    if (left === 0) return release();
    for (let i = 0; i < runs.length; i++) {
      const [start, end] = runs[i]!;
      while (this.#inflight >= this.maxInflight) await new Promise<void>((resolve) => this.#slotFreed.push(resolve));
      if (this.#failure) {
        // The rest is never queued; writes already queued still hold `data` until they settle.
        left -= runs.length - i;
        if (left === 0) release();
        break;
      }
      this.#inflight++;
      const p: Promise<void> = this.image.aioWrite(data.subarray(start, end), offset + start).then(
        () => {
          this.bytesWritten += end - start;
        },
        (e: unknown) => {
          this.#failure ??= { error: e };
        },
      );
      const tracked = p.finally(() => {
        this.#settled.delete(tracked);
        this.#inflight--;
        this.#slotFreed.shift()?.();
        if (--left === 0) release();
      });
      this.#settled.add(tracked);
    }
    this.#throwIfFailed();
  }

  /** Waits for every write, then flushes. Throws the first write error. */
  async finish(): Promise<void> {
    await this.drain();
    this.#throwIfFailed();
    await this.image.flush();
  }

  #throwIfFailed(): void {
    const f = this.#failure;
    if (f) throw f.error;
  }

  /** Waits for writes in flight without flushing (before cleanup). */
  async drain(): Promise<void> {
    while (this.#settled.size > 0) await Promise.allSettled([...this.#settled]);
  }
}
