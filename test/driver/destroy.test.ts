// RbdDriver: removeImage, destroyVolume (retries, watchers, snapshots, trash), cleanupVolumes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Image, OperationCanceled, Rbd, type Rados } from '../../src/ceph/index.js';
import { CleanupFailed, VolumeBusy } from '../../src/driver/index.js';
import { MiB, connect, uniqueName } from '../helpers/cluster.js';
import { auditEvents, driverFor } from '../helpers/driver.js';

/** Holds `name` open read-write from a second connection: a live watcher. */
async function holdOpen(name: string): Promise<{ rados: Rados; image: Image; release: () => Promise<void> }> {
  const rados = await connect();
  const io = await rados.openIoCtx('vms');
  const image = await Image.open(io, name);
  return { rados, image, release: () => rados.close() };
}

async function makeImage(name: string): Promise<void> {
  await using rados = await connect();
  await using io = await rados.openIoCtx('vms');
  await Rbd.create(io, name, MiB);
}

describe('removeImage', () => {
  it('reports removed, then absent, and audits both', async () => {
    await using driver = await driverFor();
    const name = uniqueName('rm');
    await makeImage(name);
    assert.equal(await driver.removeImage(name), 'removed');
    assert.equal(await driver.removeImage(name), 'absent');
    const events = auditEvents().filter((e) => e['image'] === name);
    assert.deepEqual(events.map((e) => e['outcome']), ['removed', 'absent']);
  });
});

describe('destroyVolume', () => {
  it('retries past a live watcher and succeeds once it is released', async () => {
    await using driver = await driverFor();
    const name = uniqueName('watched');
    await makeImage(name);
    const holder = await holdOpen(name);
    const [watcher] = await holder.image.watchers();
    let released: Promise<void> | undefined;
    const seen: string[][] = [];
    const r = await driver.destroyVolume(name, {
      retry: { attempts: 20, intervalMs: 100 },
      onRetry: (ev) => {
        seen.push(ev.watchers.map((w) => w.address));
        released ??= holder.release();
      },
    });
    await released;
    assert.equal(r.outcome, 'removed');
    assert.ok(r.attempts >= 2, `attempts ${r.attempts}`);
    assert.deepEqual(seen[0], [watcher?.address], 'the retry names the watcher');
    assert.equal(await driver.exists(name), false);
  });

  it('fails with the watcher list when it is not released, and never loops forever', async () => {
    await using driver = await driverFor();
    const name = uniqueName('stuck');
    await makeImage(name);
    const holder = await holdOpen(name);
    try {
      const [watcher] = await holder.image.watchers();
      const started = Date.now();
      await assert.rejects(driver.destroyVolume(name, { retry: { attempts: 3, intervalMs: 50 } }), (e: unknown) => {
        assert.ok(e instanceof VolumeBusy);
        assert.equal(e.attempts, 3);
        assert.deepEqual(e.watchers.map((w) => w.address), [watcher?.address]);
        assert.equal(e.code, 'EBUSY');
        assert.match(e.message, new RegExp(`watchers ${watcher?.address}`));
        return true;
      });
      assert.ok(Date.now() - started < 5000);
      await assert.rejects(driver.destroyVolume(name, { retry: { attempts: 100, intervalMs: 100, deadlineMs: 350 } }), (e: unknown) => e instanceof VolumeBusy && e.attempts <= 5);
      const ac = new AbortController();
      await assert.rejects(driver.destroyVolume(name, { retry: { attempts: 100, intervalMs: 60_000 }, signal: ac.signal, onRetry: () => ac.abort() }), OperationCanceled);
      assert.equal(await driver.exists(name), true, 'still there: the failure was reported, not hidden');
      const r = await driver.destroyVolume(name, { retry: { attempts: 2, intervalMs: 10 }, trashOnFailure: true });
      assert.equal(r.outcome, 'trashed');
      assert.equal(await driver.exists(name), false);
      await using admin = await connect();
      await using io = await admin.openIoCtx('vms');
      const entry = (await Rbd.trashList(io)).find((t) => t.id === r.trashId);
      assert.equal(entry?.name, name);
      await holder.release();
      await Rbd.trashRemove(io, entry!.id, { force: true });
    } finally {
      await holder.release();
    }
  });

  it('removes the snapshots the driver made, and only those unless purgeSnapshots', async () => {
    await using driver = await driverFor();
    const name = uniqueName('snaps');
    await makeImage(name);
    await driver.createSnap(name, 'ours-protected', { protect: true });
    await driver.createSnap(name, 'ours');
    {
      await using rados = await connect();
      await using io = await rados.openIoCtx('vms');
      await using img = await Image.open(io, name);
      await img.createSnapshot('theirs');
    }
    const snaps = await driver.listSnaps(name);
    assert.deepEqual(snaps.map((s) => [s.name, s.ours, s.protected]), [['ours-protected', true, true], ['ours', true, false], ['theirs', false, false]]);
    await assert.rejects(driver.destroyVolume(name), (e: unknown) => e instanceof VolumeBusy && e.snapshots.join() === 'theirs');
    assert.deepEqual((await driver.listSnaps(name)).map((s) => s.name), ['theirs'], 'our snapshots are gone, theirs kept');
    const r = await driver.destroyVolume(name, { purgeSnapshots: true });
    assert.equal(r.outcome, 'removed');
    assert.deepEqual(r.snapshotsRemoved, ['theirs']);
  });

  it('is absent for a volume that does not exist', async () => {
    await using driver = await driverFor();
    const r = await driver.destroyVolume(uniqueName('none'));
    assert.deepEqual([r.outcome, r.attempts], ['absent', 1]);
  });
});

describe('cleanupVolumes', () => {
  it('destroys 200 volumes with bounded concurrency; busy ones are reported, not fatal to the rest', async () => {
    await using driver = await driverFor();
    const prefix = `${uniqueName('fleet')}-`;
    const names = Array.from({ length: 200 }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);
    {
      await using rados = await connect();
      await using io = await rados.openIoCtx('vms');
      for (let i = 0; i < names.length; i += 20) await Promise.all(names.slice(i, i + 20).map((n) => Rbd.create(io, n, MiB)));
      await Rbd.create(io, `other-${prefix}`, MiB);
    }
    const busy = [names[7]!, names[70]!, names[170]!];
    const holders = await Promise.all(busy.map(holdOpen));
    let progress = 0;
    try {
      await assert.rejects(driver.cleanupVolumes({ prefix }, { concurrency: 16, retry: { attempts: 2, intervalMs: 20 }, onProgress: () => progress++ }), (e: unknown) => {
        assert.ok(e instanceof CleanupFailed);
        assert.deepEqual(e.failures.map((f) => f.name).sort(), busy);
        assert.ok(e.failures.every((f) => f.error instanceof VolumeBusy));
        assert.equal(e.report.length, 200);
        assert.equal(e.report.filter((r) => r.ok).length, 197);
        return true;
      });
      assert.equal(progress, 200);
    } finally {
      await Promise.all(holders.map((h) => h.release()));
    }
    const rest = await driver.cleanupVolumes((n) => n.startsWith(prefix), { retry: { attempts: 2, intervalMs: 20 } });
    assert.deepEqual(rest.map((r) => r.name).sort(), busy);
    assert.equal(await driver.exists(`other-${prefix}`), true, 'the filter is honoured');
    await driver.removeImage(`other-${prefix}`);
    await assert.rejects(driver.cleanupVolumes({ prefix: '' }), /prefix/);
  });
});
