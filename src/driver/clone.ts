/**
 * Clone with every check before any work: destination name valid and free, same cluster, parent
 * snapshot present and protected (or clone v2 allowed), clone-depth policy, write permission on
 * the destination (probe). Any failure after the clone exists removes it again.
 */
import { Feature, Image, ImageExists, InvalidArgument, throwIfAborted, type IoCtx, Rbd, type Rados, type ProgressOptions } from '../ceph/index.js';
import { Errno } from '../ceph/errno.js';
import { audit } from './logging.js';
import { type DriverContext, type ParentCheck, type Placement, place } from './context.js';
import { ImageUnacceptable, MAX_IMAGE_NAME_BYTES, nameProblem, parseRbdUrl, type RbdLocation } from './url.js';

/** Options for {@link cloneImage}. */
export interface CloneOptions extends ProgressOptions {
  /** Where the clone goes (default: the driver's pool and namespace). */
  dest?: Placement;
  /** Feature bits; default the cluster's `rbd_default_features`, layering at least. */
  features?: bigint;
}

/** What {@link cloneImage} did. */
export interface CloneResult {
  pool: string;
  namespace: string;
  name: string;
  parent: RbdLocation;
  /** Parents above the new clone before any flatten (1 for a clone of a plain image). */
  depth: number;
  /** The new clone was flattened to honour the clone-depth policy. */
  flattened: boolean;
  cloneFormat: 1 | 2 | 'auto';
}

const RELEASES = ['argonaut', 'bobtail', 'cuttlefish', 'dumpling', 'emperor', 'firefly', 'giant', 'hammer', 'infernalis', 'jewel', 'kraken', 'luminous', 'mimic', 'nautilus', 'octopus', 'pacific', 'quincy', 'reef', 'squid', 'tentacle'];

const FEATURE_NAMES: Record<string, bigint> = {
  layering: Feature.LAYERING,
  striping: Feature.STRIPINGV2,
  'exclusive-lock': Feature.EXCLUSIVE_LOCK,
  'object-map': Feature.OBJECT_MAP,
  'fast-diff': Feature.FAST_DIFF,
  'deep-flatten': Feature.DEEP_FLATTEN,
  journaling: Feature.JOURNALING,
  'data-pool': Feature.DATA_POOL,
};

/** The cluster's `rbd_default_features` (a number or a list of names), always with layering. */
export function defaultFeatures(rados: Rados): bigint {
  let value = '';
  try {
    value = rados.getConfig('rbd_default_features').trim();
  } catch {
    return Feature.LAYERING;
  }
  let bits = 0n;
  if (/^\d+$/.test(value)) bits = BigInt(value);
  else for (const name of value.split(/[,\s]+/)) bits |= FEATURE_NAMES[name] ?? 0n;
  return bits | Feature.LAYERING;
}

/** Whether clone v2 (no protected snapshot needed) is allowed: require_min_compat_client >= mimic. */
async function cloneV2Allowed(rados: Rados): Promise<boolean> {
  const dump = await rados.monCommandJson<{ require_min_compat_client?: string }>({ prefix: 'osd dump' });
  const at = RELEASES.indexOf(dump.require_min_compat_client ?? '');
  return at >= RELEASES.indexOf('mimic');
}

/** Number of parents above `image` (0 for an image that is not a clone); bounded at 64. */
async function depthOf(ctx: DriverContext, pool: string, namespace: string, image: string): Promise<number> {
  let depth = 0;
  let cur: { pool: string; namespace: string; image: string } | null = { pool, namespace, image };
  while (cur && depth < 64) {
    const io = await ctx.conn.ioctx(cur.pool, cur.namespace);
    const img = await Image.open(io, cur.image, { readOnly: true });
    try {
      const parent = await img.parentInfo();
      cur = parent ? { pool: parent.pool, namespace: parent.namespace, image: parent.image } : null;
      if (parent) depth++;
    } finally {
      await img.close();
    }
  }
  return depth;
}

const PARENT_CHECK_TTL_MS = 10_000;

/** The parent snapshot's protection and depth, cached per URL for a few seconds (single flight). */
function checkParent(ctx: DriverContext, url: string, parent: RbdLocation): Promise<ParentCheck> {
  const hit = ctx.parentChecks.get(url);
  if (hit && Date.now() - hit.at < PARENT_CHECK_TTL_MS) return hit.check;
  const check = (async () => {
    const io = await ctx.conn.ioctx(parent.pool, parent.namespace);
    const snap = await Image.open(io, parent.image, { snapshot: parent.snapshot });
    try {
      const isProtected = await snap.isSnapshotProtected(parent.snapshot);
      const p = await snap.parentInfo();
      const depth = p ? (await depthOf(ctx, p.pool, p.namespace, p.image)) + 1 : 0;
      return { isProtected, depth };
    } finally {
      await snap.close();
    }
  })();
  ctx.parentChecks.set(url, { at: Date.now(), check });
  check.catch(() => ctx.parentChecks.delete(url));
  return check;
}

/** Checks a destination image name. @throws ImageUnacceptable */
export function assertImageName(name: unknown, what = 'image name'): asserts name is string {
  if (typeof name !== 'string') throw new ImageUnacceptable('type', `${what} must be a string`);
  const problem = nameProblem(name, what, MAX_IMAGE_NAME_BYTES);
  if (problem) throw new ImageUnacceptable(what.split(' ')[0]!, `unacceptable ${what} ${JSON.stringify(name)}: ${problem}`);
}

/** Clones the snapshot at `url` to `name`. See the module doc for the checks. */
export async function cloneImage(ctx: DriverContext, url: string, name: string, options: CloneOptions = {}): Promise<CloneResult> {
  const parent = parseRbdUrl(url);
  assertImageName(name);
  throwIfAborted(options.signal, { op: 'clone', image: name });
  const dest = place(ctx, options.dest);
  if (options.features !== undefined && typeof options.features !== 'bigint') throw new InvalidArgument('features must be a bigint', Errno.EINVAL, { op: 'clone' });
  const where = { pool: dest.pool, ...(dest.namespace ? { namespace: dest.namespace } : {}), image: name, user: ctx.conn.user };

  const rados = await ctx.conn.rados();
  const fsid = rados.fsid();
  if (parent.fsid !== fsid) throw new ImageUnacceptable('fsid', `the image lives in cluster ${parent.fsid}, this is ${fsid}: cannot clone across clusters`, { op: 'clone', ...where });
  const destIo: IoCtx = await ctx.conn.ioctx(dest.pool, dest.namespace);
  if (await Rbd.exists(destIo, name)) throw new ImageExists(`clone failed on ${dest.pool}/${name}: an image with that name exists`, Errno.EEXIST, { op: 'clone', ...where });
  const parentIo = await ctx.conn.ioctx(parent.pool, parent.namespace);
  const { isProtected, depth: parentDepth } = await checkParent(ctx, url, parent);
  let cloneFormat: 1 | 2 | 'auto' = 'auto';
  if (!isProtected) {
    if (!(await cloneV2Allowed(rados))) {
      throw new ImageUnacceptable(
        'unprotected',
        `snapshot ${parent.pool}/${parent.image}@${parent.snapshot} is not protected, and clone v2 is off (require-min-compat-client < mimic)`,
        { op: 'clone', ...where, snapshot: parent.snapshot },
      );
    }
    cloneFormat = 2;
  }
  const depth = parentDepth + 1;
  if (depth > ctx.cloneDepth.max && ctx.cloneDepth.onExceed === 'refuse') {
    throw new ImageUnacceptable('clone-depth', `a clone of ${parent.image} would be ${depth} deep; the limit is ${ctx.cloneDepth.max}`, { op: 'clone', ...where });
  }
  await ctx.conn.assertWritable(dest.pool, dest.namespace);

  const features = options.features ?? defaultFeatures(rados);
  await Rbd.clone(parentIo, parent.image, parent.snapshot, destIo, name, { features, ...(cloneFormat === 2 ? { cloneFormat: 2 } : {}) });
  let flattened = false;
  try {
    if (depth > ctx.cloneDepth.max) {
      await using img = await Image.open(destIo, name);
      await img.flatten({ ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...(options.signal ? { signal: options.signal } : {}) });
      flattened = true;
    }
  } catch (e) {
    // Undo: the caller asked for a clone that honours the policy; half of one is not left behind.
    await Rbd.remove(destIo, name).catch((undo: unknown) => ctx.log.error({ err: undo, ...where }, 'removing the clone after a failed flatten failed'));
    audit(ctx.log, { action: 'clone', ...where, outcome: 'undone', reason: (e as Error).message });
    throw e;
  }
  audit(ctx.log, { action: 'clone', ...where, outcome: 'created', parent: url, depth, flattened });
  return { pool: dest.pool, namespace: dest.namespace, name, parent, depth, flattened, cloneFormat };
}
