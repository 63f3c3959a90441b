/**
 * Destroying volumes: bounded, observable retries past Ceph's watcher timeout; snapshots the
 * driver made are removed; the final failure names what blocked it; optionally the image goes to
 * the trash rather than staying in the pool. Cleanup destroys many with bounded concurrency.
 */
import { CephError, Image, ImageBusy, ImageHasSnapshots, ImageNotFound, type IoCtx, Rbd, type Watcher } from '../ceph/index.js';
import { Errno } from '../ceph/errno.js';
import { audit } from './logging.js';
import { type DriverContext, type Placement, place } from './context.js';
import { type RetryEvent, type RetryPolicy, retryDelay, retryPolicy, waitOrAbort } from './retry.js';

/** Image metadata key marking a snapshot the driver made (value: when). */
export const SNAP_MARK = 'rbdctl.snapshot.';

/** Options for {@link destroyVolume}. */
export interface DestroyOptions extends Placement {
  retry?: Partial<RetryPolicy>;
  /** Also remove every unprotected snapshot, not only the driver's own. */
  purgeSnapshots?: boolean;
  /** When retries run out, move the image to the trash instead of leaving it in the pool. */
  trashOnFailure?: boolean;
  /** Told before each wait: what failed and when the next attempt is. */
  onRetry?: (event: RetryEvent & { watchers: Watcher[] }) => void;
  signal?: AbortSignal;
}

/** What {@link destroyVolume} did. */
export interface DestroyResult {
  name: string;
  outcome: 'removed' | 'absent' | 'trashed';
  attempts: number;
  snapshotsRemoved: string[];
  /** The trash id when `outcome` is `trashed`. */
  trashId?: string;
}

/** Retries ran out: the image is still in the pool. Lists what blocked it. */
export class VolumeBusy extends ImageBusy {
  override name = 'VolumeBusy';
  constructor(
    message: string,
    ctx: { pool: string; namespace?: string; image: string; user: string },
    readonly attempts: number,
    readonly watchers: Watcher[],
    readonly snapshots: string[],
    cause: unknown,
  ) {
    super(message, Errno.EBUSY, { op: 'destroyVolume', ...ctx }, { cause });
  }
}

async function watchersOf(io: IoCtx, name: string): Promise<Watcher[]> {
  try {
    await using img = await Image.open(io, name, { readOnly: true });
    return await img.watchers();
  } catch {
    return []; // gone meanwhile, or unreadable: the next attempt says which
  }
}

/** Removes snapshots the driver made (and, with `all`, every unprotected one); returns their names. */
async function removeOwnSnapshots(io: IoCtx, name: string, all: boolean): Promise<{ removed: string[]; left: string[] }> {
  await using img = await Image.open(io, name);
  const removed: string[] = [];
  const left: string[] = [];
  for (const s of await img.listSnapshots()) {
    const ours = (await img.getMetadata(`${SNAP_MARK}${s.name}`)) !== null;
    const removable = ours || (all && !(await img.isSnapshotProtected(s.name)));
    if (!removable) {
      left.push(s.name);
      continue;
    }
    try {
      await img.removeSnapshot(s.name, { force: ours });
    } catch (e) {
      // A snapshot with clones cannot go; it is reported as what blocked the destroy.
      if (!(e instanceof ImageBusy)) throw e;
      left.push(s.name);
      continue;
    }
    if (ours) await img.removeMetadata(`${SNAP_MARK}${s.name}`);
    removed.push(s.name);
  }
  return { removed, left };
}

/** Destroys `name`; see the module doc. Never loops forever: attempts and an overall deadline bound it. */
export async function destroyVolume(ctx: DriverContext, name: string, options: DestroyOptions = {}): Promise<DestroyResult> {
  const policy = retryPolicy({ ...ctx.retry, ...options.retry });
  const { pool, namespace } = place(ctx, options);
  const where = { pool, ...(namespace ? { namespace } : {}), image: name, user: ctx.conn.user };
  const io = await ctx.conn.ioctx(pool, namespace);
  const started = Date.now();
  const snapshotsRemoved: string[] = [];
  let snapshotsLeft: string[] = [];
  let watchers: Watcher[] = [];
  let lastError: unknown;
  let attempt = 0;
  let snapshotsTried = false;
  while (attempt < policy.attempts) {
    attempt++;
    try {
      await Rbd.remove(io, name);
      audit(ctx.log, { action: 'destroy', ...where, outcome: 'removed', attempts: attempt, snapshotsRemoved });
      return { name, outcome: 'removed', attempts: attempt, snapshotsRemoved };
    } catch (e) {
      lastError = e;
      if (e instanceof ImageNotFound) {
        audit(ctx.log, { action: 'destroy', ...where, outcome: 'absent', attempts: attempt });
        return { name, outcome: 'absent', attempts: attempt, snapshotsRemoved };
      }
      if (e instanceof ImageHasSnapshots && !snapshotsTried) {
        snapshotsTried = true;
        const r = await removeOwnSnapshots(io, name, options.purgeSnapshots === true);
        snapshotsRemoved.push(...r.removed);
        snapshotsLeft = r.left;
        if (r.left.length > 0) break; // someone else's snapshots (or ones with clones) do not go away by waiting
        attempt--; // removing our own snapshots is part of this attempt, not a retry
        continue;
      }
      if (e instanceof ImageHasSnapshots) break;
      if (!(e instanceof ImageBusy)) throw e;
      watchers = await watchersOf(io, name);
      const wait = retryDelay(policy, attempt);
      if (attempt >= policy.attempts || Date.now() - started + wait > policy.deadlineMs) break;
      ctx.log.warn({ ...where, attempt, delayMs: wait, watchers: watchers.map((w) => w.address) }, 'volume busy; retrying');
      options.onRetry?.({ attempt, delayMs: wait, error: e, watchers });
      await waitOrAbort(wait, options.signal, 'destroyVolume');
    }
  }
  const blockers = [
    watchers.length ? `watchers ${watchers.map((w) => w.address).join(', ')}` : '',
    snapshotsLeft.length ? `snapshots ${snapshotsLeft.join(', ')}` : '',
  ].filter(Boolean).join('; ');
  if (options.trashOnFailure) {
    await Rbd.trashMove(io, name);
    const entry = (await Rbd.trashList(io)).find((t) => t.name === name);
    audit(ctx.log, { action: 'destroy', ...where, outcome: 'trashed', attempts: attempt, blockers });
    return { name, outcome: 'trashed', attempts: attempt, snapshotsRemoved, ...(entry ? { trashId: entry.id } : {}) };
  }
  audit(ctx.log, { action: 'destroy', ...where, outcome: 'failed', attempts: attempt, blockers });
  throw new VolumeBusy(
    `could not destroy ${pool}/${name} after ${attempt} attempt(s) in ${Math.round((Date.now() - started) / 1000)} s: ${blockers || (lastError as Error).message}`,
    where,
    attempt,
    watchers,
    snapshotsLeft,
    lastError,
  );
}

/** Which volumes {@link cleanupVolumes} destroys: a predicate on the name, or a name prefix. */
export type VolumeFilter = ((name: string) => boolean) | { prefix: string };

/** Per-volume outcome of a cleanup. */
export type CleanupEntry = (DestroyResult & { ok: true }) | { name: string; ok: false; error: CephError };

/** Some volumes could not be removed; `report` has every volume, `failures` the ones left. */
export class CleanupFailed extends CephError {
  override name = 'CleanupFailed';
  constructor(
    readonly report: CleanupEntry[],
    readonly failures: { name: string; error: CephError }[],
    pool: string,
  ) {
    super(`cleanup left ${failures.length} volume(s) in ${pool}: ${failures.map((f) => f.name).join(', ')}`, undefined, { op: 'cleanupVolumes', pool });
  }
}

/** Options for {@link cleanupVolumes}. */
export interface CleanupOptions extends Omit<DestroyOptions, 'onRetry'> {
  /** Volumes destroyed at once (default 8). */
  concurrency?: number;
  /** Called as each volume finishes. */
  onProgress?: (p: { done: number; total: number; entry: CleanupEntry }) => void;
}

/**
 * Destroys every volume of the pool matching `filter`, at most `concurrency` at once. One failure never
 * stops the others. Returns the report; throws {@link CleanupFailed} naming every volume left.
 */
export async function cleanupVolumes(ctx: DriverContext, filter: VolumeFilter, options: CleanupOptions = {}): Promise<CleanupEntry[]> {
  const concurrency = options.concurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new CephError('concurrency must be an integer 1..256', Errno.EINVAL, { op: 'cleanupVolumes' });
  const match = typeof filter === 'function' ? filter : typeof filter?.prefix === 'string' && filter.prefix !== '' ? (n: string) => n.startsWith(filter.prefix) : null;
  if (!match) throw new CephError('filter must be a function or { prefix } with a non-empty prefix', Errno.EINVAL, { op: 'cleanupVolumes' });
  retryPolicy({ ...ctx.retry, ...options.retry });
  const { pool, namespace } = place(ctx, options);
  const io = await ctx.conn.ioctx(pool, namespace);
  const names = (await Rbd.list(io)).map((i) => i.name).filter((n) => match(n));
  const report: CleanupEntry[] = new Array(names.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < names.length) {
      const i = next++;
      const name = names[i]!;
      let entry: CleanupEntry;
      try {
        entry = { ...(await destroyVolume(ctx, name, { ...options, pool, namespace })), ok: true };
      } catch (e) {
        entry = { name, ok: false, error: e instanceof CephError ? e : new CephError(String(e), undefined, { op: 'destroyVolume', pool, image: name }, { cause: e }) };
      }
      report[i] = entry;
      options.onProgress?.({ done: ++done, total: names.length, entry });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));
  const failures = report.filter((r): r is { name: string; ok: false; error: CephError } => !r.ok).map((r) => ({ name: r.name, error: r.error }));
  if (failures.length) throw new CleanupFailed(report, failures, pool);
  return report;
}
