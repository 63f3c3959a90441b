/**
 * Import into RBD in one verified pass: inspect, create, stream every byte once (hashing it),
 * write only guest data (zeros never), check the checksums, optionally snapshot and protect as a
 * golden image. Any failure, abort or mismatch removes the partial image: nothing is left.
 */
import { createHash, type Hash } from 'node:crypto';
import { promisify } from 'node:util';
import { inflateRaw } from 'node:zlib';
import { Errno } from '../ceph/errno.js';
import { CephError, Image, InvalidArgument, type IoCtx, type ProgressOptions, Rbd, throwIfAborted } from '../ceph/index.js';
import { ChecksumMismatch, CorruptImage, ImageTooLarge } from './errors.js';
import { type ImageFormat, type Inspection, assertSafe, inspect } from './inspect.js';
import { type ClusterMap, type DataRun, readClusterMap } from './qcow2.js';
import { type QemuLimits, qemuConvertIntoRbd, qemuRbdTarget, qemuVirtualSize } from './qemu.js';
import type { ImageSource } from './source.js';
import { ImageWriter } from './writer.js';

const inflate = promisify(inflateRaw);
const CHUNK = 4 * 1024 * 1024;

/** Checksum algorithms: Glance's multihash (sha256, sha512) and its legacy md5 `checksum`. */
export type HashAlgorithm = 'sha256' | 'sha512' | 'md5';
const HEX_LENGTH: Record<HashAlgorithm, number> = { sha256: 64, sha512: 128, md5: 32 };

/** Options of {@link importIntoRbd}. */
export interface PipelineOptions extends ProgressOptions {
  /** The declared format: the content must be this. Without it, the detected format is used (raw, qcow2…). */
  format?: ImageFormat;
  /** Largest virtual size accepted (default 1 TiB); the pool's free space bounds it too. */
  maxVirtualSize?: number;
  /** Expected checksums (hex); a mismatch undoes the import. */
  expect?: Partial<Record<HashAlgorithm, string>>;
  /** Checksums to compute and return (default sha256, plus every expected one). */
  hashes?: HashAlgorithm[];
  /** Finish as a golden image: snapshot with this name (true: `snap`), protected. */
  golden?: boolean | string;
  /** Writes in flight (default 16). */
  concurrency?: number;
  qemu?: QemuLimits;
}

/** Where and how to create the image. */
export interface RbdTarget {
  io: IoCtx;
  name: string;
  features: bigint;
  /** The pool's free space (MAX AVAIL): a larger virtual size is refused up front. */
  freeBytes?: number;
  /** For qemu-img's rbd target. */
  conf: string;
  user: string;
  keyring?: string | undefined;
}

/** What an import did. */
export interface PipelineResult {
  name: string;
  format: ImageFormat;
  virtualSize: number;
  bytesWritten: number;
  zeroBytesSkipped: number;
  /** Hex digests of the source bytes, by algorithm. */
  checksums: Partial<Record<HashAlgorithm, string>>;
  /** The protected snapshot of a golden import. */
  snapshot?: string;
  inspection: Inspection;
}

/** Checks options before anything is read or created. */
function validate(o: PipelineOptions): { hashes: HashAlgorithm[]; expect: Partial<Record<HashAlgorithm, string>> } {
  const expect: Partial<Record<HashAlgorithm, string>> = {};
  for (const [alg, hex] of Object.entries(o.expect ?? {}) as [HashAlgorithm, string | undefined][]) {
    if (hex === undefined) continue;
    if (!(alg in HEX_LENGTH)) throw new InvalidArgument(`unknown checksum algorithm ${alg}`, Errno.EINVAL, { op: 'import' });
    if (typeof hex !== 'string' || !new RegExp(`^[0-9a-fA-F]{${HEX_LENGTH[alg]}}$`).test(hex)) throw new InvalidArgument(`${alg} must be ${HEX_LENGTH[alg]} hex digits`, Errno.EINVAL, { op: 'import' });
    expect[alg] = hex.toLowerCase();
  }
  const hashes = [...new Set<HashAlgorithm>([...(o.hashes ?? ['sha256']), ...(Object.keys(expect) as HashAlgorithm[])])];
  for (const h of hashes) if (!(h in HEX_LENGTH)) throw new InvalidArgument(`unknown checksum algorithm ${h}`, Errno.EINVAL, { op: 'import' });
  const c = o.concurrency ?? 8;
  if (!Number.isInteger(c) || c < 1 || c > 64) throw new InvalidArgument('concurrency must be 1..64', Errno.EINVAL, { op: 'import' });
  if (o.golden !== undefined && typeof o.golden !== 'boolean' && (typeof o.golden !== 'string' || !/^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,63}$/.test(o.golden))) {
    throw new InvalidArgument('golden must be true or a snapshot name', Errno.EINVAL, { op: 'import' });
  }
  return { hashes, expect };
}

/** Streams a raw source; grows the image when the source's size was unknown. */
async function rawPass(src: ImageSource, img: Image, w: ImageWriter, hashes: Hash[], o: PipelineOptions, limit: number): Promise<number> {
  let offset = 0;
  let imageSize = src.size ?? 0;
  for await (const chunk of src.chunks(CHUNK)) {
    throwIfAborted(o.signal, { op: 'import' });
    for (const h of hashes) h.update(chunk);
    if (offset + chunk.length > imageSize) {
      if (offset + chunk.length > limit) throw new ImageTooLarge('virtual-size', `the stream is longer than the limit of ${limit} bytes`, 'raw');
      imageSize = Math.min(limit, Math.max(offset + chunk.length, imageSize * 2, 64 * CHUNK));
      await img.resize(imageSize);
    }
    await w.write(offset, chunk);
    offset += chunk.length;
    o.onProgress?.({ done: offset, total: src.size ?? offset });
  }
  if (offset === 0) throw new CorruptImage('empty', 'the image is empty', 'raw');
  if (src.size === undefined) await img.resize(offset, { allowShrink: true });
  return offset;
}

/** One sequential pass over a qcow2 file: hash every byte, write data clusters as they go by. */
async function qcow2Pass(src: ImageSource, map: ClusterMap, w: ImageWriter, hashes: Hash[], o: PipelineOptions): Promise<void> {
  const { clusterSize, virtualSize } = map.header;
  const runs = map.runs;
  let next = 0;
  const active: { run: DataRun; buf: Buffer; filled: number }[] = [];
  let pos = 0;
  const emit = async (run: DataRun, buf: Buffer) => {
    if (!run.compressed) return w.write(run.guest, buf);
    let out: Buffer;
    try {
      out = await inflate(buf, { maxOutputLength: clusterSize, finishFlush: 2 /* Z_SYNC_FLUSH: the stream may end mid-sector */ });
    } catch (e) {
      throw new CorruptImage('qcow2-compressed-data', `a compressed cluster at ${run.host} does not inflate: ${(e as Error).message}`, 'qcow2');
    }
    if (out.length < clusterSize && run.guest + out.length < virtualSize) throw new CorruptImage('qcow2-compressed-data', `a compressed cluster at ${run.host} inflates short`, 'qcow2');
    return w.write(run.guest, out.subarray(0, Math.min(clusterSize, virtualSize - run.guest)));
  };
  // Data is copied out of each chunk, so one buffer serves the whole file.
  for await (const chunk of src.chunks(CHUNK, { reuse: true })) {
    throwIfAborted(o.signal, { op: 'import' });
    for (const h of hashes) h.update(chunk);
    const end = pos + chunk.length;
    while (next < runs.length && runs[next]!.host < end) {
      const run = runs[next++]!;
      active.push({ run, buf: Buffer.allocUnsafe(run.length), filled: 0 });
    }
    for (let i = 0; i < active.length; ) {
      const a = active[i]!;
      const from = Math.max(a.run.host + a.filled, pos);
      const to = Math.min(a.run.host + a.run.length, end);
      if (to > from) {
        chunk.copy(a.buf, from - a.run.host, from - pos, to - pos);
        a.filled = to - a.run.host;
      }
      if (a.filled >= a.run.length) {
        active.splice(i, 1);
        await emit(a.run, a.buf);
      } else i++;
    }
    pos = end;
    o.onProgress?.({ done: pos, total: src.size ?? pos });
  }
  if (active.length > 0 || next < runs.length) throw new CorruptImage('qcow2-truncated', 'the file ended before its data clusters', 'qcow2');
}

/**
 * Inspects `src`, then imports it as a new image `target.name`. Refuses before creating
 * anything when the image is unsafe, mismatched or too large; removes the image on any later failure.
 */
export async function importIntoRbd(src: ImageSource & { path?: string }, target: RbdTarget, o: PipelineOptions = {}): Promise<PipelineResult> {
  const { hashes: algorithms, expect } = validate(o);
  throwIfAborted(o.signal, { op: 'import' });
  const limit = Math.min(o.maxVirtualSize ?? 2 ** 40, target.freeBytes ?? Number.MAX_SAFE_INTEGER);
  const inspection = await inspect(src, { ...(o.format ? { declared: o.format } : {}), maxVirtualSize: o.maxVirtualSize ?? 2 ** 40 });
  assertSafe(inspection);
  const format = inspection.format;
  const needsQemu = !['raw', 'iso', 'qcow2'].includes(format);
  if (needsQemu && !src.path) throw new CorruptImage('needs-file', `${format} images are converted by qemu-img and must come from a file`, format);
  let size = inspection.virtualSize;
  if (needsQemu) size = await qemuVirtualSize(src.path!, format, o.qemu ?? {});
  if (size !== undefined && size > limit) {
    throw new ImageTooLarge(size > (o.maxVirtualSize ?? 2 ** 40) ? 'virtual-size' : 'pool-free-space', `virtual size ${size} is over ${size > (o.maxVirtualSize ?? 2 ** 40) ? 'the limit' : "the pool's free space"} of ${limit} bytes`, format);
  }
  const map = format === 'qcow2' ? (inspection.qcow2Map ?? (await readClusterMap(src, inspection.qcow2!))) : undefined;
  throwIfAborted(o.signal, { op: 'import' });

  await Rbd.create(target.io, target.name, size ?? 0, { features: target.features });
  const hashes = algorithms.map((a) => createHash(a));
  let img: Image | undefined;
  let writer: ImageWriter | undefined;
  const snapshot = o.golden ? (typeof o.golden === 'string' ? o.golden : 'snap') : undefined;
  try {
    img = await Image.open(target.io, target.name);
    writer = new ImageWriter(img, o.concurrency ?? 8);
    if (format === 'qcow2') await qcow2Pass(src, map!, writer, hashes, o);
    else if (!needsQemu) size = await rawPass(src, img, writer, hashes, o, limit);
    else {
      for await (const chunk of src.chunks(CHUNK)) {
        throwIfAborted(o.signal, { op: 'import' });
        for (const h of hashes) h.update(chunk);
      }
      await img.close();
      await qemuConvertIntoRbd(src.path!, format, qemuRbdTarget({ pool: target.io.pool, namespace: target.io.namespace, image: target.name, conf: target.conf, user: target.user, keyring: target.keyring }), o.qemu ?? {}, o.signal);
      img = await Image.open(target.io, target.name);
      writer = new ImageWriter(img, 1);
    }
    await writer.finish();
    const checksums: Partial<Record<HashAlgorithm, string>> = {};
    algorithms.forEach((a, i) => (checksums[a] = hashes[i]!.digest('hex')));
    for (const [alg, hex] of Object.entries(expect) as [HashAlgorithm, string][]) {
      if (checksums[alg] !== hex) throw new ChecksumMismatch(alg, hex, checksums[alg]!, { pool: target.io.pool, image: target.name });
    }
    if (snapshot) {
      await img.createSnapshot(snapshot);
      await img.protectSnapshot(snapshot);
    }
    await img.close();
    return { name: target.name, format, virtualSize: size ?? 0, bytesWritten: writer.bytesWritten, zeroBytesSkipped: writer.zeroBytesSkipped, checksums, ...(snapshot ? { snapshot } : {}), inspection };
  } catch (e) {
    await writer?.drain();
    if (img && !img.closed) {
      if (snapshot && (await img.snapshotExists(snapshot).catch(() => false))) await img.removeSnapshot(snapshot, { force: true }).catch(() => undefined);
      await img.close().catch(() => undefined);
    }
    try {
      await Rbd.remove(target.io, target.name);
    } catch (undo) {
      // Never hide the partial image: the caller must know it is still there.
      throw new CephError(
        `import of ${target.io.pool}/${target.name} failed (${(e as Error).message}) and removing the partial image failed too: ${(undo as Error).message}`,
        (undo as CephError).errno,
        { op: 'import', pool: target.io.pool, image: target.name },
        { cause: e },
      );
    }
    throw e;
  }
}
