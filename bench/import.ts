/**
 * Importing disk images, side by side on one cluster: this project's pipeline (`rbdctl import`)
 * vs `rbd import` vs Nova's path (qemu-img convert to a temporary raw file, then `rbd import`)
 * vs `qemu-img convert` straight into RBD. 1 GiB-virtual raw and qcow2 images, about half data.
 * Wall time, peak RSS, temporary disk, and `rbd du` USED; plus `rados bench` at the same concurrency.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterStatus } from '../src/cluster/local-cluster.js';
import { table } from './stats.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

interface Measured {
  seconds: number;
  maxRssKb: number;
  rc: number;
  stderr: string;
}

function measure(argv: string[]): Measured {
  const r = spawnSync('/usr/bin/python3', [join(root, 'bench', 'measure.py'), ...argv], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  const m = JSON.parse(r.stdout) as Measured;
  if (m.rc !== 0) throw new Error(`${argv.slice(0, 3).join(' ')} failed: ${m.stderr}`);
  return m;
}

function run(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.slice(0, 3).join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

async function main(): Promise<void> {
  const status = await clusterStatus();
  if (!status.running) throw new Error('the local cluster is not running: `npm run bench` starts it');
  const conf = status.conf;
  const dir = mkdtempSync(join(tmpdir(), 'rbdctl-bench-'));
  const ceph = ['--conf', conf, '--id', 'admin'];
  try {
    // 1 GiB virtual, about half data: 4 MiB of data, then 4 MiB of hole, repeated.
    const raw = join(dir, 'half.raw');
    const fd = openSync(raw, 'w');
    const block = Buffer.alloc(4 * MiB);
    for (let i = 0; i < block.length; i += 8) block.writeDoubleLE(i * 1.000001, i);
    for (let off = 0; off < GiB; off += 8 * MiB) writeSync(fd, block, 0, block.length, off);
    closeSync(fd);
    spawnSync('truncate', ['-s', String(GiB), raw]);
    const qcow2 = join(dir, 'half.qcow2');
    run(['qemu-img', 'convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, qcow2]);

    const du = (name: string) => {
      const j = JSON.parse(run(['rbd', ...ceph, 'du', `vms/${name}`, '--format', 'json'])) as { images: { used_size: number }[] };
      return j.images.reduce((n, i) => n + i.used_size, 0);
    };
    const rm = (name: string) => run(['rbd', ...ceph, 'rm', `vms/${name}`, '--no-progress']);
    const rows: string[][] = [];
    const results: Record<string, Record<string, number>> = {};
    for (const [label, file, fmt] of [['raw', raw, 'raw'], ['qcow2', qcow2, 'qcow2']] as const) {
      const contenders: [string, (name: string) => { m: Measured; tempBytes: number }][] = [
        ['ours (rbdctl import)', (n) => ({ m: measure([process.execPath, join(root, 'dist', 'src', 'cli', 'main.js'), 'import', file, `vms/${n}`, '--format', fmt, '--conf', conf]), tempBytes: 0 })],
        ...(fmt === 'raw' ? [['rbd import', (n: string) => ({ m: measure(['rbd', ...ceph, 'import', '--no-progress', file, `vms/${n}`]), tempBytes: 0 })] as [string, (name: string) => { m: Measured; tempBytes: number }]] : []),
        [
          "Nova's path (convert to temp raw, rbd import)",
          (n) => {
            const tmp = join(dir, `${n}.tmp.raw`);
            const a = measure(['qemu-img', 'convert', '-f', fmt, '-O', 'raw', file, tmp]);
            const tempBytes = statSync(tmp).blocks * 512;
            const b = measure(['rbd', ...ceph, 'import', '--no-progress', tmp, `vms/${n}`]);
            rmSync(tmp);
            return { m: { seconds: a.seconds + b.seconds, maxRssKb: Math.max(a.maxRssKb, b.maxRssKb), rc: 0, stderr: '' }, tempBytes };
          },
        ],
        ['qemu-img convert into rbd', (n) => ({ m: measure(['qemu-img', 'convert', '-f', fmt, '-O', 'raw', file, `rbd:vms/${n}:conf=${conf}:id=admin`]), tempBytes: 0 })],
      ];
      for (const [who, fn] of contenders) {
        // Best of two, each after `sync`: nobody pays for the previous writer's dirty pages.
        let best: { m: Measured; tempBytes: number; used: number } | undefined;
        for (let attempt = 0; attempt < 2; attempt++) {
          spawnSync('sync');
          const name = `bench-import-${process.pid}-${label}-${rows.length}-${attempt}`;
          const r = fn(name);
          const used = du(name);
          rm(name);
          if (!best || r.m.seconds < best.m.seconds) best = { ...r, used };
        }
        const { m, tempBytes, used } = best!;
        results[`${label}: ${who}`] = { seconds: m.seconds, maxRssKb: m.maxRssKb, tempBytes, used };
        rows.push([label, who, `${m.seconds.toFixed(2)} s`, `${(GiB / 2 / MiB / m.seconds).toFixed(0)} MiB/s`, `${(m.maxRssKb / 1024).toFixed(0)} MiB`, `${(tempBytes / MiB).toFixed(0)} MiB`, `${(used / MiB).toFixed(0)} MiB`]);
      }
    }
    const benchOut = run(['rados', ...ceph, '-p', 'vms', 'bench', '10', 'write', '-t', '16', '-b', String(4 * MiB), '--no-cleanup', '--format', 'json']);
    const radosMBs = (JSON.parse(benchOut.slice(benchOut.indexOf('{'))) as { bandwidth: string }).bandwidth;
    run(['rados', ...ceph, '-p', 'vms', 'cleanup']);
    const text = table(['image', 'importer', 'wall', 'data rate', 'peak RSS', 'temp disk', 'rbd du USED'], rows);
    process.stdout.write(
      `\nImport of a 1 GiB-virtual image with 512 MiB of data (wall, data rate = 512 MiB / wall, peak RSS of the process tree,\n` +
        `temporary disk, rbd du USED afterwards). rados bench, 16 x 4 MiB writes in flight (as ours): ${Number(radosMBs).toFixed(0)} MB/s.\n\n${text}\n`,
    );
    mkdirSync(join(root, 'bench', 'results'), { recursive: true });
    writeFileSync(join(root, 'bench', 'results', 'import.json'), JSON.stringify({ results, radosMBs }, null, 1));
    appendFileSync(join(root, 'bench', 'results', 'import.md'), `${text}\nrados bench -t 16 -b 4M: ${Number(radosMBs).toFixed(0)} MB/s\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
