// The one test command: builds, starts the local cluster (installing Ceph when missing), and
// runs every test with Node's test runner. Exits non-zero when anything fails, including the
// cluster not starting.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from './build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

await build();
// Nova's driver and Ceph's python binding: the behaviour test runs the same scenario through Nova.
const { ensurePackages, PYTHON_BINDING_PACKAGES, NOVA_PACKAGES } = await import('../dist/src/cluster/packages.js');
await ensurePackages([...PYTHON_BINDING_PACKAGES, ...NOVA_PACKAGES], (line) => console.log(line));
const { clusterUp } = await import('../dist/src/cluster/local-cluster.js');
const started = Date.now();
let clusterDir;
try {
  const status = await clusterUp({ log: (line) => console.log(`cluster: ${line}`) });
  clusterDir = status.dir;
  console.log(`cluster: ready in ${Date.now() - started} ms (conf ${status.conf})`);
} catch (e) {
  console.error(`cluster failed to start: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}
// Node 20's runner would also run helpers if given the directory: list the test files.
const testDir = join(root, 'dist', 'test');
const all = readdirSync(testDir, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.js'))
  .sort()
  .map((f) => join('dist', 'test', f));
const files = process.argv.length > 2 ? process.argv.slice(2) : all;
// Logs of this run only: the secrets scan below reads every line of them.
const logDir = join(clusterDir, 'test-logs');
rmSync(logDir, { recursive: true, force: true });
mkdirSync(logDir, { recursive: true });
const child = spawn(process.execPath, ['--test', '--test-reporter=spec', ...files], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
const output = [];
for (const [from, to] of [[child.stdout, process.stdout], [child.stderr, process.stderr]]) {
  from.on('data', (chunk) => {
    output.push(chunk);
    to.write(chunk);
  });
}
const status = await new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
writeFileSync(join(logDir, 'runner-output.log'), Buffer.concat(output));

// Secrets never appear in logs, errors or test output: grep all of it for every cluster key.
const keys = readdirSync(clusterDir, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('keyring'))
  .flatMap((f) => [...readFileSync(join(clusterDir, f), 'utf8').matchAll(/key\s*=\s*(\S+)/g)].map((m) => m[1]));
let lines = 0;
const leaks = [];
for (const f of readdirSync(logDir)) {
  const text = readFileSync(join(logDir, f), 'utf8');
  lines += text.split('\n').length;
  for (const key of keys) if (text.includes(key) || text.includes(key.slice(0, 24))) leaks.push(f);
}
if (keys.length === 0) {
  console.error('secrets scan: no keys found to look for');
  process.exit(1);
}
if (leaks.length > 0) {
  console.error(`secrets scan: a key appears in ${[...new Set(leaks)].join(', ')}`);
  process.exit(1);
}
console.log(`secrets scan: ${lines} lines of logs and test output checked for ${keys.length} keys: none found`);
process.exit(status);
