/**
 * `rbdctl demo`: the main job on the local cluster, end to end, with timings. A small qcow2 disk
 * image is built, inspected and checksummed, imported as a protected golden snapshot in `images`;
 * 20 instance disks are cloned from it into `vms` as client.compute, resized, one snapshotted and
 * rolled back, one flattened; pool capacity is shown; everything is destroyed again.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterUp } from '../cluster/local-cluster.js';
import { RbdDriver } from '../driver/index.js';
import { inspect } from '../image/index.js';
import { runProgram } from '../util/process.js';

const MiB = 1024 * 1024;

/** One step of the demo: what it did and how long it took. */
export interface DemoStep {
  step: string;
  ms: number;
  detail: string;
}

const iec = (n: number) => (n >= 1024 * MiB ? `${(n / 1024 / MiB).toFixed(1)} GiB` : `${(n / MiB).toFixed(1)} MiB`);

/** Runs the demo; `say` prints progress for a person. Everything it creates is removed, even on failure. */
export async function runDemo(say: (line: string) => void, disks = 20): Promise<DemoStep[]> {
  const steps: DemoStep[] = [];
  const step = async <T>(name: string, fn: () => Promise<T>, detail: (r: T) => string): Promise<T> => {
    const t = performance.now();
    const r = await fn();
    const s = { step: name, ms: performance.now() - t, detail: detail(r) };
    steps.push(s);
    say(`${name.padEnd(40)} ${s.ms.toFixed(1).padStart(8)} ms  ${s.detail}`);
    return r;
  };
  const cluster = await step('local cluster up', () => clusterUp({ log: () => {} }), (s) => `fsid ${s.fsid}`);
  const dir = await mkdtemp(join(tmpdir(), 'rbdctl-demo-'));
  await using admin = await RbdDriver.connect({ conf: cluster.conf, user: 'admin', pool: 'images' });
  await using compute = await RbdDriver.connect({ conf: cluster.conf, user: 'compute', pool: 'vms' });
  const tag = `demo-${process.pid}`;
  const gold = `${tag}-gold`;
  const names = Array.from({ length: disks }, (_, i) => `${tag}-disk-${String(i).padStart(2, '0')}`);
  try {
    const qcow2 = await step('build a qcow2 disk image (64 MiB)', async () => {
      const raw = Buffer.alloc(64 * MiB);
      for (let off = 0; off < 16 * MiB; off += 512) raw.write(`demo sector ${off / 512}`, off);
      await writeFile(join(dir, 'disk.raw'), raw);
      const path = join(dir, 'disk.qcow2');
      await runProgram('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', '-c', join(dir, 'disk.raw'), path], { env: { LC_ALL: 'C' } });
      return path;
    }, () => 'compressed qcow2, 16 MiB of data');
    const { sha256 } = await step('inspect and checksum it', async () => {
      const inspection = await inspect(qcow2, { declared: 'qcow2' });
      if (inspection.refusal) throw inspection.refusal.error;
      return { inspection, sha256: createHash('sha256').update(await readFile(qcow2)).digest('hex') };
    }, (r) => `${r.inspection.format}, ${iec(r.inspection.virtualSize ?? 0)} virtual, safe, sha256 ${r.sha256.slice(0, 16)}…`);
    const golden = await step('import as a protected golden snapshot', () => admin.importImage(qcow2, gold, { format: 'qcow2', expect: { sha256 }, golden: true }), (r) => `images/${r.name}@${r.snapshot}, ${iec(r.bytesWritten)} written, checksum verified`);
    const url = `rbd://${cluster.fsid}/images/${gold}/${golden.snapshot}`;
    await step(`clone ${disks} disks as client.compute`, () => Promise.all(names.map((n) => compute.clone(url, n))), () => `vms/${tag}-disk-*, copy-on-write`);
    await step(`resize every disk to 128 MiB`, () => Promise.all(names.map((n) => compute.resize(n, 128 * MiB))), () => 'grown online');
    const first = names[0]!;
    await step('snapshot and roll back one disk', async () => {
      await compute.createSnap(first, 'before-update');
      await compute.rollbackToSnap(first, 'before-update');
      return compute.listSnaps(first);
    }, (s) => `${first}@${s.map((x) => x.name).join(', ')}`);
    await step('flatten one disk', async () => {
      let ticks = 0;
      await compute.flatten(names[1] ?? first, { onProgress: () => ticks++ });
      return ticks;
    }, (ticks) => `${ticks} progress events; it no longer depends on the golden image`);
    await step('pool capacity', async () => ({ info: await compute.getPoolInfo(), images: (await compute.listImages()).length }), (r) => `vms: ${r.images} images, ${iec(r.info.freeBytes)} free (replication-aware MAX AVAIL)`);
  } finally {
    await step('destroy everything (cleanup)', async () => {
      const report = await compute.cleanupVolumes({ prefix: `${tag}-disk-` }, { concurrency: 8 });
      if (await admin.exists(gold)) await admin.destroyVolume(gold);
      await rm(dir, { recursive: true, force: true });
      return report.length;
    }, (n) => `${n} disks and the golden image removed; nothing left behind`);
  }
  return steps;
}
