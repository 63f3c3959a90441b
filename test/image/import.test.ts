// Importing through the pipeline into the real cluster: crafted images refused with nothing left,
// valid images byte-identical to qemu-img's own conversion, checksums, stdin, http, golden.
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { ChecksumMismatch, ImageTooLarge, UnsafeImage } from '../../src/image/index.js';
import type { RbdDriver } from '../../src/driver/index.js';
import { uniqueName } from '../helpers/cluster.js';
import { driverFor } from '../helpers/driver.js';
import { type Corpus, buildCorpus } from '../helpers/images.js';
import { runProgram } from '../../src/util/process.js';

let corpus: Corpus;
let driver: RbdDriver;
before(async () => {
  corpus = await buildCorpus();
  driver = await driverFor('admin');
});
after(async () => {
  await driver.close();
  await corpus.remove();
});

async function exported(name: string): Promise<Buffer> {
  const out = join(corpus.dir, `${name}.export.raw`);
  await driver.exportImage(name, out);
  return readFile(out);
}

describe('import refuses crafted images and leaves nothing', () => {
  it('refuses each with its typed error; no image remains', async () => {
    for (const c of corpus.crafted) {
      const name = uniqueName('crafted');
      await assert.rejects(
        driver.importImage(c.path, name, c.declared ? { format: c.declared } : {}),
        (e: unknown) => e instanceof UnsafeImage && e.rule === c.rule && e.name === c.errorName,
        c.name,
      );
      assert.equal(await driver.exists(name), false, `${c.name} left an image`);
    }
  });

  it("refuses a virtual size over the pool's free space before creating anything", async () => {
    const huge = join(corpus.dir, 'over-pool.qcow2');
    await runProgram('qemu-img', ['create', '-q', '-f', 'qcow2', huge, '100G']);
    const name = uniqueName('huge');
    await assert.rejects(driver.importImage(huge, name), (e: unknown) => e instanceof ImageTooLarge && e.rule === 'pool-free-space');
    assert.equal(await driver.exists(name), false);
  });
});

describe('import of valid images', () => {
  it('imports every valid format byte-identical to qemu-img convert -O raw, with the sha256 of the file', async () => {
    const { createHash } = await import('node:crypto');
    for (const v of corpus.valid) {
      const name = uniqueName(v.name.replace(/\W/g, '-'));
      const r = await driver.importImage(v.path, name, { format: v.format, hashes: ['sha256'] });
      assert.equal(r.format, v.format);
      // Holes never read, and qcow2's tables between data clusters, are hashed all the same.
      assert.equal(r.checksums.sha256, createHash('sha256').update(await readFile(v.path)).digest('hex'), v.name);
      const expected = await readFile(v.raw);
      assert.equal(r.virtualSize, expected.length, v.name);
      assert.ok((await exported(name)).equals(expected), `${v.name} differs from qemu-img's conversion`);
      await driver.destroyVolume(name);
    }
  });

  it('keeps the image sparse: only data is allocated', async () => {
    const v = corpus.valid.find((x) => x.name === 'plain.qcow2')!;
    const name = uniqueName('sparse');
    const r = await driver.importImage(v.path, name);
    assert.ok(r.bytesWritten <= 4 * 1024 * 1024, `wrote ${r.bytesWritten}`);
    assert.deepEqual(r.checksums, {}, 'no checksum was asked for');
    const info = await driver.info(name);
    assert.equal(info.size, 24 * 1024 * 1024);
    await driver.destroyVolume(name);
  });

  it('verifies checksums in the same pass; a mismatch undoes the import', async () => {
    const v = corpus.valid.find((x) => x.name === 'compressed.qcow2')!;
    const { createHash } = await import('node:crypto');
    const bytes = await readFile(v.path);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const md5 = createHash('md5').update(bytes).digest('hex');
    const ok = uniqueName('sum');
    const r = await driver.importImage(v.path, ok, { expect: { sha256, md5 }, hashes: ['sha512'] });
    assert.equal(r.checksums.sha256, sha256);
    assert.equal(r.checksums.md5, md5);
    assert.equal(r.checksums.sha512, createHash('sha512').update(bytes).digest('hex'));
    await driver.destroyVolume(ok);
    const bad = uniqueName('badsum');
    await assert.rejects(driver.importImage(v.path, bad, { expect: { sha256: '0'.repeat(64) } }), (e: unknown) => e instanceof ChecksumMismatch && e.actual === sha256);
    assert.equal(await driver.exists(bad), false);
    await assert.rejects(driver.importImage(v.path, bad, { expect: { sha256: 'xyz' } }), /hex/);
  });

  it('imports raw from a stream (stdin), and refuses qcow2 from one', async () => {
    const raw = corpus.valid.find((x) => x.name === 'holes.raw')!;
    const name = uniqueName('stdin');
    const r = await driver.importImage(createReadStream(raw.path), name, { format: 'raw' });
    assert.equal(r.virtualSize, (await stat(raw.path)).size);
    assert.ok((await exported(name)).equals(await readFile(raw.raw)));
    await driver.destroyVolume(name);
    const q = uniqueName('stdinq');
    await assert.rejects(driver.importImage(Readable.from([await readFile(corpus.valid.find((x) => x.name === 'plain.qcow2')!.path)]), q), (e: unknown) => e instanceof UnsafeImage && e.rule === 'qcow2-needs-random-access');
    assert.equal(await driver.exists(q), false);
  });

  it('imports qcow2 over http with byte ranges, and raw from a server without', async () => {
    const files = new Map([['/disk.qcow2', corpus.valid.find((x) => x.name === 'compressed.qcow2')!], ['/disk.raw', corpus.valid.find((x) => x.name === 'holes.raw')!]]);
    const server = createServer(async (req, res) => {
      const f = files.get(req.url ?? '');
      if (!f) return res.writeHead(404).end();
      const data = await readFile(f.path);
      const ranges = req.url === '/disk.qcow2';
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (ranges && m) {
        const slice = data.subarray(Number(m[1]), Number(m[2]) + 1);
        return res.writeHead(206, { 'content-length': slice.length, 'accept-ranges': 'bytes' }).end(slice);
      }
      res.writeHead(200, { 'content-length': data.length, ...(ranges ? { 'accept-ranges': 'bytes' } : {}) });
      res.end(req.method === 'HEAD' ? undefined : data);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      for (const [path, v] of files) {
        const name = uniqueName('http');
        await driver.importImage(`http://127.0.0.1:${port}${path}`, name);
        assert.ok((await exported(name)).equals(await readFile(v.raw)), path);
        await driver.destroyVolume(name);
      }
      await assert.rejects(driver.importImage(`http://127.0.0.1:${port}/missing`, uniqueName('404')), /404/);
    } finally {
      server.close();
    }
  });

  it('finishes a golden image: protected snapshot, clonable as compute', async () => {
    const v = corpus.valid.find((x) => x.name === 'plain.qcow2')!;
    await using images = await driverFor('admin', { pool: 'images' });
    const name = uniqueName('golden');
    const r = await images.importImage(v.path, name, { golden: true });
    assert.equal(r.snapshot, 'snap');
    assert.equal(r.url, `rbd://${await images.getFsid()}/images/${name}/snap`);
    const snaps = await images.listSnaps(name);
    assert.deepEqual(snaps.map((s) => [s.name, s.protected, s.ours]), [['snap', true, true]]);
    await using compute = await driverFor('compute');
    const disk = uniqueName('fromgolden');
    await compute.clone(r.url!, disk);
    assert.ok((await readFile(v.raw)).subarray(0, 4 * 1024 * 1024).equals((await (async () => {
      const out = join(corpus.dir, `${disk}.raw`);
      await compute.exportImage(disk, out);
      return readFile(out);
    })()).subarray(0, 4 * 1024 * 1024)));
    await compute.destroyVolume(disk);
    const d = await images.destroyVolume(name);
    assert.deepEqual(d.snapshotsRemoved, ['snap']);
  });

  it('an abort mid-import removes the partial image', async () => {
    const big = join(corpus.dir, 'big.raw');
    await writeFile(big, Buffer.alloc(64 * 1024 * 1024, 1));
    const ac = new AbortController();
    const name = uniqueName('abort');
    await assert.rejects(driver.importImage(big, name, { signal: ac.signal, onProgress: () => ac.abort() }), (e: unknown) => e instanceof Error && e.name === 'OperationCanceled');
    assert.equal(await driver.exists(name), false);
  });
});

