/**
 * Checksums of the source bytes, computed on a worker thread in the same pass as the import:
 * Glance's multihash (sha256, sha512) and its legacy md5 `checksum`. The main thread only posts
 * offsets into shared pool buffers, so hashing runs beside reading and writing instead of between them.
 */
import { Worker } from 'node:worker_threads';

/** Checksum algorithms: Glance's multihash (sha256, sha512) and its legacy md5 `checksum`. */
export type HashAlgorithm = 'sha256' | 'sha512' | 'md5';
export const HEX_LENGTH: Record<HashAlgorithm, number> = { sha256: 64, sha512: 128, md5: 32 };
/** Every {@link HashAlgorithm}. */
export const HASH_ALGORITHMS: readonly HashAlgorithm[] = ['sha256', 'sha512', 'md5'];

/** @internal Messages to the worker. */
export type ChecksumMessage =
  | { op: 'data'; id: number; memory: SharedArrayBuffer; offset: number; length: number }
  | { op: 'zeros'; length: number }
  | { op: 'digest' };
/** @internal Replies from the worker. */
export type ChecksumReply = { op: 'done'; id: number } | { op: 'digest'; hex: string[] };

/** Hashes bytes in the order given. With no algorithm it does nothing and starts no thread. */
export class Checksummer implements AsyncDisposable {
  readonly #worker: Worker | undefined;
  readonly #pending = new Map<number, () => void>();
  #nextId = 0;
  #failure: Error | undefined;
  #digest: ((hex: string[]) => void) | undefined;

  constructor(readonly algorithms: readonly HashAlgorithm[]) {
    if (algorithms.length === 0) return;
    this.#worker = new Worker(new URL('./checksum-worker.js', import.meta.url), { workerData: { algorithms } });
    this.#worker.on('message', (m: ChecksumReply) => {
      if (m.op === 'done') {
        const done = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        done?.();
      } else {
        const resolve = this.#digest;
        this.#digest = undefined;
        resolve?.(m.hex);
      }
    });
    const fail = (e: Error) => {
      this.#failure ??= e;
      // Whoever waits for a buffer must not wait forever: hand them all back.
      for (const done of this.#pending.values()) done();
      this.#pending.clear();
      const resolve = this.#digest;
      this.#digest = undefined;
      resolve?.([]);
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => {
      if (this.#digest || this.#pending.size > 0) fail(new Error(`the checksum thread exited (code ${code})`));
    });
  }

  /** The thread's failure, if it failed. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Hashes `data` (a view of a SharedArrayBuffer, from a {@link BufferPool}); `done` runs when it has been read. */
  update(data: Buffer, done: () => void): void {
    if (!this.#worker || this.#failure) return done();
    if (!(data.buffer instanceof SharedArrayBuffer)) throw new TypeError('checksummed data must live in shared memory');
    const id = this.#nextId++;
    this.#pending.set(id, done);
    this.#worker.postMessage({ op: 'data', id, memory: data.buffer, offset: data.byteOffset, length: data.length } satisfies ChecksumMessage);
  }

  /** Hashes `length` zero bytes (a hole that was never read). */
  zeros(length: number): void {
    if (this.#worker && length > 0 && !this.#failure) this.#worker.postMessage({ op: 'zeros', length } satisfies ChecksumMessage);
  }

  /** The hex digests of everything given so far, by algorithm. */
  async digest(): Promise<Partial<Record<HashAlgorithm, string>>> {
    if (!this.#worker) return {};
    if (this.#failure) throw this.#failure;
    const hex = await new Promise<string[]>((resolve) => {
      this.#digest = resolve;
      this.#worker!.postMessage({ op: 'digest' } satisfies ChecksumMessage);
    });
    if (this.#failure) throw this.#failure;
    return Object.fromEntries(this.algorithms.map((a, i) => [a, hex[i]!]));
  }

  /** Stops the thread. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#digest = undefined;
    await this.#worker?.terminate();
  }
}
