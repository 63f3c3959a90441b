// Handle lifetime: double close, use after close, close with work in flight, children closed
// by their parent, and no leaks across 1,000 open/close cycles.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { HandleClosed, Image, Rbd } from '../../src/ceph/index.js';
import { MiB, connect, uniqueName } from '../helpers/cluster.js';

const threads = () => readdirSync('/proc/self/task').length;
const activeHandles = () => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;

describe('handle lifetime', () => {
  it('double close is a no-op; use after close is HandleClosed, never a crash', async () => {
    const rados = await connect();
    const io = await rados.openIoCtx('vms');
    const name = uniqueName('life');
    await Rbd.create(io, name, MiB);
    const img = await Image.open(io, name);
    await img.close();
    await img.close();
    await assert.rejects(img.size(), (e: unknown) => e instanceof HandleClosed && e.code === 'EBADF' && e.image === name);
    assert.throws(() => img.features(), HandleClosed);
    assert.equal(img.nativeState().closed, true);
    await Rbd.remove(io, name);
    await io.close();
    await assert.rejects(io.stat('x'), HandleClosed);
    await assert.rejects(Rbd.list(io), HandleClosed);
    await rados.close();
    await rados.close();
    assert.throws(() => rados.fsid(), HandleClosed);
    await assert.rejects(rados.openIoCtx('vms'), HandleClosed);
    assert.equal(rados.nativeState().closed, true);
  });

  it('close waits for work in flight, which completes', async () => {
    const rados = await connect();
    const io = await rados.openIoCtx('vms');
    const name = uniqueName('inflight');
    await Rbd.create(io, name, 32 * MiB);
    const img = await Image.open(io, name);
    const writes = Array.from({ length: 16 }, (_, i) => img.aioWrite(Buffer.alloc(MiB, i + 1), i * MiB));
    const reads = Array.from({ length: 4 }, (_, i) => img.read(i * MiB, MiB));
    assert.ok(img.inflight > 0);
    const closing = rados.close();
    assert.equal(rados.closed, true);
    await assert.rejects(img.size(), HandleClosed, 'no new work once closing');
    const results = await Promise.allSettled([...writes, ...reads]);
    assert.deepEqual(results.filter((r) => r.status === 'rejected'), []);
    await closing;
    assert.equal(img.nativeState().closed, true, 'the image was closed by its connection');
    assert.equal(io.closed, true);
    await using admin = await connect();
    await using adminIo = await admin.openIoCtx('vms');
    await using check = await Image.open(adminIo, name, { readOnly: true });
    assert.ok((await check.read(15 * MiB, 16)).equals(Buffer.alloc(16, 16)), 'the last write landed');
    await check.close();
    await Rbd.remove(adminIo, name);
  });

  it('await using closes on every path, including a throw', async () => {
    let leaked: Image | undefined;
    const rados = await connect();
    const io = await rados.openIoCtx('vms');
    const name = uniqueName('using');
    await Rbd.create(io, name, MiB);
    await assert.rejects(
      (async () => {
        await using img = await Image.open(io, name);
        leaked = img;
        throw new Error('boom');
      })(),
      /boom/,
    );
    assert.equal(leaked?.nativeState().closed, true);
    await Rbd.remove(io, name);
    await rados.close();
  });

  it('1,000 image and 1,000 connection open/close cycles leak no threads, handles or memory', async () => {
    const rados = await connect();
    const io = await rados.openIoCtx('vms');
    const name = uniqueName('cycle');
    await Rbd.create(io, name, MiB);
    const cycleImages = async (n: number) => {
      for (let i = 0; i < n; i++) await (await Image.open(io, name, { readOnly: true })).close();
    };
    const cycleConnections = async (n: number) => {
      for (let i = 0; i < n; i++) await (await connect()).close();
    };
    // Warm up so librados' lazily created threads and caches are counted in the baseline.
    await cycleImages(20);
    await cycleConnections(20);
    await (await Image.open(io, name, { readOnly: true })).close();
    global.gc?.();
    const base = { threads: threads(), handles: activeHandles(), rss: process.memoryUsage().rss };

    for (let i = 0; i < 1000; i++) {
      const img = await Image.open(io, name, { readOnly: true });
      await img.size();
      await img.close();
    }
    await cycleConnections(1000);
    global.gc?.();
    const after = { threads: threads(), handles: activeHandles(), rss: process.memoryUsage().rss };
    assert.ok(after.threads <= base.threads + 2, `threads ${base.threads} -> ${after.threads}`);
    assert.ok(after.handles <= base.handles, `active handles ${base.handles} -> ${after.handles}`);
    const growth = (after.rss - base.rss) / MiB;
    assert.ok(growth < 64, `RSS grew ${growth.toFixed(1)} MiB`);
    assert.equal(rados.nativeState().children, 1, 'only the one I/O context is open');
    assert.equal(rados.nativeState().inflight, 0);
    await Rbd.remove(io, name);
    await rados.close();
  });
});
