/**
 * What a person or a script sees: IEC sizes, aligned tables, JSON, one-line errors and the
 * documented exit codes.
 */
import { CephError, NotFound, PermissionDenied, ImageBusy, ImageHasSnapshots, Timeout, ConnectionShutdown, OperationCanceled, InvalidArgument } from '../ceph/index.js';
import { CleanupFailed, ImageUnacceptable, VolumeBusy } from '../driver/index.js';
import { UsageError } from './args.js';
import { ChecksumMismatch, UnsafeImage } from '../image/index.js';

/** Exit codes, documented in the README. */
export const EXIT = { ok: 0, failure: 1, usage: 2, notFound: 3, permission: 4, busy: 5, unsafe: 6, timeout: 7, interrupted: 130 } as const;

/** `1.5 GiB`, `512 B`. */
export function iec(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

/** Left-aligned columns separated by two spaces; numbers right-aligned when a column says so. */
export function columns(header: readonly string[], rows: readonly (readonly string[])[], right: readonly number[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: readonly string[]) =>
    cells.map((c, i) => (right.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [fmt(header), ...rows.map(fmt)].join('\n');
}

/** Mismatched-image reasons (exit 6) as opposed to malformed input (exit 2). */
const MISMATCH = new Set(['fsid', 'unprotected', 'clone-depth']);

/** The exit code for an error. */
export function exitCodeFor(e: unknown, interrupted: boolean): number {
  if (interrupted && e instanceof OperationCanceled) return EXIT.interrupted;
  if (e instanceof UsageError) return EXIT.usage;
  if (e instanceof ImageUnacceptable) return MISMATCH.has(e.reason) ? EXIT.unsafe : EXIT.usage;
  if (e instanceof UnsafeImage || e instanceof ChecksumMismatch) return EXIT.unsafe;
  if (e instanceof InvalidArgument) return EXIT.usage;
  if (e instanceof NotFound) return EXIT.notFound;
  if (e instanceof PermissionDenied) return EXIT.permission;
  if (e instanceof VolumeBusy || e instanceof ImageBusy || e instanceof ImageHasSnapshots) return EXIT.busy;
  if (e instanceof CleanupFailed) return e.failures.every((f) => f.error instanceof ImageBusy) ? EXIT.busy : EXIT.failure;
  if (e instanceof Timeout || e instanceof ConnectionShutdown) return EXIT.timeout;
  if (e instanceof OperationCanceled) return EXIT.interrupted;
  return EXIT.failure;
}

/** What to do about an error, in a few words. */
export function hintFor(e: unknown): string {
  if (e instanceof PermissionDenied) return `check the caps of ${e.user ?? 'the user'} (ceph auth get ${e.user ?? 'client.NAME'})`;
  if (e instanceof VolumeBusy && e.snapshots.length > 0) return 'snapshots block it: remove them (`rbdctl snap rm --force`; their clones first) or use --purge-snapshots';
  if (e instanceof VolumeBusy) return 'a client still has it open: stop it, or wait for its watch to time out, or use --trash';
  if (e instanceof ImageBusy) return 'a client has it open or it has clones; see `rbdctl info`';
  if (e instanceof ImageHasSnapshots) return 'remove its snapshots first (`rbdctl snap ls`), or use `rbdctl destroy --purge-snapshots`';
  if (e instanceof Timeout || e instanceof ConnectionShutdown) return 'is the cluster reachable? try `rbdctl doctor`';
  if (e instanceof NotFound) return 'check the name with `rbdctl ls`';
  if (e instanceof ChecksumMismatch) return 'nothing was left in the pool; check the file and the expected checksum';
  if (e instanceof UnsafeImage) return 'nothing was created; `rbdctl inspect FILE` shows the verdict';
  if (e instanceof UsageError) return 'see `rbdctl --help`';
  return '';
}

/** A JSON-safe copy of an error for `--json` output. */
export function errorJson(e: unknown, exitCode: number): Record<string, unknown> {
  const base: Record<string, unknown> = { name: e instanceof Error ? e.name : 'Error', message: e instanceof Error ? e.message : String(e), exitCode };
  if (e instanceof CephError) {
    for (const k of ['code', 'errno', 'op', 'pool', 'namespace', 'image', 'snapshot', 'user', 'retryable'] as const) if (e[k] !== undefined) base[k] = e[k];
  }
  if (e instanceof VolumeBusy) Object.assign(base, { watchers: e.watchers.map((w) => w.address), snapshots: e.snapshots, attempts: e.attempts });
  if (e instanceof CleanupFailed) base['failures'] = e.failures.map((f) => ({ name: f.name, code: f.error.code, message: f.error.message }));
  if (e instanceof ImageUnacceptable) base['reason'] = e.reason;
  if (e instanceof UnsafeImage) base['rule'] = e.rule;
  return base;
}

/** JSON with bigints as strings. */
export function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), 2);
}
