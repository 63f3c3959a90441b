/**
 * An I/O context (librados `rados_ioctx_t`): one pool, optionally one RADOS namespace.
 */
import type { NativeIoCtx } from '../native/binding.js';
import { type ErrorContext, type Subject, invalidArgument } from './errors.js';
import { NativeResource } from './resource.js';

// Control characters and NUL are never valid in names handed to Ceph.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** @throws {@link InvalidArgument} unless `pool` is a plausible pool name. */
export function validatePoolName(pool: unknown): asserts pool is string {
  if (typeof pool !== 'string' || pool === '' || Buffer.byteLength(pool) > 255 || CONTROL.test(pool) || pool.startsWith('-')) {
    throw invalidArgument(`invalid pool name ${JSON.stringify(pool)}`);
  }
}

/** @throws {@link InvalidArgument} unless `name` is a plausible RADOS object name. */
function validateObjectName(name: unknown, ctx: ErrorContext): asserts name is string {
  if (typeof name !== 'string' || name === '' || name.includes('\0')) throw invalidArgument(`invalid object name ${JSON.stringify(name)}`, ctx);
}

function validateOffset(v: unknown, what: string, ctx: ErrorContext): asserts v is number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw invalidArgument(`${what} must be a non-negative integer`, ctx);
}

/** Pool usage as librados reports it for this context. */
export interface PoolStats {
  bytes: number;
  objects: number;
  objectClones: number;
  objectCopies: number;
  objectsDegraded: number;
  reads: number;
  writes: number;
}

const num = (v: number | bigint): number => (typeof v === 'bigint' ? Number(v) : v);

const natives = new WeakMap<IoCtx, NativeIoCtx>();

/** @internal The native handle behind an IoCtx, for the rbd layer. */
export function nativeIoCtx(io: IoCtx): NativeIoCtx {
  const h = natives.get(io);
  if (!h) throw invalidArgument('not an IoCtx of this library');
  return h;
}

/**
 * I/O on one pool (and namespace). Opened by {@link Rados.openIoCtx}; closing it closes the
 * images opened through it.
 */
export class IoCtx extends NativeResource {
  /** Pool name. */
  readonly pool: string;
  /** RADOS namespace ('' for the default). */
  readonly namespace: string;
  readonly #user: string;

  private constructor(handle: NativeIoCtx, pool: string, namespace: string, user: string) {
    super();
    natives.set(this, handle);
    this.pool = pool;
    this.namespace = namespace;
    this.#user = user;
  }

  /** @internal */
  static wrap(handle: NativeIoCtx, pool: string, namespace: string, user: string): IoCtx {
    return new IoCtx(handle, pool, namespace, user);
  }

  /** @throws {@link InvalidArgument} unless `ns` is a usable namespace ('' is the default). */
  static validateNamespace(ns: unknown): asserts ns is string {
    if (typeof ns !== 'string' || Buffer.byteLength(ns) > 255 || CONTROL.test(ns) || ns.includes('/')) {
      throw invalidArgument(`invalid namespace ${JSON.stringify(ns)}`);
    }
  }

  protected context(): ErrorContext {
    return { pool: this.pool, ...(this.namespace ? { namespace: this.namespace } : {}), user: this.#user };
  }

  protected async closeNative(): Promise<void> {
    nativeIoCtx(this).close();
  }

  /** @internal Runs an rbd call that uses this context, counted as in flight here. */
  run<T>(op: string, fn: () => Promise<T>, ctx: ErrorContext = {}, subject: Subject = 'other'): Promise<T> {
    return this.call(op, fn, ctx, subject);
  }

  /** @internal An image opened through this context is closed with it. */
  own(child: NativeResource): void {
    this.adopt(child);
  }

  /** @internal Throws HandleClosed if closed. */
  ensureOpen(op: string): void {
    this.assertOpen(op);
  }

  /** The pool's id (`rados_ioctx_get_id`). */
  poolId(): number {
    return this.callSync('rados_ioctx_get_id', () => nativeIoCtx(this).poolId());
  }

  /** Pool usage (`rados_ioctx_pool_stat`). */
  async poolStats(): Promise<PoolStats> {
    const s = await this.call('rados_ioctx_pool_stat', () => nativeIoCtx(this).poolStat());
    return {
      bytes: num(s.numBytes),
      objects: num(s.numObjects),
      objectClones: num(s.numObjectClones),
      objectCopies: num(s.numObjectCopies),
      objectsDegraded: num(s.numObjectsDegraded),
      reads: num(s.numRd),
      writes: num(s.numWr),
    };
  }

  /** Size and modification time of an object (`rados_stat`). @throws {@link ObjectNotFound} */
  async stat(object: string): Promise<{ size: number; mtime: Date }> {
    validateObjectName(object, this.context());
    const s = await this.call('rados_stat', () => nativeIoCtx(this).stat(object), { object }, 'object');
    return { size: num(s.size), mtime: new Date(s.mtime * 1000) };
  }

  /** Reads up to `length` bytes at `offset` (`rados_read`). */
  async read(object: string, length: number, offset = 0): Promise<Buffer> {
    validateObjectName(object, this.context());
    validateOffset(length, 'length', this.context());
    validateOffset(offset, 'offset', this.context());
    const buf = Buffer.allocUnsafe(length);
    const n = await this.readInto(object, buf, offset);
    return buf.subarray(0, n);
  }

  /** Reads into `buffer` without copying (`rados_read`); resolves with the bytes read. */
  async readInto(object: string, buffer: Buffer, offset = 0): Promise<number> {
    validateObjectName(object, this.context());
    validateOffset(offset, 'offset', this.context());
    return this.call('rados_read', () => nativeIoCtx(this).read(object, buffer, offset), { object }, 'object');
  }

  /** Writes `data` at `offset` (`rados_write`). */
  async write(object: string, data: Buffer, offset = 0): Promise<void> {
    validateObjectName(object, this.context());
    validateOffset(offset, 'offset', this.context());
    await this.call('rados_write', () => nativeIoCtx(this).write(object, data, offset), { object }, 'object');
  }

  /**
   * Replaces the object's content with `data` (`rados_write_full`). By default a write to a full pool
   * waits for space (up to the OSD op timeout), as librados does; with `failIfFull` it fails at once
   * with {@link DiskQuotaExceeded} (pool quota) or {@link NoSpace} (cluster full).
   */
  async writeFull(object: string, data: Buffer, options: { failIfFull?: boolean } = {}): Promise<void> {
    validateObjectName(object, this.context());
    const op = options.failIfFull ? 'rados_write_op_operate2' : 'rados_write_full';
    await this.call(op, () => nativeIoCtx(this).writeFull(object, data, options.failIfFull === true), { object }, 'object');
  }

  /** Removes an object (`rados_remove`). @throws {@link ObjectNotFound} */
  async remove(object: string): Promise<void> {
    validateObjectName(object, this.context());
    await this.call('rados_remove', () => nativeIoCtx(this).remove(object), { object }, 'object');
  }

  /**
   * Calls method `method` of object class `cls` on an object (`rados_exec`); output up to 64 KiB.
   * @throws {@link OperationNotSupported} when the OSDs have no such class or method.
   */
  async exec(object: string, cls: string, method: string, input: Buffer = Buffer.alloc(0)): Promise<Buffer> {
    validateObjectName(object, this.context());
    for (const [what, v] of [['class', cls], ['method', method]] as const) {
      if (typeof v !== 'string' || !/^[A-Za-z0-9_]{1,64}$/.test(v)) throw invalidArgument(`invalid ${what} name ${JSON.stringify(v)}`, this.context());
    }
    if (!Buffer.isBuffer(input)) throw invalidArgument('input must be a Buffer', this.context());
    return this.call('rados_exec', () => nativeIoCtx(this).exec(object, cls, method, input), { object, detail: `${cls}.${method}` }, 'object');
  }

  /**
   * Reads omap key/value pairs (`rados_read_op_omap_get_vals2`), in key order, after `startAfter`,
   * whose keys start with `prefix`; at most `max` (default 1000) per call, `more` when there are more.
   */
  async omapGet(
    object: string,
    options: { startAfter?: string; prefix?: string; max?: number } = {},
  ): Promise<{ entries: Map<string, Buffer>; more: boolean }> {
    validateObjectName(object, this.context());
    const max = options.max ?? 1000;
    validateOffset(max, 'max', this.context());
    const r = await this.call(
      'rados_read_op_omap_get_vals2',
      () => nativeIoCtx(this).omapGetVals(object, options.startAfter ?? null, options.prefix ?? null, max),
      { object },
      'object',
    );
    return { entries: new Map(r.entries), more: r.more };
  }
}
