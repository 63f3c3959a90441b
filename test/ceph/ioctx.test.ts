// IoCtx: RADOS object I/O, omap, pool stats, namespaces.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgument, ObjectNotFound, Rbd } from '../../src/ceph/index.js';
import { MiB, connect, uniqueName } from '../helpers/cluster.js';

describe('IoCtx objects', () => {
  it('writes, reads, stats and removes an object', async () => {
    await using rados = await connect();
    await using io = await rados.openIoCtx('vms');
    const oid = uniqueName('obj');
    await io.writeFull(oid, Buffer.from('hello world'));
    await io.write(oid, Buffer.from('W'), 6);
    assert.equal((await io.read(oid, 100)).toString(), 'hello World');
    assert.equal((await io.read(oid, 5, 6)).toString(), 'World');
    assert.equal((await io.stat(oid)).size, 11);
    await io.remove(oid);
    await assert.rejects(io.stat(oid), (e: unknown) => e instanceof ObjectNotFound && e.object === oid && e.pool === 'vms');
    await assert.rejects(io.remove(oid), ObjectNotFound);
  });

  it('reads into a caller buffer without copying', async () => {
    await using rados = await connect();
    await using io = await rados.openIoCtx('vms');
    const oid = uniqueName('obj');
    const data = Buffer.alloc(MiB, 0xab);
    await io.writeFull(oid, data);
    const into = Buffer.alloc(MiB);
    assert.equal(await io.readInto(oid, into), MiB);
    assert.ok(into.equals(data));
    await io.remove(oid);
  });

  it('keeps namespaces apart', async () => {
    await using rados = await connect();
    await using a = await rados.openIoCtx('vms', { namespace: 'tenant-a' });
    await using plain = await rados.openIoCtx('vms');
    const oid = uniqueName('ns');
    await a.writeFull(oid, Buffer.from('x'));
    assert.equal((await a.stat(oid)).size, 1);
    await assert.rejects(plain.stat(oid), ObjectNotFound);
    await a.remove(oid);
  });

  it('reads omap values (the rbd_directory)', async () => {
    await using rados = await connect();
    await using io = await rados.openIoCtx('vms');
    const name = uniqueName('omap');
    await Rbd.create(io, name, MiB);
    try {
      const { entries } = await io.omapGet('rbd_directory', { prefix: `name_${name}` });
      assert.equal(entries.size, 1);
      const value = entries.get(`name_${name}`);
      assert.ok(value && value.length > 4, 'directory maps the name to an id');
      const page = await io.omapGet('rbd_directory', { max: 1 });
      assert.equal(page.entries.size, 1);
    } finally {
      await Rbd.remove(io, name);
    }
  });

  it('reports pool stats', async () => {
    await using rados = await connect();
    await using io = await rados.openIoCtx('vms');
    const s = await io.poolStats();
    assert.ok(s.objects >= 1);
    assert.ok(io.poolId() > 0);
  });

  it('validates before calling the cluster', async () => {
    await using rados = await connect();
    await using io = await rados.openIoCtx('vms');
    await assert.rejects(io.stat(''), InvalidArgument);
    await assert.rejects(io.read('x', -1), InvalidArgument);
    await assert.rejects(io.write('x', Buffer.from('a'), 1.5), InvalidArgument);
    await assert.rejects(rados.openIoCtx('vms', { namespace: 'a/b' }), InvalidArgument);
    await assert.rejects(rados.openIoCtx(''), InvalidArgument);
  });
});
