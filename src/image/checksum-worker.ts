/**
 * The checksum thread: hashes pool buffers (shared memory, no copy) and runs of zeros, in the order
 * they are posted, so that sha256 over a large image never blocks the event loop.
 */
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import type { ChecksumMessage, ChecksumReply } from './checksum.js';

const hashes = (workerData as { algorithms: string[] }).algorithms.map((a) => createHash(a));
const zeros = Buffer.alloc(1024 * 1024);
const port = parentPort!;

port.on('message', (m: ChecksumMessage) => {
  if (m.op === 'data') {
    const view = Buffer.from(m.memory, m.offset, m.length);
    for (const h of hashes) h.update(view);
    port.postMessage({ op: 'done', id: m.id } satisfies ChecksumReply);
  } else if (m.op === 'zeros') {
    for (let left = m.length; left > 0; left -= zeros.length) {
      const piece = left >= zeros.length ? zeros : zeros.subarray(0, left);
      for (const h of hashes) h.update(piece);
    }
  } else {
    port.postMessage({ op: 'digest', hex: hashes.map((h) => h.digest('hex')) } satisfies ChecksumReply);
  }
});
