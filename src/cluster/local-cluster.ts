/**
 * The local development cluster: one monitor, one manager and N memstore OSDs, on loopback only, cephx on,
 * every file under one directory. Started, checked and stopped by pid; `up` is idempotent.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { runProgram } from '../util/process.js';
import { createServer } from 'node:net';
import { CLUSTER_POOLS, CLUSTER_USERS, defaultClusterDir, defaultMonPort, renderCephConf } from './config.js';
import { generateCephxKey, writeKeyring } from './keys.js';
import { CLUSTER_PACKAGES, ensurePackages } from './packages.js';

/** Options for {@link clusterUp}. */
export interface ClusterUpOptions {
  /** Where all state lives (default: `.cluster` in the project, or `RBDCTL_CLUSTER_DIR`). */
  dir?: string;
  /** Number of OSDs (default 1). */
  osds?: number;
  /** Monitor port on 127.0.0.1 (default 13300). */
  port?: number;
  /** Capacity of each memstore OSD in bytes (default 8 GiB; memory is used only as data is written). */
  memstoreBytes?: number;
  /** How long to wait for HEALTH_OK (default 60 s). */
  timeoutMs?: number;
  /** Install missing Debian packages (as root) first (default true). */
  installPackages?: boolean;
  /** Progress lines for a person. */
  log?: (line: string) => void;
}

/** A daemon of the local cluster. */
export interface DaemonStatus {
  name: string;
  pid: number | null;
  running: boolean;
  log: string;
}

/** What {@link clusterStatus} reports; `status --json` prints it. */
export interface ClusterStatus {
  dir: string;
  running: boolean;
  conf: string;
  fsid: string | null;
  monHost: string | null;
  users: { name: string; keyring: string }[];
  pools: string[];
  daemons: DaemonStatus[];
}

/** The cluster did not start or did not become healthy. */
export class ClusterStartFailed extends Error {
  override readonly name = 'ClusterStartFailed';
  readonly code = 'CLUSTER_START_FAILED';
  constructor(
    message: string,
    readonly logs: readonly string[],
  ) {
    super(`${message}${logs.length ? ` (logs: ${logs.join(', ')})` : ''}`);
  }
}

interface ClusterState {
  fsid: string;
  monPort: number;
  osds: number;
}

const STATE_FILE = 'cluster.json';
const HEALTH_POLL_MS = 250;

function daemonNames(osds: number): string[] {
  return ['mon.a', 'mgr.x', ...Array.from({ length: osds }, (_, i) => `osd.${i}`)];
}

async function readState(dir: string): Promise<ClusterState | null> {
  try {
    return JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as ClusterState;
  } catch {
    return null;
  }
}

/** Pid from the daemon's pid file, only if that process is alive and is a Ceph daemon. */
async function livePid(dir: string, name: string): Promise<number | null> {
  let pid: number;
  try {
    pid = Number.parseInt(await readFile(join(dir, 'run', `${name}.pid`), 'utf8'), 10);
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.startsWith('ceph-') || cmdline.includes('/ceph-') ? pid : null;
  } catch {
    return null;
  }
}

async function daemonStatuses(dir: string, osds: number): Promise<DaemonStatus[]> {
  return Promise.all(
    daemonNames(osds).map(async (name) => {
      const pid = await livePid(dir, name);
      return { name, pid, running: pid !== null, log: join(dir, 'log', `${name}.log`) };
    }),
  );
}

/** Reports the cluster in `dir` without touching it. */
export async function clusterStatus(options: { dir?: string } = {}): Promise<ClusterStatus> {
  const dir = options.dir ?? defaultClusterDir();
  const state = await readState(dir);
  const daemons = state ? await daemonStatuses(dir, state.osds) : [];
  return {
    dir,
    running: daemons.length > 0 && daemons.every((d) => d.running),
    conf: join(dir, 'ceph.conf'),
    fsid: state?.fsid ?? null,
    monHost: state ? `v2:127.0.0.1:${state.monPort}` : null,
    users: state
      ? ['admin', ...Object.keys(CLUSTER_USERS)].map((u) => ({
          name: `client.${u}`,
          keyring: join(dir, `ceph.client.${u}.keyring`),
        }))
      : [],
    pools: state ? [...CLUSTER_POOLS] : [],
    daemons,
  };
}

/** Runs the `ceph` CLI as client.admin against the cluster in `dir`. */
async function ceph(dir: string, args: string[], input?: string): Promise<string> {
  const { stdout } = await runProgram(
    'ceph',
    ['--conf', join(dir, 'ceph.conf'), '--name', 'client.admin', '--connect-timeout', '20', ...args],
    { timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) },
  );
  return stdout;
}

/**
 * glibc settings for the memstore OSD. By default every 4 MiB message buffer is a fresh mmap, and
 * per-thread heaps that empty out are unmapped: each write then pays for page faults and for the
 * kernel zeroing the pages, up to 40 % of the OSD's time in a 512 MiB import. One heap that keeps
 * freed memory (trimmed only above 1 GiB) serves them again instead. The price: the OSD keeps its
 * high-water mark of memory (350 MiB after the whole test suite, about 2 GiB after `npm run bench`;
 * memstore's device size bounds it).
 */
const OSD_MALLOC_ENV = { MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: String(32 * 1024 * 1024), MALLOC_TRIM_THRESHOLD_: String(1024 * 1024 * 1024) };

async function startDaemon(dir: string, program: string, id: string, extra: string[] = []): Promise<void> {
  await runProgram(program, ['--conf', join(dir, 'ceph.conf'), '-i', id, ...extra], {
    timeoutMs: 60_000,
    ...(program === 'ceph-osd' ? { env: OSD_MALLOC_ENV } : {}),
  });
}

/**
 * Starts the local cluster, creating it if needed; does nothing when it is already running.
 * Memstore keeps no data across a stop, so a cluster found stopped is recreated from scratch.
 * @returns the cluster's status once it is HEALTH_OK with every placement group active+clean.
 * @throws {@link ClusterStartFailed} naming the log of the daemon that failed.
 */
export async function clusterUp(options: ClusterUpOptions = {}): Promise<ClusterStatus> {
  const dir = options.dir ?? defaultClusterDir();
  try {
    return await createCluster(dir, options);
  } catch (e) {
    // Nothing left running after a failed start; the state and the logs stay for a look.
    if (e instanceof ClusterStartFailed) await clusterDown({ dir }).catch(() => undefined);
    throw e;
  }
}

async function createCluster(dir: string, options: ClusterUpOptions): Promise<ClusterStatus> {
  const log = options.log ?? (() => {});
  const osds = options.osds ?? 1;
  if (!Number.isInteger(osds) || osds < 1 || osds > 8) throw new RangeError(`osds must be 1..8, got ${osds}`);
  const current = await clusterStatus({ dir });
  if (current.running) {
    log(`cluster already running in ${dir}`);
    return current;
  }
  if (options.installPackages !== false) await ensurePackages(CLUSTER_PACKAGES, log);
  if (current.daemons.some((d) => d.running)) await clusterDown({ dir });
  await rm(dir, { recursive: true, force: true });

  const state: ClusterState = { fsid: randomUUID(), monPort: await choosePort(options.port), osds };
  for (const sub of ['run', 'log', 'mon/a', 'mgr/x', ...Array.from({ length: osds }, (_, i) => `osd/${i}`)]) {
    await mkdir(join(dir, sub), { recursive: true, mode: 0o700 });
  }
  const conf = join(dir, 'ceph.conf');
  await writeFile(
    conf,
    renderCephConf({ dir, fsid: state.fsid, monPort: state.monPort, osds, memstoreBytes: options.memstoreBytes ?? 8 * 2 ** 30 }),
  );
  await writeFile(join(dir, STATE_FILE), JSON.stringify(state, null, 2));

  const failed = async (what: string, names: string[], cause: unknown): Promise<never> => {
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    throw new ClusterStartFailed(`${what}${detail}`, names.map((n) => join(dir, 'log', `${n}.log`)));
  };

  log('creating monitor');
  const adminKey = generateCephxKey();
  const adminCaps = { mon: 'allow *', osd: 'allow *', mgr: 'allow *', mds: 'allow *' };
  await writeKeyring(join(dir, 'ceph.client.admin.keyring'), [{ entity: 'client.admin', key: adminKey, caps: adminCaps }]);
  const monKeyring = join(dir, 'mon-bootstrap.keyring');
  await writeKeyring(monKeyring, [
    { entity: 'mon.', key: generateCephxKey(), caps: { mon: 'allow *' } },
    { entity: 'client.admin', key: adminKey, caps: adminCaps },
  ]);
  const monmap = join(dir, 'monmap');
  try {
    await runProgram('monmaptool', ['--create', '--fsid', state.fsid, '--addv', 'a', `[v2:127.0.0.1:${state.monPort}]`, monmap]);
    await startDaemon(dir, 'ceph-mon', 'a', ['--mkfs', '--monmap', monmap, '--keyring', monKeyring]);
    await rm(monKeyring);
    await startDaemon(dir, 'ceph-mon', 'a');
  } catch (e) {
    await failed('monitor did not start', ['mon.a'], e);
  }

  log('creating manager');
  try {
    await ceph(dir, ['auth', 'get-or-create', 'mgr.x', 'mon', 'allow profile mgr', 'osd', 'allow *', 'mds', 'allow *', '-o', join(dir, 'mgr/x/keyring')]);
    await chmod(join(dir, 'mgr/x/keyring'), 0o600);
    await startDaemon(dir, 'ceph-mgr', 'x');
  } catch (e) {
    await failed('manager did not start', ['mon.a', 'mgr.x'], e);
  }

  for (let i = 0; i < osds; i++) {
    log(`creating osd.${i}`);
    try {
      const uuid = randomUUID();
      const key = generateCephxKey();
      const id = (await ceph(dir, ['osd', 'new', uuid, '-i', '-'], JSON.stringify({ cephx_secret: key }))).trim();
      if (id !== String(i)) throw new Error(`monitor assigned osd id ${id}, expected ${i}`);
      await writeKeyring(join(dir, `osd/${i}/keyring`), [{ entity: `osd.${i}`, key }]);
      await startDaemon(dir, 'ceph-osd', String(i), ['--mkfs', '--osd-uuid', uuid]);
      await startDaemon(dir, 'ceph-osd', String(i));
    } catch (e) {
      await failed(`osd.${i} did not start`, ['mon.a', `osd.${i}`], e);
    }
  }

  log('creating pools and users');
  try {
    for (const pool of CLUSTER_POOLS) {
      await ceph(dir, ['osd', 'pool', 'create', pool, '16']);
      await ceph(dir, ['osd', 'pool', 'application', 'enable', pool, 'rbd']);
    }
    for (const [user, caps] of Object.entries(CLUSTER_USERS)) {
      const capArgs = Object.entries(caps).flat();
      const keyring = join(dir, `ceph.client.${user}.keyring`);
      await ceph(dir, ['auth', 'get-or-create', `client.${user}`, ...capArgs, '-o', keyring]);
      await chmod(keyring, 0o600);
    }
  } catch (e) {
    await failed('creating pools and users failed', ['mon.a'], e);
  }

  log('waiting for HEALTH_OK');
  await waitForHealth(dir, options.timeoutMs ?? 60_000);
  // `rbd pool init` needs active placement groups, so it runs once the cluster is healthy.
  for (const pool of CLUSTER_POOLS) {
    await runProgram('rbd', ['--conf', conf, '--name', 'client.admin', 'pool', 'init', pool], { timeoutMs: 60_000 });
  }
  const status = await clusterStatus({ dir });
  if (!status.running) {
    const dead = status.daemons.filter((d) => !d.running);
    throw new ClusterStartFailed(`daemons exited: ${dead.map((d) => d.name).join(', ')}`, dead.map((d) => d.log));
  }
  log(`cluster up: fsid ${status.fsid}, ${status.monHost}`);
  return status;
}

/**
 * The monitor port: the one asked for (which must be free), else the default, else the next of
 * 14300, 15300… that is free (another clone's cluster may hold the default).
 */
async function choosePort(asked: number | undefined): Promise<number> {
  const explicit = asked ?? (process.env['RBDCTL_CLUSTER_PORT'] ? defaultMonPort() : undefined);
  if (explicit !== undefined) {
    if (await portFree(explicit)) return explicit;
    throw new ClusterStartFailed(`port ${explicit} on 127.0.0.1 is in use (another local cluster?): stop it, or choose another with --port or RBDCTL_CLUSTER_PORT`, []);
  }
  for (let k = 0; k < 10; k++) {
    const port = defaultMonPort() + 1000 * k;
    if (await portFree(port)) return port;
  }
  throw new ClusterStartFailed(`no free monitor port among ${defaultMonPort()}, ${defaultMonPort() + 1000}, …: stop other local clusters`, []);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

interface CephStatusJson {
  health?: { status?: string; checks?: Record<string, { summary?: { message?: string } }> };
  pgmap?: { num_pgs?: number; pgs_by_state?: { state_name: string; count: number }[] };
  osdmap?: { num_up_osds?: number; num_osds?: number };
}

async function waitForHealth(dir: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer from the monitor';
  const state = await readState(dir);
  const osds = state?.osds ?? 1;
  while (Date.now() < deadline) {
    const dead = (await daemonStatuses(dir, osds)).filter((d) => !d.running);
    if (dead.length > 0) {
      throw new ClusterStartFailed(`daemons exited: ${dead.map((d) => d.name).join(', ')}`, dead.map((d) => d.log));
    }
    try {
      const s = JSON.parse(await ceph(dir, ['status', '--format', 'json'])) as CephStatusJson;
      const pgs = s.pgmap?.num_pgs ?? 0;
      const clean = (s.pgmap?.pgs_by_state ?? []).filter((p) => p.state_name === 'active+clean').reduce((n, p) => n + p.count, 0);
      const osdsUp = s.osdmap?.num_up_osds ?? 0;
      const health = s.health?.status ?? 'unknown';
      if (health === 'HEALTH_OK' && pgs > 0 && clean === pgs && osdsUp === osds) return;
      const checks = Object.values(s.health?.checks ?? {}).map((c) => c.summary?.message ?? '');
      last = `${health}, ${clean}/${pgs} pgs active+clean, ${osdsUp}/${osds} osds up${checks.length ? `; ${checks.join('; ')}` : ''}`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await delay(HEALTH_POLL_MS);
  }
  throw new ClusterStartFailed(`not healthy after ${timeoutMs} ms: ${last}`, daemonNames(osds).map((n) => join(dir, 'log', `${n}.log`)));
}

/**
 * Stops the daemons this project started in `dir` (by their pid files, and only Ceph processes),
 * waiting for each to exit; with `purge` removes the directory too.
 * @returns the names of the daemons it stopped.
 */
export async function clusterDown(options: { dir?: string; purge?: boolean; timeoutMs?: number } = {}): Promise<string[]> {
  const dir = options.dir ?? defaultClusterDir();
  const state = await readState(dir);
  const stopped: string[] = [];
  if (state) {
    const daemons = (await daemonStatuses(dir, state.osds)).filter((d) => d.running).reverse();
    for (const d of daemons) if (d.pid !== null) process.kill(d.pid, 'SIGTERM');
    const deadline = Date.now() + (options.timeoutMs ?? 15_000);
    for (const d of daemons) {
      while (d.pid !== null && existsSync(`/proc/${d.pid}`)) {
        if (Date.now() > deadline) process.kill(d.pid, 'SIGKILL');
        await delay(50);
      }
      stopped.push(d.name);
    }
  }
  if (options.purge) await rm(dir, { recursive: true, force: true });
  return stopped;
}
