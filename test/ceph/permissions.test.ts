// Caps enforced by the cluster surface as PermissionDenied naming pool and user.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Feature, Image, PermissionDenied, Rbd } from '../../src/ceph/index.js';
import { MiB, connect, uniqueName } from '../helpers/cluster.js';

describe('permissions', () => {
  it('client.readonly cannot create, write or snapshot anywhere', async () => {
    await using admin = await connect();
    await using adminIo = await admin.openIoCtx('vms');
    const name = uniqueName('ro');
    await Rbd.create(adminIo, name, MiB);
    try {
      await using ro = await connect('readonly');
      await using io = await ro.openIoCtx('vms');
      await assert.rejects(Rbd.create(io, uniqueName('x'), MiB), (e: unknown) => e instanceof PermissionDenied && e.pool === 'vms' && e.user === 'client.readonly');
      await using img = await Image.open(io, name, { readOnly: true });
      assert.equal(await img.size(), MiB, 'reading is allowed');
      await assert.rejects(io.writeFull(uniqueName('o'), Buffer.from('x')), PermissionDenied);
    } finally {
      await Rbd.remove(adminIo, name);
    }
    assert.ok(!(await Rbd.list(adminIo)).some((i) => i.name.startsWith('x-')));
  });

  it('client.compute writes vms but only reads images', async () => {
    await using admin = await connect();
    await using adminImages = await admin.openIoCtx('images');
    const gold = uniqueName('gold');
    await Rbd.create(adminImages, gold, MiB, { features: Feature.LAYERING });
    {
      await using g = await Image.open(adminImages, gold);
      await g.createSnapshot('snap');
      await g.protectSnapshot('snap');
    }
    try {
      await using compute = await connect('compute');
      await using images = await compute.openIoCtx('images');
      await using vms = await compute.openIoCtx('vms');
      const denied = uniqueName('denied');
      await assert.rejects(Rbd.create(images, denied, MiB), (e: unknown) => e instanceof PermissionDenied && e.pool === 'images' && e.user === 'client.compute');
      assert.ok(!(await Rbd.list(adminImages)).some((i) => i.name === denied), 'nothing was created');
      const disk = uniqueName('disk');
      await Rbd.clone(images, gold, 'snap', vms, disk);
      await using d = await Image.open(vms, disk);
      await d.write(Buffer.alloc(4096, 1), 0);
      await d.close();
      await Rbd.remove(vms, disk);
    } finally {
      await using g = await Image.open(adminImages, gold);
      await g.removeSnapshot('snap', { force: true });
      await g.close();
      await Rbd.remove(adminImages, gold);
    }
  });
});
