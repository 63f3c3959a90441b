/**
 * Import through the safe image pipeline, and raw export, natively (no `rbd` CLI). Export writes
 * only what RBD allocated. Either way a failure or an abort leaves nothing behind: no partial
 * image, no partial file.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { CephError, Image, InvalidArgument, OperationCanceled, type ProgressOptions, Rbd } from '../ceph/index.js';
import { Errno } from '../ceph/errno.js';
import { type PipelineOptions, type PipelineResult, fileSource, httpSource, importIntoRbd, streamSource } from '../image/index.js';
import { assertImageName, defaultFeatures } from './clone.js';
import { poolInfo } from './cluster-info.js';
import { type DriverContext, type Placement, place } from './context.js';
import { SNAP_MARK } from './destroy.js';
import { audit } from './logging.js';

const BLOCK = 4 * 1024 * 1024;

/** Options for import and export. */
export interface TransferOptions extends ProgressOptions, Placement {}

function checkAbort(signal: AbortSignal | undefined, op: string): void {
  if (signal?.aborted) throw new OperationCanceled(`${op} canceled`, Errno.ECANCELED, { op }, { cause: signal.reason });
}

/** Where an import reads from: a file path, an http(s) URL, or a readable stream (stdin). */
export type ImportSource = string | Readable;

/** Imports `source` as a new image `name` through the safe pipeline; see `importIntoRbd`. */
export async function importImage(ctx: DriverContext, source: ImportSource, name: string, options: TransferOptions & PipelineOptions = {}): Promise<PipelineResult> {
  assertImageName(name);
  if (typeof source === 'string' ? source === '' : !(source instanceof Readable)) throw new InvalidArgument('source must be a file path, an http(s) URL or a readable stream', Errno.EINVAL, { op: 'importImage' });
  checkAbort(options.signal, 'importImage');
  const { pool, namespace } = place(ctx, options);
  const where = { pool, ...(namespace ? { namespace } : {}), image: name, user: ctx.conn.user };
  const io = await ctx.conn.ioctx(pool, namespace);
  if (await Rbd.exists(io, name)) throw new CephError(`import target ${pool}/${name} exists`, Errno.EEXIST, { op: 'importImage', ...where });
  await ctx.conn.assertWritable(pool, namespace);
  const rados = await ctx.conn.rados();
  const { freeBytes } = await poolInfo(ctx, pool);
  const src = typeof source !== 'string' ? streamSource(source, 'stream') : /^https?:\/\//i.test(source) ? await httpSource(source, options.signal) : await fileSource(source);
  try {
    const r = await importIntoRbd(src, { io, name, features: defaultFeatures(rados), freeBytes, conf: ctx.conf, user: ctx.conn.user, keyring: ctx.keyring }, options);
    if (r.snapshot) {
      // The golden snapshot is the driver's own: destroyVolume may remove it once no clone needs it.
      await using img = await Image.open(io, name);
      await img.setMetadata(`${SNAP_MARK}${r.snapshot}`, new Date().toISOString());
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
  path: string;
  size: number;
  bytesWritten: number;
}

/** Exports image `name` (at `snapshot` if given) to a raw, sparse file at `path`, which must not exist. */
export async function exportRaw(ctx: DriverContext, name: string, path: string, options: TransferOptions & { snapshot?: string } = {}): Promise<ExportResult> {
  assertImageName(name);
  if (typeof path !== 'string' || path === '') throw new InvalidArgument('path must be a file path', Errno.EINVAL, { op: 'exportImage' });
  const { pool, namespace } = place(ctx, options);
  const io = await ctx.conn.ioctx(pool, namespace);
  const img = await Image.open(io, name, { readOnly: true, ...(options.snapshot ? { snapshot: options.snapshot } : {}) });
  const partial = join(dirname(path), `.${basename(path)}.partial-${randomBytes(4).toString('hex')}`);
  let written = 0;
  try {
    const size = await img.size();
    const extents = (await img.diff({ includeParent: true })).filter((e) => e.exists);
    const total = extents.reduce((n, e) => n + e.length, 0);
    {
      await using file = await open(partial, 'wx', 0o600);
      await file.truncate(size);
      for (const e of extents) {
        for (let off = e.offset; off < e.offset + e.length; off += BLOCK) {
          checkAbort(options.signal, 'exportImage');
          const len = Math.min(BLOCK, e.offset + e.length - off);
          const data = await img.read(off, len);
          await file.write(data, 0, data.length, off);
          written += data.length;
          options.onProgress?.({ done: written, total });
        }
      }
      await file.sync();
    }
    try {
      await stat(path);
      throw new CephError(`export target ${path} exists`, Errno.EEXIST, { op: 'exportImage', pool, image: name });
    } catch (e) {
      if (e instanceof CephError) throw e;
    }
    await rename(partial, path);
    return { path, size, bytesWritten: written };
  } catch (e) {
    await rm(partial, { force: true });
    throw e;
  } finally {
    await img.close();
  }
}
