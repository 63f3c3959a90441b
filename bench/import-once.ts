/**
 * One import through the library, as a control plane runs it: the driver is connected first, then
 * only `importImage` is timed. Prints `{"seconds": …}`. Used by bench/import.ts.
 * argv: conf file format name [--hash ALG] [--second]
 * `--second` first imports (and removes) the same file once, then times the second import: the
 * steady state of a process that imports one image after another (its buffers already mapped).
 */
import { parseArgs } from 'node:util';
import { RbdDriver } from '../src/driver/index.js';
import type { HashAlgorithm, ImageFormat } from '../src/image/index.js';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { hash: { type: 'string' }, second: { type: 'boolean' } } });
const [conf, file, format, name] = positionals;
const options = { format: format as ImageFormat, ...(values.hash ? { hashes: [values.hash as HashAlgorithm] } : {}) };
await using driver = await RbdDriver.connect({ conf: conf!, user: 'admin', pool: 'vms' });
if (values.second) {
  await driver.importImage(file!, `${name!}-first`, options);
  await driver.removeImage(`${name!}-first`);
}
const t = performance.now();
await driver.importImage(file!, name!, options);
process.stdout.write(JSON.stringify({ seconds: (performance.now() - t) / 1000 }));
