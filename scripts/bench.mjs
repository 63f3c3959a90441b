// `npm run bench`: builds, installs the peers (python3-rbd, python3-nova) when missing, starts the
// local cluster and runs every benchmark in bench/, side by side with the peers, in one run.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from './build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await build();
const { ensurePackages, PYTHON_BINDING_PACKAGES, NOVA_PACKAGES } = await import('../dist/src/cluster/packages.js');
await ensurePackages([...PYTHON_BINDING_PACKAGES, ...NOVA_PACKAGES], (line) => console.log(line));
const { clusterUp } = await import('../dist/src/cluster/local-cluster.js');
await clusterUp({ log: (line) => console.log(`cluster: ${line}`) });
// librbd calls that block (clone, open, remove) each hold a libuv worker: size the pool to the concurrency.
const env = { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '16' };
for (const bench of ['latency', 'storm', 'import']) {
  const r = spawnSync(process.execPath, [join(root, 'dist', 'bench', `${bench}.js`)], { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
