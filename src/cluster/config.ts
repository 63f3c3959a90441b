/**
 * Where the local cluster lives and how it is configured.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository (or installed package) root: two levels above this file in `dist/src/cluster`. */
function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/src/cluster -> package root; src/cluster (ts-node style) -> package root
  return here.includes(`${join('dist', 'src')}`) ? resolve(here, '..', '..', '..') : resolve(here, '..', '..');
}

/** Default cluster directory: `RBDCTL_CLUSTER_DIR`, else `.cluster` in the project. */
export function defaultClusterDir(): string {
  return process.env['RBDCTL_CLUSTER_DIR'] ? resolve(process.env['RBDCTL_CLUSTER_DIR']) : join(packageRoot(), '.cluster');
}

/** Monitor port: not Ceph's 3300/6789, so the local cluster never meets a real one. `RBDCTL_CLUSTER_PORT` overrides it. */
export const DEFAULT_MON_PORT = 13300;

/** The monitor port to use when none is given. */
export function defaultMonPort(): number {
  const env = process.env['RBDCTL_CLUSTER_PORT'];
  const port = env ? Number(env) : DEFAULT_MON_PORT;
  if (!Number.isInteger(port) || port < 1024 || port > 65000) throw new RangeError(`RBDCTL_CLUSTER_PORT must be a port 1024..65000, got ${env}`);
  return port;
}

/** Users the local cluster creates, with the capabilities a VM platform gives them. */
export const CLUSTER_USERS: Readonly<Record<string, Record<string, string>>> = {
  compute: {
    mon: 'profile rbd',
    osd: 'profile rbd pool=vms, profile rbd-read-only pool=images',
    mgr: 'profile rbd pool=vms',
  },
  readonly: { mon: 'profile rbd', osd: 'profile rbd-read-only' },
};

/** Pools: golden images and instance disks. */
export const CLUSTER_POOLS = ['images', 'vms'] as const;

/** Inputs to {@link renderCephConf}. */
export interface ConfInputs {
  dir: string;
  fsid: string;
  monPort: number;
  osds: number;
  memstoreBytes: number;
}

/** ceph.conf for a loopback-only, single-host, cephx-on cluster whose state all lives in `dir`. */
export function renderCephConf(c: ConfInputs): string {
  const lines = [
    '[global]',
    `fsid = ${c.fsid}`,
    `mon host = v2:127.0.0.1:${c.monPort}`,
    'public network = 127.0.0.0/8',
    'ms bind ipv6 = false',
    `ms bind port min = ${c.monPort + 1}`,
    `ms bind port max = ${c.monPort + 99}`,
    'auth cluster required = cephx',
    'auth service required = cephx',
    'auth client required = cephx',
    'auth allow insecure global id reclaim = false',
    'mon allow pool size one = true',
    'mon allow pool delete = true',
    'mon warn on pool no redundancy = false',
    'osd pool default size = 1',
    'osd pool default min size = 1',
    'osd pool default pg autoscale mode = off',
    'osd crush chooseleaf type = 0',
    `run dir = ${c.dir}/run`,
    'admin socket = $run_dir/$name.asok',
    `log file = ${c.dir}/log/$name.log`,
    `pid file = ${c.dir}/run/$name.pid`,
    '',
    '[client]',
    // Each user's own keyring, found from its name: --id compute reads ceph.client.compute.keyring.
    `keyring = ${c.dir}/$cluster.$name.keyring`,
    'log file = /dev/null',
    'admin socket = ',
    '',
    '[mon]',
    // A one-machine dev cluster has nothing to batch: commit monitor changes (snapshot ids, pools)
    // in 50 ms rather than Ceph's 1 s, or every snapshot create and remove waits a second.
    'paxos propose interval = 0.05',
    // The state lives on a developer's or CI's shared disk: warn only when it is really full.
    'mon data avail warn = 5',
    'mon data avail crit = 2',
    '',
    '[mon.a]',
    `mon data = ${c.dir}/mon/a`,
    '',
    '[mgr.x]',
    `mgr data = ${c.dir}/mgr/x`,
    `keyring = ${c.dir}/mgr/x/keyring`,
    '',
  ];
  for (let i = 0; i < c.osds; i++) {
    lines.push(
      `[osd.${i}]`,
      `osd data = ${c.dir}/osd/${i}`,
      `keyring = ${c.dir}/osd/${i}/keyring`,
      'osd objectstore = memstore',
      `memstore device bytes = ${c.memstoreBytes}`,
      // Not `memstore page set = false`: with it the store's used-bytes count drifts (seen after a few
      // dozen imports and removes), wraps below zero, and the OSD, "full", stops taking writes for seconds.
      '',
    );
  }
  return lines.join('\n');
}
