/**
 * One cluster connection per driver, shared by every call; I/O contexts cached per
 * pool/namespace; the connection re-made after ESHUTDOWN (a blocklisted or lost client); a
 * write-permission probe cached per pool/namespace.
 */
import { randomUUID } from 'node:crypto';
import { ConnectionShutdown, PermissionDenied, type ConnectOptions, type IoCtx, Rados } from '../ceph/index.js';
import { audit, type Logger } from './logging.js';

const PROBE_TTL_MS = 5 * 60_000;

/** @internal */
export class Connection {
  #rados: Promise<Rados> | null = null;
  #ioctxs = new Map<string, Promise<IoCtx>>();
  #probes = new Map<string, number>();
  #closed = false;

  constructor(
    private readonly options: ConnectOptions,
    private readonly log: Logger,
  ) {}

  /** The user as Ceph names it (`client.compute`). */
  get user(): string {
    const u = this.options.user ?? 'admin';
    return u.startsWith('client.') ? u : `client.${u}`;
  }

  /** The connection, made on first use and after a reset. */
  rados(): Promise<Rados> {
    if (this.#closed) return Promise.reject(new ConnectionShutdown('the driver is closed', 108, { op: 'connect', user: this.user }));
    if (!this.#rados) {
      const started = Date.now();
      this.#rados = Rados.connect(this.options).then(
        (r) => {
          this.log.debug({ user: this.user, ms: Date.now() - started }, 'connected');
          return r;
        },
        (e: unknown) => {
          this.#rados = null;
          throw e;
        },
      );
    }
    return this.#rados;
  }

  /** The cached I/O context for pool/namespace. */
  ioctx(pool: string, namespace = ''): Promise<IoCtx> {
    const key = `${pool}\u0000${namespace}`;
    let io = this.#ioctxs.get(key);
    if (!io) {
      io = this.rados().then((r) => r.openIoCtx(pool, { namespace }));
      io.catch(() => this.#ioctxs.delete(key));
      this.#ioctxs.set(key, io);
    }
    return io;
  }

  /** Drops a connection that Ceph shut down; the next call connects again. */
  async reset(reason: Error): Promise<void> {
    const old = this.#rados;
    this.#rados = null;
    this.#ioctxs.clear();
    this.#probes.clear();
    this.log.warn({ user: this.user, err: reason }, 'connection lost; reconnecting on next use');
    if (old) {
      await old.then((r) => r.close()).catch((e: unknown) => this.log.debug({ err: e }, 'closing the lost connection failed'));
    }
  }

  /**
   * Runs `fn` with the connection. On ConnectionShutdown the connection is reset; `idempotent`
   * calls are then tried once more on a new connection, others rethrow.
   */
  async run<T>(fn: () => Promise<T>, idempotent: boolean): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof ConnectionShutdown) || this.#closed) throw e;
      await this.reset(e);
      if (!idempotent) throw e;
      return fn();
    }
  }

  /**
   * Fails fast with PermissionDenied when this user cannot write pool/namespace: writes and removes
   * a tiny probe object. A success is remembered for five minutes; a denial is not remembered.
   */
  async assertWritable(pool: string, namespace = ''): Promise<void> {
    const key = `${pool}\u0000${namespace}`;
    const at = this.#probes.get(key);
    if (at !== undefined && Date.now() - at < PROBE_TTL_MS) return;
    const io = await this.ioctx(pool, namespace);
    const oid = `rbdctl.permission-probe.${randomUUID()}`;
    try {
      await io.writeFull(oid, Buffer.alloc(0), { failIfFull: true });
      await io.remove(oid);
    } catch (e) {
      if (e instanceof PermissionDenied) {
        audit(this.log, { action: 'permission-probe', pool, ...(namespace ? { namespace } : {}), user: this.user, outcome: 'denied' });
        throw new PermissionDenied(
          `user ${this.user} may not write pool ${pool}${namespace ? ` namespace ${namespace}` : ''}: nothing was created`,
          e.errno,
          { op: 'permission probe', pool, ...(namespace ? { namespace } : {}), user: this.user },
          { cause: e },
        );
      }
      throw e;
    }
    this.#probes.set(key, Date.now());
  }

  async close(): Promise<void> {
    this.#closed = true;
    const r = this.#rados;
    this.#rados = null;
    this.#ioctxs.clear();
    if (r) await (await r).close();
  }
}
