// The qcow2 cluster map: merged runs in file order, in bounded memory.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CorruptImage, fileSource, inspect, readClusterMap } from '../../src/image/index.js';
import { type Corpus, buildCorpus } from '../helpers/images.js';

let corpus: Corpus;
before(async () => {
  corpus = await buildCorpus();
});
after(async () => {
  await corpus.remove();
});

async function mapOf(name: string, limits?: { maxRun?: number; maxRuns?: number }) {
  const v = corpus.valid.find((x) => x.name === name)!;
  await using src = await fileSource(v.path);
  const verdict = await inspect(src);
  return await readClusterMap(src, verdict.qcow2!, limits);
}

describe('qcow2 cluster map', () => {
  it('merges clusters that follow each other in the file and the guest into one run', async () => {
    // holes.raw: 2 MiB of data at 1 MiB and a few bytes at 20 MiB; converted, that is two runs.
    const map = await mapOf('plain.qcow2');
    const runs = [...map.runs()];
    assert.equal(map.runCount, 2);
    assert.deepEqual(runs.map((r) => [r.guest, r.length, r.compressed]), [[1024 * 1024, 2 * 1024 * 1024, false], [20 * 1024 * 1024, 65536, false]]);
    assert.equal(map.dataBytes, 2 * 1024 * 1024 + 65536);
  });

  it('keeps compressed clusters apart, and splits runs at the longest write', async () => {
    const compressed = await mapOf('compressed.qcow2');
    assert.ok(compressed.runCount > 2 && [...compressed.runs()].every((r) => r.compressed));
    const split = await mapOf('plain.qcow2', { maxRun: 512 * 1024 });
    assert.equal(split.runCount, 5);
  });

  it('refuses a map with more separate runs than its bound', async () => {
    await assert.rejects(mapOf('compressed.qcow2', { maxRuns: 10 }), (e: unknown) => e instanceof CorruptImage && e.rule === 'qcow2-too-fragmented');
  });
});
