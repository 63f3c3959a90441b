/**
 * Cluster-level commands: pool-info, mon-addrs, parse-url, doctor, cluster, demo.
 */
import { Rados, Rbd, CephError } from '../../ceph/index.js';
import { clusterDown, clusterStatus, clusterUp, type ClusterStatus } from '../../cluster/local-cluster.js';
import { parseRbdUrl, type MonAddrs, type PoolInfo, type RbdLocation } from '../../driver/index.js';
import { UsageError, parseCount } from '../args.js';
import type { Command } from '../context.js';
import { columns, iec } from '../output.js';
import { runDemo, type DemoStep } from '../demo.js';

function statusLines(s: ClusterStatus): string {
  return columns(
    ['', ''],
    [
      ['cluster', s.running ? 'running' : 'stopped'],
      ['dir', s.dir],
      ['conf', s.conf],
      ['fsid', s.fsid ?? '-'],
      ['monitor', s.monHost ?? '-'],
      ['pools', s.pools.join(', ') || '-'],
      ...s.users.map((u) => [u.name, u.keyring]),
      ...s.daemons.map((d) => [d.name, `${d.running ? `pid ${d.pid}` : 'not running'}  log ${d.log}`]),
    ],
  ).replace(/^\s*\n/, '');
}

interface Check {
  check: string;
  ok: boolean;
  detail: string;
  hint?: string;
}

export const clusterCommands: Command[] = [
  {
    name: 'pool-info',
    usage: 'pool-info [POOL]',
    summary: "a pool's capacity from the monitors' df (replication-aware free space, quotas)",
    async run(ctx, [pool]) {
      const p = pool ?? (await ctx.defaultPool());
      return (await ctx.driver(p)).getPoolInfo({ pool: p });
    },
    human: (i: PoolInfo) =>
      columns(
        ['pool', 'total', 'used', 'stored', 'free', 'quota'],
        [[i.pool, iec(i.totalBytes), iec(i.usedBytes), iec(i.storedBytes), iec(i.freeBytes), i.quotaBytes ? iec(i.quotaBytes) : i.quotaObjects ? `${i.quotaObjects} objects` : '-']],
        [1, 2, 3, 4],
      ),
  },
  {
    name: 'mon-addrs',
    usage: 'mon-addrs',
    summary: 'monitor addresses (msgr v1 and v2)',
    async run(ctx) {
      return (await ctx.driver()).getMonAddrs();
    },
    human: (m: MonAddrs) => columns(['monitor', 'rank', 'addresses'], m.monitors.map((x) => [x.name, String(x.rank), x.addresses.map((a) => `${a.type}:${a.address}`).join(' ')])),
  },
  {
    name: 'parse-url',
    usage: 'parse-url RBD-URL',
    summary: 'parse and validate a Glance rbd:// location (no cluster needed)',
    async run(_ctx, [url]) {
      if (url === undefined) throw new UsageError('missing the rbd:// URL');
      return parseRbdUrl(url);
    },
    human: (l: RbdLocation) => columns(['fsid', 'pool', 'namespace', 'image', 'snapshot'], [[l.fsid, l.pool, l.namespace || '-', l.image, l.snapshot]]),
  },
  {
    name: 'doctor',
    usage: 'doctor [POOL...]',
    summary: 'check connectivity, monitors, pools, permissions, timeouts and clone v2, with hints',
    async run(ctx, pools) {
      const c = await ctx.connection();
      const checks: Check[] = [];
      const started = Date.now();
      let rados: Rados;
      try {
        const connectMs = ctx.connectTimeoutMs();
        rados = await Rados.connect({ conf: c.conf, user: c.user, ...(c.keyring ? { keyring: c.keyring } : {}), ...(connectMs ? { timeouts: { connectMs } } : {}) });
        checks.push({ check: 'connect', ok: true, detail: `${rados.user} via ${c.conf} in ${Date.now() - started} ms` });
      } catch (e) {
        checks.push({ check: 'connect', ok: false, detail: (e as Error).message, hint: 'check mon host in the conf, the keyring and that a monitor is reachable' });
        return { ok: false, checks };
      }
      try {
        checks.push({ check: 'fsid', ok: true, detail: rados.fsid() });
        const dump = await rados.monCommandJson<{ mons: { name: string }[] }>({ prefix: 'mon dump' });
        checks.push({ check: 'monitors', ok: dump.mons.length > 0, detail: dump.mons.map((m) => m.name).join(', ') });
        type PoolLs = { pool_name: string; application_metadata?: Record<string, unknown> }[];
        const all = await rados.monCommandJson<PoolLs>({ prefix: 'osd pool ls', detail: 'detail' }).catch(() => [] as PoolLs);
        const wanted = pools.length ? pools : all.filter((p) => p.application_metadata && 'rbd' in p.application_metadata).map((p) => p.pool_name);
        if (wanted.length === 0) checks.push({ check: 'pools', ok: false, detail: 'no pool with the rbd application', hint: 'ceph osd pool create NAME && rbd pool init NAME' });
        for (const pool of wanted) {
          const meta = all.find((p) => p.pool_name === pool);
          checks.push({ check: `pool ${pool}`, ok: meta !== undefined && meta.application_metadata !== undefined && 'rbd' in meta.application_metadata, detail: meta ? `applications: ${Object.keys(meta.application_metadata ?? {}).join(', ') || 'none'}` : 'not found', hint: 'rbd pool init POOL' });
          try {
            await using io = await rados.openIoCtx(pool);
            await Rbd.list(io);
            checks.push({ check: `read ${pool}`, ok: true, detail: 'can list images' });
            const oid = `rbdctl.doctor-probe.${process.pid}`;
            try {
              await io.writeFull(oid, Buffer.alloc(0), { failIfFull: true });
              await io.remove(oid);
              checks.push({ check: `write ${pool}`, ok: true, detail: 'can write' });
            } catch (e) {
              checks.push({ check: `write ${pool}`, ok: false, detail: e instanceof CephError ? e.code : String(e), hint: `grant 'profile rbd pool=${pool}' to ${rados.user} if it must write` });
            }
          } catch (e) {
            checks.push({ check: `read ${pool}`, ok: false, detail: e instanceof CephError ? `${e.code}: ${e.message}` : String(e), hint: `grant 'profile rbd-read-only pool=${pool}' or better to ${rados.user}` });
          }
        }
        const t = ['client_mount_timeout', 'rados_mon_op_timeout', 'rados_osd_op_timeout'].map((k) => `${k}=${rados.getConfig(k)}`);
        checks.push({ check: 'timeouts', ok: true, detail: t.join(' ') });
        const osd = await rados.monCommandJson<{ require_min_compat_client?: string }>({ prefix: 'osd dump' });
        const v2 = ['mimic', 'nautilus', 'octopus', 'pacific', 'quincy', 'reef', 'squid', 'tentacle'].includes(osd.require_min_compat_client ?? '');
        checks.push({ check: 'clone v2', ok: true, detail: v2 ? 'available (unprotected snapshots can be cloned)' : `off (require-min-compat-client ${osd.require_min_compat_client}): golden snapshots must be protected`, ...(v2 ? {} : { hint: 'ceph osd set-require-min-compat-client mimic, once no older client remains' }) });
      } finally {
        await rados.close();
      }
      return { ok: checks.every((x) => x.ok), checks };
    },
    human: (r: { checks: Check[] }) => r.checks.map((x) => `${x.ok ? 'PASS' : 'FAIL'}  ${x.check.padEnd(22)} ${x.detail}${!x.ok && x.hint ? `\n      hint: ${x.hint}` : ''}`).join('\n'),
    exitCode: (r: { ok: boolean }) => (r.ok ? 0 : 1),
  },
  {
    name: 'cluster',
    usage: 'cluster up [--osds N] [--port P] [--dir D] | down [--purge] [--dir D] | status [--dir D]',
    summary: 'the local development cluster',
    options: { osds: { type: 'string' }, port: { type: 'string' }, dir: { type: 'string' }, purge: { type: 'boolean' } },
    async run(ctx, [action], o) {
      const dir = o['dir'] as string | undefined;
      switch (action) {
        case 'up': {
          const osds = parseCount(o['osds'] as string | undefined, 'osds', 1);
          const port = o['port'] === undefined ? undefined : parseCount(o['port'] as string, 'port', 0);
          return clusterUp({ ...(dir ? { dir } : {}), osds, ...(port ? { port } : {}), log: (line) => ctx.say(line) });
        }
        case 'down': {
          const stopped = await clusterDown({ ...(dir ? { dir } : {}), purge: o['purge'] === true });
          return { stopped, purged: o['purge'] === true };
        }
        case 'status':
          return clusterStatus(dir ? { dir } : {});
        default:
          throw new UsageError(action ? `unknown cluster action ${JSON.stringify(action)}` : 'missing cluster action: up, down or status');
      }
    },
    human: (r: ClusterStatus | { stopped: string[]; purged: boolean }) =>
      'stopped' in r ? `stopped: ${r.stopped.join(', ') || 'nothing was running'}${r.purged ? '; state removed' : ''}` : statusLines(r),
    exitCode: (r: ClusterStatus | { stopped: string[] }) => ('running' in r && !r.running ? 1 : 0),
  },
  {
    name: 'demo',
    usage: 'demo [--disks N]',
    summary: 'the main job on the local cluster, end to end, with timings',
    options: { disks: { type: 'string' } },
    async run(ctx, _args, o) {
      const started = performance.now();
      const steps = await runDemo((line) => ctx.say(line), parseCount(o['disks'] as string | undefined, 'disks', 20));
      return { steps, totalMs: performance.now() - started };
    },
    human: (r: { steps: DemoStep[]; totalMs: number }) => `\ndemo finished in ${(r.totalMs / 1000).toFixed(1)} s: ${r.steps.length} steps, nothing left in the pools`,
  },
];

