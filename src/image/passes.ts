/**
 * The one pass over a source for each format the pipeline decodes itself. Every byte is read once
 * into a pooled buffer, handed to the checksum thread and written from that same buffer: no copy,
 * no allocation per chunk. What is known to be zero (a file's holes, qcow2's unallocated and zero
 * clusters) is never read when no checksum is asked, and never written.
 */
import { promisify } from 'node:util';
import { inflateRaw } from 'node:zlib';
import { type Image, type ProgressOptions, throwIfAborted } from '../ceph/index.js';
import { type BufferPool, countdown } from './buffer-pool.js';
import type { Checksummer } from './checksum.js';
import { CorruptImage, ImageTooLarge } from './errors.js';
import type { ClusterMap, DataRun } from './qcow2.js';
import type { Extent, ImageSource, SourceReader } from './source.js';
import type { ImageWriter } from './writer.js';

const inflate = promisify(inflateRaw);

/** What every pass works with. Chunks are at most `pool.size` bytes and never cross a multiple of it. */
export interface Pass extends ProgressOptions {
  src: ImageSource;
  reader: SourceReader;
  pool: BufferPool;
  writer: ImageWriter;
  sum: Checksummer;
}

function check(p: Pass): void {
  throwIfAborted(p.signal, { op: 'import' });
  if (p.sum.failure) throw p.sum.failure;
}

/** One chunk read into a pooled buffer: `n` bytes of the `want` asked for at `at`. */
interface Chunk {
  at: number;
  want: number;
  buf: Buffer;
  n: number;
}

async function readChunk(p: Pass, at: number, end: number): Promise<Chunk> {
  const size = p.pool.size;
  const want = Math.min(end, (Math.floor(at / size) + 1) * size) - at;
  const buf = await p.pool.acquire();
  try {
    return { at, want, buf, n: await p.reader.read(buf.subarray(0, want), at) };
  } catch (e) {
    p.pool.release(buf);
    throw e;
  }
}

/**
 * Reads [offset, offset + length) into pooled buffers, one chunk ahead of the one being hashed and
 * written, so the disk and the cluster work at once; `use` gets each chunk and its release.
 */
async function readHashed(p: Pass, offset: number, length: number, use?: (at: number, data: Buffer, release: () => void) => Promise<void>): Promise<number> {
  const end = offset + length;
  let at = offset;
  let next: Promise<Chunk> | undefined = length > 0 ? readChunk(p, offset, end) : undefined;
  try {
    while (next) {
      check(p);
      const c: Chunk = await next;
      next = c.n === c.want && c.at + c.n < end ? readChunk(p, c.at + c.n, end) : undefined;
      const data = c.buf.subarray(0, c.n);
      const release = countdown(use ? 2 : 1, () => p.pool.release(c.buf));
      p.sum.update(data, release);
      if (use) await use(c.at, data, release);
      at = c.at + c.n;
      p.onProgress?.({ done: at, total: p.src.size ?? at });
    }
  } finally {
    // A read started ahead of a failure: let it finish and give its buffer back, never reject unheard.
    next?.then((c) => p.pool.release(c.buf), () => undefined);
  }
  return at - offset;
}

/**
 * Raw: reads the source's data extents (everything for a stream) and writes their non-zero parts.
 * A stream of unknown length grows the image as it goes, up to `limit`. Returns the image size.
 */
export async function rawPass(p: Pass, img: Image, limit: number): Promise<number> {
  const known = p.src.size;
  const extents: AsyncIterable<Extent> = p.src.dataExtents?.() ?? (async function* () {
    yield { offset: 0, length: known ?? Number.MAX_SAFE_INTEGER };
  })();
  let imageSize = known ?? 0;
  let end = 0;
  for await (const ext of extents) {
    p.sum.zeros(ext.offset - end);
    const got = await readHashed(p, ext.offset, ext.length, async (at, data, release) => {
      if (at + data.length > imageSize) {
        if (at + data.length > limit) {
          release();
          throw new ImageTooLarge('virtual-size', `the stream is longer than the limit of ${limit} bytes`, 'raw');
        }
        imageSize = Math.min(limit, Math.max(at + data.length, imageSize * 2, 256 * 1024 * 1024));
        await img.resize(imageSize);
      }
      await p.writer.write(at, data, release);
    });
    end = ext.offset + got;
    if (got < ext.length) {
      if (known !== undefined) throw new CorruptImage('truncated', `the file ended at ${end} bytes, before its size of ${known}`, 'raw');
      break;
    }
  }
  if (known !== undefined) p.sum.zeros(known - end);
  const size = known ?? end;
  p.onProgress?.({ done: size, total: size });
  if (size === 0) throw new CorruptImage('empty', 'the image is empty', 'raw');
  if (known === undefined) await img.resize(size, { allowShrink: true });
  return size;
}

/** Runs read together: neighbours (compressed clusters share sectors) up to one pool buffer. */
function* groups(runs: Iterable<DataRun>, limit: number): Generator<{ start: number; end: number; runs: DataRun[] }> {
  let g: { start: number; end: number; runs: DataRun[] } | undefined;
  for (const run of runs) {
    const end = run.host + run.length;
    if (g && run.host <= g.end && Math.max(g.end, end) - g.start <= limit) {
      g.runs.push(run);
      g.end = Math.max(g.end, end);
    } else {
      if (g) yield g;
      g = { start: run.host, end, runs: [run] };
    }
  }
  if (g) yield g;
}

/**
 * qcow2: follows the cluster map in file order. Data clusters are written straight from the buffer
 * they were read into; compressed ones are inflated first. With a checksum asked, the bytes between
 * them (tables, refcounts) are read and hashed too; without, they are skipped.
 */
export async function qcow2Pass(p: Pass, map: ClusterMap): Promise<void> {
  const { clusterSize, virtualSize } = map.header;
  const hashing = p.sum.algorithms.length > 0;
  const fileSize = p.src.size!;
  let hashed = 0;
  for (const g of groups(map.runs(), p.pool.size)) {
    check(p);
    if (hashing && g.start > hashed) hashed += await readHashed(p, hashed, g.start - hashed);
    const buf = await p.pool.acquire();
    let release = () => p.pool.release(buf);
    try {
      const span = g.end - g.start;
      const n = await p.reader.read(buf.subarray(0, span), g.start);
      if (n < span) throw new CorruptImage('qcow2-truncated', 'the file ended before its data clusters', 'qcow2');
      release = countdown(1 + g.runs.length, release);
      // Only bytes not hashed yet: compressed neighbours may overlap by a sector.
      if (hashing && g.end > hashed) {
        p.sum.update(buf.subarray(Math.max(0, hashed - g.start), span), release);
        hashed = g.end;
      } else release();
    } catch (e) {
      release();
      throw e;
    }
    for (const run of g.runs) {
      const bytes = buf.subarray(run.host - g.start, run.host - g.start + run.length);
      if (!run.compressed) {
        await p.writer.write(run.guest, bytes, release);
        continue;
      }
      let out: Buffer;
      try {
        out = await inflate(bytes, { maxOutputLength: clusterSize, finishFlush: 2 /* Z_SYNC_FLUSH: the stream may end mid-sector */ });
      } catch (e) {
        throw new CorruptImage('qcow2-compressed-data', `a compressed cluster at ${run.host} does not inflate: ${(e as Error).message}`, 'qcow2');
      } finally {
        release();
      }
      if (out.length < clusterSize && run.guest + out.length < virtualSize) throw new CorruptImage('qcow2-compressed-data', `a compressed cluster at ${run.host} inflates short`, 'qcow2');
      await p.writer.write(run.guest, out.subarray(0, Math.min(clusterSize, virtualSize - run.guest)));
    }
    p.onProgress?.({ done: g.end, total: fileSize });
  }
  if (hashing && fileSize > hashed) hashed += await readHashed(p, hashed, fileSize - hashed);
  p.onProgress?.({ done: fileSize, total: fileSize });
}

/** Only hashes every byte (formats qemu-img converts). */
export async function hashPass(p: Pass): Promise<void> {
  if (p.sum.algorithms.length > 0) await readHashed(p, 0, p.src.size ?? Number.MAX_SAFE_INTEGER);
}
