/**
 * Test access to the local cluster started by `npm test`. A test that needs the cluster fails
 * loudly when it is missing: there is no skip path.
 */
import { randomBytes } from 'node:crypto';
import { clusterStatus, type ClusterStatus } from '../../src/cluster/local-cluster.js';
import { Rados, type ConnectOptions } from '../../src/ceph/index.js';

let cached: ClusterStatus | undefined;

/** The running local cluster; throws when it is not running. */
export async function localCluster(): Promise<ClusterStatus> {
  if (cached) return cached;
  const status = await clusterStatus();
  if (!status.running) {
    throw new Error(`the local Ceph cluster is not running in ${status.dir}: run \`npm test\` (it starts it) or \`rbdctl cluster up\``);
  }
  cached = status;
  return status;
}

/** A connection to the local cluster as `user` (default admin). */
export async function connect(user = 'admin', extra: Omit<ConnectOptions, 'conf' | 'user'> = {}): Promise<Rados> {
  const status = await localCluster();
  return Rados.connect({ conf: status.conf, user, ...extra });
}

/** A name no other test uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
