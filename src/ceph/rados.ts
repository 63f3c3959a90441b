/**
 * A cluster connection (librados `rados_t`).
 */
import { existsSync } from 'node:fs';
import { native, type NativeRados } from '../native/binding.js';
import { CephError, type ErrorContext, invalidArgument, mapNativeError } from './errors.js';
import { IoCtx, validatePoolName } from './ioctx.js';
import { NativeResource } from './resource.js';

/** Time limits applied to the connection before it connects. */
export interface Timeouts {
  /** Bound on connecting and authenticating (`client_mount_timeout`). Default 10 000 ms. */
  connectMs?: number;
  /** Bound on each monitor request (`rados_mon_op_timeout`). Default 30 000 ms. */
  monOpMs?: number;
  /** Bound on each OSD request (`rados_osd_op_timeout`). Default 30 000 ms. */
  osdOpMs?: number;
}

/** Defaults: a connection never hangs for Ceph's default 300 s, nor forever on an OSD. */
export const DEFAULT_TIMEOUTS: Required<Timeouts> = { connectMs: 10_000, monOpMs: 30_000, osdOpMs: 30_000 };

/** Options for {@link Rados.connect}. */
export interface ConnectOptions {
  /** ceph.conf path. Default: `CEPH_CONF`, else `/etc/ceph/ceph.conf`. */
  conf?: string;
  /** Ceph user, `compute` or `client.compute`. Default `admin`. */
  user?: string;
  /** Keyring file path. A key itself is never accepted: it would end up in memory dumps and logs. */
  keyring?: string;
  /** Cluster name (default `ceph`). */
  clusterName?: string;
  /** Extra configuration options, set after the file is read. */
  config?: Readonly<Record<string, string | number | boolean>>;
  timeouts?: Timeouts;
}

const USER_RE = /^(client\.)?[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const OPTION_RE = /^[A-Za-z0-9_ ]{1,128}$/;

/** Cluster-wide usage from `rados_cluster_stat`, in bytes. */
export interface ClusterStats {
  totalBytes: number;
  usedBytes: number;
  availBytes: number;
  objects: number;
}

/** What a monitor command returned. */
export interface MonCommandResult {
  output: Buffer;
  status: string;
}

function toNumber(v: number | bigint): number {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** Resolves the entity name `client.X` from a user given with or without the prefix. */
export function entityName(user: string | undefined): string {
  const u = user ?? 'admin';
  if (typeof u !== 'string' || !USER_RE.test(u)) throw invalidArgument(`invalid Ceph user ${JSON.stringify(u)}: letters, digits, _ . - only`);
  return u.startsWith('client.') ? u : `client.${u}`;
}

/**
 * A connection to a Ceph cluster. Make one with {@link Rados.connect}; close it with `close()`
 * or `await using`. Closing waits for work in flight and closes every I/O context and image
 * opened through it.
 */
export class Rados extends NativeResource {
  readonly #handle: NativeRados;
  /** The entity name, e.g. `client.compute`. */
  readonly user: string;
  /** The ceph.conf this connection read. */
  readonly conf: string;

  private constructor(handle: NativeRados, user: string, conf: string) {
    super();
    this.#handle = handle;
    this.user = user;
    this.conf = conf;
  }

  protected context(): ErrorContext {
    return { user: this.user };
  }

  protected async closeNative(): Promise<void> {
    await this.#handle.shutdown();
  }

  /**
   * Connects: `rados_create2`, `rados_conf_read_file`, `rados_conf_set` (keyring, timeouts, `config`),
   * `rados_connect`. Inputs are checked before anything is created.
   * @throws {@link InvalidArgument} for a bad user, missing conf or keyring file, bad option or timeout.
   * @throws {@link Timeout} when no monitor answers within `timeouts.connectMs`.
   * @throws {@link PermissionDenied} when authentication fails.
   */
  static async connect(options: ConnectOptions = {}): Promise<Rados> {
    const user = entityName(options.user);
    const conf = options.conf ?? process.env['CEPH_CONF'] ?? '/etc/ceph/ceph.conf';
    if (typeof conf !== 'string' || conf === '' || !existsSync(conf)) throw invalidArgument(`ceph.conf not found: ${String(conf)}`, { user });
    if (options.keyring !== undefined && (typeof options.keyring !== 'string' || !existsSync(options.keyring))) {
      throw invalidArgument(`keyring file not found: ${String(options.keyring)}`, { user });
    }
    const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    for (const [k, v] of Object.entries(timeouts)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw invalidArgument(`timeouts.${k} must be a positive number of ms`, { user });
    }
    const config = Object.entries(options.config ?? {});
    for (const [k, v] of config) {
      if (!OPTION_RE.test(k) || k.toLowerCase() === 'key') throw invalidArgument(`config option ${JSON.stringify(k)} is not allowed`, { user });
      if (!['string', 'number', 'boolean'].includes(typeof v)) throw invalidArgument(`config option ${k} must be a string, number or boolean`, { user });
    }
    const clusterName = options.clusterName ?? 'ceph';
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(clusterName)) throw invalidArgument(`invalid cluster name ${JSON.stringify(clusterName)}`, { user });

    const ctx: ErrorContext = { user };
    let handle: NativeRados;
    try {
      handle = new (native().Rados)(clusterName, user);
    } catch (e) {
      throw mapNativeError(e, { ...ctx, op: 'rados_create2' });
    }
    try {
      handle.confReadFile(conf);
      if (options.keyring !== undefined) handle.confSet('keyring', options.keyring);
      const secs = (ms: number) => String(Math.max(1, Math.ceil(ms / 1000)));
      handle.confSet('client_mount_timeout', secs(timeouts.connectMs));
      handle.confSet('rados_mon_op_timeout', secs(timeouts.monOpMs));
      handle.confSet('rados_osd_op_timeout', secs(timeouts.osdOpMs));
      for (const [k, v] of config) handle.confSet(k, String(v));
      await handle.connect();
    } catch (e) {
      // Not connected or half-configured: release the handle so nothing is left behind.
      await handle.shutdown().catch(() => undefined);
      throw mapNativeError(e, { ...ctx, op: (e as { op?: string }).op ?? 'rados_connect' });
    }
    return new Rados(handle, user, conf);
  }

  /** The cluster's fsid (`rados_cluster_fsid`). */
  fsid(): string {
    return this.callSync('rados_cluster_fsid', () => this.#handle.fsid());
  }

  /** This client's address as the cluster sees it (`rados_getaddrs`), e.g. `v2:127.0.0.1:0/3473223`: what a blocklist entry names. */
  clientAddress(): string {
    return this.callSync('rados_getaddrs', () => this.#handle.addrs());
  }

  /** A configuration value in force (`rados_conf_get`). */
  getConfig(option: string): string {
    if (typeof option !== 'string' || !OPTION_RE.test(option)) throw invalidArgument(`invalid option name ${JSON.stringify(option)}`);
    if (option.toLowerCase() === 'key') throw invalidArgument('the key is never read back');
    return this.callSync('rados_conf_get', () => this.#handle.confGet(option));
  }

  /** Cluster-wide raw usage (`rados_cluster_stat`); ignores replication: use the `df` monitor command for pool capacity. */
  async clusterStats(): Promise<ClusterStats> {
    const s = await this.call('rados_cluster_stat', () => this.#handle.clusterStat());
    return {
      totalBytes: toNumber(s.kb) * 1024,
      usedBytes: toNumber(s.kbUsed) * 1024,
      availBytes: toNumber(s.kbAvail) * 1024,
      objects: toNumber(s.numObjects),
    };
  }

  /** A pool's id (`rados_pool_lookup`). @throws {@link PoolNotFound} */
  async poolId(pool: string): Promise<number> {
    validatePoolName(pool);
    return this.call('rados_pool_lookup', () => this.#handle.poolLookup(pool), { pool }, 'pool');
  }

  /**
   * Sends one command to the monitors (`rados_mon_command`), e.g. `{ prefix: 'df', format: 'json' }`.
   * @throws a typed error whose `detail` is the monitor's status string.
   */
  async monCommand(command: Readonly<Record<string, unknown>>, input?: string): Promise<MonCommandResult> {
    if (typeof command !== 'object' || command === null || typeof command['prefix'] !== 'string') {
      throw invalidArgument('monCommand needs an object with a string `prefix`');
    }
    const r = await this.call(`mon_command ${command['prefix']}`, () => this.#handle.monCommand(JSON.stringify(command), input ?? null));
    return { output: r.out, status: r.status };
  }

  /** {@link monCommand} with `format: json`, parsed. */
  async monCommandJson<T>(command: Readonly<Record<string, unknown>>): Promise<T> {
    const { output } = await this.monCommand({ ...command, format: 'json' });
    try {
      return JSON.parse(output.toString('utf8')) as T;
    } catch (e) {
      throw new CephError(`mon_command ${String(command['prefix'])}: output is not JSON`, undefined, { op: 'mon_command' }, { cause: e });
    }
  }

  /**
   * Opens an I/O context on `pool`, optionally in a RADOS `namespace` (`rados_ioctx_create`,
   * `rados_ioctx_set_namespace`). @throws {@link PoolNotFound}
   */
  async openIoCtx(pool: string, options: { namespace?: string } = {}): Promise<IoCtx> {
    validatePoolName(pool);
    const ns = options.namespace ?? '';
    IoCtx.validateNamespace(ns);
    const handle = await this.call('rados_ioctx_create', () => this.#handle.ioctxCreate(pool), { pool }, 'pool');
    if (ns) handle.setNamespace(ns);
    const io = IoCtx.wrap(handle, pool, ns, this.user);
    this.adopt(io);
    return io;
  }

  /** Native handle state, for leak checks in tests and diagnostics. */
  nativeState(): { closed: boolean; inflight: number; children: number } {
    const s = this.#handle.state();
    return { closed: s.closed, inflight: s.inflight, children: s.children ?? 0 };
  }
}
