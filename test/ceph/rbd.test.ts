// Rbd: pool-level image operations.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Feature, Image, ImageBusy, ImageExists, ImageHasSnapshots, ImageNotFound, InvalidArgument, Rbd } from '../../src/ceph/index.js';
import { MiB, connect, uniqueName } from '../helpers/cluster.js';

describe('Rbd', () => {
  it('creates, lists, renames and removes images', async () => {
    await using rados = await connect();
    await using io = await rados.openIoCtx('vms');
    const name = uniqueName('img');
    await Rbd.create(io, name, 64 * MiB, { order: 20, features: Feature.LAYERING });
    assert.ok((await Rbd.list(io)).some((i) => i.name === name && i.id.length > 0));
    await assert.rejects(Rbd.create(io, name, MiB), (e: unknown) => e instanceof ImageExists && e.image === name && e.pool === 'vms');
    const renamed = `${name}-renamed`;
    await Rbd.rename(io, name, renamed);
    {
      await using img = await Image.open(io, renamed);
      const st = await img.stat();
      assert.equal(st.size, 64 * MiB);
      assert.equal(st.order, 20);
      assert.equal(img.features(), Feature.LAYERING);
    }
    await Rbd.remove(io, renamed);
    assert.ok(!(await Rbd.list(io)).some((i) => i.name === renamed));
    await assert.rejects(Rbd.remove(io, renamed), (e: unknown) => e instanceof ImageNotFound && e.code === 'ENOENT');
  });

  it('refuses to remove an image with snapshots (ImageHasSnapshots) or watchers (ImageBusy)', async () => {
    await using rados = await connect();
    await using io = await rados.openIoCtx('vms');
    const name = uniqueName('busy');
    await Rbd.create(io, name, MiB);
    {
      await using img = await Image.open(io, name);
      await img.createSnapshot('s1');
      await assert.rejects(Rbd.remove(io, name), (e: unknown) => e instanceof ImageHasSnapshots && e.errno === 39);
      await img.removeSnapshot('s1');
      // Held open read-write by a second connection: a watcher blocks removal.
      await using other = await connect();
      await using otherIo = await other.openIoCtx('vms');
      await using held = await Image.open(otherIo, name);
      assert.equal((await held.watchers()).length, 2);
      await assert.rejects(Rbd.remove(io, name), (e: unknown) => e instanceof ImageBusy && e.retryable);
    }
    await Rbd.remove(io, name);
  });

  it('clones copy-on-write across pools, format 1 from protected snapshots and format 2 from any', async () => {
    await using rados = await connect();
    await using images = await rados.openIoCtx('images');
    await using vms = await rados.openIoCtx('vms');
    const gold = uniqueName('gold');
    await Rbd.create(images, gold, 8 * MiB, { features: Feature.LAYERING });
    await using parent = await Image.open(images, gold);
    await parent.write(Buffer.alloc(4096, 0x5a), 0);
    await parent.createSnapshot('snap');
    const child1 = uniqueName('c1');
    await assert.rejects(Rbd.clone(images, gold, 'snap', vms, child1, { cloneFormat: 1 }), InvalidArgument, 'format 1 needs protection');
    await parent.protectSnapshot('snap');
    await Rbd.clone(images, gold, 'snap', vms, child1, { cloneFormat: 1, features: Feature.LAYERING });
    const child2 = uniqueName('c2');
    await Rbd.clone(images, gold, 'snap', vms, child2, { cloneFormat: 2 });
    await using c = await Image.open(vms, child1);
    assert.deepEqual((await c.read(0, 4096)).subarray(0, 4), Buffer.alloc(4, 0x5a));
    const p = await c.parentInfo();
    assert.equal(p?.pool, 'images');
    assert.equal(p?.image, gold);
    assert.equal(p?.snapshot, 'snap');
    const kids = await (await Image.open(images, gold, { snapshot: 'snap' })).listChildren();
    assert.deepEqual(kids.map((k) => k.image).sort(), [child1, child2].sort());
    await assert.rejects(Rbd.clone(images, gold, 'nosnap', vms, uniqueName('c3')), ImageNotFound);
    await assert.rejects(Rbd.clone(images, gold, 'snap', vms, child1), ImageExists);
    await assert.rejects(parent.unprotectSnapshot('snap'), ImageBusy, 'clones keep it protected');
    await c.close();
    await Rbd.remove(vms, child1);
    await Rbd.remove(vms, child2);
    await parent.removeSnapshot('snap', { force: true });
    await parent.close();
    await Rbd.remove(images, gold);
  });

  it('moves to the trash, lists, restores and purges', async () => {
    await using rados = await connect();
    await using io = await rados.openIoCtx('vms');
    const name = uniqueName('trash');
    await Rbd.create(io, name, MiB);
    await Rbd.trashMove(io, name);
    const entry = (await Rbd.trashList(io)).find((e) => e.name === name);
    assert.ok(entry, 'in the trash');
    assert.ok(entry.deletedAt.getTime() > Date.now() - 600_000);
    assert.ok(!(await Rbd.list(io)).some((i) => i.name === name));
    await Rbd.trashRestore(io, entry.id, name);
    assert.ok((await Rbd.list(io)).some((i) => i.name === name));
    await Rbd.trashMove(io, name, 3600);
    await assert.rejects(Rbd.trashRemove(io, entry.id), (e: unknown) => e instanceof Error, 'deferred');
    await Rbd.trashRemove(io, entry.id, { force: true });
    assert.ok(!(await Rbd.trashList(io)).some((e) => e.id === entry.id));
  });

  it('validates names, sizes and options before calling the cluster', async () => {
    await using rados = await connect();
    await using io = await rados.openIoCtx('vms');
    for (const bad of ['', 'a/b', 'a@b', 'a\u0000b', 'a\nb']) await assert.rejects(Rbd.create(io, bad, MiB), InvalidArgument);
    await assert.rejects(Rbd.create(io, 'ok', -1), InvalidArgument);
    await assert.rejects(Rbd.create(io, 'ok', 1.5), InvalidArgument);
    await assert.rejects(Rbd.create(io, 'ok', MiB, { order: 40 }), InvalidArgument);
    await assert.rejects(Rbd.trashRestore(io, '../x', 'ok'), InvalidArgument);
    assert.ok(!(await Rbd.list(io)).some((i) => i.name === 'ok'));
  });
});

describe('Rbd.exists', () => {
  it('is true for an image, false for a missing, prefixed, trashed or namespaced name', async () => {
    await using rados = await connect();
    await using io = await rados.openIoCtx('vms');
    const name = uniqueName('ex');
    assert.equal(await Rbd.exists(io, name), false);
    await Rbd.create(io, `${name}-longer`, MiB);
    assert.equal(await Rbd.exists(io, name), false, 'a longer name sharing the prefix does not count');
    await Rbd.create(io, name, MiB);
    assert.equal(await Rbd.exists(io, name), true);
    await using other = await rados.openIoCtx('vms', { namespace: 'empty-ns' });
    assert.equal(await Rbd.exists(other, name), false, 'a namespace has its own directory');
    await Rbd.trashMove(io, name);
    assert.equal(await Rbd.exists(io, name), false, 'trashed images are gone from the directory');
    const entry = (await Rbd.trashList(io)).find((e) => e.name === name);
    assert.ok(entry);
    await Rbd.trashRemove(io, entry.id, { force: true });
    await Rbd.remove(io, `${name}-longer`);
  });

  it('propagates errors other than not-found', async () => {
    const rados = await connect();
    const io = await rados.openIoCtx('vms');
    await rados.close();
    await assert.rejects(Rbd.exists(io, 'x'), (e: unknown) => e instanceof Error && 'code' in e && e.code === 'EBADF');
  });
});
