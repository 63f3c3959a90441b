/**
 * Where image bytes come from: a file (random access), a buffer, or a one-way stream (stdin,
 * HTTP). Every source can be read sequentially once; files and buffers can also be read at an offset.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { Readable } from 'node:stream';

/** Bytes of an image. `size` is undefined for a stream of unknown length. */
export interface ImageSource extends AsyncDisposable {
  readonly name: string;
  readonly size: number | undefined;
  /** Random access; undefined for one-way streams. Returns fewer bytes at the end. */
  readAt?(offset: number, length: number): Promise<Buffer>;
  /** The first `length` bytes (buffered for streams, so that inspection does not consume them). */
  head(length: number): Promise<Buffer>;
  /**
   * Every byte from offset 0, once, in chunks. With `reuse`, a file source reads every chunk into the
   * same buffer: the caller must be done with a chunk before asking for the next.
   */
  chunks(chunkSize: number, options?: { reuse?: boolean }): AsyncIterable<Buffer>;
}

/** A local file, opened read-only; its path made absolute (never handed to a tool as a pseudo filename). */
export async function fileSource(path: string): Promise<ImageSource & { path: string }> {
  const abs = isAbsolute(path) ? path : resolve(path);
  const fh: FileHandle = await open(abs, 'r');
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new TypeError(`${path} is not a regular file`);
  }
  const readAt = async (offset: number, length: number) => {
    const buf = Buffer.allocUnsafe(Math.max(0, Math.min(length, st.size - offset)));
    if (buf.length === 0) return buf;
    const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
    return buf.subarray(0, bytesRead);
  };
  return {
    name: abs,
    path: abs,
    size: st.size,
    readAt,
    head: (length) => readAt(0, length),
    async *chunks(chunkSize: number, options?: { reuse?: boolean }) {
      const shared = options?.reuse ? Buffer.allocUnsafe(chunkSize) : undefined;
      if (!shared) {
        // Read one chunk ahead, so the disk works while the caller hashes and writes.
        let next = st.size > 0 ? readAt(0, chunkSize) : undefined;
        for (let off = 0; next; off += chunkSize) {
          const chunk = await next;
          next = off + chunkSize < st.size ? readAt(off + chunkSize, chunkSize) : undefined;
          yield chunk;
        }
        return;
      }
      for (let off = 0; off < st.size; off += chunkSize) {
        const { bytesRead } = await fh.read(shared, 0, Math.min(chunkSize, st.size - off), off);
        yield shared.subarray(0, bytesRead);
      }
    },
    [Symbol.asyncDispose]: () => fh.close(),
  };
}

/** Bytes in memory (tests, small images). */
export function bufferSource(buf: Buffer, name = 'buffer'): ImageSource {
  return {
    name,
    size: buf.length,
    readAt: async (offset, length) => buf.subarray(offset, Math.min(buf.length, offset + length)),
    head: async (length) => buf.subarray(0, length),
    async *chunks(chunkSize: number) {
      for (let off = 0; off < buf.length; off += chunkSize) yield buf.subarray(off, off + chunkSize);
    },
    [Symbol.asyncDispose]: async () => {},
  };
}

/** A one-way stream (stdin, an HTTP body): the head is buffered for inspection, then replayed. */
export function streamSource(stream: Readable, name: string, size?: number): ImageSource {
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const buffered: Buffer[] = [];
  let bufferedBytes = 0;
  let ended = false;
  let consumed = false;
  const pull = async (): Promise<Buffer | null> => {
    if (ended) return null;
    const r = await iterator.next();
    if (r.done) {
      ended = true;
      return null;
    }
    return Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
  };
  return {
    name,
    size,
    async head(length: number) {
      while (bufferedBytes < length) {
        const c = await pull();
        if (!c) break;
        buffered.push(c);
        bufferedBytes += c.length;
      }
      return Buffer.concat(buffered).subarray(0, length);
    },
    async *chunks(chunkSize: number) {
      if (consumed) throw new Error(`${name} can be read only once`);
      consumed = true;
      let pending: Buffer = Buffer.concat(buffered);
      buffered.length = 0;
      for (;;) {
        while (pending.length < chunkSize) {
          const c = await pull();
          if (!c) break;
          pending = pending.length ? Buffer.concat([pending, c]) : c;
        }
        if (pending.length === 0) return;
        yield pending.subarray(0, chunkSize);
        pending = pending.subarray(Math.min(chunkSize, pending.length));
      }
    },
    [Symbol.asyncDispose]: async () => {
      stream.destroy();
    },
  };
}

/**
 * An http(s) URL: with byte ranges (for qcow2's tables) when the server offers them, else a
 * one-way stream. Redirects are followed; a non-2xx answer is an error.
 */
export async function httpSource(url: string, signal?: AbortSignal): Promise<ImageSource> {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError(`not an http(s) URL: ${url}`);
  const head = await fetch(u, { method: 'HEAD', ...(signal ? { signal } : {}) });
  if (!head.ok) throw new Error(`HEAD ${u.origin}${u.pathname}: HTTP ${head.status}`);
  const length = Number(head.headers.get('content-length') ?? NaN);
  const size = Number.isSafeInteger(length) && length >= 0 ? length : undefined;
  const ranges = head.headers.get('accept-ranges') === 'bytes' && size !== undefined;
  const get = async (range?: [number, number]) => {
    const r = await fetch(u, { ...(range ? { headers: { Range: `bytes=${range[0]}-${range[1]}` } } : {}), ...(signal ? { signal } : {}) });
    if (!r.ok || !r.body) throw new Error(`GET ${u.origin}${u.pathname}: HTTP ${r.status}`);
    if (range && r.status !== 206) throw new Error(`GET ${u.origin}${u.pathname}: the server ignored the byte range`);
    return r;
  };
  const { Readable } = await import('node:stream');
  const body = async () => Readable.fromWeb((await get()).body as import('node:stream/web').ReadableStream);
  if (!ranges) return streamSource(await body(), `${u.origin}${u.pathname}`, size);
  const readAt = async (offset: number, len: number) => {
    const end = Math.min(size!, offset + len) - 1;
    if (end < offset) return Buffer.alloc(0);
    return Buffer.from(await (await get([offset, end])).arrayBuffer());
  };
  let stream: ImageSource | undefined;
  return {
    name: `${u.origin}${u.pathname}`,
    size,
    readAt,
    head: (len) => readAt(0, len),
    async *chunks(chunkSize: number) {
      stream = streamSource(await body(), `${u.origin}${u.pathname}`, size);
      yield* stream.chunks(chunkSize);
    },
    [Symbol.asyncDispose]: async () => {
      await stream?.[Symbol.asyncDispose]();
    },
  };
}
