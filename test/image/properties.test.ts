// Property tests: random and mutated headers never make the inspector or the qcow2 reader throw
// anything but their typed errors, never hang, and never read (allocate) beyond their bound.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { UnsafeImage, inspect, parseQcow2Header, readClusterMap, type ImageSource } from '../../src/image/index.js';
import { buildCorpus } from '../helpers/images.js';

/** A buffer-backed source that records the largest single read and the total bytes requested. */
function meteredSource(buf: Buffer, claimedSize = buf.length) {
  const meter = { largest: 0, total: 0 };
  const src: ImageSource = {
    name: 'fuzz',
    size: claimedSize,
    async readAt(offset, length) {
      meter.largest = Math.max(meter.largest, length);
      meter.total += length;
      return buf.subarray(offset, Math.min(buf.length, offset + length));
    },
    async head(length) {
      meter.largest = Math.max(meter.largest, length);
      meter.total += length;
      return buf.subarray(0, length);
    },
    reader: () => ({ read: async () => 0 }),
    [Symbol.asyncDispose]: async () => {},
  };
  return { src, meter };
}

/** The inspector's bound: 64 KiB head, 1 MiB VMDK descriptor, 32 MiB of qcow2 L1, cluster-sized L2s. */
const LARGEST_READ = 32 * 1024 * 1024;

let seeds: Buffer[];
before(async () => {
  const corpus = await buildCorpus();
  try {
    seeds = await Promise.all([...corpus.valid.map((v) => v.path), ...corpus.crafted.map((c) => c.path)].map((p) => readFile(p)));
  } finally {
    await corpus.remove();
  }
  seeds = seeds.map((s) => s.subarray(0, 256 * 1024)).filter((s) => s.length > 0);
});

async function inspectsTyped(buf: Buffer, claimedSize?: number): Promise<void> {
  const { src, meter } = meteredSource(buf, claimedSize);
  const started = Date.now();
  try {
    await inspect(src);
  } catch (e) {
    throw new Error(`inspect threw ${(e as Error).name}: ${(e as Error).message}`);
  }
  assert.ok(Date.now() - started < 2000, 'no hang');
  assert.ok(meter.largest <= LARGEST_READ, `read ${meter.largest} bytes at once`);
}

describe('inspector properties', () => {
  it('random bytes: a verdict, never an exception', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 70_000 }), (bytes) => inspectsTyped(Buffer.from(bytes))), { numRuns: 300 });
  });

  it('mutated headers of every corpus image: a verdict, never an exception, bounded reads', async () => {
    const mutation = fc.record({
      seed: fc.nat(),
      edits: fc.array(fc.record({ at: fc.nat({ max: 4096 }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 12 }),
      claimedSize: fc.option(fc.nat({ max: 2 ** 40 }), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(mutation, async ({ seed, edits, claimedSize }) => {
        const buf = Buffer.from(seeds[seed % seeds.length]!);
        for (const { at, value } of edits) if (at < buf.length) buf[at] = value;
        await inspectsTyped(buf, claimedSize);
      }),
      { numRuns: 1500 },
    );
  });
});

describe('qcow2 reader properties', () => {
  it('mutated qcow2 headers and tables: only typed errors, bounded reads', async () => {
    const qcow2 = seeds.filter((s) => s.readUInt32BE(0) === 0x514649fb && s.readUInt32BE(4) === 3);
    assert.ok(qcow2.length > 0);
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.array(fc.record({ at: fc.nat({ max: 0x30000 }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 16 }), async (seed, edits) => {
        const buf = Buffer.from(qcow2[seed % qcow2.length]!);
        for (const { at, value } of edits) if (at < buf.length) buf[at] = value;
        const { src, meter } = meteredSource(buf);
        try {
          const header = parseQcow2Header(buf.subarray(0, 65536), buf.length);
          const map = await readClusterMap(src, header);
          // The runs come in file order, and never more of them than counted.
          let count = 0;
          let last = -1;
          for (const run of map.runs()) {
            assert.ok(run.host >= last && run.length > 0);
            last = run.host;
            count++;
          }
          assert.equal(count, map.runCount);
        } catch (e) {
          if (!(e instanceof UnsafeImage)) throw e;
        }
        assert.ok(meter.largest <= LARGEST_READ);
        assert.ok(meter.total <= 64 * 1024 * 1024, `read ${meter.total} bytes in all`);
      }),
      { numRuns: 1500 },
    );
  });
});
