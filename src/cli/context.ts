/**
 * What a command works with: the resolved connection settings, a lazily connected driver,
 * the interrupt signal, progress bars.
 */
import type { ParseArgsConfig } from 'node:util';
import { clusterStatus } from '../cluster/local-cluster.js';
import { RbdDriver } from '../driver/index.js';
import { type ImageSpec, UsageError } from './args.js';
import { ProgressBar } from './progress.js';

export interface Globals {
  conf?: string | undefined;
  id?: string | undefined;
  user?: string | undefined;
  keyring?: string | undefined;
  pool?: string | undefined;
  namespace?: string | undefined;
  'connect-timeout'?: string | undefined;
  json?: boolean | undefined;
  progress?: boolean | undefined;
  debug?: boolean | undefined;
}

export type OptionValues = Record<string, string | boolean | undefined>;

/** One subcommand. */
export interface Command {
  name: string;
  usage: string;
  summary: string;
  options?: NonNullable<ParseArgsConfig['options']>;
  /** Returns what `--json` prints. */
  run(ctx: CommandContext, args: string[], opts: OptionValues): Promise<unknown>;
  /** The human form of the result; default: nothing beyond what the command printed. */
  human?(result: never): string;
  /** Exit code for a successful result (default 0), e.g. `exists` answering no. */
  exitCode?(result: never): number;
}

export class CommandContext {
  #drivers = new Map<string, Promise<RbdDriver>>();
  #local: Promise<{ conf: string } | null> | undefined;
  readonly #bars: ProgressBar[] = [];

  constructor(
    readonly globals: Globals,
    readonly signal: AbortSignal,
  ) {}

  get json(): boolean {
    return this.globals.json === true;
  }

  /** Progress on a terminal, or anywhere with --progress; never in --json mode unless --progress. */
  progress(label: string, bytes: boolean): ProgressBar {
    const on = this.globals.progress === true || (!this.json && process.stderr.isTTY === true);
    const bar = new ProgressBar(label, on, bytes);
    this.#bars.push(bar);
    return bar;
  }

  /** Ends any bar still drawn (a command that failed midway), so that the error starts on its own line. */
  endProgress(): void {
    for (const bar of this.#bars) bar.done();
  }

  /** A line for a person, on stderr, unless --json. */
  say(line: string): void {
    if (!this.json) process.stderr.write(`${line}\n`);
  }

  /** The local cluster, when neither --conf nor CEPH_CONF says otherwise and it runs. */
  #localCluster(): Promise<{ conf: string } | null> {
    this.#local ??= (async () => {
      if (this.globals.conf || process.env['CEPH_CONF']) return null;
      const s = await clusterStatus();
      return s.running ? { conf: s.conf } : null;
    })();
    return this.#local;
  }

  /** Connection settings in force: flags, then CEPH_CONF, then the local cluster, then /etc/ceph. */
  async connection(): Promise<{ conf: string; user: string; keyring?: string; local: boolean }> {
    const local = await this.#localCluster();
    const conf = this.globals.conf ?? process.env['CEPH_CONF'] ?? local?.conf ?? '/etc/ceph/ceph.conf';
    const user = this.globals.id ?? this.globals.user ?? 'admin';
    return { conf, user, ...(this.globals.keyring ? { keyring: this.globals.keyring } : {}), local: local !== null };
  }

  /** --connect-timeout in ms, when given. */
  connectTimeoutMs(): number | undefined {
    const v = this.globals['connect-timeout'];
    if (v === undefined) return undefined;
    if (!/^\d+(\.\d+)?$/.test(v) || Number(v) <= 0) throw new UsageError(`--connect-timeout must be a number of seconds, got ${JSON.stringify(v)}`);
    return Number(v) * 1000;
  }

  /** The default pool: --pool, else `vms` on the local cluster, else `rbd`. */
  async defaultPool(): Promise<string> {
    if (this.globals.pool) return this.globals.pool;
    return (await this.connection()).local ? 'vms' : 'rbd';
  }

  /** Placement of an image spec: its own pool/namespace, else the flags. */
  async placement(spec: Pick<ImageSpec, 'pool' | 'namespace'>): Promise<{ pool: string; namespace: string }> {
    return { pool: spec.pool ?? (await this.defaultPool()), namespace: spec.namespace ?? this.globals.namespace ?? '' };
  }

  /** A driver for `pool` (connected once per pool). */
  driver(pool?: string): Promise<RbdDriver> {
    const key = pool ?? '';
    let d = this.#drivers.get(key);
    if (!d) {
      d = (async () => {
        const c = await this.connection();
        return RbdDriver.connect({
          conf: c.conf,
          user: c.user,
          ...(c.keyring ? { keyring: c.keyring } : {}),
          ...(pool ? { pool } : {}),
          ...(this.globals.namespace ? { namespace: this.globals.namespace } : {}),
          ...(this.globals.debug ? { logger: { level: 'debug' } } : {}),
          ...(this.connectTimeoutMs() ? { timeouts: { connectMs: this.connectTimeoutMs()! } } : {}),
        });
      })();
      this.#drivers.set(key, d);
    }
    return d;
  }

  async close(): Promise<void> {
    for (const d of this.#drivers.values()) await (await d.catch(() => null))?.close();
  }
}
