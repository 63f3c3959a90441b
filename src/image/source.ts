/**
 * Where image bytes come from: a file (random access), a buffer, or a one-way stream (stdin,
 * HTTP). Every source can be read sequentially once; files and buffers can also be read at an offset.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { Errno } from '../ceph/errno.js';
import { native } from '../native/binding.js';

/** Bytes of an image. `size` is undefined for a stream of unknown length. */
export interface ImageSource extends AsyncDisposable {
  readonly name: string;
  readonly size: number | undefined;
  /** Random access; undefined for one-way streams. Returns fewer bytes at the end. */
  readAt?(offset: number, length: number): Promise<Buffer>;
  /** The first `length` bytes (buffered for streams, so that inspection does not consume them). */
  head(length: number): Promise<Buffer>;
  /** A reader for one pass over the bytes, from the start towards the end (a stream can be read once). */
  reader(): SourceReader;
  /**
   * Where data may be, in order; everything else reads as zeros and need not be read. Files ask the
   * filesystem (SEEK_DATA/SEEK_HOLE); undefined when the source cannot tell.
   */
  dataExtents?(): AsyncIterable<Extent>;
}

/** A byte range of a source. */
export interface Extent {
  offset: number;
  length: number;
}

/** How far a one-way stream's reader can go back behind the furthest byte it read. */
export const LOOKBACK = 4 * 1024 * 1024;

/** One pass over a source, into the caller's buffers. */
export interface SourceReader {
  /**
   * Fills `into` with the bytes at `offset` and returns how many there were (fewer only at the end).
   * Offsets may skip ahead freely (a stream discards, a file never reads what is skipped) and go back
   * at most {@link LOOKBACK} bytes behind the furthest byte read.
   */
  read(into: Buffer, offset: number): Promise<number>;
}

/** Extents of the file behind `fd` holding data, batch by batch. */
async function* fileExtents(fd: number, size: number): AsyncIterable<Extent> {
  let at = 0;
  while (at < size) {
    let pairs: Float64Array;
    try {
      pairs = await native().fileDataExtents(fd, at, size, 4096);
    } catch (e) {
      // A filesystem without SEEK_DATA: everything left may be data.
      const errno = (e as { errno?: number }).errno;
      if (at === 0 && (errno === Errno.EINVAL || errno === Errno.EOPNOTSUPP)) {
        yield { offset: 0, length: size };
        return;
      }
      throw e;
    }
    if (pairs.length === 0) return;
    for (let i = 0; i < pairs.length; i += 2) yield { offset: pairs[i]!, length: pairs[i + 1]! };
    at = pairs[pairs.length - 2]! + pairs[pairs.length - 1]!;
  }
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
  /** Fills `into` from `offset`; fewer bytes only at the end of the file. */
  const readInto = async (into: Buffer, offset: number) => {
    let filled = 0;
    while (filled < into.length) {
      const { bytesRead } = await fh.read(into, filled, into.length - filled, offset + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled;
  };
  const readAt = async (offset: number, length: number) => {
    const buf = Buffer.allocUnsafe(Math.max(0, Math.min(length, st.size - offset)));
    return buf.subarray(0, await readInto(buf, offset));
  };
  return {
    name: abs,
    path: abs,
    size: st.size,
    readAt,
    head: (length) => readAt(0, length),
    reader: () => ({ read: readInto }),
    dataExtents: () => fileExtents(fh.fd, st.size),
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
    reader: () => ({
      read: async (into, offset) => buf.copy(into, 0, Math.min(offset, buf.length), Math.min(buf.length, offset + into.length)),
    }),
    [Symbol.asyncDispose]: async () => {},
  };
}

/**
 * A one-way stream (stdin, an HTTP body): the head stays buffered for inspection; the reader keeps
 * only what a read needs plus {@link LOOKBACK} bytes behind it.
 */
export function streamSource(stream: Readable, name: string, size?: number): ImageSource {
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  // Bytes pulled and still kept, in order: chunk k holds [start, start + data.length).
  const kept: { start: number; data: Buffer }[] = [];
  let pulledTo = 0;
  let ended = false;
  let furthest = 0;
  let readerTaken = false;
  const pull = async (): Promise<boolean> => {
    if (ended) return false;
    const r = await iterator.next();
    if (r.done) {
      ended = true;
      return false;
    }
    const data = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    kept.push({ start: pulledTo, data });
    pulledTo += data.length;
    return true;
  };
  /** Copies kept bytes overlapping [offset, offset + into.length) into `into`. */
  const copyOut = (into: Buffer, offset: number): number => {
    const end = Math.min(offset + into.length, pulledTo);
    if (kept.length > 0 && kept[0]!.start > offset && offset < end) throw new Error(`${name}: cannot go back to byte ${offset} of a stream`);
    for (const { start, data } of kept) {
      if (start >= end) break;
      const from = Math.max(offset, start);
      const to = Math.min(end, start + data.length);
      if (to > from) data.copy(into, from - offset, from - start, to - start);
    }
    return Math.max(0, end - offset);
  };
  const dropBefore = (offset: number) => {
    while (kept.length > 0 && kept[0]!.start + kept[0]!.data.length <= offset) kept.shift();
  };
  return {
    name,
    size,
    async head(length: number) {
      while (pulledTo < length && (await pull()));
      const out = Buffer.alloc(Math.min(length, pulledTo));
      copyOut(out, 0);
      return out;
    },
    reader() {
      if (readerTaken) throw new Error(`${name} can be read only once`);
      readerTaken = true;
      return {
        async read(into: Buffer, offset: number) {
          if (offset < furthest - LOOKBACK) throw new Error(`${name}: cannot go back to byte ${offset} of a stream`);
          const end = offset + into.length;
          const keepFrom = Math.min(offset, end - LOOKBACK);
          while (pulledTo < end && (await pull())) dropBefore(keepFrom);
          const n = copyOut(into, offset);
          furthest = Math.max(furthest, offset + n);
          dropBefore(Math.min(offset, furthest - LOOKBACK));
          return n;
        },
      };
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
    reader() {
      // The data pass is one GET of the whole body; only the tables were read by range.
      let inner: SourceReader | undefined;
      return {
        async read(into: Buffer, offset: number) {
          if (!inner) {
            stream = streamSource(await body(), `${u.origin}${u.pathname}`, size);
            inner = stream.reader();
          }
          return inner.read(into, offset);
        },
      };
    },
    [Symbol.asyncDispose]: async () => {
      await stream?.[Symbol.asyncDispose]();
    },
  };
}
