// Image: data path, snapshots, layering, metadata, progress and cancellation.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  Feature,
  Image,
  ImageNotFound,
  InvalidArgument,
  OperationCanceled,
  ReadOnlyImage,
  Rbd,
  type IoCtx,
  type Rados,
} from '../../src/ceph/index.js';
import { MiB, connect, uniqueName } from '../helpers/cluster.js';

let rados: Rados;
let io: IoCtx;
before(async () => {
  rados = await connect();
  io = await rados.openIoCtx('vms');
});
after(async () => {
  await rados.close();
});

async function fresh(size = 16 * MiB, order?: number): Promise<string> {
  const name = uniqueName('img');
  await Rbd.create(io, name, size, { features: Feature.LAYERING, ...(order ? { order } : {}) });
  return name;
}

describe('Image data path', () => {
  it('writes and reads on worker threads and with aio', async () => {
    const name = await fresh();
    await using img = await Image.open(io, name);
    const data = Buffer.alloc(MiB);
    for (let i = 0; i < data.length; i++) data[i] = i % 251;
    assert.equal(await img.write(data, 3 * MiB), MiB);
    assert.ok((await img.read(3 * MiB, MiB)).equals(data));
    const writes = Array.from({ length: 8 }, (_, k) => img.aioWrite(Buffer.alloc(64 * 1024, k + 1), k * 64 * 1024));
    await Promise.all(writes);
    const back = Buffer.alloc(64 * 1024);
    assert.equal(await img.aioRead(back, 5 * 64 * 1024), 64 * 1024);
    assert.ok(back.equals(Buffer.alloc(64 * 1024, 6)));
    await img.flush();
    await img.close();
    await Rbd.remove(io, name);
  });

  it('reports allocated extents and discards', async () => {
    const name = await fresh(16 * MiB, 22);
    await using img = await Image.open(io, name);
    assert.deepEqual(await img.diff(), []);
    await img.write(Buffer.alloc(4096, 1), 0);
    await img.write(Buffer.alloc(4096, 1), 8 * MiB);
    const extents = await img.diff();
    assert.deepEqual(extents.map((e) => [e.offset, e.exists]), [[0, true], [8 * MiB, true]]);
    await img.discard(8 * MiB, 4 * MiB);
    assert.ok((await img.read(8 * MiB, 4096)).equals(Buffer.alloc(4096)));
    const whole = await img.diff({ wholeObject: true });
    assert.ok(whole.some((e) => e.offset === 0 && e.length === 4 * MiB));
    await img.close();
    await Rbd.remove(io, name);
  });

  it('refuses writes through a read-only handle (ReadOnlyImage)', async () => {
    const name = await fresh();
    {
      await using ro = await Image.open(io, name, { readOnly: true });
      assert.deepEqual(await ro.watchers(), [], 'a read-only open registers no watcher');
      await assert.rejects(ro.write(Buffer.alloc(512), 0), (e: unknown) => e instanceof ReadOnlyImage && e.code === 'EROFS' && e.image === name);
    }
    await Rbd.remove(io, name);
  });

  it('resizes, and shrinks only when allowed', async () => {
    const name = await fresh(8 * MiB);
    await using img = await Image.open(io, name);
    await img.resize(32 * MiB);
    assert.equal(await img.size(), 32 * MiB);
    await assert.rejects(img.resize(4 * MiB), InvalidArgument);
    assert.equal(await img.size(), 32 * MiB);
    const seen: number[] = [];
    await img.resize(4 * MiB, { allowShrink: true, onProgress: (p) => seen.push(p.done) });
    assert.equal(await img.size(), 4 * MiB);
    await img.close();
    await Rbd.remove(io, name);
  });

  it('opens a missing image as ImageNotFound with the pool and name', async () => {
    await assert.rejects(Image.open(io, 'does-not-exist'), (e: unknown) => e instanceof ImageNotFound && e.pool === 'vms' && e.image === 'does-not-exist' && e.op === 'rbd_open');
  });
});

describe('Image snapshots and layering', () => {
  it('creates, lists, protects, rolls back and removes snapshots', async () => {
    const name = await fresh();
    await using img = await Image.open(io, name);
    await img.write(Buffer.alloc(4096, 1), 0);
    await img.createSnapshot('one');
    await img.write(Buffer.alloc(4096, 2), 0);
    assert.deepEqual((await img.listSnapshots()).map((s) => s.name), ['one']);
    assert.equal(await img.snapshotExists('one'), true);
    assert.equal(await img.snapshotExists('two'), false);
    await img.protectSnapshot('one');
    assert.equal(await img.isSnapshotProtected('one'), true);
    await assert.rejects(img.removeSnapshot('one'), (e: unknown) => e instanceof Error && 'code' in e && e.code === 'EBUSY');
    const progress: number[] = [];
    await img.rollbackToSnapshot('one', { onProgress: (p) => progress.push(p.done / p.total) });
    assert.ok(progress.length > 0);
    assert.ok((await img.read(0, 4096)).equals(Buffer.alloc(4096, 1)));
    {
      await using atSnap = await Image.open(io, name, { snapshot: 'one' });
      assert.equal(atSnap.readOnly, true);
      await assert.rejects(atSnap.write(Buffer.alloc(1), 0), ReadOnlyImage);
    }
    await img.removeSnapshot('one', { force: true });
    assert.deepEqual(await img.listSnapshots(), []);
    await assert.rejects(img.isSnapshotProtected('one'), ImageNotFound);
    await img.close();
    await Rbd.remove(io, name);
  });

  it('flattens a clone with progress, and cancels through an AbortSignal', async () => {
    const gold = await fresh(64 * MiB, 20);
    await using parent = await Image.open(io, gold);
    await parent.write(Buffer.alloc(64 * MiB, 7), 0);
    await parent.createSnapshot('s');
    const a = uniqueName('flat');
    const b = uniqueName('flat');
    await Rbd.clone(io, gold, 's', io, a, { cloneFormat: 2 });
    await Rbd.clone(io, gold, 's', io, b, { cloneFormat: 2 });

    await using ca = await Image.open(io, a);
    const ticks: number[] = [];
    await ca.flatten({ onProgress: (p) => ticks.push(p.done) });
    assert.ok(ticks.length >= 2, `progress reported ${ticks.length} times`);
    assert.equal(await ca.parentInfo(), null);
    assert.ok((await ca.read(60 * MiB, 4096)).equals(Buffer.alloc(4096, 7)));

    await using cb = await Image.open(io, b);
    const ac = new AbortController();
    await assert.rejects(
      cb.flatten({ onProgress: () => ac.abort(new Error('operator canceled')), signal: ac.signal }),
      (e: unknown) => e instanceof OperationCanceled && e.code === 'ECANCELED' && e.image === b,
    );
    assert.notEqual(await cb.parentInfo(), null, 'a canceled flatten leaves the clone attached');
    const pre = new AbortController();
    pre.abort();
    await assert.rejects(cb.flatten({ signal: pre.signal }), OperationCanceled);

    await ca.close();
    await cb.close();
    await Rbd.remove(io, a);
    await Rbd.remove(io, b);
    await parent.removeSnapshot('s');
    await parent.close();
    await Rbd.remove(io, gold);
  });

  it('rethrows the error of a progress listener that throws, after canceling', async () => {
    const gold = await fresh(32 * MiB, 20);
    await using parent = await Image.open(io, gold);
    await parent.write(Buffer.alloc(32 * MiB, 3), 0);
    await parent.createSnapshot('s');
    const c = uniqueName('c');
    await Rbd.clone(io, gold, 's', io, c, { cloneFormat: 2 });
    await using child = await Image.open(io, c);
    const boom = new Error('listener failed');
    await assert.rejects(child.flatten({ onProgress: () => { throw boom; } }), (e: unknown) => e === boom);
    await child.close();
    await Rbd.remove(io, c);
    await parent.removeSnapshot('s');
    await parent.close();
    await Rbd.remove(io, gold);
  });

  it('copies an image with progress', async () => {
    const src = await fresh(8 * MiB);
    await using img = await Image.open(io, src);
    await img.write(Buffer.alloc(4096, 9), 4 * MiB);
    const dst = uniqueName('copy');
    let calls = 0;
    await img.copyTo(io, dst, { onProgress: () => calls++ });
    assert.ok(calls > 0);
    await using copy = await Image.open(io, dst);
    assert.ok((await copy.read(4 * MiB, 4096)).equals(Buffer.alloc(4096, 9)));
    await copy.close();
    await img.close();
    await Rbd.remove(io, dst);
    await Rbd.remove(io, src);
  });
});

describe('Image metadata and features', () => {
  it('gets and sets metadata; a missing key is null', async () => {
    const name = await fresh();
    await using img = await Image.open(io, name);
    assert.equal(await img.getMetadata('owner'), null);
    await img.setMetadata('owner', 'instance-0001');
    assert.equal(await img.getMetadata('owner'), 'instance-0001');
    await assert.rejects(img.setMetadata('', 'x'), InvalidArgument);
    await img.close();
    await Rbd.remove(io, name);
  });

  it('updates features', async () => {
    const name = uniqueName('feat');
    await Rbd.create(io, name, MiB, { features: Feature.LAYERING | Feature.EXCLUSIVE_LOCK });
    await using img = await Image.open(io, name);
    assert.equal(img.features() & Feature.EXCLUSIVE_LOCK, Feature.EXCLUSIVE_LOCK);
    await img.updateFeatures(Feature.EXCLUSIVE_LOCK, false);
    assert.equal(img.features() & Feature.EXCLUSIVE_LOCK, 0n);
    assert.match(img.id(), /^[0-9a-f]+$/);
    await img.close();
    await Rbd.remove(io, name);
  });
});
