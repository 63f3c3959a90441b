/**
 * Import through the safe image pipeline, and raw export, natively (no `rbd` CLI). Export writes
 * only what RBD allocated. Either way a failure or an abort leaves nothing behind: no partial
 * image, no partial file.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { createHash } from 'node:crypto';
import { CephError, Image, InvalidArgument, type ProgressOptions, Rbd, throwIfAborted } from '../ceph/index.js';
import { Errno } from '../ceph/errno.js';
import { type HashAlgorithm, type PipelineOptions, type PipelineResult, fileSource, httpSource, importIntoRbd, streamSource } from '../image/index.js';
import { qemuConvertFromRbd, qemuRbdTarget } from '../image/qemu.js';
import { assertImageName, defaultFeatures } from './clone.js';
import { formatRbdUrl } from './url.js';
import { poolInfo } from './cluster-info.js';
import { type DriverContext, type Placement, place } from './context.js';
import { SNAP_MARK } from './destroy.js';
import { audit } from './logging.js';

const BLOCK = 4 * 1024 * 1024;

/** Options for import and export. */
export interface TransferOptions extends ProgressOptions, Placement {}

/** Where an import reads from: a file path, an http(s) URL, or a readable stream (stdin). */
export type ImportSource = string | Readable;

/** What an import did; a golden import also gives the `rbd://` URL of its protected snapshot. */
export type ImportResult = PipelineResult & { url?: string };

function settledValue<T>(r: PromiseSettledResult<T>): T {
  if (r.status === 'rejected') throw r.reason;
  return r.value;
}

/** Imports `source` as a new image `name` through the safe pipeline; see `importIntoRbd`. */
export async function importImage(ctx: DriverContext, source: ImportSource, name: string, options: TransferOptions & PipelineOptions = {}): Promise<ImportResult> {
  assertImageName(name);
  if (typeof source === 'string' ? source === '' : !(source instanceof Readable)) throw new InvalidArgument('source must be a file path, an http(s) URL or a readable stream', Errno.EINVAL, { op: 'importImage' });
  throwIfAborted(options.signal, { op: 'importImage' });
  const { pool, namespace } = place(ctx, options);
  const where = { pool, ...(namespace ? { namespace } : {}), image: name, user: ctx.conn.user };
  const io = await ctx.conn.ioctx(pool, namespace);
  const rados = await ctx.conn.rados();
  // The preflight checks and opening the source are independent round trips: they run at once, and
  // the first failure in this order is the one reported (an opened source is closed again).
  const [exists, writable, info, opened] = await Promise.allSettled([
    Rbd.exists(io, name),
    ctx.conn.assertWritable(pool, namespace),
    poolInfo(ctx, pool),
    typeof source !== 'string' ? streamSource(source, 'stream') : /^https?:\/\//i.test(source) ? httpSource(source, options.signal) : fileSource(source),
  ]);
  let freeBytes: number | undefined;
  try {
    if (settledValue(exists)) throw new CephError(`import target ${pool}/${name} exists`, Errno.EEXIST, { op: 'importImage', ...where });
    settledValue(writable);
    freeBytes = settledValue(info).freeBytes;
  } catch (e) {
    if (opened.status === 'fulfilled') await opened.value[Symbol.asyncDispose]();
    throw e;
  }
  const src = settledValue(opened);
  try {
    const r = await importIntoRbd(src, { io, name, features: defaultFeatures(rados), freeBytes, conf: ctx.conf, user: ctx.conn.user, keyring: ctx.keyring }, options);
    if (r.snapshot) {
      // The golden snapshot is the driver's own: destroyVolume may remove it once no clone needs it.
      await using img = await Image.open(io, name);
      await img.setMetadata(`${SNAP_MARK}${r.snapshot}`, new Date().toISOString());
      audit(ctx.log, { action: 'import', ...where, outcome: 'created', format: r.format, size: r.virtualSize, sha256: r.checksums.sha256, snapshot: r.snapshot });
      return { ...r, url: formatRbdUrl({ fsid: rados.fsid(), pool, namespace, image: name, snapshot: r.snapshot }) };
    }
    audit(ctx.log, { action: 'import', ...where, outcome: 'created', format: r.format, size: r.virtualSize, sha256: r.checksums.sha256 });
    return r;
  } catch (e) {
    audit(ctx.log, { action: 'import', ...where, outcome: 'refused-or-undone', reason: e instanceof Error ? e.message : String(e) });
    throw e;
  } finally {
    await src[Symbol.asyncDispose]();
  }
}

/** What an export did. */
export interface ExportResult {
  /** The file written, or undefined for a stream. */
  path: string | undefined;
  format: 'raw' | 'qcow2';
  /** Guest size in bytes (the raw stream's length). */
  size: number;
  /** Bytes of data read from RBD (allocated extents). */
  bytesWritten: number;
  /** Hex digests of the exported raw bytes (holes read as zeros), by algorithm. */
  checksums: Partial<Record<HashAlgorithm, string>>;
}

/** Options for {@link exportImage}. */
export interface ExportOptions extends TransferOptions {
  snapshot?: string;
  /** `raw` (default; a file stays sparse) or `qcow2` (files only, through qemu-img). */
  format?: 'raw' | 'qcow2';
  /** Checksums of the raw bytes (default sha256). */
  hashes?: HashAlgorithm[];
}

const ZERO_BLOCK = Buffer.alloc(BLOCK);

async function writeAll(out: Writable, data: Buffer): Promise<void> {
  if (!out.write(data)) await once(out, 'drain');
}

/**
 * Exports image `name` (at `snapshot` if given) to a new file at `path` (which must not exist) or to a
 * stream. Raw: only what RBD allocated is read (diff iteration); a file stays sparse, a stream gets
 * zeros for holes. qcow2: through qemu-img, argv only, with limits. Checksums cover the raw bytes.
 * A failure or abort removes the partial file.
 */
export async function exportImage(ctx: DriverContext, name: string, target: string | Writable, options: ExportOptions = {}): Promise<ExportResult> {
  assertImageName(name);
  const toFile = typeof target === 'string';
  if (toFile ? target === '' : !(target instanceof Writable)) throw new InvalidArgument('target must be a file path or a writable stream', Errno.EINVAL, { op: 'exportImage' });
  const format = options.format ?? 'raw';
  if (format !== 'raw' && format !== 'qcow2') throw new InvalidArgument('format must be raw or qcow2', Errno.EINVAL, { op: 'exportImage' });
  if (format === 'qcow2' && !toFile) throw new InvalidArgument('qcow2 exports go to a file', Errno.EINVAL, { op: 'exportImage' });
  const algorithms = options.hashes ?? ['sha256'];
  const { pool, namespace } = place(ctx, options);
  const where = { op: 'exportImage', pool, image: name };
  if (toFile) {
    const exists = await stat(target).then(() => true, () => false);
    if (exists) throw new CephError(`export target ${target} exists`, Errno.EEXIST, where);
  }
  const io = await ctx.conn.ioctx(pool, namespace);
  const img = await Image.open(io, name, { readOnly: true, ...(options.snapshot ? { snapshot: options.snapshot } : {}) });
  const partial = toFile ? join(dirname(target), `.${basename(target)}.partial-${randomBytes(4).toString('hex')}`) : undefined;
  let written = 0;
  try {
    const size = await img.size();
    const extents = (await img.diff({ includeParent: true })).filter((e) => e.exists);
    const total = extents.reduce((n, e) => n + e.length, 0);
    const hashes = algorithms.map((a) => createHash(a));
    const rawFile = toFile && format === 'raw' ? await open(partial!, 'wx', 0o600) : undefined;
    try {
      if (rawFile) await rawFile.truncate(size);
      let k = 0;
      for (let off = 0; off < size; off += BLOCK) {
        throwIfAborted(options.signal, { op: 'exportImage' });
        const len = Math.min(BLOCK, size - off);
        while (k < extents.length && extents[k]!.offset + extents[k]!.length <= off) k++;
        const allocated = k < extents.length && extents[k]!.offset < off + len;
        const data = allocated ? await img.read(off, len) : ZERO_BLOCK.subarray(0, len);
        if (allocated) {
          written += len;
          options.onProgress?.({ done: Math.min(written, total), total });
        }
        for (const h of hashes) h.update(data);
        if (rawFile) {
          if (allocated) await rawFile.write(data, 0, data.length, off);
        } else if (!toFile) await writeAll(target, data);
      }
      if (rawFile) await rawFile.sync();
    } finally {
      await rawFile?.close();
    }
    if (toFile && format === 'qcow2') {
      await qemuConvertFromRbd(qemuRbdTarget({ pool, namespace, image: name, snapshot: options.snapshot, conf: ctx.conf, user: ctx.conn.user, keyring: ctx.keyring }), partial!, 'qcow2', {}, options.signal);
    }
    if (toFile) await rename(partial!, target);
    else await new Promise<void>((resolve, reject) => (target as Writable).end((e?: Error | null) => (e ? reject(e) : resolve())));
    const checksums: Partial<Record<HashAlgorithm, string>> = {};
    algorithms.forEach((a, i) => (checksums[a] = hashes[i]!.digest('hex')));
    return { path: toFile ? target : undefined, format, size, bytesWritten: written, checksums };
  } catch (e) {
    if (partial) await rm(partial, { force: true });
    throw e;
  } finally {
    await img.close();
  }
}
