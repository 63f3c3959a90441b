#!/usr/bin/env node
/**
 * rbdctl: parses, calls the library, formats. Nothing else happens here.
 */
import { parseArgs } from 'node:util';
import { GLOBAL_OPTIONS, UsageError, cephArgsFromEnv } from './args.js';
import { type Command, CommandContext, type Globals } from './context.js';
import { clusterCommands } from './commands/cluster.js';
import { imageCommands } from './commands/images.js';
import { snapCommand } from './commands/snap.js';
import { transferCommands } from './commands/transfer.js';
import { EXIT, errorJson, exitCodeFor, hintFor, toJson } from './output.js';

const COMMANDS: Command[] = [...clusterCommands.filter((c) => c.name === 'cluster' || c.name === 'doctor'), ...imageCommands, snapCommand, ...transferCommands, ...clusterCommands.filter((c) => c.name !== 'cluster' && c.name !== 'doctor')];

const CONNECTION_HELP = `Connection (as Ceph's tools; CEPH_CONF and CEPH_ARGS are honoured):
  -c, --conf PATH      ceph.conf (default: CEPH_CONF, else the local cluster when it runs, else /etc/ceph/ceph.conf)
  --id, --user NAME    Ceph user (default admin)
  -k, --keyring PATH   keyring file
  -p, --pool POOL      default pool (default: vms on the local cluster, else rbd)
  --connect-timeout S  give up connecting after S seconds (default 10)
  --namespace NS       RADOS namespace
Output:
  --json               machine-readable output on stdout (errors too)
  --progress           progress bars even when stderr is not a terminal
  --debug              stack traces and debug logs
Exit codes: 0 ok, 1 failure, 2 bad usage or input, 3 not found, 4 permission denied, 5 busy,
            6 unsafe or mismatched image, 7 timeout or cluster unreachable, 130 interrupted`;

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.usage.split(' ')[0]!.length));
  return `usage: rbdctl COMMAND [ARGS] [OPTIONS]\n\nCommands:\n${COMMANDS.map((c) => `  ${c.name.padEnd(width + 2)}${c.summary}\n  ${' '.repeat(width + 2)}rbdctl ${c.usage}`).join('\n')}\n\n${CONNECTION_HELP}`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  const json = rest.includes('--json');
  if (!command) return fail(new UsageError(`unknown command ${JSON.stringify(name)}`), json, false, false);

  const controller = new AbortController();
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(EXIT.interrupted); // a second Ctrl-C does not wait for cleanup
    interrupted = true;
    process.stderr.write('\ninterrupted: canceling and cleaning up (Ctrl-C again to quit now)\n');
    controller.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSigint);

  let ctx: CommandContext | undefined;
  let debug = false;
  try {
    const { values, positionals } = parseArgs({ args: [...cephArgsFromEnv(), ...rest], allowPositionals: true, options: { ...GLOBAL_OPTIONS, ...command.options } });
    debug = values.debug === true;
    if (values.help) {
      process.stdout.write(`rbdctl ${command.usage}\n  ${command.summary}\n\n${CONNECTION_HELP}\n`);
      return EXIT.ok;
    }
    ctx = new CommandContext(values as Globals, controller.signal);
    const result = await command.run(ctx, positionals, values as Record<string, string | boolean | undefined>);
    if (ctx.json) process.stdout.write(`${toJson(result)}\n`);
    else if (command.human) {
      const text = command.human(result as never);
      if (text) process.stdout.write(`${text}\n`);
    }
    return command.exitCode ? command.exitCode(result as never) : EXIT.ok;
  } catch (e) {
    ctx?.endProgress();
    const usageError = e instanceof TypeError && 'code' in e && String((e as { code: unknown }).code).startsWith('ERR_PARSE_ARGS');
    return fail(usageError ? new UsageError((e as Error).message) : e, json, debug, interrupted);
  } finally {
    await ctx?.close().catch(() => undefined);
    process.off('SIGINT', onSigint);
  }
}

function fail(e: unknown, json: boolean, debug: boolean, interrupted: boolean): number {
  const code = exitCodeFor(e, interrupted);
  if (json) process.stdout.write(`${toJson({ error: errorJson(e, code) })}\n`);
  const message = e instanceof Error ? e.message : String(e);
  const hint = hintFor(e);
  process.stderr.write(`rbdctl: ${message}${hint ? `\n  hint: ${hint}` : ''}\n`);
  if (debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  return code;
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
