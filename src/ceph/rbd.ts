/**
 * Pool-level RBD operations (librbd calls that take an I/O context and an image name), as in
 * Ceph's Python `rbd.RBD` class.
 */
import { native, type NativeImageOptions } from '../native/binding.js';
import { ObjectNotFound, invalidArgument, type ErrorContext } from './errors.js';
import { Image, validateImageName, validateSnapName, type ProgressOptions, withProgress } from './image.js';
import { type IoCtx, nativeIoCtx } from './ioctx.js';

/** RBD feature bits (`rbd/features.h`). */
export const Feature = {
  LAYERING: 1n << 0n,
  STRIPINGV2: 1n << 1n,
  EXCLUSIVE_LOCK: 1n << 2n,
  OBJECT_MAP: 1n << 3n,
  FAST_DIFF: 1n << 4n,
  DEEP_FLATTEN: 1n << 5n,
  JOURNALING: 1n << 6n,
  DATA_POOL: 1n << 7n,
  OPERATIONS: 1n << 8n,
  MIGRATING: 1n << 9n,
  NON_PRIMARY: 1n << 10n,
} as const;

/** Options for creating or cloning an image. */
export interface ImageOptions {
  /** Feature bits; default: the cluster's `rbd_default_features`. */
  features?: bigint | number;
  /** Object size as a power of two, 12..25 (4 KiB..32 MiB); default 22 (4 MiB). */
  order?: number;
  /** Pool for the data objects (erasure-coded pools). */
  dataPool?: string;
  stripeUnit?: number;
  stripeCount?: number;
}

/** Options for {@link Rbd.clone}. */
export interface CloneOptions extends ImageOptions {
  /** 1: needs a protected parent snapshot; 2: does not (needs require-min-compat-client mimic). Default: librbd decides. */
  cloneFormat?: 1 | 2;
}

/** One image in a pool listing. */
export interface ImageSpec {
  id: string;
  name: string;
}

/** One image in the trash. */
export interface TrashEntry {
  id: string;
  name: string;
  /** 0 user, 1 mirroring, 2 migration, 3 removing. */
  source: number;
  deletedAt: Date;
  deferredUntil: Date;
}

function imageOptions(o: ImageOptions & { cloneFormat?: number }, ctx: ErrorContext): NativeImageOptions {
  const out: NativeImageOptions = {};
  if (o.features !== undefined) {
    if ((typeof o.features !== 'bigint' && typeof o.features !== 'number') || BigInt(o.features) < 0n) throw invalidArgument('features must be a non-negative bigint', ctx);
    out.features = BigInt(o.features);
  }
  if (o.order !== undefined) {
    if (!Number.isInteger(o.order) || o.order < 12 || o.order > 25) throw invalidArgument(`order must be an integer 12..25, got ${o.order}`, ctx);
    out.order = o.order;
  }
  if (o.dataPool !== undefined) {
    if (typeof o.dataPool !== 'string' || o.dataPool === '') throw invalidArgument('dataPool must be a pool name', ctx);
    out.dataPool = o.dataPool;
  }
  for (const k of ['stripeUnit', 'stripeCount'] as const) {
    const v = o[k];
    if (v !== undefined) {
      if (!Number.isSafeInteger(v) || v <= 0) throw invalidArgument(`${k} must be a positive integer`, ctx);
      out[k] = v;
    }
  }
  if (o.cloneFormat !== undefined) {
    if (o.cloneFormat !== 1 && o.cloneFormat !== 2) throw invalidArgument('cloneFormat must be 1 or 2', ctx);
    out.cloneFormat = o.cloneFormat;
  }
  return out;
}

function validateSize(size: unknown, ctx: ErrorContext): asserts size is number {
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalidArgument(`size must be a non-negative integer of bytes, got ${String(size)}`, ctx);
}

function ctxOf(io: IoCtx, image?: string, snapshot?: string): ErrorContext {
  return { pool: io.pool, ...(io.namespace ? { namespace: io.namespace } : {}), ...(image ? { image } : {}), ...(snapshot ? { snapshot } : {}) };
}

/** Pool-level image operations. Every method validates its input before calling the cluster. */
export class Rbd {
  private constructor() {}

  /** Creates an image (`rbd_create4`). @throws {@link ImageExists} */
  static async create(io: IoCtx, name: string, size: number, options: ImageOptions = {}): Promise<void> {
    const ctx = ctxOf(io, name);
    validateImageName(name, ctx);
    validateSize(size, ctx);
    const opts = imageOptions(options, ctx);
    await io.run('rbd_create4', () => native().rbdCreate(nativeIoCtx(io), name, size, opts), ctx, 'image');
  }

  /**
   * Clones `parent@snapshot` (in `parentIo`) to `name` (in `childIo`), copy-on-write (`rbd_clone3`).
   * @throws {@link ImageNotFound} when the parent or snapshot is missing; {@link InvalidArgument} when a
   * format-1 clone's snapshot is not protected; {@link ImageExists}; {@link PermissionDenied}.
   */
  static async clone(parentIo: IoCtx, parent: string, snapshot: string, childIo: IoCtx, name: string, options: CloneOptions = {}): Promise<void> {
    const pctx = ctxOf(parentIo, parent, snapshot);
    validateImageName(parent, pctx);
    validateSnapName(snapshot, pctx);
    const cctx = ctxOf(childIo, name);
    validateImageName(name, cctx);
    const opts = imageOptions(options, cctx);
    childIo.ensureOpen('rbd_clone3');
    await parentIo.run(
      'rbd_clone3',
      () => native().rbdClone(nativeIoCtx(parentIo), parent, snapshot, nativeIoCtx(childIo), name, opts),
      { ...cctx, detail: `parent ${parentIo.pool}/${parent}@${snapshot}` },
      'image',
    );
  }

  /**
   * Removes an image (`rbd_remove_with_progress`).
   * @throws {@link ImageNotFound}, {@link ImageHasSnapshots}, {@link ImageBusy} (watchers or clones).
   */
  static async remove(io: IoCtx, name: string, options: ProgressOptions = {}): Promise<void> {
    const ctx = ctxOf(io, name);
    validateImageName(name, ctx);
    await withProgress(options, ctx, (progress, token) =>
      io.run('rbd_remove_with_progress', () => native().rbdRemove(nativeIoCtx(io), name, progress, token), ctx, 'image'),
    );
  }

  /** Renames an image within its pool (`rbd_rename`). */
  static async rename(io: IoCtx, from: string, to: string): Promise<void> {
    const ctx = ctxOf(io, from);
    validateImageName(from, ctx);
    validateImageName(to, ctx);
    await io.run('rbd_rename', () => native().rbdRename(nativeIoCtx(io), from, to), { ...ctx, detail: `to ${to}` }, 'image');
  }

  /**
   * Whether an image named `name` exists in the pool/namespace: one omap read of the `rbd_directory`
   * object librbd maintains (`name_<image>` keys), instead of opening the image. Images in the trash
   * are not in the directory. Errors other than a missing directory (an empty pool) propagate.
   */
  static async exists(io: IoCtx, name: string): Promise<boolean> {
    const ctx = ctxOf(io, name);
    validateImageName(name, ctx);
    const key = `name_${name}`;
    try {
      // Keys are sorted and the exact key is the shortest with this prefix, so it comes first.
      const { entries } = await io.omapGet('rbd_directory', { prefix: key, max: 1 });
      return entries.has(key);
    } catch (e) {
      if (e instanceof ObjectNotFound) return false;
      throw e;
    }
  }

  /** Lists the images of the pool/namespace (`rbd_list2`). */
  static async list(io: IoCtx): Promise<ImageSpec[]> {
    return io.run('rbd_list2', () => native().rbdList(nativeIoCtx(io)), ctxOf(io));
  }

  /** Moves an image to the trash (`rbd_trash_move`); it may not be purged for `delaySeconds`. */
  static async trashMove(io: IoCtx, name: string, delaySeconds = 0): Promise<void> {
    const ctx = ctxOf(io, name);
    validateImageName(name, ctx);
    if (!Number.isSafeInteger(delaySeconds) || delaySeconds < 0) throw invalidArgument('delaySeconds must be a non-negative integer', ctx);
    await io.run('rbd_trash_move', () => native().rbdTrashMove(nativeIoCtx(io), name, delaySeconds), ctx, 'image');
  }

  /** Lists the trash (`rbd_trash_list`). */
  static async trashList(io: IoCtx): Promise<TrashEntry[]> {
    const list = await io.run('rbd_trash_list', () => native().rbdTrashList(nativeIoCtx(io)), ctxOf(io));
    return list.map((e) => ({
      id: e.id,
      name: e.name,
      source: e.source,
      deletedAt: new Date(e.deletionTime * 1000),
      deferredUntil: new Date(e.defermentEndTime * 1000),
    }));
  }

  /** Restores a trashed image under `name` (`rbd_trash_restore`). */
  static async trashRestore(io: IoCtx, id: string, name: string): Promise<void> {
    const ctx = ctxOf(io, name);
    validateImageName(name, ctx);
    if (typeof id !== 'string' || !/^[0-9a-f]{1,64}$/.test(id)) throw invalidArgument(`invalid image id ${JSON.stringify(id)}`, ctx);
    await io.run('rbd_trash_restore', () => native().rbdTrashRestore(nativeIoCtx(io), id, name), ctx, 'image');
  }

  /** Deletes a trashed image for good (`rbd_trash_remove`); `force` ignores the deferment. */
  static async trashRemove(io: IoCtx, id: string, options: { force?: boolean } = {}): Promise<void> {
    const ctx = { ...ctxOf(io), detail: `trash id ${id}` };
    if (typeof id !== 'string' || !/^[0-9a-f]{1,64}$/.test(id)) throw invalidArgument(`invalid image id ${JSON.stringify(id)}`, ctx);
    await io.run('rbd_trash_remove', () => native().rbdTrashRemove(nativeIoCtx(io), id, options.force === true), ctx, 'image');
  }

  /** Opens an image; see {@link Image.open}. */
  static open(io: IoCtx, name: string, options: { snapshot?: string; readOnly?: boolean } = {}): Promise<Image> {
    return Image.open(io, name, options);
  }
}
