// The local development cluster: configuration, keys, idempotent up, down by pid, purge.
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { renderCephConf } from '../../src/cluster/config.js';
import { generateCephxKey } from '../../src/cluster/keys.js';
import { clusterDown, clusterStatus, clusterUp } from '../../src/cluster/local-cluster.js';
import { Rados } from '../../src/ceph/index.js';
import { localCluster } from '../helpers/cluster.js';

describe('cluster config (no cluster needed)', () => {
  it('makes cephx keys in Ceph\'s encoding', () => {
    const key = generateCephxKey(Date.UTC(2026, 0, 1));
    const raw = Buffer.from(key, 'base64');
    assert.equal(raw.length, 28);
    assert.equal(raw.readUInt16LE(0), 1, 'AES');
    assert.equal(raw.readUInt32LE(2), Date.UTC(2026, 0, 1) / 1000);
    assert.equal(raw.readUInt16LE(10), 16);
    assert.notEqual(generateCephxKey(), generateCephxKey());
  });

  it('binds to loopback on the chosen port, cephx on, no keyring in [global]', () => {
    const conf = renderCephConf({ dir: '/x', fsid: 'f', monPort: 13300, osds: 2, memstoreBytes: 1024 });
    assert.match(conf, /mon host = v2:127\.0\.0\.1:13300/);
    assert.match(conf, /auth client required = cephx/);
    assert.match(conf, /\[osd\.1\]/);
    const global = conf.split('[client]')[0] ?? '';
    assert.doesNotMatch(global, /^keyring/m);
  });
});

describe('the running local cluster', () => {
  it('reports conf, fsid, users with private keyrings, and pools', async () => {
    const s = await localCluster();
    assert.equal(s.running, true);
    assert.match(s.fsid ?? '', /^[0-9a-f-]{36}$/);
    assert.deepEqual(s.users.map((u) => u.name), ['client.admin', 'client.compute', 'client.readonly']);
    for (const u of s.users) assert.equal(statSync(u.keyring).mode & 0o077, 0, `${u.keyring} is private`);
    assert.deepEqual(s.pools, ['images', 'vms']);
    assert.ok(s.daemons.every((d) => d.running && d.pid !== null));
  });

  it('up on a running cluster does nothing', async () => {
    const before = await localCluster();
    const started = Date.now();
    const again = await clusterUp({ installPackages: false });
    assert.ok(Date.now() - started < 2000);
    assert.equal(again.fsid, before.fsid);
    assert.deepEqual(again.daemons.map((d) => d.pid), before.daemons.map((d) => d.pid));
  });
});

describe('a second cluster', () => {
  it('comes up with pools and users, goes down by pid, and purges', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rbdctl-cluster-'));
    // No port asked for: the main cluster holds its port, so this one takes the next free of 13300, 14300, …
    const asked = process.env['RBDCTL_CLUSTER_PORT'];
    delete process.env['RBDCTL_CLUSTER_PORT'];
    const status = await clusterUp({ dir, installPackages: false, memstoreBytes: 512 * 1024 * 1024 }).finally(() => {
      if (asked !== undefined) process.env['RBDCTL_CLUSTER_PORT'] = asked;
    });
    try {
      assert.equal(status.running, true);
      const port = Number(status.monHost!.split(':').pop());
      assert.equal((port - 13300) % 1000, 0, `port ${port}`);
      assert.notEqual(status.monHost, (await localCluster()).monHost);
      await using rados = await Rados.connect({ conf: status.conf, user: 'compute' });
      assert.equal(rados.fsid(), status.fsid);
      const main = await localCluster();
      assert.notEqual(status.fsid, main.fsid, 'a cluster of its own');
    } finally {
      const stopped = await clusterDown({ dir });
      assert.deepEqual(stopped.sort(), ['mgr.x', 'mon.a', 'osd.0']);
    }
    for (const d of status.daemons) assert.equal(existsSync(`/proc/${d.pid}`), false, `${d.name} exited`);
    const after = await clusterStatus({ dir });
    assert.equal(after.running, false);
    assert.ok(existsSync(join(dir, 'ceph.conf')), 'state kept without --purge');
    await clusterDown({ dir, purge: true });
    assert.equal(existsSync(dir), false);
    const main = await clusterStatus({ dir: (await localCluster()).dir });
    assert.equal(main.running, true, 'the main cluster is untouched');
    assert.ok((await readFile(main.conf, 'utf8')).includes(`fsid = ${main.fsid}`));
  });
});
