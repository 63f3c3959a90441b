/**
 * Boot storm (clone N disks from one golden snapshot) and cleanup (destroy M volumes), side by
 * side on one cluster: this project's RbdDriver vs Nova's RBDDriver (as nova-compute runs it)
 * vs Ceph's python binding with threads on one connection (the floor).
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Feature, Image, Rados, Rbd } from '../src/ceph/index.js';
import { clusterStatus } from '../src/cluster/local-cluster.js';
import { RbdDriver } from '../src/driver/index.js';
import { ratio, table } from './stats.js';

const BOOT = Number(process.env['BENCH_BOOT'] ?? 100);
const CLEANUP = Number(process.env['BENCH_CLEANUP'] ?? 200);
const CONCURRENCY = 16;
const ROUNDS = 2;
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

type Times = { boot: number; cleanup: number };

async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

async function main(): Promise<void> {
  const status = await clusterStatus();
  if (!status.running) throw new Error('the local cluster is not running: `npm run bench` starts it');
  await using rados = await Rados.connect({ conf: status.conf });
  await using images = await rados.openIoCtx('images');
  const gold = `storm-gold-${process.pid}`;
  await Rbd.create(images, gold, 1 << 30, { features: Feature.LAYERING });
  {
    await using g = await Image.open(images, gold);
    await g.createSnapshot('snap');
    await g.protectSnapshot('snap');
  }
  const url = `rbd://${rados.fsid()}/images/${gold}/snap`;
  const base = { conf: status.conf, user: 'admin', boot: BOOT, cleanup: CLEANUP, concurrency: CONCURRENCY, goldPool: 'images', pool: 'vms', gold, snap: 'snap', url };
  const peer = (mode: string, round: number): Times => {
    const r = spawnSync('/usr/bin/python3', [join(root, 'bench', 'storm_peers.py'), JSON.stringify({ ...base, mode, prefix: `storm-${mode}-${round}-` })], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${mode} failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return JSON.parse(r.stdout) as Times;
  };
  const ours = async (round: number): Promise<Times> => {
    await using driver = await RbdDriver.connect({ conf: status.conf, user: 'admin', pool: 'vms' });
    const prefix = `storm-ours-${round}-`;
    const bootNames = Array.from({ length: BOOT }, (_, i) => `${prefix}boot-${i}`);
    let t = performance.now();
    await pool(bootNames, CONCURRENCY, (n) => driver.clone(url, n));
    const boot = (performance.now() - t) / 1000;
    await using vms = await rados.openIoCtx('vms');
    await pool(Array.from({ length: CLEANUP }, (_, i) => `${prefix}clean-${i}`), CONCURRENCY, (n) => Rbd.clone(images, gold, 'snap', vms, n, { features: Feature.LAYERING }));
    t = performance.now();
    await driver.cleanupVolumes({ prefix }, { concurrency: CONCURRENCY });
    return { boot, cleanup: (performance.now() - t) / 1000 };
  };
  const runs: Record<string, Times[]> = { ours: [], floor: [], nova: [] };
  const order: [string, (r: number) => Promise<Times> | Times][] = [
    ['ours', ours],
    ['floor', (r) => peer('python', r)],
    ['nova', (r) => peer('nova', r)],
  ];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < order.length; k++) {
        const [who, run] = order[(round + k) % order.length]!;
        runs[who]!.push(await run(round));
      }
    }
  } finally {
    {
      await using g = await Image.open(images, gold);
      await g.removeSnapshot('snap', { force: true }).catch(() => undefined);
    }
    await Rbd.remove(images, gold).catch(() => undefined);
  }
  const mean = (who: string, k: keyof Times) => runs[who]!.reduce((s, t) => s + t[k], 0) / runs[who]!.length;
  const rows = (['boot', 'cleanup'] as const).map((k) => {
    const [o, f, n] = [mean('ours', k), mean('floor', k), mean('nova', k)];
    const count = k === 'boot' ? BOOT : CLEANUP;
    return [
      k === 'boot' ? `boot storm: clone ${BOOT}` : `cleanup: destroy ${CLEANUP}`,
      `${o.toFixed(2)} s (${(count / o).toFixed(0)}/s)`,
      `${f.toFixed(2)} s (${(count / f).toFixed(0)}/s)`,
      `${n.toFixed(2)} s (${(count / n).toFixed(0)}/s)`,
      ratio(o / f),
      ratio(n / o),
    ];
  });
  const text = table(['workload', 'ours', 'floor', 'nova', 'ours/floor', 'nova/ours'], rows);
  process.stdout.write(
    `\nBoot storm and cleanup: mean of ${ROUNDS} rounds in rotating order, concurrency ${CONCURRENCY}.\n` +
      'ours: RbdDriver.clone / cleanupVolumes (every clone preflighted). floor: python-rbd, one connection, 16 threads.\n' +
      "nova: RBDDriver.clone in an eventlet GreenPool of 16, as nova-compute runs it; cleanup_volumes.\n\n" +
      `${text}\n`,
  );
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  appendFileSync(join(root, 'bench', 'results', 'storm.md'), `${text}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
