// Builds the TypeScript and the native addon. The addon needs librados-dev and librbd-dev:
// when they are missing this installs them as root (apt), or says which to install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build failed: ${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
    process.exit(r.status ?? 1);
  }
}

export async function build() {
  run(bin('tsc'), ['-p', 'tsconfig.json']);
  const { ensurePackages, CLUSTER_PACKAGES } = await import('../dist/src/cluster/packages.js');
  await ensurePackages(CLUSTER_PACKAGES, (line) => console.log(line));
  // Build against the machine's Node headers when present: no header download is needed.
  const nodedir = existsSync('/usr/include/node/node_api.h') ? ['--nodedir=/usr'] : [];
  run(bin('node-gyp'), ['rebuild', '--directory', 'native', ...nodedir]);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  build().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
