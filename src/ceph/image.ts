/**
 * An open RBD image (librbd `rbd_image_t`).
 */
import { Errno } from './errno.js';
import { native, type NativeCancelToken, type NativeImage, type ProgressFn } from '../native/binding.js';
import { type ErrorContext, invalidArgument, CephError, canceled, throwIfAborted } from './errors.js';
import { type IoCtx, nativeIoCtx } from './ioctx.js';
import { NativeResource } from './resource.js';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** @throws {@link InvalidArgument} unless `name` is a usable image name. */
export function validateImageName(name: unknown, ctx: ErrorContext = {}): asserts name is string {
  if (typeof name !== 'string' || name === '' || CONTROL.test(name) || name.includes('/') || name.includes('@')) {
    throw invalidArgument(`invalid image name ${JSON.stringify(name)}: non-empty, no '/', '@' or control characters`, ctx);
  }
}

/** @throws {@link InvalidArgument} unless `name` is a usable snapshot name. */
export function validateSnapName(name: unknown, ctx: ErrorContext = {}): asserts name is string {
  if (typeof name !== 'string' || name === '' || CONTROL.test(name) || name.includes('/') || name.includes('@')) {
    throw invalidArgument(`invalid snapshot name ${JSON.stringify(name)}: non-empty, no '/', '@' or control characters`, ctx);
  }
}

function validateUint(v: unknown, what: string, ctx: ErrorContext): asserts v is number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw invalidArgument(`${what} must be a non-negative integer, got ${String(v)}`, ctx);
}

/** Progress of a long operation: `done` of `total` units (objects or bytes, as librbd counts them). */
export interface Progress {
  done: number;
  total: number;
}

/** Options of every long-running call. */
export interface ProgressOptions {
  /** Called at most once per percent. A listener that throws cancels the operation, and its error is rethrown. */
  onProgress?: (p: Progress) => void;
  /** Aborting cancels the operation in librbd; the call rejects with {@link OperationCanceled}. */
  signal?: AbortSignal;
}

/** @internal Wires `onProgress`/`signal` to the native progress callback and cancel token. */
export async function withProgress<T>(
  options: ProgressOptions,
  ctx: ErrorContext,
  fn: (progress: ProgressFn | undefined, token: NativeCancelToken | undefined) => Promise<T>,
): Promise<T> {
  const { onProgress, signal } = options;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw invalidArgument('onProgress must be a function', ctx);
  throwIfAborted(signal, ctx);
  const token = signal || onProgress ? new (native().CancelToken)() : undefined;
  let listenerError: { error: unknown } | undefined;
  const progress: ProgressFn | undefined = onProgress
    ? (done, total) => {
        try {
          onProgress({ done, total });
        } catch (error) {
          listenerError ??= { error };
          token?.cancel();
        }
      }
    : undefined;
  const onAbort = () => token?.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await fn(progress, token);
  } catch (e) {
    if (listenerError) throw listenerError.error;
    if (e instanceof CephError && e.errno === Errno.ECANCELED) throw signal?.aborted ? canceled(ctx, signal.reason) : e;
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** The parent of a clone. */
export interface ParentInfo {
  pool: string;
  poolId: number;
  namespace: string;
  image: string;
  imageId: string;
  snapshot: string;
  snapshotId: bigint;
  /** The parent image is in the trash. */
  inTrash: boolean;
}

/** A clone of one of this image's snapshots. */
export interface ChildInfo {
  pool: string;
  poolId: number;
  namespace: string;
  image: string;
  imageId: string;
  inTrash: boolean;
}

/** A snapshot as `rbd_snap_list` reports it. */
export interface SnapshotInfo {
  id: bigint;
  name: string;
  size: number;
}

/** A client watching the image header (an open read-write handle). */
export interface Watcher {
  address: string;
  id: number;
  cookie: bigint;
}

/** Geometry from `rbd_stat`. */
export interface ImageStat {
  size: number;
  objectSize: number;
  objects: number;
  order: number;
}

/** A region from {@link Image.diff}. */
export interface Extent {
  offset: number;
  length: number;
  /** False for a region that was discarded (reads as zeros). */
  exists: boolean;
}

const num = (v: number | bigint): number => (typeof v === 'bigint' ? Number(v) : v);

/**
 * An open image. Open with {@link Image.open}; close with `close()` or `await using`.
 * Closing waits for operations in flight.
 */
export class Image extends NativeResource {
  readonly #h: NativeImage;
  /** The I/O context the image was opened in. */
  readonly io: IoCtx;
  readonly name: string;
  /** The snapshot this handle reads, if opened at one. */
  readonly snapshot: string | undefined;
  readonly readOnly: boolean;

  private constructor(h: NativeImage, io: IoCtx, name: string, snapshot: string | undefined, readOnly: boolean) {
    super();
    this.#h = h;
    this.io = io;
    this.name = name;
    this.snapshot = snapshot;
    this.readOnly = readOnly;
  }

  /**
   * Opens `name` (`rbd_open`, or `rbd_open_read_only` with `readOnly`), at `snapshot` if given
   * (a snapshot is always read-only). A read-only open registers no watcher.
   * @throws {@link ImageNotFound} when the image or snapshot does not exist.
   */
  static async open(io: IoCtx, name: string, options: { snapshot?: string; readOnly?: boolean } = {}): Promise<Image> {
    const ctx: ErrorContext = { pool: io.pool, ...(io.namespace ? { namespace: io.namespace } : {}), image: name };
    validateImageName(name, ctx);
    if (options.snapshot !== undefined) validateSnapName(options.snapshot, { ...ctx, snapshot: options.snapshot });
    const readOnly = options.readOnly === true || options.snapshot !== undefined;
    const op = readOnly ? 'rbd_open_read_only' : 'rbd_open';
    const h = await io.run(op, () => native().rbdOpen(nativeIoCtx(io), name, options.snapshot ?? null, readOnly), { ...ctx, ...(options.snapshot ? { snapshot: options.snapshot } : {}) }, 'image');
    const image = new Image(h, io, name, options.snapshot, readOnly);
    io.own(image);
    return image;
  }

  protected context(): ErrorContext {
    return {
      pool: this.io.pool,
      ...(this.io.namespace ? { namespace: this.io.namespace } : {}),
      image: this.name,
      ...(this.snapshot ? { snapshot: this.snapshot } : {}),
    };
  }

  protected async closeNative(): Promise<void> {
    await this.#h.close();
  }

  /** Geometry (`rbd_stat`). */
  async stat(): Promise<ImageStat> {
    const s = await this.call('rbd_stat', () => this.#h.stat(), {}, 'image');
    return { size: num(s.size), objectSize: num(s.objSize), objects: num(s.numObjs), order: s.order };
  }

  /** Size in bytes (`rbd_get_size`). */
  async size(): Promise<number> {
    return num(await this.call('rbd_get_size', () => this.#h.size(), {}, 'image'));
  }

  /** The image's id (`rbd_get_id`). */
  id(): string {
    return this.callSync('rbd_get_id', () => this.#h.id());
  }

  /** Resizes (`rbd_resize2`). Shrinking discards data, so it needs `allowShrink`. */
  async resize(size: number, options: ProgressOptions & { allowShrink?: boolean } = {}): Promise<void> {
    validateUint(size, 'size', this.context());
    const ctx = { ...this.context(), op: 'rbd_resize2' };
    await withProgress(options, ctx, (p, t) => this.call('rbd_resize2', () => this.#h.resize(size, options.allowShrink === true, p, t), {}, 'image'));
  }

  /** Copies the parent's data into this clone and detaches it (`rbd_flatten_with_progress`). */
  async flatten(options: ProgressOptions = {}): Promise<void> {
    const ctx = { ...this.context(), op: 'rbd_flatten_with_progress' };
    await withProgress(options, ctx, (p, t) => this.call('rbd_flatten_with_progress', () => this.#h.flatten(p, t), {}, 'image'));
  }

  /** The parent of a clone, or null for an image without one (`rbd_get_parent`). */
  async parentInfo(): Promise<ParentInfo | null> {
    try {
      const p = await this.call('rbd_get_parent', () => this.#h.parentInfo(), {}, 'image');
      return {
        pool: p.pool,
        poolId: p.poolId,
        namespace: p.namespace,
        image: p.image,
        imageId: p.imageId,
        snapshot: p.snap,
        snapshotId: BigInt(p.snapId),
        inTrash: p.trash,
      };
    } catch (e) {
      if (e instanceof CephError && e.errno === Errno.ENOENT) return null;
      throw e;
    }
  }

  /** Clones of this image's snapshots, or of the snapshot it is open at (`rbd_list_children3`). */
  async listChildren(): Promise<ChildInfo[]> {
    const list = await this.call('rbd_list_children3', () => this.#h.listChildren(), {}, 'image');
    return list.map((c) => ({ pool: c.pool, poolId: c.poolId, namespace: c.namespace, image: c.image, imageId: c.imageId, inTrash: c.trash }));
  }

  /** Snapshots (`rbd_snap_list`). */
  async listSnapshots(): Promise<SnapshotInfo[]> {
    const list = await this.call('rbd_snap_list', () => this.#h.snapList(), {}, 'image');
    return list.map((s) => ({ id: BigInt(s.id), name: s.name, size: num(s.size) }));
  }

  /** Creates a snapshot (`rbd_snap_create2`). @throws {@link ImageExists} */
  async createSnapshot(name: string): Promise<void> {
    validateSnapName(name, this.context());
    await this.call('rbd_snap_create2', () => this.#h.snapCreate(name, 0), { snapshot: name }, 'image');
  }

  /**
   * Removes a snapshot (`rbd_snap_remove2`); `force` unprotects it first.
   * @throws {@link ImageBusy} when it is protected (without `force`) or has clones.
   */
  async removeSnapshot(name: string, options: ProgressOptions & { force?: boolean } = {}): Promise<void> {
    validateSnapName(name, this.context());
    const flags = options.force ? 1 : 0; // RBD_SNAP_REMOVE_UNPROTECT
    const ctx = { ...this.context(), snapshot: name, op: 'rbd_snap_remove2' };
    await withProgress(options, ctx, (p, t) => this.call('rbd_snap_remove2', () => this.#h.snapRemove(name, flags, p, t), { snapshot: name }, 'image'));
  }

  /** Protects a snapshot so it can be cloned with clone format 1 (`rbd_snap_protect`). */
  async protectSnapshot(name: string): Promise<void> {
    validateSnapName(name, this.context());
    await this.call('rbd_snap_protect', () => this.#h.snapProtect(name), { snapshot: name }, 'image');
  }

  /** Unprotects a snapshot (`rbd_snap_unprotect`). @throws {@link ImageBusy} while it has clones. */
  async unprotectSnapshot(name: string): Promise<void> {
    validateSnapName(name, this.context());
    await this.call('rbd_snap_unprotect', () => this.#h.snapUnprotect(name), { snapshot: name }, 'image');
  }

  /** Whether a snapshot is protected (`rbd_snap_is_protected`). @throws {@link ImageNotFound} */
  async isSnapshotProtected(name: string): Promise<boolean> {
    validateSnapName(name, this.context());
    return this.call('rbd_snap_is_protected', () => this.#h.snapIsProtected(name), { snapshot: name }, 'image');
  }

  /** Whether a snapshot exists (`rbd_snap_exists`). */
  async snapshotExists(name: string): Promise<boolean> {
    validateSnapName(name, this.context());
    return this.call('rbd_snap_exists', () => this.#h.snapExists(name), { snapshot: name }, 'image');
  }

  /** Rolls the image back to a snapshot (`rbd_snap_rollback_with_progress`). */
  async rollbackToSnapshot(name: string, options: ProgressOptions = {}): Promise<void> {
    validateSnapName(name, this.context());
    const ctx = { ...this.context(), snapshot: name, op: 'rbd_snap_rollback_with_progress' };
    await withProgress(options, ctx, (p, t) => this.call('rbd_snap_rollback_with_progress', () => this.#h.snapRollback(name, p, t), { snapshot: name }, 'image'));
  }

  /** The most snapshots this image may have (`rbd_snap_get_limit`); 2^64-1 when unlimited. */
  async snapshotLimit(): Promise<bigint> {
    return BigInt(await this.call('rbd_snap_get_limit', () => this.#h.snapGetLimit(), {}, 'image'));
  }

  /** Caps the number of snapshots (`rbd_snap_set_limit`); creating more fails with {@link DiskQuotaExceeded}. */
  async setSnapshotLimit(limit: number): Promise<void> {
    validateUint(limit, 'limit', this.context());
    await this.call('rbd_snap_set_limit', () => this.#h.snapSetLimit(limit), {}, 'image');
  }

  /** Feature bits (`rbd_get_features`); see {@link Feature}. */
  features(): bigint {
    return this.callSync('rbd_get_features', () => this.#h.features());
  }

  /** Enables or disables features (`rbd_update_features`). */
  async updateFeatures(features: bigint, enabled: boolean): Promise<void> {
    if (typeof features !== 'bigint' || features <= 0n) throw invalidArgument('features must be a positive bigint', this.context());
    await this.call('rbd_update_features', () => this.#h.updateFeatures(features, enabled), {}, 'image');
  }

  /** Clients watching the image (`rbd_watchers_list`): who holds it open read-write. */
  async watchers(): Promise<Watcher[]> {
    const list = await this.call('rbd_watchers_list', () => this.#h.watchers(), {}, 'image');
    return list.map((w) => ({ address: w.addr, id: w.id, cookie: BigInt(w.cookie) }));
  }

  /** An image metadata value, or null when the key is absent (`rbd_metadata_get`). */
  async getMetadata(key: string): Promise<string | null> {
    if (typeof key !== 'string' || key === '' || key.includes('\0')) throw invalidArgument('metadata key must be a non-empty string', this.context());
    try {
      return await this.call('rbd_metadata_get', () => this.#h.metadataGet(key), { detail: `key ${key}` }, 'image');
    } catch (e) {
      if (e instanceof CephError && e.errno === Errno.ENOENT) return null;
      throw e;
    }
  }

  /** Sets an image metadata value (`rbd_metadata_set`). */
  async setMetadata(key: string, value: string): Promise<void> {
    if (typeof key !== 'string' || key === '' || key.includes('\0')) throw invalidArgument('metadata key must be a non-empty string', this.context());
    if (typeof value !== 'string' || value.includes('\0')) throw invalidArgument('metadata value must be a string without NUL', this.context());
    await this.call('rbd_metadata_set', () => this.#h.metadataSet(key, value), { detail: `key ${key}` }, 'image');
  }

  /** Removes a metadata key (`rbd_metadata_remove`); false when it was absent. */
  async removeMetadata(key: string): Promise<boolean> {
    if (typeof key !== 'string' || key === '' || key.includes('\0')) throw invalidArgument('metadata key must be a non-empty string', this.context());
    try {
      await this.call('rbd_metadata_remove', () => this.#h.metadataRemove(key), { detail: `key ${key}` }, 'image');
      return true;
    } catch (e) {
      if (e instanceof CephError && e.errno === Errno.ENOENT) return false;
      throw e;
    }
  }

  /** Copies this image (or the snapshot it is open at) to a new image `name` in `dest` (`rbd_copy_with_progress3`). */
  async copyTo(dest: IoCtx, name: string, options: ProgressOptions & { order?: number } = {}): Promise<void> {
    validateImageName(name, { pool: dest.pool, image: name });
    if (options.order !== undefined && (!Number.isInteger(options.order) || options.order < 12 || options.order > 25)) {
      throw invalidArgument('order must be an integer 12..25', this.context());
    }
    dest.ensureOpen('rbd_copy_with_progress3');
    const ctx = { ...this.context(), op: 'rbd_copy_with_progress3', detail: `to ${dest.pool}/${name}` };
    await withProgress(options, ctx, (p, t) =>
      this.call('rbd_copy_with_progress3', () => this.#h.copy(nativeIoCtx(dest), name, options.order ? { order: options.order } : null, p, t), { detail: ctx.detail }, 'image'),
    );
  }

  /** Reads `length` bytes at `offset` (`rbd_read2` on a worker thread). */
  async read(offset: number, length: number): Promise<Buffer> {
    validateUint(offset, 'offset', this.context());
    validateUint(length, 'length', this.context());
    const buf = Buffer.allocUnsafe(length);
    const n = await this.call('rbd_read2', () => this.#h.read(offset, buf), {}, 'image');
    return buf.subarray(0, n);
  }

  /** Writes `data` at `offset` (`rbd_write2` on a worker thread). @throws {@link ReadOnlyImage} */
  async write(data: Buffer, offset: number): Promise<number> {
    if (!Buffer.isBuffer(data)) throw invalidArgument('data must be a Buffer', this.context());
    validateUint(offset, 'offset', this.context());
    return this.call('rbd_write2', () => this.#h.write(offset, data), {}, 'image');
  }

  /** Reads into `buffer` at `offset` asynchronously (`rbd_aio_read2`): no worker thread is held while librbd works. */
  async aioRead(buffer: Buffer, offset: number): Promise<number> {
    if (!Buffer.isBuffer(buffer)) throw invalidArgument('buffer must be a Buffer', this.context());
    validateUint(offset, 'offset', this.context());
    return this.call('rbd_aio_read2', () => this.#h.aioRead(offset, buffer), {}, 'image');
  }

  /** Writes `data` at `offset` asynchronously (`rbd_aio_write2`). The buffer must not change until the Promise settles. */
  async aioWrite(data: Buffer, offset: number): Promise<void> {
    if (!Buffer.isBuffer(data)) throw invalidArgument('data must be a Buffer', this.context());
    validateUint(offset, 'offset', this.context());
    await this.call('rbd_aio_write2', () => this.#h.aioWrite(offset, data), {}, 'image');
  }

  /** Deallocates a range; it then reads as zeros (`rbd_discard`). */
  async discard(offset: number, length: number): Promise<void> {
    validateUint(offset, 'offset', this.context());
    validateUint(length, 'length', this.context());
    await this.call('rbd_discard', () => this.#h.discard(offset, length), {}, 'image');
  }

  /** Waits until written data is durable (`rbd_flush`). */
  async flush(): Promise<void> {
    await this.call('rbd_flush', () => this.#h.flush(), {}, 'image');
  }

  /**
   * Allocated regions (`rbd_diff_iterate2`): since `fromSnapshot`, or all data when absent;
   * `includeParent` counts a clone's parent data; `wholeObject` reports whole objects (faster with fast-diff).
   */
  async diff(options: { fromSnapshot?: string; offset?: number; length?: number; includeParent?: boolean; wholeObject?: boolean } = {}): Promise<Extent[]> {
    const ctx = this.context();
    if (options.fromSnapshot !== undefined) validateSnapName(options.fromSnapshot, ctx);
    const offset = options.offset ?? 0;
    validateUint(offset, 'offset', ctx);
    const length = options.length ?? (await this.size()) - offset;
    validateUint(length, 'length', ctx);
    const triples = await this.call(
      'rbd_diff_iterate2',
      () => this.#h.diffIterate(options.fromSnapshot ?? null, offset, length, options.includeParent !== false, options.wholeObject === true),
      {},
      'image',
    );
    const out: Extent[] = [];
    for (let i = 0; i + 2 < triples.length; i += 3) out.push({ offset: triples[i]!, length: triples[i + 1]!, exists: triples[i + 2] === 1 });
    return out;
  }

  /** Native handle state, for leak checks in tests and diagnostics. */
  nativeState(): { closed: boolean; inflight: number } {
    const s = this.#h.state();
    return { closed: s.closed, inflight: s.inflight };
  }
}
