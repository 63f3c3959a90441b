// RbdDriver: connect, isCloneable, clone with its preflight checks.
import assert from 'node:assert/strict';
import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Feature, Image, ImageExists, ImageNotFound, InvalidArgument, PermissionDenied, Rbd, Timeout } from '../../src/ceph/index.js';
import { ImageUnacceptable, RbdDriver } from '../../src/driver/index.js';
import { connect, localCluster, uniqueName } from '../helpers/cluster.js';
import { auditEvents, driverFor, goldenImage } from '../helpers/driver.js';

describe('RbdDriver.connect', () => {
  it('connects as compute and reports fsid and ceph args (never a key)', async () => {
    const status = await localCluster();
    await using driver = await driverFor('compute');
    assert.equal(await driver.getFsid(), status.fsid);
    assert.deepEqual(await driver.cephArgs(), ['--id', 'compute', '--conf', status.conf]);
    await using withKeyring = await driverFor('compute', { keyring: join(status.dir, 'ceph.client.compute.keyring') });
    assert.deepEqual((await withKeyring.cephArgs()).slice(-2), ['--keyring', join(status.dir, 'ceph.client.compute.keyring')]);
  });

  it('times out in time against a port where no monitor listens', async () => {
    const { dir } = await localCluster();
    const conf = join(await mkdtemp(join(tmpdir(), 'rbdctl-')), 'ceph.conf');
    await writeFile(conf, '[global]\nmon host = v2:127.0.0.1:9\n');
    const started = Date.now();
    await assert.rejects(
      RbdDriver.connect({ conf, user: 'compute', keyring: join(dir, 'ceph.client.compute.keyring'), pool: 'vms', timeouts: { connectMs: 2000 } }),
      Timeout,
    );
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  });

  it('rejects bad options before connecting', async () => {
    const { conf } = await localCluster();
    await assert.rejects(RbdDriver.connect({ conf, user: 'compute', pool: '' }), InvalidArgument);
    await assert.rejects(RbdDriver.connect({ conf, user: 'compute', pool: 'vms', namespace: 'a/b' }), InvalidArgument);
    await assert.rejects(RbdDriver.connect({ conf, user: 'compute', pool: 'vms', retry: { attempts: 0 } }), InvalidArgument);
    await assert.rejects(RbdDriver.connect({ conf, user: 'compute', pool: 'vms', cloneDepth: { max: 0 } }), InvalidArgument);
    await assert.rejects(RbdDriver.connect({ conf: '/nope', user: 'compute', pool: 'vms' }), InvalidArgument);
  });
});

describe('RbdDriver.isCloneable', () => {
  it('accepts a raw image of this cluster and says why otherwise', async () => {
    const gold = await goldenImage();
    try {
      await using driver = await driverFor('compute');
      assert.deepEqual(await driver.isCloneable({ url: gold.url }, { disk_format: 'raw' }), { cloneable: true });
      const qcow = await driver.isCloneable(gold.url, { disk_format: 'qcow2' });
      assert.equal(qcow.cloneable, false);
      const other = await driver.isCloneable(gold.url.replace(/rbd:\/\/[^/]+/, 'rbd://00000000-0000-0000-0000-000000000000'), { disk_format: 'raw' });
      assert.ok(!other.cloneable && /cluster/.test(other.reason));
      const missing = await driver.isCloneable(gold.url.replace('/snap', '/nosnap'), { disk_format: 'raw' });
      assert.ok(!missing.cloneable && /nosnap/.test(missing.reason));
      const bad = await driver.isCloneable('rbd://x/y', { disk_format: 'raw' });
      assert.equal(bad.cloneable, false);
    } finally {
      await gold.remove();
    }
  });
});

describe('RbdDriver.clone', () => {
  it('clones images -> vms as client.compute, copy-on-write', async () => {
    const gold = await goldenImage();
    await using driver = await driverFor('compute');
    const name = uniqueName('disk');
    try {
      const r = await driver.clone({ url: gold.url }, name);
      assert.equal(r.pool, 'vms');
      assert.equal(r.depth, 1);
      assert.equal(r.flattened, false);
      assert.deepEqual(await driver.parentInfo(name), { pool: 'images', namespace: '', image: gold.name, snapshot: 'snap' });
      assert.equal(await driver.exists(name), true);
      assert.ok(auditEvents().some((e) => e['action'] === 'clone' && e['image'] === name && e['user'] === 'client.compute'));
    } finally {
      await driver.removeImage(name);
      await gold.remove();
    }
  });

  it('as client.readonly fails with PermissionDenied before anything is created', async () => {
    const gold = await goldenImage();
    await using driver = await driverFor('readonly');
    const name = uniqueName('denied');
    try {
      await assert.rejects(driver.clone(gold.url, name), (e: unknown) => e instanceof PermissionDenied && e.pool === 'vms' && e.user === 'client.readonly');
      await using admin = await connect();
      await using vms = await admin.openIoCtx('vms');
      assert.equal(await Rbd.exists(vms, name), false);
      const objects = await vms.omapGet('rbd_directory', { prefix: `name_${name}` });
      assert.equal(objects.entries.size, 0);
      assert.ok(auditEvents().some((e) => e['action'] === 'permission-probe' && e['outcome'] === 'denied' && e['user'] === 'client.readonly'));
    } finally {
      await gold.remove();
    }
  });

  it('refuses before any work: taken name, missing snapshot, unsafe names, other cluster', async () => {
    const gold = await goldenImage();
    await using driver = await driverFor('compute');
    const name = uniqueName('taken');
    try {
      await driver.clone(gold.url, name);
      await assert.rejects(driver.clone(gold.url, name), ImageExists);
      await assert.rejects(driver.clone(gold.url.replace('/snap', '/nosnap'), uniqueName('x')), ImageNotFound);
      for (const bad of ['', '-rf', 'a/b', 'a@b', 'x'.repeat(97), 'a\u0000b']) await assert.rejects(driver.clone(gold.url, bad), ImageUnacceptable);
      await assert.rejects(driver.clone(gold.url.replace(/rbd:\/\/[^/]+/, 'rbd://00000000-0000-0000-0000-000000000000'), uniqueName('x')), (e: unknown) => e instanceof ImageUnacceptable && e.reason === 'fsid');
    } finally {
      await driver.removeImage(name);
      await gold.remove();
    }
  });

  it('refuses an unprotected snapshot when clone v2 is off, and needs no protection when it is on', async () => {
    await using admin = await connect();
    await using images = await admin.openIoCtx('images');
    const gold = uniqueName('unprot');
    await Rbd.create(images, gold, 4 * 1024 * 1024, { features: Feature.LAYERING });
    {
      await using g = await Image.open(images, gold);
      await g.createSnapshot('snap');
    }
    await using driver = await driverFor('compute');
    const url = `rbd://${admin.fsid()}/images/${gold}/snap`;
    const dump = await admin.monCommandJson<{ require_min_compat_client: string }>({ prefix: 'osd dump' });
    const name = uniqueName('v2');
    try {
      await assert.rejects(driver.clone(url, name), (e: unknown) => e instanceof ImageUnacceptable && e.reason === 'unprotected');
      assert.equal(await driver.exists(name), false);
      await admin.monCommand({ prefix: 'osd set-require-min-compat-client', version: 'mimic', yes_i_really_mean_it: true });
      const r = await driver.clone(url, name);
      assert.equal(r.cloneFormat, 2);
      await driver.removeImage(name);
    } finally {
      await admin.monCommand({ prefix: 'osd set-require-min-compat-client', version: dump.require_min_compat_client, yes_i_really_mean_it: true });
      {
        await using g = await Image.open(images, gold);
        await g.removeSnapshot('snap');
      }
      await Rbd.remove(images, gold);
    }
  });

  it('flattens a new clone that would exceed the depth policy, and refuses when told to', async () => {
    const gold = await goldenImage();
    const depth1 = uniqueName('d1');
    const depth2 = uniqueName('d2');
    await using driver = await driverFor('compute', { cloneDepth: { max: 1 } });
    await using strict = await driverFor('compute', { cloneDepth: { max: 1, onExceed: 'refuse' } });
    try {
      await driver.clone(gold.url, depth1);
      await driver.createSnap(depth1, 'snap', { protect: true });
      const url2 = `rbd://${await driver.getFsid()}/vms/${depth1}/snap`;
      await assert.rejects(strict.clone(url2, uniqueName('no')), (e: unknown) => e instanceof ImageUnacceptable && e.reason === 'clone-depth');
      const r = await driver.clone(url2, depth2);
      assert.equal(r.depth, 2);
      assert.equal(r.flattened, true);
      assert.equal(await driver.parentInfo(depth2), null);
    } finally {
      await driver.destroyVolume(depth2);
      await driver.destroyVolume(depth1);
      await gold.remove();
    }
  });

  it('removes the clone when the flatten after it is canceled', async () => {
    const gold = await goldenImage(64 * 1024 * 1024);
    const first = uniqueName('c1');
    await using driver = await driverFor('compute', { cloneDepth: { max: 1 } });
    const name = uniqueName('c2');
    try {
      await driver.clone(gold.url, first);
      await driver.createSnap(first, 'snap', { protect: true });
      const url = `rbd://${await driver.getFsid()}/vms/${first}/snap`;
      const before = new AbortController();
      before.abort(new Error('stop'));
      await assert.rejects(driver.clone(url, name, { signal: before.signal }), (e: unknown) => e instanceof Error && e.name === 'OperationCanceled');
      const during = new AbortController();
      let ticks = 0;
      await assert.rejects(
        driver.clone(url, name, { signal: during.signal, onProgress: () => (++ticks === 1 ? during.abort(new Error('stop')) : undefined) }),
        (e: unknown) => e instanceof Error && e.name === 'OperationCanceled',
      );
      assert.ok(ticks >= 1, 'the flatten had started');
      assert.equal(await driver.exists(name), false, 'the clone was removed again');
      assert.ok(auditEvents().some((e) => e['action'] === 'clone' && e['image'] === name && e['outcome'] === 'undone'));
    } finally {
      await driver.destroyVolume(first);
      await gold.remove();
    }
  });
});
