/**
 * A fixed set of equal buffers, reused for the whole import: no allocation (and no page faults or
 * garbage collection) per chunk, and a hard bound on memory. The buffers live in one
 * SharedArrayBuffer so the checksum worker can read them without a copy.
 *
 * A pool given back when its import ends is kept a few seconds for the next import of the same
 * shape: a control plane importing one image after another then touches memory the kernel has
 * already mapped and zeroed. Faulting in a fresh 72 MiB pool costs 25 ms to over 100 ms of CPU
 * (much more on a VM whose host took the freed pages back), a sixth of a 512 MiB import here.
 */
export class BufferPool implements Disposable {
  readonly #free: Buffer[] = [];
  readonly #waiting: ((b: Buffer) => void)[] = [];
  readonly #owned = new WeakSet<Buffer>();
  readonly #count: number;

  /** `count` buffers of `size` bytes; memory is touched only as buffers are first used. */
  constructor(
    readonly size: number,
    count: number,
  ) {
    this.#count = count;
    const memory = new SharedArrayBuffer(size * count);
    for (let i = 0; i < count; i++) {
      const b = Buffer.from(memory, i * size, size);
      this.#owned.add(b);
      this.#free.push(b);
    }
  }

  /** A spare pool of this shape given back by an earlier import, or else a new one. Give it back with `using`. */
  static borrow(size: number, count: number): BufferPool {
    const i = spares.findIndex((s) => s.pool.size === size && s.pool.#count === count);
    if (i < 0) return new BufferPool(size, count);
    const [spare] = spares.splice(i, 1);
    clearTimeout(spare!.timer);
    return spare!.pool;
  }

  /** Whether every buffer is free (none in a read, a write or the checksum thread). */
  get idle(): boolean {
    return this.#free.length === this.#count;
  }

  /** A free buffer, waiting for one to be released when all are in use. */
  acquire(): Promise<Buffer> {
    const b = this.#free.pop();
    return b ? Promise.resolve(b) : new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Gives `b` back (it must be one of this pool's, released once per acquire). */
  release(b: Buffer): void {
    if (!this.#owned.has(b)) throw new TypeError('released a buffer that is not from this pool');
    const next = this.#waiting.shift();
    if (next) next(b);
    else this.#free.push(b);
  }

  /**
   * Keeps the pool for the next {@link BufferPool.borrow} for {@link SPARE_MS}, at most
   * {@link MAX_SPARES} of them; a pool with a buffer still out is never kept (it is left to the GC).
   */
  [Symbol.dispose](): void {
    if (!this.idle || spares.length >= MAX_SPARES || spares.some((s) => s.pool === this)) return;
    const timer = setTimeout(() => {
      const i = spares.findIndex((s) => s.pool === this);
      if (i >= 0) spares.splice(i, 1);
    }, SPARE_MS);
    timer.unref();
    spares.push({ pool: this, timer });
  }
}

/** How long a given-back pool waits for the next import before its memory is let go. */
export const SPARE_MS = 5_000;
/** Spare pools kept at most (each is concurrency + 2 chunks: 72 MiB by default). */
export const MAX_SPARES = 2;
const spares: { pool: BufferPool; timer: NodeJS.Timeout }[] = [];

/** Calls `fn` once `count` calls of the returned function have happened. */
export function countdown(count: number, fn: () => void): () => void {
  let left = count;
  if (left <= 0) fn();
  return () => {
    if (--left === 0) fn();
  };
}
