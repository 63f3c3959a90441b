// The README's TypeScript samples, run as a newcomer would paste them: transpiled by TypeScript,
// importing 'rbdctl' (the package itself), against the local cluster. They cannot rot.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { localCluster } from './helpers/cluster.js';
import { rbdctl } from './helpers/cli.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const samples = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe('README samples', () => {
  it('has samples for the driver, the pipeline and the typed API', () => {
    assert.ok(samples.length >= 3, `found ${samples.length}`);
  });

  samples.forEach((code, i) => {
    it(`sample ${i + 1} runs: ${code.split('\n')[0]}`, async () => {
      await localCluster();
      for (const leftover of ['vms/readme-instance-disk', 'images/readme-golden', 'vms/readme-scratch']) await rbdctl(['destroy', leftover, '--purge-snapshots']);
      const js = ts.transpileModule(code, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
      const dir = join(root, 'dist', 'readme-samples');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `sample-${i + 1}.mjs`);
      writeFileSync(file, js);
      const r = spawnSync(process.execPath, [file], { encoding: 'utf8', cwd: root, timeout: 120_000 });
      assert.equal(r.status, 0, `sample ${i + 1} failed:\n${r.stderr}`);
      if (code.includes('format-mismatch')) assert.match(r.stdout, /qcow2 format-mismatch/);
      if (code.includes('ENOENT rbd_open')) assert.match(r.stdout, /true ENOENT rbd_open/);
      if (code.includes("'removed' 1")) assert.match(r.stdout, /removed 1 \[ 'before-upgrade' \]/);
    });
  });
});
