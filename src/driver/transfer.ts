/**
 * Raw import and export, natively (no `rbd` CLI). Import skips all-zero blocks so the image stays
 * sparse and keeps several writes in flight; export writes only what RBD allocated. Either way a
 * failure or an abort leaves nothing behind: no partial image, no partial file.
 * (The safe multi-format pipeline of the image issue replaces the import internals.)
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CephError, Image, InvalidArgument, OperationCanceled, type ProgressOptions, Rbd } from '../ceph/index.js';
import { Errno } from '../ceph/errno.js';
import { assertImageName, defaultFeatures } from './clone.js';
import { type DriverContext, type Placement, place } from './context.js';
import { audit } from './logging.js';

const BLOCK = 4 * 1024 * 1024;
const IN_FLIGHT = 8;

/** Options for import and export. */
export interface TransferOptions extends ProgressOptions, Placement {}

/** What an import did. */
export interface ImportResult {
  name: string;
  size: number;
  bytesWritten: number;
  zeroBytesSkipped: number;
}

function isZero(buf: Buffer): boolean {
  // Compare 8 bytes at a time; a zero block is the common case for a sparse disk image.
  const words = Math.floor(buf.length / 8);
  for (let i = 0; i < words; i++) if (buf.readBigUInt64LE(i * 8) !== 0n) return false;
  for (let i = words * 8; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

function checkAbort(signal: AbortSignal | undefined, op: string): void {
  if (signal?.aborted) throw new OperationCanceled(`${op} canceled`, Errno.ECANCELED, { op }, { cause: signal.reason });
}

/** Imports the raw file at `path` as a new image `name`. */
export async function importRaw(ctx: DriverContext, path: string, name: string, options: TransferOptions = {}): Promise<ImportResult> {
  if (typeof path !== 'string' || path === '') throw new InvalidArgument('path must be a file path', Errno.EINVAL, { op: 'importImage' });
  assertImageName(name);
  const { pool, namespace } = place(ctx, options);
  const where = { pool, ...(namespace ? { namespace } : {}), image: name, user: ctx.conn.user };
  const st = await stat(path);
  if (!st.isFile()) throw new InvalidArgument(`${path} is not a regular file`, Errno.EINVAL, { op: 'importImage', ...where });
  checkAbort(options.signal, 'importImage');
  const io = await ctx.conn.ioctx(pool, namespace);
  await ctx.conn.assertWritable(pool, namespace);
  const rados = await ctx.conn.rados();
  await Rbd.create(io, name, st.size, { features: defaultFeatures(rados) });
  let written = 0;
  let skipped = 0;
  try {
    await using file = await open(path, 'r');
    await using img = await Image.open(io, name);
    const inflight = new Set<Promise<void>>();
    const free: Buffer[] = Array.from({ length: IN_FLIGHT + 1 }, () => Buffer.allocUnsafe(BLOCK));
    let failure: unknown;
    for (let off = 0; off < st.size; off += BLOCK) {
      checkAbort(options.signal, 'importImage');
      if (failure) throw failure;
      const buf = free.pop()!;
      const { bytesRead } = await file.read(buf, 0, Math.min(BLOCK, st.size - off), off);
      const chunk = buf.subarray(0, bytesRead);
      if (isZero(chunk)) {
        skipped += bytesRead;
        free.push(buf);
      } else {
        const p: Promise<void> = img.aioWrite(chunk, off).then(
          () => {
            written += bytesRead;
          },
          (e: unknown) => {
            failure ??= e;
          },
        );
        const tracked = p.finally(() => {
          inflight.delete(tracked);
          free.push(buf);
        });
        inflight.add(tracked);
      }
      options.onProgress?.({ done: Math.min(off + BLOCK, st.size), total: st.size });
      if (inflight.size >= IN_FLIGHT) await Promise.race(inflight);
    }
    await Promise.all(inflight);
    if (failure) throw failure;
    await img.flush();
  } catch (e) {
    await Rbd.remove(io, name).catch((undo: unknown) => ctx.log.error({ err: undo, ...where }, 'removing the partial import failed'));
    audit(ctx.log, { action: 'import', ...where, outcome: 'undone', reason: e instanceof Error ? e.message : String(e) });
    throw e;
  }
  audit(ctx.log, { action: 'import', ...where, outcome: 'created', size: st.size, bytesWritten: written });
  return { name, size: st.size, bytesWritten: written, zeroBytesSkipped: skipped };
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
