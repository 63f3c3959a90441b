/**
 * Per-operation latency, side by side on one cluster in one run: this project (one persistent
 * connection) vs Nova's RBDDriver vs Ceph's python binding with one persistent connection (the
 * floor: what librbd itself costs). Prints p50/p99 and the ratios.
 *
 * Run with `npm run bench`, which builds, starts the local cluster and installs the peers.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Feature, Image, Rados, Rbd } from '../src/ceph/index.js';
import { clusterStatus } from '../src/cluster/local-cluster.js';
import { ms, percentile, ratio, table } from './stats.js';

type Samples = Record<string, number[]>;

const ROUNDS = 3;
const ITERATIONS = Number(process.env['BENCH_ITERATIONS'] ?? 100);
const SLOW_ITERATIONS = Number(process.env['BENCH_SLOW_ITERATIONS'] ?? 20);
/** Samples dropped from the front of each series in each round: connection set-up and caches warming. */
const WARMUP = 3;
const OPS = ['exists', 'open+size', 'snapshot create+remove', 'clone+remove'] as const;
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

async function timed(count: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = process.hrtime.bigint();
    await fn(i);
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out;
}

function runPeer(mode: 'nova' | 'python', cfg: Record<string, unknown>): Samples {
  const r = spawnSync('/usr/bin/python3', [join(root, 'bench', 'peers.py'), JSON.stringify({ ...cfg, mode })], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`${mode} peer failed (${r.status}): ${r.stderr.trim().split('\n').slice(-5).join(' | ')}`);
  return JSON.parse(r.stdout) as Samples;
}

async function main(): Promise<void> {
  const status = await clusterStatus();
  if (!status.running) throw new Error('the local cluster is not running: `npm run bench` starts it');
  const conf = status.conf;
  await using rados = await Rados.connect({ conf });
  await using images = await rados.openIoCtx('images');
  await using vms = await rados.openIoCtx('vms');
  const tag = `${process.pid}`;
  const gold = `bench-gold-${tag}`;
  const existing = `bench-disk-${tag}`;
  await Rbd.create(images, gold, 1 << 30, { features: Feature.LAYERING });
  {
    await using g = await Image.open(images, gold);
    await g.createSnapshot('snap');
    await g.protectSnapshot('snap');
  }
  await Rbd.create(vms, existing, 1 << 30, { features: Feature.LAYERING });
  const cfg = {
    conf,
    user: 'admin',
    iterations: ITERATIONS,
    slowIterations: SLOW_ITERATIONS,
    goldPool: 'images',
    gold,
    snap: 'snap',
    pool: 'vms',
    existing,
    url: `rbd://${rados.fsid()}/images/${gold}/snap`,
  };
  try {
    const runOurs = async (round: number): Promise<Samples> => ({
      exists: await timed(ITERATIONS, () => Rbd.exists(vms, existing)),
      'open+size': await timed(ITERATIONS, async () => {
        const img = await Image.open(vms, existing, { readOnly: true });
        await img.size();
        await img.close();
      }),
      'snapshot create+remove': await timed(SLOW_ITERATIONS, async () => {
        const img = await Image.open(vms, existing);
        await img.createSnapshot('bench-snap');
        await img.removeSnapshot('bench-snap');
        await img.close();
      }),
      'clone+remove': await timed(SLOW_ITERATIONS, async (i) => {
        const name = `bench-ts-clone-${tag}-${round}-${i}`;
        await Rbd.clone(images, gold, 'snap', vms, name, { features: Feature.LAYERING });
        await Rbd.remove(vms, name);
      }),
    });
    // Rounds in rotating order, so that no one always runs first (or on a busier cluster).
    const ours: Samples = {};
    const floor: Samples = {};
    const nova: Samples = {};
    const merge = (into: Samples, from: Samples) => {
      for (const [op, samples] of Object.entries(from)) (into[op] ??= []).push(...samples.slice(WARMUP));
    };
    const runners: [Samples, (round: number) => Promise<Samples>][] = [
      [ours, runOurs],
      [floor, async (round) => runPeer('python', { ...cfg, round })],
      [nova, async (round) => runPeer('nova', { ...cfg, round })],
    ];
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < runners.length; k++) {
        const [into, run] = runners[(round + k) % runners.length]!;
        merge(into, await run(round));
      }
    }

    const p = (s: Samples, op: string, q: number) => percentile(s[op] ?? [], q);
    const rows = OPS.map((op) => [
      op,
      ms(p(ours, op, 50)),
      ms(p(ours, op, 99)),
      ms(p(floor, op, 50)),
      ms(p(floor, op, 99)),
      ms(p(nova, op, 50)),
      ms(p(nova, op, 99)),
      ratio(p(ours, op, 50) / p(floor, op, 50)),
      ratio(p(nova, op, 50) / p(ours, op, 50)),
    ]);
    const header = ['operation', 'ours p50', 'ours p99', 'floor p50', 'floor p99', 'nova p50', 'nova p99', 'ours/floor', 'nova/ours'];
    const text = table(header, rows);
    process.stdout.write(
      `\nLatency per operation: ${ROUNDS} rounds in rotating order of ${ITERATIONS} iterations (${SLOW_ITERATIONS} for snapshot and clone), first ${WARMUP} of each round dropped.\n` +
        'ours: this project, one connection. floor: python-rbd, one connection. nova: nova.storage.rbd_utils.RBDDriver.\n' +
        'ours/floor: lower is better, 1.00x is librbd\'s own cost. nova/ours: how many times faster we are than Nova.\n\n' +
        `${text}\n`,
    );
    mkdirSync(join(root, 'bench', 'results'), { recursive: true });
    writeFileSync(join(root, 'bench', 'results', 'latency.json'), JSON.stringify({ when: new Date().toISOString(), ours, floor, nova }, null, 1));
    writeFileSync(join(root, 'bench', 'results', 'latency.md'), `${text}\n`);
  } finally {
    for (const { name } of await Rbd.list(vms)) if (name.startsWith('bench-')) await Rbd.remove(vms, name).catch(() => undefined);
    await Rbd.remove(vms, existing).catch(() => undefined);
    {
      await using g = await Image.open(images, gold);
      await g.removeSnapshot('snap', { force: true });
    }
    await Rbd.remove(images, gold);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
