// Every rbdctl command, as a user runs it: the real binary against the real cluster, checking
// --json output and exit codes for success and the main failure modes.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { localCluster, uniqueName } from '../helpers/cluster.js';
import { rbdctl } from '../helpers/cli.js';
import { runProgram } from '../../src/util/process.js';

const MiB = 1024 * 1024;

describe('rbdctl basics', () => {
  it('prints help (0) and refuses unknown commands and flags (2)', async () => {
    const help = await rbdctl(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Exit codes: 0 ok/);
    const bad = await rbdctl(['frobnicate', '--json']);
    assert.equal(bad.code, 2);
    assert.equal(bad.json.error.name, 'UsageError');
    assert.equal((await rbdctl(['ls', '--no-such-flag'])).code, 2);
  });

  it('cluster status reports the local cluster (0); a bad action is usage (2)', async () => {
    const s = await rbdctl(['cluster', 'status', '--json']);
    assert.equal(s.code, 0);
    assert.equal(s.json.running, true);
    assert.equal(s.json.fsid, (await localCluster()).fsid);
    assert.deepEqual(s.json.pools, ['images', 'vms']);
    assert.equal((await rbdctl(['cluster', 'sideways'])).code, 2);
  });

  it('parse-url parses (0) and refuses unsafe URLs (2)', async () => {
    const fsid = (await localCluster()).fsid!;
    const ok = await rbdctl(['parse-url', `rbd://${fsid}/images/gold/snap`, '--json']);
    assert.equal(ok.code, 0);
    assert.deepEqual(ok.json, { fsid, pool: 'images', namespace: '', image: 'gold', snapshot: 'snap' });
    const bad = await rbdctl(['parse-url', `rbd://${fsid}/images/-rf/snap`, '--json']);
    assert.equal(bad.code, 2);
    assert.equal(bad.json.error.reason, 'image');
  });

  it('doctor passes for admin (0) and fails write checks for readonly (1)', async () => {
    const admin = await rbdctl(['doctor', '--json']);
    assert.equal(admin.code, 0);
    assert.ok(admin.json.checks.some((c: { check: string; ok: boolean }) => c.check === 'write vms' && c.ok));
    const ro = await rbdctl(['doctor', '--id', 'readonly', '--json']);
    assert.equal(ro.code, 1);
    assert.ok(ro.json.checks.some((c: { check: string; ok: boolean }) => c.check === 'write vms' && !c.ok));
    assert.match((await rbdctl(['doctor', '--id', 'readonly'])).stdout, /FAIL {2}write vms/);
  });

  it('an unreachable cluster is exit 7, within the connect timeout', async () => {
    const { dir } = await localCluster();
    const conf = join(await mkdtemp(join(tmpdir(), 'rbdctl-')), 'ceph.conf');
    await writeFile(conf, '[global]\nmon host = v2:127.0.0.1:9\n');
    const started = Date.now();
    const r = await rbdctl(['ls', '--conf', conf, '--keyring', join(dir, 'ceph.client.admin.keyring'), '--connect-timeout', '2', '--json']);
    assert.equal(r.code, 7);
    assert.equal(r.json.error.code, 'ETIMEDOUT');
    assert.ok(Date.now() - started < 8000);
  });

  it('honours CEPH_ARGS', async () => {
    const r = await rbdctl(['doctor', '--json'], { env: { CEPH_ARGS: '--id readonly' } });
    assert.equal(r.code, 1, 'readonly cannot write');
  });
});

describe('rbdctl image commands', () => {
  it('create, info, exists, resize, ls, rm', async () => {
    const name = uniqueName('cli');
    const c = await rbdctl(['create', `vms/${name}`, '--size', '64M', '--json']);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.json.size, 64 * MiB);
    assert.equal((await rbdctl(['create', `vms/${name}`, '--size', '1M'])).code, 1, 'exists already');
    assert.equal((await rbdctl(['create', `vms/${name}x`, '--size', 'lots'])).code, 2);
    const info = await rbdctl(['info', `vms/${name}`, '--json']);
    assert.equal(info.code, 0);
    assert.equal(info.json.size, 64 * MiB);
    assert.ok(info.json.features.includes('layering'));
    assert.equal((await rbdctl(['info', `vms/${name}-missing`, '--json'])).code, 3);
    assert.equal((await rbdctl(['exists', `vms/${name}`])).code, 0);
    assert.equal((await rbdctl(['exists', `vms/${name}-missing`])).code, 3);
    assert.equal((await rbdctl(['exists', 'vms/-bad'])).code, 2);
    assert.equal((await rbdctl(['resize', `vms/${name}`, '--size', '128M', '--json'])).json.size, 128 * MiB);
    const shrink = await rbdctl(['resize', `vms/${name}`, '--size', '1M', '--json']);
    assert.equal(shrink.code, 2);
    assert.match(shrink.json.error.message, /allowShrink/);
    assert.equal((await rbdctl(['resize', `vms/${name}`, '--size', '1M', '--allow-shrink'])).code, 0);
    const ls = await rbdctl(['ls', 'vms', '--json']);
    assert.ok(ls.json.images.includes(name));
    assert.equal((await rbdctl(['ls', 'no-such-pool', '--json'])).code, 3);
    assert.equal((await rbdctl(['rm', `vms/${name}`, '--json'])).json.outcome, 'removed');
    const again = await rbdctl(['rm', `vms/${name}`, '--json']);
    assert.equal(again.code, 0);
    assert.equal(again.json.outcome, 'absent');
  });

  it('snap create, ls, protect, unprotect, rollback, rm', async () => {
    const name = uniqueName('clisnap');
    assert.equal((await rbdctl(['create', `vms/${name}`, '--size', '8M'])).code, 0);
    assert.equal((await rbdctl(['snap', 'create', `vms/${name}@one`, '--json'])).json.outcome, 'created');
    assert.equal((await rbdctl(['snap', 'protect', `vms/${name}@one`])).code, 0);
    const ls = await rbdctl(['snap', 'ls', `vms/${name}`, '--json']);
    assert.deepEqual(ls.json.snapshots.map((s: { name: string; protected: boolean }) => [s.name, s.protected]), [['one', true]]);
    assert.equal((await rbdctl(['snap', 'rm', `vms/${name}@one`, '--json'])).code, 5, 'protected');
    assert.equal((await rbdctl(['snap', 'unprotect', `vms/${name}@one`])).code, 0);
    assert.equal((await rbdctl(['snap', 'rollback', `vms/${name}@one`, '--json'])).json.outcome, 'rolled back');
    assert.equal((await rbdctl(['snap', 'rm', `vms/${name}@one`, '--json'])).json.outcome, 'removed');
    assert.equal((await rbdctl(['snap', 'rm', `vms/${name}@one`, '--json'])).code, 3);
    assert.equal((await rbdctl(['snap', 'rm', `vms/${name}@one`, '--ignore-missing', '--json'])).json.outcome, 'absent');
    assert.equal((await rbdctl(['snap', 'create', `vms/${name}`])).code, 2, 'no snapshot named');
    assert.equal((await rbdctl(['snap', 'explode', `vms/${name}@x`])).code, 2);
    assert.equal((await rbdctl(['destroy', `vms/${name}`])).code, 0);
  });

  it('clone (spec and URL), parent, flatten; readonly is denied (4); other cluster is refused (6)', async () => {
    const gold = uniqueName('cligold');
    assert.equal((await rbdctl(['create', `images/${gold}`, '--size', '16M'])).code, 0);
    assert.equal((await rbdctl(['snap', 'create', `images/${gold}@snap`, '--protect'])).code, 0);
    const a = uniqueName('clia');
    const r = await rbdctl(['clone', `images/${gold}@snap`, `vms/${a}`, '--id', 'compute', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.depth, 1);
    const fsid = (await localCluster()).fsid!;
    const b = uniqueName('clib');
    assert.equal((await rbdctl(['clone', `rbd://${fsid}/images/${gold}/snap`, `vms/${b}`, '--json'])).code, 0);
    const parent = await rbdctl(['parent', `vms/${a}`, '--json']);
    assert.deepEqual(parent.json.parent, { pool: 'images', namespace: '', image: gold, snapshot: 'snap' });
    assert.equal((await rbdctl(['flatten', `vms/${a}`, '--json'])).json.flattened, true);
    assert.equal((await rbdctl(['parent', `vms/${a}`, '--json'])).json.parent, null);
    const denied = await rbdctl(['clone', `images/${gold}@snap`, `vms/${uniqueName('no')}`, '--id', 'readonly', '--json']);
    assert.equal(denied.code, 4);
    assert.equal(denied.json.error.name, 'PermissionDenied');
    const other = await rbdctl(['clone', `rbd://00000000-0000-0000-0000-000000000000/images/${gold}/snap`, `vms/${uniqueName('no')}`, '--json']);
    assert.equal(other.code, 6);
    assert.equal((await rbdctl(['clone', `images/${gold}`, `vms/${uniqueName('no')}`])).code, 2, 'no snapshot named');
    for (const n of [a, b]) assert.equal((await rbdctl(['destroy', `vms/${n}`])).code, 0);
    assert.equal((await rbdctl(['destroy', `images/${gold}`, '--json'])).json.snapshotsRemoved.length, 1);
  });

  it('destroy reports a busy image (5) with its watchers, and cleanup removes by prefix', async () => {
    const { Rados, Image } = await import('../../src/ceph/index.js');
    const prefix = `${uniqueName('clifleet')}-`;
    for (let i = 0; i < 4; i++) assert.equal((await rbdctl(['create', `vms/${prefix}${i}`, '--size', '1M'])).code, 0);
    const { conf } = await localCluster();
    await using rados = await Rados.connect({ conf });
    await using io = await rados.openIoCtx('vms');
    const held = await Image.open(io, `${prefix}0`);
    const busy = await rbdctl(['destroy', `vms/${prefix}0`, '--attempts', '2', '--interval', '0', '--json']);
    assert.equal(busy.code, 5);
    assert.equal(busy.json.error.name, 'VolumeBusy');
    assert.equal(busy.json.error.watchers.length, 1);
    const partial = await rbdctl(['cleanup', '--prefix', prefix, '--attempts', '1', '--json']);
    assert.equal(partial.code, 5);
    assert.deepEqual(partial.json.error.failures.map((f: { name: string }) => f.name), [`${prefix}0`]);
    await held.close();
    const rest = await rbdctl(['cleanup', '--prefix', prefix, '--json']);
    assert.equal(rest.code, 0);
    assert.deepEqual(rest.json.volumes.map((v: { name: string }) => v.name), [`${prefix}0`]);
    assert.equal((await rbdctl(['cleanup', 'vms'])).code, 2, 'never without a prefix');
  });

  it('pool-info and mon-addrs', async () => {
    const p = await rbdctl(['pool-info', 'vms', '--json']);
    assert.equal(p.code, 0);
    assert.ok(p.json.freeBytes > 0);
    assert.match((await rbdctl(['pool-info', 'vms'])).stdout, /GiB/);
    assert.equal((await rbdctl(['pool-info', 'no-such-pool'])).code, 3);
    const m = await rbdctl(['mon-addrs', '--json']);
    assert.equal(m.code, 0);
    assert.equal(m.json.monitors[0].addresses[0].type, 'v2');
  });
});

describe('rbdctl import and export', () => {
  it('imports a raw file and exports it back; a missing file is an error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rbdctl-cli-'));
    const src = join(dir, 'disk.raw');
    const data = Buffer.alloc(12 * MiB);
    data.fill(7, 4 * MiB, 5 * MiB);
    await writeFile(src, data);
    const name = uniqueName('cliimp');
    const imp = await rbdctl(['import', src, `vms/${name}`, '--json']);
    assert.equal(imp.code, 0, imp.stderr);
    assert.equal(imp.json.zeroBytesSkipped, 11 * MiB);
    assert.equal(imp.json.bytesWritten, MiB);
    const out = join(dir, 'out.raw');
    const exp = await rbdctl(['export', `vms/${name}`, out, '--json']);
    assert.equal(exp.code, 0);
    assert.ok((await readFile(out)).equals(data));
    const { createHash } = await import('node:crypto');
    assert.equal(exp.json.checksums.sha256, createHash('sha256').update(data).digest('hex'));
    assert.equal((await rbdctl(['export', `vms/${name}`, out])).code, 1, 'never overwrites');
    assert.equal((await rbdctl(['export', `vms/${name}`, '-', '--json'])).code, 2);
    assert.equal((await rbdctl(['export', `vms/${name}`, join(dir, 'out.qcow2'), '--format', 'qcow2', '--json'])).json.format, 'qcow2');
    assert.equal((await rbdctl(['import', join(dir, 'missing.raw'), `vms/${uniqueName('x')}`])).code, 1);
    assert.equal((await rbdctl(['destroy', `vms/${name}`])).code, 0);
    await rm(dir, { recursive: true, force: true });
  });

  it('Ctrl-C cancels an import cleanly: exit 130 and no partial image', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rbdctl-cli-'));
    const src = join(dir, 'big.raw');
    await writeFile(src, Buffer.alloc(256 * MiB, 1));
    const name = uniqueName('cliint');
    let sent = false;
    const r = await rbdctl(['import', src, `vms/${name}`, '--progress'], {
      onStderr: (chunk, child) => {
        if (!sent && chunk.includes('import [')) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    assert.ok(sent, 'progress was shown');
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /interrupted/);
    assert.equal((await rbdctl(['exists', `vms/${name}`])).code, 3, 'the partial image was removed');
    await rm(dir, { recursive: true, force: true });
  });
});

describe('rbdctl inspect and the import options', () => {
  it('inspect says safe (0) or refused with the rule (6)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rbdctl-cli-'));
    const good = join(dir, 'good.qcow2');
    const bad = join(dir, 'bad.qcow2');
    await runProgram('qemu-img', ['create', '-q', '-f', 'qcow2', good, '16M']);
    await runProgram('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', '/etc/hostname', '-F', 'raw', bad]);
    const ok = await rbdctl(['inspect', good, '--json']);
    assert.equal(ok.code, 0);
    assert.equal(ok.json.format, 'qcow2');
    assert.equal(ok.json.virtualSize, 16 * MiB);
    assert.equal(ok.json.safe, true);
    const refused = await rbdctl(['inspect', bad, '--json']);
    assert.equal(refused.code, 6);
    assert.equal(refused.json.refusal.rule, 'qcow2-backing-file');
    assert.equal((await rbdctl(['inspect', good, '--format', 'raw', '--json'])).json.refusal.rule, 'format-mismatch');
    assert.equal((await rbdctl(['inspect', good, '--format', 'floppy'])).code, 2);
  });

  it('import refuses a mismatched format or checksum (6) and leaves nothing; verifies, goes golden, reads stdin', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rbdctl-cli-'));
    const q = join(dir, 'disk.qcow2');
    await runProgram('qemu-img', ['create', '-q', '-f', 'qcow2', q, '16M']);
    const name = uniqueName('cliimpq');
    const mismatch = await rbdctl(['import', q, `vms/${name}`, '--format', 'raw', '--json']);
    assert.equal(mismatch.code, 6);
    assert.equal(mismatch.json.error.name, 'FormatMismatch');
    const wrong = await rbdctl(['import', q, `vms/${name}`, '--sha256', 'a'.repeat(64), '--json']);
    assert.equal(wrong.code, 6);
    assert.equal(wrong.json.error.name, 'ChecksumMismatch');
    assert.equal((await rbdctl(['exists', `vms/${name}`])).code, 3, 'nothing left behind');
    const { createHash } = await import('node:crypto');
    const sha256 = createHash('sha256').update(await readFile(q)).digest('hex');
    const golden = await rbdctl(['import', q, `images/${name}`, '--format', 'qcow2', '--sha256', sha256, '--golden', '--json']);
    assert.equal(golden.code, 0, golden.stderr);
    assert.equal(golden.json.checksums.sha256, sha256);
    assert.match(golden.json.url, new RegExp(`^rbd://[0-9a-f-]+/images/${name}/snap$`));
    const disk = uniqueName('cligold');
    assert.equal((await rbdctl(['clone', golden.json.url, `vms/${disk}`, '--id', 'compute'])).code, 0);
    const piped = uniqueName('clistdin');
    const stdin = await rbdctl(['import', '-', `vms/${piped}`, '--format', 'raw', '--checksum', 'md5', '--checksum', 'sha256'], { input: Buffer.alloc(3 * MiB, 9) });
    assert.equal(stdin.code, 0, stdin.stderr);
    assert.match(stdin.stdout, /3\.0 MiB virtual/);
    assert.match(stdin.stdout, new RegExp(`^md5 +${createHash('md5').update(Buffer.alloc(3 * MiB, 9)).digest('hex')}$`, 'm'));
    assert.match(stdin.stdout, new RegExp(`^sha256 +${createHash('sha256').update(Buffer.alloc(3 * MiB, 9)).digest('hex')}$`, 'm'));
    const badAlg = await rbdctl(['import', q, `vms/${uniqueName('clibadalg')}`, '--checksum', 'crc32']);
    assert.equal(badAlg.code, 2);
    assert.match(badAlg.stderr, /--checksum must be one of sha256, sha512, md5/);
    for (const n of [`vms/${disk}`, `vms/${piped}`, `images/${name}`]) assert.equal((await rbdctl(['destroy', n])).code, 0, n);
  });
});

describe('rbdctl demo', () => {
  it('runs the main job and prints its summary', async () => {
    const r = await rbdctl(['demo', '--disks', '4']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /demo finished in/);
    assert.match(r.stderr, /clone 4 disks/);
  });
});
