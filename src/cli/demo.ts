/**
 * `rbdctl demo`: the main job on the local cluster, end to end, with timings. A golden image in
 * `images`, instance disks cloned from it into `vms` as client.compute, resize, snapshot and
 * rollback, flatten, pool capacity, then everything removed again.
 */
import { Feature, Image, Rados, Rbd } from '../ceph/index.js';
import { clusterUp } from '../cluster/local-cluster.js';

const MiB = 1024 * 1024;

/** One step of the demo: what it did and how long it took. */
export interface DemoStep {
  step: string;
  ms: number;
  detail: string;
}

/** Runs the demo; `say` prints progress for a person. Everything it creates is removed, even on failure. */
export async function runDemo(say: (line: string) => void, disks = 20): Promise<DemoStep[]> {
  const steps: DemoStep[] = [];
  const step = async <T>(name: string, fn: () => Promise<T>, detail: (r: T) => string): Promise<T> => {
    const t = performance.now();
    const r = await fn();
    const s = { step: name, ms: performance.now() - t, detail: detail(r) };
    steps.push(s);
    say(`${name.padEnd(34)} ${s.ms.toFixed(1).padStart(8)} ms  ${s.detail}`);
    return r;
  };
  const cluster = await step('local cluster up', () => clusterUp({ log: () => {} }), (s) => `fsid ${s.fsid}`);
  await using admin = await Rados.connect({ conf: cluster.conf });
  await using compute = await Rados.connect({ conf: cluster.conf, user: 'compute' });
  await using adminImages = await admin.openIoCtx('images');
  await using images = await compute.openIoCtx('images');
  await using vms = await compute.openIoCtx('vms');
  const gold = `demo-gold-${process.pid}`;
  const names = Array.from({ length: disks }, (_, i) => `demo-disk-${process.pid}-${i}`);
  try {
    await step('create golden image (64 MiB)', async () => {
      await Rbd.create(adminImages, gold, 64 * MiB, { features: Feature.LAYERING });
      await using g = await Image.open(adminImages, gold);
      const block = Buffer.alloc(4 * MiB);
      for (let i = 0; i < block.length; i += 512) block.write(`demo-sector-${i / 512}`, i);
      for (let off = 0; off < 16 * MiB; off += block.length) await g.aioWrite(block, off);
      await g.flush();
      await g.createSnapshot('snap');
      await g.protectSnapshot('snap');
    }, () => `images/${gold}@snap, protected, 16 MiB of data`);
    await step(`clone ${disks} disks as client.compute`, () => Promise.all(names.map((n) => Rbd.clone(images, gold, 'snap', vms, n, { features: Feature.LAYERING }))), () => `vms/demo-disk-*`);
    await step('resize every disk to 128 MiB', () => Promise.all(names.map(async (n) => {
      await using d = await Image.open(vms, n);
      await d.resize(128 * MiB);
    })), () => 'grown online');
    const first = names[0]!;
    await step('snapshot, write, roll back one disk', async () => {
      await using d = await Image.open(vms, first);
      await d.createSnapshot('before');
      await d.write(Buffer.alloc(4096, 0xff), 0);
      await d.rollbackToSnapshot('before');
      const back = await d.read(0, 12);
      await d.removeSnapshot('before');
      return back.toString();
    }, (s) => `sector 0 reads ${JSON.stringify(s)} again`);
    await step('flatten one disk', async () => {
      await using d = await Image.open(vms, names[1] ?? first);
      let ticks = 0;
      await d.flatten({ onProgress: () => ticks++ });
      return ticks;
    }, (ticks) => `${ticks} progress events, now independent of the golden image`);
    await step('pool capacity (mon df)', async () => {
      const df = await admin.monCommandJson<{ pools: { name: string; stats: { stored: number; max_avail: number } }[] }>({ prefix: 'df' });
      return df.pools.find((p) => p.name === 'vms');
    }, (p) => (p ? `vms stores ${(p.stats.stored / MiB).toFixed(1)} MiB, ${(p.stats.max_avail / MiB / 1024).toFixed(1)} GiB available` : 'vms not found'));
  } finally {
    await step('destroy everything', async () => {
      const existing = new Set((await Rbd.list(vms)).map((i) => i.name));
      await Promise.all(names.filter((n) => existing.has(n)).map((n) => Rbd.remove(vms, n)));
      if (await Rbd.exists(adminImages, gold)) {
        {
          await using g = await Image.open(adminImages, gold);
          await g.removeSnapshot('snap', { force: true });
        }
        await Rbd.remove(adminImages, gold);
      }
    }, () => 'nothing left behind');
  }
  return steps;
}
