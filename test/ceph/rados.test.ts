// Rados: connecting, configuration, cluster-level calls, monitor commands.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InvalidArgument, PermissionDenied, PoolNotFound, Rados, Timeout, NotFound } from '../../src/ceph/index.js';
import { connect, localCluster } from '../helpers/cluster.js';

describe('Rados.connect', () => {
  it('connects with cephx and reports the fsid of the local cluster', async () => {
    const status = await localCluster();
    await using rados = await connect();
    assert.equal(rados.fsid(), status.fsid);
    assert.equal(rados.user, 'client.admin');
    const state = JSON.parse(await readFile(join(status.dir, 'cluster.json'), 'utf8')) as { fsid: string };
    assert.equal(rados.fsid(), state.fsid);
  });

  it('applies the timeouts before connecting', async () => {
    await using rados = await connect('admin', { timeouts: { connectMs: 7_000, monOpMs: 12_000, osdOpMs: 13_500 } });
    assert.equal(Number(rados.getConfig('client_mount_timeout')), 7);
    assert.equal(Number(rados.getConfig('rados_mon_op_timeout')), 12);
    assert.equal(Number(rados.getConfig('rados_osd_op_timeout')), 14);
  });

  it('defaults to bounded timeouts rather than Ceph\'s 300 s and unlimited', async () => {
    await using rados = await connect();
    assert.equal(Number(rados.getConfig('client_mount_timeout')), 10);
    assert.equal(Number(rados.getConfig('rados_osd_op_timeout')), 30);
  });

  it('sets extra config options', async () => {
    await using rados = await connect('admin', { config: { rbd_cache: false } });
    assert.equal(rados.getConfig('rbd_cache'), 'false');
  });

  it('rejects bad input before creating anything', async () => {
    const { conf } = await localCluster();
    await assert.rejects(Rados.connect({ conf: '/nonexistent/ceph.conf' }), InvalidArgument);
    await assert.rejects(Rados.connect({ conf, user: '-rf' }), InvalidArgument);
    await assert.rejects(Rados.connect({ conf, user: 'a b' }), InvalidArgument);
    await assert.rejects(Rados.connect({ conf, keyring: '/nonexistent/keyring' }), InvalidArgument);
    await assert.rejects(Rados.connect({ conf, timeouts: { connectMs: -1 } }), InvalidArgument);
    await assert.rejects(Rados.connect({ conf, config: { key: 'AQ==' } }), InvalidArgument);
  });

  it('refuses a user whose key the cluster does not know', async () => {
    const { conf, dir } = await localCluster();
    // compute's keyring presented as another entity: authentication must fail, typed.
    const err = await Rados.connect({ conf, user: 'intruder', keyring: join(dir, 'ceph.client.compute.keyring'), timeouts: { connectMs: 3000 } }).then(
      () => assert.fail('connected'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof PermissionDenied || err instanceof NotFound || err instanceof Timeout, `got ${String(err)}`);
    assert.equal((err as PermissionDenied).user, 'client.intruder');
  });

  it('never reads the key back', async () => {
    await using rados = await connect();
    assert.throws(() => rados.getConfig('key'), InvalidArgument);
  });
});

describe('Rados calls', () => {
  it('reports cluster stats', async () => {
    await using rados = await connect();
    const s = await rados.clusterStats();
    assert.ok(s.totalBytes > 0);
    assert.ok(s.availBytes > 0 && s.availBytes <= s.totalBytes);
  });

  it('looks up pools and fails typed for a missing one', async () => {
    await using rados = await connect();
    assert.ok((await rados.poolId('vms')) > 0);
    await assert.rejects(rados.poolId('no-such-pool'), PoolNotFound);
    await assert.rejects(rados.openIoCtx('no-such-pool'), (e: unknown) => e instanceof PoolNotFound && e.pool === 'no-such-pool');
  });

  it('runs monitor commands as JSON', async () => {
    await using rados = await connect();
    const df = await rados.monCommandJson<{ pools: { name: string; stats: { max_avail: number } }[] }>({ prefix: 'df' });
    const names = df.pools.map((p) => p.name);
    assert.ok(names.includes('images') && names.includes('vms'));
    const mon = await rados.monCommandJson<{ fsid: string }>({ prefix: 'mon dump' });
    assert.equal(mon.fsid, rados.fsid());
  });

  it('turns a monitor refusal into a typed error with the monitor\'s reason', async () => {
    await using rados = await connect();
    await assert.rejects(rados.monCommand({ prefix: 'osd pool get', pool: 'no-such-pool', var: 'size' }), (e: unknown) => {
      assert.ok(e instanceof NotFound, String(e));
      assert.match((e as NotFound).detail ?? '', /no-such-pool/);
      return true;
    });
    await assert.rejects(rados.monCommand({ nope: 1 } as never), InvalidArgument);
  });

  it('denies monitor writes to the read-only user', async () => {
    await using rados = await connect('readonly');
    await assert.rejects(rados.monCommand({ prefix: 'osd pool create', pool: 'should-not-exist', pg_num: 8 }), PermissionDenied);
  });
});
