/**
 * A fixed set of equal buffers, reused for the whole import: no allocation (and no page faults or
 * garbage collection) per chunk, and a hard bound on memory. The buffers live in one
 * SharedArrayBuffer so the checksum worker can read them without a copy.
 */
export class BufferPool {
  readonly #free: Buffer[] = [];
  readonly #waiting: ((b: Buffer) => void)[] = [];
  readonly #owned = new WeakSet<Buffer>();

  /** `count` buffers of `size` bytes; memory is touched only as buffers are first used. */
  constructor(
    readonly size: number,
    count: number,
  ) {
    const memory = new SharedArrayBuffer(size * count);
    for (let i = 0; i < count; i++) {
      const b = Buffer.from(memory, i * size, size);
      this.#owned.add(b);
      this.#free.push(b);
    }
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
}

/** Calls `fn` once `count` calls of the returned function have happened. */
export function countdown(count: number, fn: () => void): () => void {
  let left = count;
  if (left <= 0) fn();
  return () => {
    if (--left === 0) fn();
  };
}
