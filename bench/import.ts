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
  out: string;
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

const ROUNDS = Number(process.env['BENCH_IMPORT_ROUNDS'] ?? 5);
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;

type Contender = [string, (name: string) => { seconds: number; maxRssKb: number; tempBytes: number }];

async function main(): Promise<void> {
  const status = await clusterStatus();
  if (!status.running) throw new Error('the local cluster is not running: `npm run bench` starts it');
  const conf = status.conf;
  const dir = mkdtempSync(join(tmpdir(), 'rbdctl-bench-'));
  const ceph = ['--conf', conf, '--id', 'admin'];
  try {
    // 1 GiB virtual, about half data: 4 MiB of data, then 4 MiB of hole, repeated (a sparse file).
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
    const library = (file: string, fmt: string, flags: string[] = []): Contender[1] => (n) => {
      const m = measure([process.execPath, join(root, 'dist', 'bench', 'import-once.js'), conf, file, fmt, n, ...flags]);
      return { seconds: (JSON.parse(m.out) as { seconds: number }).seconds, maxRssKb: m.maxRssKb, tempBytes: 0 };
    };
    const whole = (m: Measured) => ({ seconds: m.seconds, maxRssKb: m.maxRssKb, tempBytes: 0 });
    for (const [label, file, fmt] of [['raw', raw, 'raw'], ['qcow2', qcow2, 'qcow2']] as const) {
      const contenders: Contender[] = [
        ['ours: library call (connected)', library(file, fmt)],
        ['ours: library call, next import (buffers reused)', library(file, fmt, ['--second'])],
        ['ours: library call + sha256', library(file, fmt, ['--hash', 'sha256'])],
        ['ours: rbdctl import (a process)', (n) => whole(measure([process.execPath, join(root, 'dist', 'src', 'cli', 'main.js'), 'import', file, `vms/${n}`, '--format', fmt, '--conf', conf]))],
        ...(fmt === 'raw' ? [['rbd import', (n: string) => whole(measure(['rbd', ...ceph, 'import', '--no-progress', file, `vms/${n}`]))] as Contender] : []),
        [
          "Nova's path (convert to temp raw, rbd import)",
          (n) => {
            const tmp = join(dir, `${n}.tmp.raw`);
            const a = measure(['qemu-img', 'convert', '-f', fmt, '-O', 'raw', file, tmp]);
            const tempBytes = statSync(tmp).blocks * 512;
            const b = measure(['rbd', ...ceph, 'import', '--no-progress', tmp, `vms/${n}`]);
            rmSync(tmp);
            return { seconds: a.seconds + b.seconds, maxRssKb: Math.max(a.maxRssKb, b.maxRssKb), tempBytes };
          },
        ],
        ['qemu-img convert into rbd', (n) => whole(measure(['qemu-img', 'convert', '-f', fmt, '-O', 'raw', file, `rbd:vms/${n}:conf=${conf}:id=admin`]))],
      ];
      // Rounds in rotating order, each run after `sync`: nobody pays for another's dirty pages or
      // always runs first; the median of the rounds is reported.
      const samples = contenders.map(() => ({ seconds: [] as number[], rss: 0, temp: 0, used: 0 }));
      for (let round = 0; round < ROUNDS; round++) {
        for (let k = 0; k < contenders.length; k++) {
          const i = (k + round) % contenders.length;
          spawnSync('sync');
          const name = `bench-import-${process.pid}-${label}-${i}-${round}`;
          const r = contenders[i]![1](name);
          const s = samples[i]!;
          s.seconds.push(r.seconds);
          s.rss = Math.max(s.rss, r.maxRssKb);
          s.temp = Math.max(s.temp, r.tempBytes);
          s.used = Math.max(s.used, du(name));
          rm(name);
        }
      }
      const ours = median(samples[0]!.seconds);
      contenders.forEach(([who], i) => {
        const s = samples[i]!;
        const t = median(s.seconds);
        results[`${label}: ${who}`] = { seconds: t, best: Math.min(...s.seconds), maxRssKb: s.rss, tempBytes: s.temp, used: s.used };
        rows.push([label, who, `${t.toFixed(2)} s`, `${Math.min(...s.seconds).toFixed(2)} s`, `${(GiB / 2 / MiB / t).toFixed(0)} MiB/s`, `${(s.rss / 1024).toFixed(0)} MiB`, `${(s.temp / MiB).toFixed(0)} MiB`, `${(s.used / MiB).toFixed(0)} MiB`, i === 0 ? '1.00x' : `${(t / ours).toFixed(2)}x`]);
      });
    }
    // Memory does not grow with the image: 4 GiB virtual with 1 GiB of data, through the library.
    const big = join(dir, 'big.raw');
    const bfd = openSync(big, 'w');
    for (let off = 0; off < 4 * GiB; off += 16 * MiB) writeSync(bfd, block, 0, block.length, off);
    closeSync(bfd);
    spawnSync('truncate', ['-s', String(4 * GiB), big]);
    const bigQcow2 = join(dir, 'big.qcow2');
    run(['qemu-img', 'convert', '-q', '-f', 'raw', '-O', 'qcow2', big, bigQcow2]);
    const memory: string[] = [];
    for (const [fmt, file] of [['raw', big], ['qcow2', bigQcow2]] as const) {
      const name = `bench-import-${process.pid}-big-${fmt}`;
      const m = library(file, fmt)(name);
      rm(name);
      results[`memory: ${fmt} 4 GiB virtual`] = { seconds: m.seconds, maxRssKb: m.maxRssKb };
      memory.push(`${fmt} ${(m.maxRssKb / 1024).toFixed(0)} MiB`);
    }
    rmSync(big);
    rmSync(bigQcow2);
    const benchOut = run(['rados', ...ceph, '-p', 'vms', 'bench', '3', 'write', '-t', '16', '-b', String(4 * MiB), '--no-cleanup', '--format', 'json']);
    const radosMBs = (JSON.parse(benchOut.slice(benchOut.indexOf('{'))) as { bandwidth: string }).bandwidth;
    run(['rados', ...ceph, '-p', 'vms', 'cleanup']);
    const text = table(['image', 'importer', 'wall (median)', 'best', 'data rate', 'peak RSS', 'temp disk', 'rbd du USED', 'time vs ours'], rows);
    process.stdout.write(
      `\nImport of a 1 GiB-virtual image with 512 MiB of data: median and best of ${ROUNDS} rounds in rotating order (data rate =\n` +
        `512 MiB / median wall; peak RSS of the process tree; temporary disk; rbd du USED afterwards; time vs ours = median /\n` +
        `ours' median, above 1 is slower than ours). The library rows time importImage on a connected driver, as a control\n` +
        `plane calls it (the first import of the process, or the next one, whose buffers an earlier import left mapped);\n` +
        `the process rows include starting the process and connecting.\n` +
        `rados bench, 16 x 4 MiB writes in flight (as ours): ${Number(radosMBs).toFixed(0)} MB/s.\n` +
        `Peak RSS of ours (library) importing 4 GiB virtual with 1 GiB of data: ${memory.join(', ')}.\n\n${text}\n`,
    );
    mkdirSync(join(root, 'bench', 'results'), { recursive: true });
    writeFileSync(join(root, 'bench', 'results', 'import.json'), JSON.stringify({ results, radosMBs }, null, 1));
    appendFileSync(join(root, 'bench', 'results', 'import.md'), `${text}\nrados bench -t 16 -b 4M: ${Number(radosMBs).toFixed(0)} MB/s; 4 GiB virtual peak RSS: ${memory.join(', ')}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
