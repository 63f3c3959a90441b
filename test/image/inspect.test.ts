// The inspector against the generated corpus: every crafted image refused by its rule, every
// valid one passed with its format and size. Pure: no cluster.
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { UnsafeImage, assertSafe, inspect } from '../../src/image/index.js';
import { type Corpus, buildCorpus } from '../helpers/images.js';

let corpus: Corpus;
before(async () => {
  corpus = await buildCorpus();
});
after(() => corpus.remove());

describe('inspect: crafted images are refused, each by its rule', () => {
  it('refuses every crafted image with the right rule and error class', async () => {
    assert.ok(corpus.crafted.length >= 19);
    for (const c of corpus.crafted) {
      const r = await inspect(c.path, { ...(c.declared ? { declared: c.declared } : {}), maxVirtualSize: 2 ** 40 });
      assert.ok(r.refusal, `${c.name} was not refused`);
      assert.equal(r.refusal.rule, c.rule, `${c.name}: ${r.refusal.message}`);
      assert.equal(r.refusal.error.name, c.errorName, c.name);
      assert.throws(() => assertSafe(r), (e: unknown) => e instanceof UnsafeImage && e.rule === c.rule);
    }
  });

  it('lets the dirty bit through (byte 0x4f = 0x01), as the reference says', async () => {
    const { patchFile } = await import('../helpers/patch.js');
    const dirty = await patchFile(corpus.valid.find((v) => v.name === 'plain.qcow2')!.path, [[0x4f, [0x01]]]);
    assert.equal((await inspect(dirty, { declared: 'qcow2' })).refusal, null);
  });
});

describe('inspect: valid images pass', () => {
  it('reports format, virtual size and data size', async () => {
    for (const v of corpus.valid) {
      const r = await inspect(v.path, { declared: v.format });
      assert.equal(r.refusal, null, `${v.name}: ${r.refusal?.message}`);
      assert.equal(r.format, v.format);
      if (v.format === 'raw' || v.format === 'qcow2' || v.format === 'vmdk') assert.equal(r.virtualSize, (await stat(v.raw)).size, v.name);
    }
    const q = await inspect(corpus.valid.find((v) => v.name === 'plain.qcow2')!.path);
    assert.ok(q.dataSize! < 8 * 1024 * 1024, 'only allocated clusters count as data');
  });

  it('inspects a Buffer too, and a raw disk with an MBR', async () => {
    const mbr = Buffer.alloc(1024 * 1024);
    mbr[446] = 0x80;
    mbr[446 + 4] = 0x83;
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    const r = await inspect(mbr, { declared: 'raw' });
    assert.equal(r.refusal, null);
    assert.equal(r.partitionTable, 'mbr');
    mbr[446] = 0x12;
    assert.equal((await inspect(mbr)).refusal?.rule, 'mbr-boot-flag');
  });
});
