// The pipeline's plumbing without a cluster: where a file's data is, one-way stream readers,
// the buffer pool and the checksum thread.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { BufferPool, SPARE_MS, countdown } from '../../src/image/buffer-pool.js';
import { Checksummer } from '../../src/image/checksum.js';
import { LOOKBACK, bufferSource, fileSource, streamSource } from '../../src/image/source.js';

const MiB = 1024 * 1024;
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rbdctl-source-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('file source', () => {
  it('lists only the data extents of a sparse file, and reads them', async () => {
    const path = join(dir, 'sparse');
    const fh = await open(path, 'w');
    await fh.write(Buffer.alloc(8192, 1), 0, 8192, 0);
    await fh.write(Buffer.alloc(MiB, 2), 0, MiB, 5 * MiB);
    await fh.truncate(16 * MiB);
    await fh.close();
    await using src = await fileSource(path);
    const extents = [];
    for await (const e of src.dataExtents!()) extents.push(e);
    // Filesystems round to their block size; what matters: the holes are not listed.
    assert.equal(extents.length, 2, JSON.stringify(extents));
    assert.ok(extents[0]!.offset === 0 && extents[0]!.length >= 8192 && extents[0]!.length < MiB);
    assert.ok(extents[1]!.offset <= 5 * MiB && extents[1]!.offset + extents[1]!.length >= 6 * MiB && extents[1]!.offset + extents[1]!.length < 16 * MiB);
    const into = Buffer.alloc(4096);
    assert.equal(await src.reader().read(into, 5 * MiB), 4096);
    assert.ok(into.every((b) => b === 2));
    assert.equal(await src.reader().read(into, 16 * MiB - 100), 100, 'short at the end');
  });

  it('reports one extent for a file without holes', async () => {
    const path = join(dir, 'dense');
    await writeFile(path, Buffer.alloc(3 * MiB, 7));
    await using src = await fileSource(path);
    const extents = [];
    for await (const e of src.dataExtents!()) extents.push(e);
    assert.deepEqual(extents, [{ offset: 0, length: 3 * MiB }]);
  });
});

describe('stream source', () => {
  const bytes = Buffer.from(Array.from({ length: 10 * MiB }, (_, i) => (i * 7) & 0xff));
  const pieces = () => Readable.from(Array.from({ length: 160 }, (_, i) => bytes.subarray(i * 65536, (i + 1) * 65536)));

  it('keeps the head for inspection, then reads forward, skipping and going back within the window', async () => {
    const src = streamSource(pieces(), 'test');
    assert.ok((await src.head(1000)).equals(bytes.subarray(0, 1000)));
    const r = src.reader();
    const a = Buffer.alloc(MiB);
    assert.equal(await r.read(a, 0), MiB);
    assert.ok(a.equals(bytes.subarray(0, MiB)));
    assert.equal(await r.read(a, 6 * MiB), MiB, 'skips ahead');
    assert.ok(a.equals(bytes.subarray(6 * MiB, 7 * MiB)));
    const back = Buffer.alloc(512);
    assert.equal(await r.read(back, 7 * MiB - 4096), 512, 'goes back a little');
    assert.ok(back.equals(bytes.subarray(7 * MiB - 4096, 7 * MiB - 3584)));
    await assert.rejects(r.read(back, 7 * MiB - LOOKBACK - 1), /cannot go back/);
    assert.equal(await r.read(a, 9.5 * MiB), 0.5 * MiB, 'short at the end');
    assert.throws(() => src.reader(), /only once/);
    await src[Symbol.asyncDispose]();
  });

  it('a buffer source reads like a file', async () => {
    const src = bufferSource(bytes.subarray(0, 1000));
    const into = Buffer.alloc(600);
    assert.equal(await src.reader().read(into, 600), 400);
    assert.ok(into.subarray(0, 400).equals(bytes.subarray(600, 1000)));
  });
});

describe('buffer pool', () => {
  it('hands out at most its buffers, waits for a release, and refuses foreign buffers', async () => {
    const pool = new BufferPool(4096, 2);
    const a = await pool.acquire();
    const b = await pool.acquire();
    assert.notEqual(a.byteOffset, b.byteOffset);
    assert.ok(a.buffer instanceof SharedArrayBuffer);
    let third: Buffer | undefined;
    const waiting = pool.acquire().then((x) => (third = x));
    await Promise.resolve();
    assert.equal(third, undefined, 'no third buffer while two are out');
    pool.release(a);
    await waiting;
    assert.equal(third, a);
    assert.throws(() => pool.release(Buffer.alloc(4096)), /not from this pool/);
    let calls = 0;
    const done = countdown(3, () => calls++);
    done();
    done();
    assert.equal(calls, 0);
    done();
    assert.equal(calls, 1);
  });
});

describe('buffer pool reuse', () => {
  it('gives a pool back to the next borrower of the same shape only when every buffer is free, for a while', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const first = BufferPool.borrow(4096, 3);
    const buf = await first.acquire();
    first[Symbol.dispose]();
    assert.notEqual(BufferPool.borrow(4096, 3), first, 'a pool with a buffer out is not kept');
    first.release(buf);
    assert.ok(first.idle);
    first[Symbol.dispose]();
    assert.notEqual(BufferPool.borrow(4096, 4), first, 'another shape gets a new pool');
    assert.equal(BufferPool.borrow(4096, 3), first, 'the spare pool is handed out again');
    assert.notEqual(BufferPool.borrow(4096, 3), first, 'and only once');
    first[Symbol.dispose]();
    t.mock.timers.tick(SPARE_MS);
    assert.notEqual(BufferPool.borrow(4096, 3), first, 'a spare is let go after SPARE_MS');
  });
});

describe('checksum thread', () => {
  it('hashes pooled buffers and runs of zeros in order, as one stream', async () => {
    const pool = new BufferPool(MiB, 2);
    await using sum = new Checksummer(['sha256', 'md5', 'sha512']);
    const expected = { sha256: createHash('sha256'), md5: createHash('md5'), sha512: createHash('sha512') };
    const buf = await pool.acquire();
    buf.fill(0x42);
    let released = false;
    sum.update(buf, () => (released = true));
    sum.zeros(3 * MiB + 17);
    for (const h of Object.values(expected)) h.update(buf).update(Buffer.alloc(3 * MiB + 17));
    const got = await sum.digest();
    assert.ok(released, 'the buffer came back');
    for (const [alg, h] of Object.entries(expected)) assert.equal(got[alg as keyof typeof got], h.digest('hex'), alg);
    assert.throws(() => sum.update(Buffer.alloc(10), () => {}), /shared memory/);
  });

  it('without algorithms starts no thread and releases at once', async () => {
    await using sum = new Checksummer([]);
    let released = false;
    sum.update(Buffer.alloc(1), () => (released = true));
    assert.ok(released);
    assert.deepEqual(await sum.digest(), {});
  });
});
