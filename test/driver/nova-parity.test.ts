// One scripted scenario through Nova's RBDDriver and ours, side by side on the same cluster.
// Same results where Nova is right; the deliberate differences (we are stricter) are asserted
// here and listed in the README.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ImageUnacceptable } from '../../src/driver/index.js';
import { MiB, localCluster, uniqueName } from '../helpers/cluster.js';
import { driverFor, goldenImage } from '../helpers/driver.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

interface NovaResult {
  parse: string[];
  parse_dash: { ok?: string[]; error?: string };
  parse_slash: { ok?: string[]; error?: string };
  cloneable_raw: boolean;
  cloneable_qcow2: boolean;
  exists_after_clone: boolean;
  parent_before_flatten: string[];
  size_after_resize: number;
  snaps: string[];
  parent_after_flatten: { ok?: string[]; error?: string };
  exists_after_destroy: boolean;
  remove_absent: { ok?: null; error?: string };
  left_after_cleanup: string[];
  pool_total: number;
  mon: string[][];
  fsid: string;
}

describe("behaviour side by side with Nova's RBDDriver", () => {
  it('runs the same scenario with the same results, except where we are stricter', async () => {
    const { conf } = await localCluster();
    const gold = await goldenImage();
    const fsid = gold.url.split('/')[2]!;
    const dashUrl = `rbd://${fsid}/images/-rf/snap`;
    const slashUrl = `rbd://${fsid}/images/a%2Fb/snap`;
    const newSize = 32 * MiB;
    try {
      const novaName = uniqueName('nova');
      const r = spawnSync('/usr/bin/python3', [join(root, 'test', 'driver', 'nova_scenario.py'), JSON.stringify({ conf, user: 'compute', url: gold.url, name: novaName, prefix: `${novaName}-c`, dashUrl, slashUrl, newSize })], { encoding: 'utf8' });
      assert.equal(r.status, 0, `Nova's scenario failed: ${r.stderr}`);
      const nova = JSON.parse(r.stdout) as NovaResult;

      await using driver = await driverFor('compute');
      const name = uniqueName('ours');
      const loc = await driver.parseUrl(gold.url);
      assert.deepEqual([loc.fsid, loc.pool, loc.image, loc.snapshot], nova.parse);
      assert.equal((await driver.isCloneable({ url: gold.url }, { disk_format: 'raw' })).cloneable, nova.cloneable_raw);
      assert.equal((await driver.isCloneable({ url: gold.url }, { disk_format: 'qcow2' })).cloneable, nova.cloneable_qcow2);
      await driver.clone({ url: gold.url }, name);
      assert.equal(await driver.exists(name), nova.exists_after_clone);
      const parent = await driver.parentInfo(name);
      assert.deepEqual([parent?.pool, parent?.image, parent?.snapshot], nova.parent_before_flatten);
      await driver.resize(name, newSize);
      assert.equal(await driver.size(name), nova.size_after_resize);
      await driver.createSnap(name, 'snap1');
      await driver.rollbackToSnap(name, 'snap1');
      assert.deepEqual((await driver.listSnaps(name)).map((s) => s.name).sort(), nova.snaps);
      await driver.removeSnap(name, 'snap1');
      await driver.flatten(name);
      assert.equal(await driver.parentInfo(name), null);
      const destroyed = await driver.destroyVolume(name);
      assert.equal(destroyed.outcome, 'removed');
      assert.equal(await driver.exists(name), nova.exists_after_destroy);
      const prefix = `${name}-c`;
      for (let i = 0; i < 3; i++) await driver.clone(gold.url, `${prefix}${i}`);
      const report = await driver.cleanupVolumes({ prefix });
      assert.equal(report.length, 3);
      assert.deepEqual(nova.left_after_cleanup, []);
      assert.equal((await driver.getPoolInfo()).totalBytes, nova.pool_total);
      const mon = await driver.getMonAddrs();
      assert.deepEqual([mon.hosts, mon.ports], nova.mon);
      assert.equal(await driver.getFsid(), nova.fsid);

      // Deliberate differences, each stricter than Nova:
      // 1. a piece starting with '-' is refused (Nova accepts it).
      assert.deepEqual(nova.parse_dash.ok, [fsid, 'images', '-rf', 'snap']);
      await assert.rejects(driver.parseUrl(dashUrl), ImageUnacceptable);
      // 2. a decoded '/' is refused (Nova hands 'a/b' on as an image name).
      assert.deepEqual(nova.parse_slash.ok, [fsid, 'images', 'a/b', 'snap']);
      await assert.rejects(driver.parseUrl(slashUrl), ImageUnacceptable);
      // 3. a clone without a parent is a result (null), not an exception.
      assert.equal(nova.parent_after_flatten.error, 'ImageUnacceptable');
      // 4. removing an absent image says so ('absent'), where Nova only logs.
      assert.deepEqual(nova.remove_absent, { ok: null });
      assert.equal(await driver.removeImage(name), 'absent');
    } finally {
      await gold.remove();
    }
  });
});
