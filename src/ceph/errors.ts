/**
 * Typed errors: one class per errno under {@link CephError}, as in Ceph's Python binding.
 * Every error carries `code` (the errno's symbolic name), `errno`, the operation (the C call
 * or the library method), the pool/namespace/image/snapshot concerned and `retryable`.
 */
import { Errno as E, errnoName } from './errno.js';

/** What an error is about. Every field is optional; set what applies. */
export interface ErrorContext {
  /** The operation: the C function (`rbd_open`) or the library method. */
  op?: string;
  pool?: string;
  namespace?: string;
  image?: string;
  snapshot?: string;
  object?: string;
  /** The Ceph user (entity name) that made the call. */
  user?: string;
  /** Extra detail from Ceph (a monitor's status string) or from our own checks. */
  detail?: string;
}

/** Errnos after which the same call may succeed if tried again. */
const RETRYABLE = new Set<number>([E.EBUSY, E.ETIMEDOUT, E.ESHUTDOWN, E.EAGAIN, E.EINTR, E.ENOTCONN, E.ECONNREFUSED]);

function describe(ctx: ErrorContext): string {
  const where = [ctx.pool, ctx.namespace, ctx.image].filter((s) => s !== undefined && s !== '').join('/');
  const what = `${where}${ctx.snapshot ? `@${ctx.snapshot}` : ''}${ctx.object ? ` object ${ctx.object}` : ''}`;
  return what ? ` on ${what}` : '';
}

/** The base of every error this library throws about Ceph. */
export class CephError extends Error {
  override name = 'CephError';
  /** Symbolic errno name (`ENOENT`), or a library code for errors that have no errno. */
  readonly code: string;
  /** Positive errno, when the error comes from (or stands for) a system error. */
  readonly errno: number | undefined;
  readonly op: string | undefined;
  readonly pool: string | undefined;
  readonly namespace: string | undefined;
  readonly image: string | undefined;
  readonly snapshot: string | undefined;
  readonly object: string | undefined;
  readonly user: string | undefined;
  readonly detail: string | undefined;
  /** True when the same call may succeed later (busy, timed out, connection lost). */
  readonly retryable: boolean;

  constructor(message: string, errno: number | undefined, ctx: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.errno = errno;
    this.code = errno !== undefined ? errnoName(errno) : 'ECEPH';
    this.op = ctx.op;
    this.pool = ctx.pool;
    this.namespace = ctx.namespace;
    this.image = ctx.image;
    this.snapshot = ctx.snapshot;
    this.object = ctx.object;
    this.user = ctx.user;
    this.detail = ctx.detail;
    this.retryable = errno !== undefined && RETRYABLE.has(errno);
  }
}

/** ENOENT: something named does not exist. */
export class NotFound extends CephError {
  override name = 'NotFound';
}
/** ENOENT for an image or one of its snapshots. */
export class ImageNotFound extends NotFound {
  override name = 'ImageNotFound';
}
/** ENOENT for a pool. */
export class PoolNotFound extends NotFound {
  override name = 'PoolNotFound';
}
/** ENOENT for a RADOS object. */
export class ObjectNotFound extends NotFound {
  override name = 'ObjectNotFound';
}
/** EEXIST */
export class ImageExists extends CephError {
  override name = 'ImageExists';
}
/** EBUSY: watchers, protected snapshots with children, an open handle. */
export class ImageBusy extends CephError {
  override name = 'ImageBusy';
}
/** ENOTEMPTY: the image still has snapshots. */
export class ImageHasSnapshots extends CephError {
  override name = 'ImageHasSnapshots';
}
/** EPERM / EACCES: the user's caps do not allow the operation. */
export class PermissionDenied extends CephError {
  override name = 'PermissionDenied';
}
/** ENOSPC */
export class NoSpace extends CephError {
  override name = 'NoSpace';
}
/** EDQUOT: a pool quota is reached. */
export class DiskQuotaExceeded extends CephError {
  override name = 'DiskQuotaExceeded';
}
/** EINVAL: Ceph refused an argument, or our validation did before any call. */
export class InvalidArgument extends CephError {
  override name = 'InvalidArgument';
}
/** EROFS: a write to an image opened read-only or at a snapshot. */
export class ReadOnlyImage extends CephError {
  override name = 'ReadOnlyImage';
}
/** ETIMEDOUT: a monitor or OSD did not answer within the configured timeout. */
export class Timeout extends CephError {
  override name = 'Timeout';
}
/** ESHUTDOWN: the cluster connection is gone. */
export class ConnectionShutdown extends CephError {
  override name = 'ConnectionShutdown';
}
/** EOPNOTSUPP / ENOSYS: the cluster or image cannot do this. */
export class OperationNotSupported extends CephError {
  override name = 'OperationNotSupported';
}
/** ECANCELED: canceled through an AbortSignal. */
export class OperationCanceled extends CephError {
  override name = 'OperationCanceled';
}
/** EIO */
export class IoError extends CephError {
  override name = 'IoError';
}
/** EDOM / ERANGE: a value outside what Ceph accepts. */
export class ArgumentOutOfRange extends CephError {
  override name = 'ArgumentOutOfRange';
}
/** EBADF: the handle (connection, I/O context, image) was closed. */
export class HandleClosed extends CephError {
  override name = 'HandleClosed';
}

type ErrorClass = new (message: string, errno: number | undefined, ctx?: ErrorContext, options?: { cause?: unknown }) => CephError;

const BY_ERRNO = new Map<number, ErrorClass>([
  [E.EEXIST, ImageExists],
  [E.EBUSY, ImageBusy],
  [E.ENOTEMPTY, ImageHasSnapshots],
  [E.EPERM, PermissionDenied],
  [E.EACCES, PermissionDenied],
  [E.ENOSPC, NoSpace],
  [E.EDQUOT, DiskQuotaExceeded],
  [E.EINVAL, InvalidArgument],
  [E.EROFS, ReadOnlyImage],
  [E.ETIMEDOUT, Timeout],
  [E.ESHUTDOWN, ConnectionShutdown],
  [E.EOPNOTSUPP, OperationNotSupported],
  [E.ENOSYS, OperationNotSupported],
  [E.ECANCELED, OperationCanceled],
  [E.EIO, IoError],
  [E.EDOM, ArgumentOutOfRange],
  [E.ERANGE, ArgumentOutOfRange],
  [E.EBADF, HandleClosed],
]);

/** Which ENOENT class applies: it depends on what the call was looking for. */
export type Subject = 'image' | 'pool' | 'object' | 'other';

const NOT_FOUND: Record<Subject, ErrorClass> = { image: ImageNotFound, pool: PoolNotFound, object: ObjectNotFound, other: NotFound };

/** Builds the typed error for a positive `errno`. An errno without its own class still gets a {@link CephError}. */
export function errorFromErrno(errno: number, ctx: ErrorContext, subject: Subject = 'other', cause?: unknown): CephError {
  const cls = errno === E.ENOENT ? NOT_FOUND[subject] : (BY_ERRNO.get(errno) ?? CephError);
  const reason = cause instanceof Error ? cause.message.replace(/^[a-z0-9_]+: /, '') : errnoName(errno);
  const message = `${ctx.op ?? 'ceph'} failed${describe(ctx)}: ${reason}${ctx.detail && !reason.includes(ctx.detail) ? ` (${ctx.detail})` : ''}`;
  return new cls(message, errno, ctx, cause !== undefined ? { cause } : undefined);
}

/**
 * Maps what the native layer threw (an Error with `errno` and `op`) to a typed error. A TypeError or
 * RangeError from argument checking becomes {@link InvalidArgument}. Typed errors pass through.
 */
export function mapNativeError(e: unknown, ctx: ErrorContext, subject: Subject = 'other'): CephError {
  if (e instanceof CephError) return e;
  if (e instanceof Error) {
    const { errno, op, detail } = e as Error & { errno?: unknown; op?: unknown; detail?: unknown };
    if (typeof errno === 'number') {
      const full = {
        ...ctx,
        op: ctx.op ?? (typeof op === 'string' ? op : undefined),
        ...(typeof detail === 'string' && detail !== '' && ctx.detail === undefined ? { detail } : {}),
      };
      return errorFromErrno(errno, full, subject, e);
    }
    if (e instanceof TypeError || e instanceof RangeError) return new InvalidArgument(`${ctx.op ?? 'ceph'}: ${e.message}`, E.EINVAL, ctx, { cause: e });
  }
  return new CephError(`${ctx.op ?? 'ceph'} failed${describe(ctx)}: ${String(e)}`, undefined, ctx, { cause: e });
}

/** The {@link OperationCanceled} for an aborted operation, its cause the signal's reason. */
export function canceled(ctx: ErrorContext, cause?: unknown): OperationCanceled {
  return new OperationCanceled(`${ctx.op ?? 'operation'} canceled`, E.ECANCELED, ctx, { cause });
}

/** Throws {@link OperationCanceled} when `signal` has already aborted: checked before work starts. */
export function throwIfAborted(signal: AbortSignal | undefined, ctx: ErrorContext): void {
  if (signal?.aborted) throw canceled(ctx, signal.reason);
}

/** An {@link InvalidArgument} from our own validation, before any call to the cluster. */
export function invalidArgument(message: string, ctx: ErrorContext = {}): InvalidArgument {
  return new InvalidArgument(message, E.EINVAL, ctx);
}
