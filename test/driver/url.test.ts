// rbd:// parsing: strict, decoded once, validated after decoding. Pure.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ImageUnacceptable, formatRbdUrl, parseRbdUrl } from '../../src/driver/url.js';

const FSID = 'a5008504-e93e-41fb-88c8-1c4868b496ea';

describe('parseRbdUrl', () => {
  it("parses Glance's four-piece form", () => {
    assert.deepEqual(parseRbdUrl(`rbd://${FSID}/images/ubuntu/snap`), { fsid: FSID, pool: 'images', namespace: '', image: 'ubuntu', snapshot: 'snap' });
  });

  it('parses the five-piece namespace form', () => {
    assert.deepEqual(parseRbdUrl(`rbd://${FSID}/images/tenant-a/ubuntu/snap`), { fsid: FSID, pool: 'images', namespace: 'tenant-a', image: 'ubuntu', snapshot: 'snap' });
  });

  it('decodes exactly once', () => {
    assert.equal(parseRbdUrl(`rbd://${FSID}/images/a%20b/snap`).image, 'a b');
    assert.equal(parseRbdUrl(`rbd://${FSID}/images/a%2541/snap`).image, 'a%41');
  });

  const refusals: [string, string][] = [
    ['http://x/images/a/b', 'scheme'],
    [`rbd://${FSID}/images/a`, 'pieces'],
    [`rbd://${FSID}/a/b/c/d/e`, 'pieces'],
    [`rbd://not-a-uuid/images/a/snap`, 'fsid'],
    [`rbd://${FSID}//a/snap`, 'pool'],
    [`rbd://${FSID}/images/a%2Fb/snap`, 'image'],
    [`rbd://${FSID}/images/a%40b/snap`, 'image'],
    [`rbd://${FSID}/images/a%00b/snap`, 'image'],
    [`rbd://${FSID}/images/a%0Ab/snap`, 'image'],
    [`rbd://${FSID}/images/-rf/snap`, 'image'],
    [`rbd://${FSID}/images/a/%2Dsnap`, 'snapshot'],
    [`rbd://${FSID}/images/${'x'.repeat(97)}/snap`, 'image'],
    [`rbd://${FSID}/images/a/%E0%A4%A`, 'encoding'],
    [`rbd://${FSID}/images/ns%2Fx/a/snap`, 'namespace'],
  ];
  for (const [url, reason] of refusals) {
    it(`refuses ${JSON.stringify(url.slice(0, 60))} (${reason})`, () => {
      assert.throws(() => parseRbdUrl(url), (e: unknown) => e instanceof ImageUnacceptable && e.reason === reason && e.code === 'EINVAL');
    });
  }

  it('never throws anything but ImageUnacceptable, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        for (const candidate of [s, `rbd://${s}`, `rbd://${FSID}/${s}`, `rbd://${FSID}/p/${s}/snap`]) {
          try {
            parseRbdUrl(candidate);
          } catch (e) {
            if (!(e instanceof ImageUnacceptable)) throw e;
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips every valid location through format and parse', () => {
    const piece = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter((p) => !/[/@\u0000-\u001f\u007f]/.test(p) && !p.startsWith('-') && Buffer.byteLength(p) <= 96);
    fc.assert(
      fc.property(piece, fc.option(piece, { nil: '' }), piece, piece, (pool, namespace, image, snapshot) => {
        const loc = { fsid: FSID, pool, namespace, image, snapshot };
        assert.deepEqual(parseRbdUrl(formatRbdUrl(loc)), loc);
      }),
      { numRuns: 500 },
    );
  });
});
