// `npm run demo`: builds (installing Ceph when missing), starts the local cluster and runs `rbdctl demo`.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from './build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await build();
const r = spawnSync(process.execPath, [join(root, 'dist', 'src', 'cli', 'main.js'), 'demo', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
