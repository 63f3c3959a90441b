// Each typed error provoked for real on the cluster (the ones not already provoked by the
// Rbd/Image tests: ImageNotFound, ImageExists, ImageBusy, ImageHasSnapshots, InvalidArgument,
// ReadOnlyImage, OperationCanceled).
import assert from 'node:assert/strict';
import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConnectionShutdown, DiskQuotaExceeded, Image, OperationNotSupported, Rados, Rbd, Timeout } from '../../src/ceph/index.js';
import { MiB, connect, localCluster, uniqueName } from '../helpers/cluster.js';

/** Waits for a pool flag the monitor sets after the OSDs report usage; bounded. */
async function waitForPoolFlag(rados: Rados, pool: string, flag: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dump = await rados.monCommandJson<{ pools: { pool_name: string; flags_names: string }[] }>({ prefix: 'osd dump' });
    if (dump.pools.find((p) => p.pool_name === pool)?.flags_names.split(',').includes(flag)) return;
    if (Date.now() > deadline) throw new Error(`pool ${pool} never got flag ${flag}`);
    // Observing monitor state, not synchronising the test: the next dump is the check.
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('errors provoked on the cluster', () => {
  it('DiskQuotaExceeded: a snapshot past the image limit', async () => {
    await using rados = await connect();
    await using io = await rados.openIoCtx('vms');
    const name = uniqueName('limit');
    await Rbd.create(io, name, MiB);
    {
      await using img = await Image.open(io, name);
      await img.setSnapshotLimit(1);
      assert.equal(await img.snapshotLimit(), 1n);
      await img.createSnapshot('a');
      await assert.rejects(img.createSnapshot('b'), (e: unknown) => e instanceof DiskQuotaExceeded && e.code === 'EDQUOT' && e.snapshot === 'b');
      await img.removeSnapshot('a');
    }
    await Rbd.remove(io, name);
  });

  it('DiskQuotaExceeded at once, or Timeout when waiting, on a pool over quota', async () => {
    await using admin = await connect();
    const pool = uniqueName('quota');
    await admin.monCommand({ prefix: 'osd pool create', pool, pg_num: 8 });
    try {
      await admin.monCommand({ prefix: 'osd pool set-quota', pool, field: 'max_objects', val: '1' });
      {
        await using io = await admin.openIoCtx(pool);
        await io.writeFull('a', Buffer.from('x'));
        await io.writeFull('b', Buffer.from('x'));
      }
      await waitForPoolFlag(admin, pool, 'full_quota');
      await using rados = await connect('admin', { timeouts: { osdOpMs: 2000 } });
      await using io = await rados.openIoCtx(pool);
      await assert.rejects(io.writeFull('c', Buffer.from('x'), { failIfFull: true }), (e: unknown) => e instanceof DiskQuotaExceeded && e.pool === pool);
      const started = Date.now();
      await assert.rejects(io.writeFull('c', Buffer.from('x')), (e: unknown) => e instanceof Timeout && e.retryable);
      assert.ok(Date.now() - started < 10_000, 'the OSD op timeout bounds the wait');
    } finally {
      await admin.monCommand({ prefix: 'osd pool rm', pool, pool2: pool, yes_i_really_really_mean_it: true });
    }
  });

  it('Timeout: connecting where no monitor listens fails within the deadline', async () => {
    const { dir } = await localCluster();
    const tmp = await mkdtemp(join(tmpdir(), 'rbdctl-'));
    const conf = join(tmp, 'ceph.conf');
    // Port 9 (discard) on loopback: nothing listens there.
    await writeFile(conf, '[global]\nmon host = v2:127.0.0.1:9\nauth client required = cephx\n');
    const started = Date.now();
    await assert.rejects(
      Rados.connect({ conf, keyring: join(dir, 'ceph.client.admin.keyring'), timeouts: { connectMs: 2000 } }),
      (e: unknown) => e instanceof Timeout && e.code === 'ETIMEDOUT' && e.op === 'rados_connect',
    );
    const took = Date.now() - started;
    assert.ok(took >= 1500 && took < 6000, `took ${took} ms`);
  });

  it('ConnectionShutdown: a client the cluster blocklisted', async () => {
    await using admin = await connect();
    await using adminIo = await admin.openIoCtx('vms');
    const name = uniqueName('blk');
    await Rbd.create(adminIo, name, MiB);
    const victim = await connect();
    const io = await victim.openIoCtx('vms');
    const img = await Image.open(io, name);
    const [watcher] = await img.watchers();
    assert.ok(watcher);
    await admin.monCommand({ prefix: 'osd blocklist', blocklistop: 'add', addr: watcher.address });
    try {
      await assert.rejects(img.write(Buffer.alloc(512), 0), (e: unknown) => e instanceof ConnectionShutdown && e.retryable);
      await assert.rejects(io.writeFull(uniqueName('o'), Buffer.from('x')), ConnectionShutdown);
    } finally {
      await admin.monCommand({ prefix: 'osd blocklist', blocklistop: 'rm', addr: watcher.address });
      await victim.close().catch(() => undefined); // a blocklisted client's close may report the loss again
    }
    await Rbd.remove(adminIo, name);
  });

  it('OperationNotSupported: an object class method the OSDs do not have', async () => {
    await using rados = await connect();
    await using io = await rados.openIoCtx('vms');
    const oid = uniqueName('cls');
    await io.writeFull(oid, Buffer.from('x'));
    await assert.rejects(io.exec(oid, 'rbd', 'no_such_method'), (e: unknown) => e instanceof OperationNotSupported && e.code === 'EOPNOTSUPP');
    await io.remove(oid);
  });
});
