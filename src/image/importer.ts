/**
 * Import into RBD in one verified pass: inspect, create, read what may hold data once (hashing it
 * on the checksum thread when asked), write only guest data (zeros never), check the checksums,
 * optionally snapshot and protect as a golden image. Any failure, abort or mismatch removes the
 * partial image: nothing is left.
 */
import { Errno } from '../ceph/errno.js';
import { CephError, Image, InvalidArgument, type IoCtx, type ProgressOptions, Rbd, throwIfAborted } from '../ceph/index.js';
import { BufferPool } from './buffer-pool.js';
import { Checksummer, HEX_LENGTH, type HashAlgorithm } from './checksum.js';
import { ChecksumMismatch, CorruptImage, ImageTooLarge } from './errors.js';
import { type ImageFormat, type Inspection, assertSafe, inspect } from './inspect.js';
import { hashPass, type Pass, qcow2Pass, rawPass } from './passes.js';
import { readClusterMap } from './qcow2.js';
import { type QemuLimits, qemuConvertIntoRbd, qemuRbdTarget, qemuVirtualSize } from './qemu.js';
import type { ImageSource } from './source.js';
import { ImageWriter } from './writer.js';

export type { HashAlgorithm } from './checksum.js';

/** Chunk size: RBD's default object size, so that a chunk is one object's write. */
const CHUNK = 4 * 1024 * 1024;

/** Options of {@link importIntoRbd}. */
export interface PipelineOptions extends ProgressOptions {
  /** The declared format: the content must be this. Without it, the detected format is used (raw, qcow2…). */
  format?: ImageFormat;
  /** Largest virtual size accepted (default 1 TiB); the pool's free space bounds it too. */
  maxVirtualSize?: number;
  /** Expected checksums (hex); a mismatch undoes the import. */
  expect?: Partial<Record<HashAlgorithm, string>>;
  /**
   * Checksums to compute and return besides the expected ones (default none: a checksum costs CPU
   * over every byte, holes included; sha256 runs at about 1.7 GB/s on a thread of its own).
   */
  hashes?: HashAlgorithm[];
  /** Finish as a golden image: snapshot with this name (true: `snap`), protected. */
  golden?: boolean | string;
  /** Writes in flight (default 16); the import holds at most this many 4 MiB buffers, plus two. */
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

const DEFAULT_CONCURRENCY = 16;

/** Checks options before anything is read or created. */
function validate(o: PipelineOptions): { hashes: HashAlgorithm[]; expect: Partial<Record<HashAlgorithm, string>> } {
  const expect: Partial<Record<HashAlgorithm, string>> = {};
  for (const [alg, hex] of Object.entries(o.expect ?? {}) as [HashAlgorithm, string | undefined][]) {
    if (hex === undefined) continue;
    if (!(alg in HEX_LENGTH)) throw new InvalidArgument(`unknown checksum algorithm ${alg}`, Errno.EINVAL, { op: 'import' });
    if (typeof hex !== 'string' || !new RegExp(`^[0-9a-fA-F]{${HEX_LENGTH[alg]}}$`).test(hex)) throw new InvalidArgument(`${alg} must be ${HEX_LENGTH[alg]} hex digits`, Errno.EINVAL, { op: 'import' });
    expect[alg] = hex.toLowerCase();
  }
  const hashes = [...new Set<HashAlgorithm>([...(o.hashes ?? []), ...(Object.keys(expect) as HashAlgorithm[])])];
  for (const h of hashes) if (!(h in HEX_LENGTH)) throw new InvalidArgument(`unknown checksum algorithm ${h}`, Errno.EINVAL, { op: 'import' });
  const c = o.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(c) || c < 1 || c > 64) throw new InvalidArgument('concurrency must be 1..64', Errno.EINVAL, { op: 'import' });
  if (o.golden !== undefined && typeof o.golden !== 'boolean' && (typeof o.golden !== 'string' || !/^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,63}$/.test(o.golden))) {
    throw new InvalidArgument('golden must be true or a snapshot name', Errno.EINVAL, { op: 'import' });
  }
  return { hashes, expect };
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

  // The checksum thread starts while the image is created and opened.
  await using sum = new Checksummer(algorithms);
  await Rbd.create(target.io, target.name, size ?? 0, { features: target.features });
  const concurrency = o.concurrency ?? DEFAULT_CONCURRENCY;
  let img: Image | undefined;
  let writer: ImageWriter | undefined;
  const snapshot = o.golden ? (typeof o.golden === 'string' ? o.golden : 'snap') : undefined;
  // Given back (for the next import) only once every read, write and checksum has let go of it.
  using pool = BufferPool.borrow(CHUNK, concurrency + 2);
  try {
    img = await Image.open(target.io, target.name);
    writer = new ImageWriter(img, concurrency);
    const pass: Pass = { src, reader: src.reader(), pool, writer, sum, ...(o.signal ? { signal: o.signal } : {}), ...(o.onProgress ? { onProgress: o.onProgress } : {}) };
    if (format === 'qcow2') await qcow2Pass(pass, map!);
    else if (!needsQemu) size = await rawPass(pass, img, limit);
    else {
      await hashPass(pass);
      await img.close();
      await qemuConvertIntoRbd(src.path!, format, qemuRbdTarget({ pool: target.io.pool, namespace: target.io.namespace, image: target.name, conf: target.conf, user: target.user, keyring: target.keyring }), o.qemu ?? {}, o.signal);
      img = await Image.open(target.io, target.name);
      writer = new ImageWriter(img, 1);
    }
    await writer.finish();
    const checksums = await sum.digest();
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
