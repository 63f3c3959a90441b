/**
 * One import through the library, as a control plane runs it: the driver is connected first, then
 * only `importImage` is timed. Prints `{"seconds": …}`. Used by bench/import.ts.
 * argv: conf file format name [hash-algorithm]
 */
import { RbdDriver } from '../src/driver/index.js';
import type { HashAlgorithm, ImageFormat } from '../src/image/index.js';

const [conf, file, format, name, hash] = process.argv.slice(2);
await using driver = await RbdDriver.connect({ conf: conf!, user: 'admin', pool: 'vms' });
const t = performance.now();
await driver.importImage(file!, name!, { format: format as ImageFormat, ...(hash ? { hashes: [hash as HashAlgorithm] } : {}) });
process.stdout.write(JSON.stringify({ seconds: (performance.now() - t) / 1000 }));
