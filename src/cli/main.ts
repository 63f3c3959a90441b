#!/usr/bin/env node
/**
 * rbdctl: the command line. This file only parses arguments, calls the library and formats.
 * For now it carries the local cluster commands; the driver commands arrive with the CLI issue.
 */
import { parseArgs } from 'node:util';
import { clusterDown, clusterStatus, clusterUp, type ClusterStatus } from '../cluster/local-cluster.js';
import { runDemo } from './demo.js';

const USAGE = `usage: rbdctl demo [--json]
       rbdctl cluster up [--osds N] [--port P] [--dir D] [--json]
       rbdctl cluster down [--purge] [--dir D] [--json]
       rbdctl cluster status [--dir D] [--json]

The local development cluster: one monitor, one manager, N memstore OSDs on 127.0.0.1, cephx on,
pools 'images' and 'vms', users client.admin, client.compute and client.readonly.`;

/** Exit codes (documented in the README). */
const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

class UsageError extends Error {}

function printStatus(s: ClusterStatus): void {
  const lines = [
    `cluster   ${s.running ? 'running' : 'stopped'}`,
    `dir       ${s.dir}`,
    `conf      ${s.conf}`,
    `fsid      ${s.fsid ?? '-'}`,
    `monitor   ${s.monHost ?? '-'}`,
    `pools     ${s.pools.join(', ') || '-'}`,
    ...s.users.map((u, i) => `${i === 0 ? 'users     ' : '          '}${u.name.padEnd(16)} ${u.keyring}`),
    ...s.daemons.map((d, i) => `${i === 0 ? 'daemons   ' : '          '}${d.name.padEnd(6)} ${d.running ? `pid ${d.pid}` : 'not running'}  log ${d.log}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function cluster(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      osds: { type: 'string' },
      port: { type: 'string' },
      dir: { type: 'string' },
      purge: { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  const [sub] = positionals;
  const dir = values.dir;
  const out = (v: unknown) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
  const intArg = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number, got ${JSON.stringify(v)}`);
    return Number(v);
  };
  switch (sub) {
    case 'up': {
      const osds = intArg(values.osds, 'osds');
      const port = intArg(values.port, 'port');
      const log = values.json ? () => {} : (line: string) => process.stderr.write(`${line}\n`);
      const s = await clusterUp({ ...(dir ? { dir } : {}), ...(osds ? { osds } : {}), ...(port ? { port } : {}), log });
      if (values.json) out(s);
      else printStatus(s);
      return EXIT.ok;
    }
    case 'down': {
      const stopped = await clusterDown({ ...(dir ? { dir } : {}), purge: values.purge === true });
      if (values.json) out({ stopped, purged: values.purge === true });
      else process.stdout.write(`stopped: ${stopped.join(', ') || 'nothing was running'}${values.purge ? '; state removed' : ''}\n`);
      return EXIT.ok;
    }
    case 'status': {
      const s = await clusterStatus(dir ? { dir } : {});
      if (values.json) out(s);
      else printStatus(s);
      return s.running ? EXIT.ok : EXIT.failure;
    }
    default:
      throw new UsageError(sub ? `unknown cluster command ${JSON.stringify(sub)}` : 'missing cluster command');
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  if (command === 'cluster') return cluster(rest);
  if (command === 'demo') {
    const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' } } });
    const started = performance.now();
    const steps = await runDemo(values.json ? () => {} : (line) => process.stdout.write(`${line}\n`));
    const total = performance.now() - started;
    if (values.json) process.stdout.write(`${JSON.stringify({ steps, totalMs: total }, null, 2)}\n`);
    else process.stdout.write(`\ndemo finished in ${(total / 1000).toFixed(1)} s: ${steps.length} steps, nothing left in the pools\n`);
    return EXIT.ok;
  }
  throw new UsageError(`unknown command ${JSON.stringify(command)}`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const usage = e instanceof UsageError || (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'));
    process.stderr.write(`rbdctl: ${e instanceof Error ? e.message : String(e)}\n${usage ? `${USAGE}\n` : ''}`);
    process.exit(usage ? EXIT.usage : EXIT.failure);
  },
);
