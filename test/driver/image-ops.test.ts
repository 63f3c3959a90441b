// RbdDriver: size, resize, flatten, exists, snapshots, rollback, capacity, monitors,
// raw import/export, reconnecting after the cluster shut the connection.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Image, ImageNotFound, InvalidArgument, PoolNotFound, Rbd } from '../../src/ceph/index.js';
import { ImageUnacceptable } from '../../src/driver/index.js';
import { runProgram } from '../../src/util/process.js';
import { MiB, connect, localCluster, uniqueName } from '../helpers/cluster.js';
import { driverFor, goldenImage, logLines } from '../helpers/driver.js';

async function cephJson<T>(args: string[]): Promise<T> {
  const { conf } = await localCluster();
  const { stdout } = await runProgram('ceph', ['--conf', conf, ...args, '--format', 'json']);
  return JSON.parse(stdout) as T;
}

describe('RbdDriver image operations', () => {
  it('size, resize (shrink only when allowed), flatten, parentInfo, exists', async () => {
    const gold = await goldenImage();
    await using driver = await driverFor();
    const name = uniqueName('ops');
    try {
      await driver.clone(gold.url, name);
      assert.equal(await driver.size(name), 16 * MiB);
      await driver.resize(name, 32 * MiB);
      assert.equal(await driver.size(name), 32 * MiB);
      await assert.rejects(driver.resize(name, 8 * MiB), (e: unknown) => e instanceof InvalidArgument && /allowShrink/.test(e.message));
      assert.equal(await driver.size(name), 32 * MiB, 'nothing changed');
      await driver.resize(name, 8 * MiB, { allowShrink: true });
      assert.equal(await driver.size(name), 8 * MiB);
      await assert.rejects(driver.resize(name, -1), InvalidArgument);
      const ticks: number[] = [];
      await driver.flatten(name, { onProgress: (p) => ticks.push(p.done) });
      assert.ok(ticks.length > 0);
      assert.equal(await driver.parentInfo(name), null);
      assert.equal(await driver.exists(name), true);
      assert.equal(await driver.exists(uniqueName('nope')), false);
      await assert.rejects(driver.size(uniqueName('nope')), ImageNotFound);
      await assert.rejects(driver.exists('-bad'), ImageUnacceptable);
      await assert.rejects(driver.exists('x', { pool: 'no-such-pool' }), PoolNotFound);
    } finally {
      await driver.destroyVolume(name);
      await gold.remove();
    }
  });

  it('snapshots: create (protected), list, rollback, remove with force and ignoreMissing', async () => {
    await using driver = await driverFor();
    const name = uniqueName('snap');
    {
      await using rados = await connect();
      await using io = await rados.openIoCtx('vms');
      await Rbd.create(io, name, 4 * MiB);
      await using img = await Image.open(io, name);
      await img.write(Buffer.alloc(4096, 1), 0);
    }
    await driver.createSnap(name, 'base', { protect: true });
    {
      await using rados = await connect();
      await using io = await rados.openIoCtx('vms');
      await using img = await Image.open(io, name);
      await img.write(Buffer.alloc(4096, 2), 0);
    }
    await driver.rollbackToSnap(name, 'base');
    {
      await using rados = await connect();
      await using io = await rados.openIoCtx('vms');
      await using img = await Image.open(io, name, { readOnly: true });
      assert.ok((await img.read(0, 4096)).equals(Buffer.alloc(4096, 1)));
    }
    assert.deepEqual((await driver.listSnaps(name)).map((s) => [s.name, s.protected, s.ours]), [['base', true, true]]);
    await assert.rejects(driver.removeSnap(name, 'base'), (e: unknown) => e instanceof Error && 'code' in e && e.code === 'EBUSY');
    assert.equal(await driver.removeSnap(name, 'base', { force: true }), 'removed');
    assert.equal(await driver.removeSnap(name, 'base', { ignoreMissing: true }), 'absent');
    await assert.rejects(driver.removeSnap(name, 'base'), ImageNotFound);
    await assert.rejects(driver.createSnap(name, 'a@b'), ImageUnacceptable);
    await driver.destroyVolume(name);
  });

  it('getPoolInfo equals the MAX AVAIL of `ceph df`, and reports quotas', async () => {
    await using driver = await driverFor();
    type Df = { stats: { total_bytes: number }; pools: { name: string; stats: { max_avail: number } }[] };
    const maxAvail = async () => (await cephJson<Df>(['df'])).pools.find((p) => p.name === 'vms')!.stats.max_avail;
    // MAX AVAIL moves while earlier deletions settle: compare when the CLI reads the same before and after ours.
    let compared = false;
    for (let i = 0; i < 40 && !compared; i++) {
      const before = await maxAvail();
      const info = await driver.getPoolInfo();
      const after = await maxAvail();
      if (before !== after) continue;
      assert.equal(info.freeBytes, before);
      assert.equal(info.totalBytes, (await cephJson<Df>(['df'])).stats.total_bytes);
      compared = true;
    }
    assert.ok(compared, 'the pool settled');
    const info = await driver.getPoolInfo();
    assert.equal(info.quotaBytes, null);
    await using admin = await connect();
    await admin.monCommand({ prefix: 'osd pool set-quota', pool: 'images', field: 'max_bytes', val: String(5 * 1024 ** 3) });
    try {
      assert.equal((await driver.getPoolInfo({ pool: 'images' })).quotaBytes, 5 * 1024 ** 3);
    } finally {
      await admin.monCommand({ prefix: 'osd pool set-quota', pool: 'images', field: 'max_bytes', val: '0' });
    }
    await assert.rejects(driver.getPoolInfo({ pool: 'no-such-pool' }), PoolNotFound);
  });

  it('getMonAddrs equals `ceph mon dump`', async () => {
    await using driver = await driverFor();
    const mine = await driver.getMonAddrs();
    const dump = await cephJson<{ mons: { name: string; public_addrs: { addrvec: { type: string; addr: string }[] } }[] }>(['mon', 'dump']);
    assert.deepEqual(
      mine.monitors.map((m) => [m.name, m.addresses.map((a) => `${a.type}:${a.address}`)]),
      dump.mons.map((m) => [m.name, m.public_addrs.addrvec.map((a) => `${a.type}:${a.addr}`)]),
    );
    const { monHost } = await localCluster();
    assert.deepEqual(mine.hosts, ['127.0.0.1']);
    assert.deepEqual(mine.ports, [monHost!.split(':').pop()]);
  });

  it('imports a raw file sparsely and exports it back byte for byte', async () => {
    await using driver = await driverFor();
    const dir = await mkdtemp(join(tmpdir(), 'rbdctl-raw-'));
    const src = join(dir, 'disk.raw');
    const data = Buffer.alloc(24 * MiB);
    data.fill(0x11, 0, MiB);
    data.fill(0x22, 12 * MiB, 12 * MiB + 4096);
    await writeFile(src, data);
    const name = uniqueName('imp');
    const r = await driver.importImage(src, name);
    assert.equal(r.virtualSize, 24 * MiB);
    assert.equal(r.zeroBytesSkipped, 24 * MiB - MiB - 64 * 1024, 'zeros are skipped per 64 KiB block');
    assert.equal(r.bytesWritten, MiB + 64 * 1024);
    {
      await using rados = await connect();
      await using io = await rados.openIoCtx('vms');
      await using img = await Image.open(io, name, { readOnly: true });
      const used = (await img.diff()).reduce((n, e) => n + e.length, 0);
      assert.ok(used <= 8 * MiB, `allocated ${used}`);
    }
    const out = join(dir, 'out.raw');
    const e = await driver.exportImage(name, out);
    assert.equal(e.size, 24 * MiB);
    assert.ok((await readFile(out)).equals(data));
    await assert.rejects(driver.exportImage(name, out), (err: unknown) => err instanceof Error && 'code' in err && err.code === 'EEXIST');
    assert.deepEqual((await readdir(dir)).sort(), ['disk.raw', 'out.raw'], 'no partial file left');
    await assert.rejects(driver.importImage(src, name), (err: unknown) => err instanceof Error && 'code' in err && err.code === 'EEXIST');
    const ac = new AbortController();
    const aborted = uniqueName('abort');
    await assert.rejects(driver.importImage(src, aborted, { signal: ac.signal, onProgress: () => ac.abort() }), (err: unknown) => err instanceof Error && err.name === 'OperationCanceled');
    assert.equal(await driver.exists(aborted), false, 'a canceled import leaves no image');
    assert.ok((await stat(out)).size === 24 * MiB);
    await driver.destroyVolume(name);
    await rm(dir, { recursive: true, force: true });
  });

  it('makes a new connection after the cluster shuts the old one (blocklist)', async () => {
    await using driver = await driverFor();
    const name = uniqueName('re');
    {
      await using rados = await connect();
      await using io = await rados.openIoCtx('vms');
      await Rbd.create(io, name, MiB);
    }
    const first = await driver.getClientAddress();
    const addr = first.replace(/^\[?(v[12]:)?/, '').replace(/[,\]].*$/, '');
    await using admin = await connect();
    await admin.monCommand({ prefix: 'osd blocklist', blocklistop: 'add', addr });
    try {
      assert.equal(await driver.exists(name), true, 'a read is retried once on a new connection');
      assert.notEqual(await driver.getClientAddress(), first);
      assert.ok(logLines.some((l) => l.includes('connection lost')), 'the reconnect is logged');
    } finally {
      await admin.monCommand({ prefix: 'osd blocklist', blocklistop: 'rm', addr });
    }
    await driver.destroyVolume(name);
  });
});

describe('RbdDriver.exportImage', () => {
  it('exports to a stream with holes as zeros, to qcow2 through qemu-img, with checksums of the raw bytes', async () => {
    const { createHash } = await import('node:crypto');
    const { PassThrough } = await import('node:stream');
    await using driver = await driverFor();
    const dir = await mkdtemp(join(tmpdir(), 'rbdctl-exp-'));
    const data = Buffer.alloc(12 * MiB);
    data.fill(0x3c, 5 * MiB, 6 * MiB);
    await writeFile(join(dir, 'src.raw'), data);
    const name = uniqueName('exp');
    await driver.importImage(join(dir, 'src.raw'), name);
    const sha = createHash('sha256').update(data).digest('hex');
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    const r = await driver.exportImage(name, sink);
    assert.equal(r.path, undefined);
    assert.ok(Buffer.concat(chunks).equals(data));
    assert.equal(r.checksums.sha256, sha);
    const q = join(dir, 'out.qcow2');
    const rq = await driver.exportImage(name, q, { format: 'qcow2' });
    assert.equal(rq.checksums.sha256, sha);
    await runProgram('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', q, join(dir, 'back.raw')]);
    assert.ok((await readFile(join(dir, 'back.raw'))).equals(data), 'the qcow2 holds the same disk');
    await assert.rejects(driver.exportImage(name, sink, { format: 'qcow2' }), InvalidArgument);
    await driver.destroyVolume(name);
    await rm(dir, { recursive: true, force: true });
  });
});
