/**
 * RbdDriver: the job of Nova's libvirt RBD image backend (`nova.storage.rbd_utils.RBDDriver`),
 * hardened. Method names are Nova's in camelCase; every one validates its input before touching
 * the cluster, and shares one connection.
 */
import { existsSync } from 'node:fs';
import { CephError, Image, ImageNotFound, InvalidArgument, PermissionDenied, type ProgressOptions, Rbd, entityName, validatePoolName, type IoCtx } from '../ceph/index.js';
import { Errno } from '../ceph/errno.js';
import { type CloneOptions, type CloneResult, assertImageName, cloneImage, defaultFeatures } from './clone.js';
import { type MonAddrs, type PoolInfo, monAddrs, poolInfo } from './cluster-info.js';
import { Connection } from './connection.js';
import { type CloneDepthPolicy, type DriverContext, type Placement, place } from './context.js';
import { type CleanupEntry, type CleanupOptions, type DestroyOptions, type DestroyResult, SNAP_MARK, type VolumeFilter, cleanupVolumes, destroyVolume } from './destroy.js';
import { audit, createLogger } from './logging.js';
import { retryPolicy } from './retry.js';
import type { Writable } from 'node:stream';
import { type ExportOptions, type ExportResult, type ImportResult, type ImportSource, type TransferOptions, exportImage, importImage } from './transfer.js';
import type { PipelineOptions } from '../image/index.js';
import { type RbdLocation, parseRbdUrl } from './url.js';
import { type DriverOptions, type ImageInfo, type ImageMeta, type ParentRef, type SnapInfo, checkNamespace, checkPlacement, checkSnap, featureNames } from './types.js';

export type { DriverOptions, ImageInfo, ImageMeta, ParentRef, SnapInfo } from './types.js';
export { featureNames } from './types.js';

/**
 * The VM-disk backend. Make one with {@link RbdDriver.connect}; close it with `close()` or `await using`.
 * Names are image names in the driver's pool/namespace unless an option says otherwise.
 */
export class RbdDriver implements AsyncDisposable {
  readonly #ctx: DriverContext;

  private constructor(ctx: DriverContext) {
    this.#ctx = ctx;
  }

  /**
   * Validates the options and connects (so a wrong conf, key or unreachable monitor fails here,
   * within `timeouts.connectMs`, default 10 s). The connection is then shared by every call and
   * made again after the cluster shuts it down.
   * @throws InvalidArgument, Timeout, PermissionDenied, PoolNotFound
   */
  static async connect(options: DriverOptions): Promise<RbdDriver> {
    if (typeof options !== 'object' || options === null) throw new InvalidArgument('options are required', Errno.EINVAL, { op: 'connect' });
    const user = entityName(options.user);
    const pool = options.pool ?? 'rbd';
    validatePoolName(pool);
    const namespace = checkNamespace(options.namespace);
    if (typeof options.conf !== 'string' || !existsSync(options.conf)) throw new InvalidArgument(`ceph.conf not found: ${String(options.conf)}`, Errno.EINVAL, { op: 'connect', user });
    const retry = retryPolicy(options.retry);
    const cloneDepth: CloneDepthPolicy = { max: 5, onExceed: 'flatten', ...options.cloneDepth };
    if (!Number.isInteger(cloneDepth.max) || cloneDepth.max < 1 || cloneDepth.max > 64) throw new InvalidArgument('cloneDepth.max must be 1..64', Errno.EINVAL, { op: 'connect' });
    if (cloneDepth.onExceed !== 'flatten' && cloneDepth.onExceed !== 'refuse') throw new InvalidArgument("cloneDepth.onExceed must be 'flatten' or 'refuse'", Errno.EINVAL, { op: 'connect' });
    const log = createLogger(options.logger);
    const conn = new Connection(
      {
        conf: options.conf,
        user,
        ...(options.keyring !== undefined ? { keyring: options.keyring } : {}),
        ...(options.timeouts ? { timeouts: options.timeouts } : {}),
        // A control plane reads and writes images once (imports, exports): librbd's writeback cache
        // would only add a copy and up to 32 MiB per open image.
        config: { rbd_cache: false, rbd_disable_zero_copy_writes: false },
      },
      log,
    );
    const ctx: DriverContext = { parentChecks: new Map(), conn, log, pool, namespace, retry, cloneDepth, conf: options.conf, keyring: options.keyring };
    try {
      // Fail here, not mid-operation: a given pool must exist and be usable; otherwise just connect.
      if (options.pool !== undefined) await conn.ioctx(pool, namespace);
      else await conn.rados();
    } catch (e) {
      await conn.close().catch(() => undefined);
      if (e instanceof PermissionDenied) audit(log, { action: 'connect', pool, user, outcome: 'denied' });
      throw e;
    }
    return new RbdDriver(ctx);
  }

  /** The default pool of this driver. */
  get pool(): string {
    return this.#ctx.pool;
  }

  /** The Ceph user this driver acts as (`client.compute`). */
  get user(): string {
    return this.#ctx.conn.user;
  }

  /** Closes the connection after the calls in flight. */
  async close(): Promise<void> {
    await this.#ctx.conn.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #io(p: Placement | undefined): Promise<IoCtx> {
    checkPlacement(p);
    const { pool, namespace } = place(this.#ctx, p);
    return this.#ctx.conn.ioctx(pool, namespace);
  }

  #run<T>(fn: () => Promise<T>, idempotent = true): Promise<T> {
    return this.#ctx.conn.run(fn, idempotent);
  }

  /** Image names in the pool/namespace, sorted (`rbd_list2`). */
  async listImages(options: Placement = {}): Promise<string[]> {
    return this.#run(async () => (await Rbd.list(await this.#io(options))).map((i) => i.name).sort());
  }

  /** Everything about one image: geometry, features, parent, snapshots, watchers. */
  async info(name: string, options: Placement = {}): Promise<ImageInfo> {
    assertImageName(name);
    return this.#run(async () => {
      const io = await this.#io(options);
      await using img = await Image.open(io, name, { readOnly: true });
      const st = await img.stat();
      const parent = await img.parentInfo();
      return {
        pool: io.pool,
        namespace: io.namespace,
        name,
        id: img.id(),
        size: st.size,
        objectSize: st.objectSize,
        objects: st.objects,
        order: st.order,
        features: featureNames(img.features()),
        parent: parent ? { pool: parent.pool, namespace: parent.namespace, image: parent.image, snapshot: parent.snapshot } : null,
        snapshots: (await img.listSnapshots()).map((s) => s.name),
        watchers: (await img.watchers()).map((w) => w.address),
      };
    });
  }

  /** Creates an empty image (after the write-permission probe). @throws ImageExists */
  async create(name: string, size: number, options: Placement & { features?: bigint; order?: number } = {}): Promise<void> {
    assertImageName(name);
    if (!Number.isSafeInteger(size) || size < 0) throw new InvalidArgument(`size must be a non-negative integer, got ${String(size)}`, Errno.EINVAL, { op: 'create', image: name });
    await this.#run(async () => {
      const io = await this.#io(options);
      await this.#ctx.conn.assertWritable(io.pool, io.namespace);
      const features = options.features ?? defaultFeatures(await this.#ctx.conn.rados());
      await Rbd.create(io, name, size, { features, ...(options.order !== undefined ? { order: options.order } : {}) });
      audit(this.#ctx.log, { action: 'create', pool: io.pool, image: name, user: this.user, outcome: 'created', size });
    }, false);
  }

  /** Protects a snapshot (so format-1 clones can be made of it). */
  async protectSnap(name: string, snap: string, options: Placement = {}): Promise<void> {
    assertImageName(name);
    checkSnap(snap);
    await this.#run(async () => {
      await using img = await Image.open(await this.#io(options), name);
      await img.protectSnapshot(snap);
    }, false);
  }

  /** Unprotects a snapshot. @throws ImageBusy while it has clones */
  async unprotectSnap(name: string, snap: string, options: Placement = {}): Promise<void> {
    assertImageName(name);
    checkSnap(snap);
    await this.#run(async () => {
      await using img = await Image.open(await this.#io(options), name);
      await img.unprotectSnapshot(snap);
    }, false);
  }

  /** Parses a Glance `rbd://` location strictly (see `parseRbdUrl`). @throws ImageUnacceptable */
  async parseUrl(url: string): Promise<RbdLocation> {
    return parseRbdUrl(url);
  }

  /**
   * Whether the image at `location` can be cloned here: same cluster, raw disk format, snapshot
   * readable by this user. Never throws for an unsuitable image: returns the reason.
   */
  async isCloneable(location: string | { url: string }, meta: ImageMeta): Promise<{ cloneable: true } | { cloneable: false; reason: string }> {
    const url = typeof location === 'string' ? location : location?.url;
    let loc: RbdLocation;
    try {
      loc = parseRbdUrl(url);
    } catch (e) {
      return { cloneable: false, reason: (e as Error).message };
    }
    const format = meta?.disk_format ?? meta?.diskFormat;
    if (format !== 'raw') return { cloneable: false, reason: `disk format is ${JSON.stringify(format)}, not raw` };
    return this.#run(async () => {
      const fsid = (await this.#ctx.conn.rados()).fsid();
      if (loc.fsid !== fsid) return { cloneable: false, reason: `image is in cluster ${loc.fsid}, this is ${fsid}` };
      try {
        const io = await this.#ctx.conn.ioctx(loc.pool, loc.namespace);
        await using snap = await Image.open(io, loc.image, { snapshot: loc.snapshot });
        await snap.size();
        return { cloneable: true };
      } catch (e) {
        if (e instanceof CephError && !(e.code === 'ESHUTDOWN')) return { cloneable: false, reason: e.message };
        throw e;
      }
    });
  }

  /**
   * Clones the snapshot at `location` to `name`, after checking everything first (name free,
   * parent snapshot present and protected or clone v2 on, depth policy, write permission).
   * Flattens the new clone when the chain would exceed the depth policy; undoes the clone on failure.
   */
  async clone(location: string | { url: string }, name: string, options: CloneOptions = {}): Promise<CloneResult> {
    checkPlacement(options.dest);
    const url = typeof location === 'string' ? location : location?.url;
    return this.#run(() => cloneImage(this.#ctx, url, name, options), false);
  }

  /** Size in bytes. @throws ImageNotFound */
  async size(name: string, options: Placement = {}): Promise<number> {
    assertImageName(name);
    return this.#run(async () => {
      await using img = await Image.open(await this.#io(options), name, { readOnly: true });
      return img.size();
    });
  }

  /** Resizes; shrinking (which discards data) needs `allowShrink`. */
  async resize(name: string, size: number, options: Placement & ProgressOptions & { allowShrink?: boolean } = {}): Promise<void> {
    assertImageName(name);
    if (!Number.isSafeInteger(size) || size < 0) throw new InvalidArgument(`size must be a non-negative integer, got ${String(size)}`, Errno.EINVAL, { op: 'resize', image: name });
    await this.#run(async () => {
      const io = await this.#io(options);
      await using img = await Image.open(io, name);
      const current = await img.size();
      if (size < current && options.allowShrink !== true) {
        throw new InvalidArgument(`shrinking ${io.pool}/${name} from ${current} to ${size} bytes discards data: pass allowShrink`, Errno.EINVAL, { op: 'resize', pool: io.pool, image: name });
      }
      await img.resize(size, options);
      if (size < current) audit(this.#ctx.log, { action: 'shrink', pool: io.pool, image: name, user: this.user, outcome: 'done', from: current, to: size });
    }, false);
  }

  /** The parent of a clone, or null when it has none. */
  async parentInfo(name: string, options: Placement = {}): Promise<ParentRef | null> {
    assertImageName(name);
    return this.#run(async () => {
      await using img = await Image.open(await this.#io(options), name, { readOnly: true });
      const p = await img.parentInfo();
      return p ? { pool: p.pool, namespace: p.namespace, image: p.image, snapshot: p.snapshot } : null;
    });
  }

  /** Copies the parent's data in and detaches the clone; progress and cancel. */
  async flatten(name: string, options: Placement & ProgressOptions = {}): Promise<void> {
    assertImageName(name);
    await this.#run(async () => {
      await using img = await Image.open(await this.#io(options), name);
      await img.flatten(options);
    }, false);
  }

  /** Whether the image exists: false only for "not found"; any other error propagates. One omap read. */
  async exists(name: string, options: Placement = {}): Promise<boolean> {
    assertImageName(name);
    return this.#run(async () => Rbd.exists(await this.#io(options), name));
  }

  /** Removes an image once (no retries): `'removed'`, or `'absent'` when it was already gone. */
  async removeImage(name: string, options: Placement = {}): Promise<'removed' | 'absent'> {
    assertImageName(name);
    return this.#run(async () => {
      const io = await this.#io(options);
      try {
        await Rbd.remove(io, name);
      } catch (e) {
        if (e instanceof ImageNotFound) {
          audit(this.#ctx.log, { action: 'remove', pool: io.pool, image: name, user: this.user, outcome: 'absent' });
          return 'absent';
        }
        audit(this.#ctx.log, { action: 'remove', pool: io.pool, image: name, user: this.user, outcome: 'failed', code: (e as CephError).code });
        throw e;
      }
      audit(this.#ctx.log, { action: 'remove', pool: io.pool, image: name, user: this.user, outcome: 'removed' });
      return 'removed';
    }, false);
  }

  /** Destroys a volume with bounded retries; see `DestroyOptions`. @throws VolumeBusy */
  async destroyVolume(name: string, options: DestroyOptions = {}): Promise<DestroyResult> {
    assertImageName(name);
    checkPlacement(options);
    return this.#run(() => destroyVolume(this.#ctx, name, options), false);
  }

  /** Destroys every matching volume with bounded concurrency. @throws CleanupFailed */
  async cleanupVolumes(filter: VolumeFilter, options: CleanupOptions = {}): Promise<CleanupEntry[]> {
    checkPlacement(options);
    return this.#run(() => cleanupVolumes(this.#ctx, filter, options), false);
  }

  /** Capacity of the driver's pool (or `pool`), from the monitor's `df`. */
  async getPoolInfo(options: { pool?: string } = {}): Promise<PoolInfo> {
    checkPlacement(options);
    return this.#run(() => poolInfo(this.#ctx, options.pool ?? this.#ctx.pool));
  }

  /** Monitor addresses from `mon dump`, both messenger versions. */
  async getMonAddrs(): Promise<MonAddrs> {
    return this.#run(() => monAddrs(this.#ctx));
  }

  /** The cluster's fsid. */
  async getFsid(): Promise<string> {
    return this.#run(async () => (await this.#ctx.conn.rados()).fsid());
  }

  /** The address of the driver's connection, as `ceph osd blocklist` and `rbd status` show clients. */
  async getClientAddress(): Promise<string> {
    return this.#run(async () => (await this.#ctx.conn.rados()).clientAddress());
  }

  /** Arguments for external tools (qemu-img, libvirt): `--id`, `--conf`, `--keyring`. Never a key. */
  async cephArgs(): Promise<string[]> {
    const id = this.user.slice('client.'.length);
    return ['--id', id, '--conf', this.#ctx.conf, ...(this.#ctx.keyring ? ['--keyring', this.#ctx.keyring] : [])];
  }

  /** Creates a snapshot (marked as the driver's own), optionally protected. */
  async createSnap(name: string, snap: string, options: Placement & { protect?: boolean } = {}): Promise<void> {
    assertImageName(name);
    checkSnap(snap);
    await this.#run(async () => {
      await using img = await Image.open(await this.#io(options), name);
      await img.createSnapshot(snap);
      try {
        await img.setMetadata(`${SNAP_MARK}${snap}`, new Date().toISOString());
        if (options.protect) await img.protectSnapshot(snap);
      } catch (e) {
        await img.removeSnapshot(snap, { force: true }).catch(() => undefined);
        await img.removeMetadata(`${SNAP_MARK}${snap}`).catch(() => false);
        throw e;
      }
    }, false);
  }

  /**
   * Removes a snapshot: `force` unprotects it first; `ignoreMissing` makes a missing one a result.
   * @returns `'removed'` or `'absent'`.
   */
  async removeSnap(name: string, snap: string, options: Placement & { force?: boolean; ignoreMissing?: boolean } = {}): Promise<'removed' | 'absent'> {
    assertImageName(name);
    checkSnap(snap);
    return this.#run(async () => {
      const io = await this.#io(options);
      await using img = await Image.open(io, name);
      if (!(await img.snapshotExists(snap))) {
        if (options.ignoreMissing) return 'absent';
        throw new ImageNotFound(`snapshot ${io.pool}/${name}@${snap} not found`, Errno.ENOENT, { op: 'removeSnap', pool: io.pool, image: name, snapshot: snap });
      }
      await img.removeSnapshot(snap, { force: options.force === true });
      await img.removeMetadata(`${SNAP_MARK}${snap}`);
      audit(this.#ctx.log, { action: 'remove-snapshot', pool: io.pool, image: name, snapshot: snap, user: this.user, outcome: 'removed' });
      return 'removed';
    }, false);
  }

  /** Rolls an image back to a snapshot; progress and cancel. */
  async rollbackToSnap(name: string, snap: string, options: Placement & ProgressOptions = {}): Promise<void> {
    assertImageName(name);
    checkSnap(snap);
    await this.#run(async () => {
      const io = await this.#io(options);
      await using img = await Image.open(io, name);
      await img.rollbackToSnapshot(snap, options);
      audit(this.#ctx.log, { action: 'rollback', pool: io.pool, image: name, snapshot: snap, user: this.user, outcome: 'done' });
    }, false);
  }

  /** Snapshots with their protection and whether the driver made them. */
  async listSnaps(name: string, options: Placement = {}): Promise<SnapInfo[]> {
    assertImageName(name);
    return this.#run(async () => {
      await using img = await Image.open(await this.#io(options), name, { readOnly: true });
      const out: SnapInfo[] = [];
      for (const s of await img.listSnapshots()) {
        out.push({ ...s, protected: await img.isSnapshotProtected(s.name), ours: (await img.getMetadata(`${SNAP_MARK}${s.name}`)) !== null });
      }
      return out;
    });
  }

  /**
   * Imports a disk image (file path, http(s) URL or readable stream) as a new image, through the safe
   * pipeline: inspected (declared `format` must match), checksummed, zeros skipped, optionally a
   * protected golden snapshot. Refused before anything is created when unsafe; removed on any failure.
   */
  async importImage(source: ImportSource, name: string, options: TransferOptions & PipelineOptions = {}): Promise<ImportResult> {
    checkPlacement(options);
    return this.#run(() => importImage(this.#ctx, source, name, options), false);
  }

  /**
   * Exports an image or snapshot to a new file (raw and sparse, or qcow2 through qemu-img) or to a stream
   * (raw), with checksums of the raw bytes; nothing is left on failure.
   */
  async exportImage(name: string, target: string | Writable, options: ExportOptions = {}): Promise<ExportResult> {
    checkPlacement(options);
    if (options.snapshot !== undefined) checkSnap(options.snapshot);
    return this.#run(() => exportImage(this.#ctx, name, target, options));
  }
}
