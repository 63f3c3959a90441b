/**
 * Capacity and monitors, from monitor commands over the driver's connection (never the CLI).
 */
import { PoolNotFound } from '../ceph/index.js';
import { Errno } from '../ceph/errno.js';
import type { DriverContext } from './context.js';

/** Pool capacity in bytes. */
export interface PoolInfo {
  pool: string;
  /** Raw capacity of the whole cluster (`ceph df` TOTAL). */
  totalBytes: number;
  /** Bytes the pool uses on disk, replicas included (`bytes_used`). */
  usedBytes: number;
  /** Bytes stored in the pool, before replication (`stored`). */
  storedBytes: number;
  /** What can still be written to the pool, replication and full ratios considered (`max_avail`). */
  freeBytes: number;
  /** The pool's byte quota, or null when none is set. */
  quotaBytes: number | null;
  /** The pool's object quota, or null when none is set. */
  quotaObjects: number | null;
}

interface DfJson {
  stats: { total_bytes: number };
  pools: { name: string; stats: { stored: number; bytes_used: number; max_avail: number; quota_bytes?: number; quota_objects?: number } }[];
}

/** Capacity of `pool` from the monitor's `df detail`. @throws PoolNotFound */
export async function poolInfo(ctx: DriverContext, pool: string): Promise<PoolInfo> {
  const rados = await ctx.conn.rados();
  const df = await rados.monCommandJson<DfJson>({ prefix: 'df', detail: 'detail' });
  const p = df.pools.find((x) => x.name === pool);
  if (!p) throw new PoolNotFound(`pool ${pool} not found in df`, Errno.ENOENT, { op: 'getPoolInfo', pool });
  return {
    pool,
    totalBytes: df.stats.total_bytes,
    usedBytes: p.stats.bytes_used,
    storedBytes: p.stats.stored,
    freeBytes: p.stats.max_avail,
    quotaBytes: p.stats.quota_bytes ? p.stats.quota_bytes : null,
    quotaObjects: p.stats.quota_objects ? p.stats.quota_objects : null,
  };
}

/** One address of a monitor. */
export interface MonAddress {
  /** `v1` (legacy messenger) or `v2`. */
  type: 'v1' | 'v2';
  /** Host without brackets (`::1` for IPv6). */
  host: string;
  port: number;
  /** `host:port`, IPv6 hosts in brackets: `[::1]:3300`. */
  address: string;
}

/** A monitor and its address vector. */
export interface Monitor {
  name: string;
  rank: number;
  addresses: MonAddress[];
}

/** The monitors, plus Nova's `hosts`/`ports` pairs (one per monitor, v1 preferred as qemu/libvirt expect). */
export interface MonAddrs {
  monitors: Monitor[];
  hosts: string[];
  ports: string[];
}

interface MonDumpJson {
  mons: { name: string; rank: number; public_addrs?: { addrvec?: { type: string; addr: string }[] }; addr?: string }[];
}

/** Splits `127.0.0.1:3300`, `[::1]:3300` (and a trailing `/nonce`) into host and port. */
export function splitAddress(addr: string): { host: string; port: number } | null {
  const bare = addr.replace(/\/\d+$/, '');
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(bare) ?? /^([^:[\]]+):(\d+)$/.exec(bare);
  if (!m) return null;
  return { host: m[1]!, port: Number(m[2]) };
}

/** Monitor addresses from `mon dump`: both messenger versions, IPv6 in brackets. */
export async function monAddrs(ctx: DriverContext): Promise<MonAddrs> {
  const rados = await ctx.conn.rados();
  const dump = await rados.monCommandJson<MonDumpJson>({ prefix: 'mon dump' });
  const monitors: Monitor[] = dump.mons.map((m) => {
    const vec = m.public_addrs?.addrvec ?? (m.addr ? [{ type: 'v1', addr: m.addr }] : []);
    const addresses: MonAddress[] = [];
    for (const a of vec) {
      const hp = splitAddress(a.addr);
      if (!hp || (a.type !== 'v1' && a.type !== 'v2')) continue;
      addresses.push({ type: a.type, ...hp, address: hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}` });
    }
    return { name: m.name, rank: m.rank, addresses };
  });
  const hosts: string[] = [];
  const ports: string[] = [];
  for (const m of monitors) {
    const pick = m.addresses.find((a) => a.type === 'v1') ?? m.addresses[0];
    if (!pick) continue;
    hosts.push(pick.host.includes(':') ? `[${pick.host}]` : pick.host);
    ports.push(String(pick.port));
  }
  return { monitors, hosts, ports };
}
