/**
 * Glance's `rbd://` image locations, parsed strictly. Pure: no cluster needed.
 *
 * Forms:
 * - `rbd://FSID/POOL/IMAGE/SNAPSHOT` (Glance's)
 * - `rbd://FSID/POOL/NAMESPACE/IMAGE/SNAPSHOT` (ours: a RADOS namespace between pool and image;
 *   Glance has none, so the five-piece form is unambiguous)
 *
 * Each piece is percent-decoded exactly once (so `%2F` never becomes a separator and `%2541` stays
 * `%41`), then validated: not empty, no `/`, `@`, NUL or control characters, not starting with `-`
 * (it would read as an option to a tool), at most 255 bytes, and an image name at most 96 bytes.
 */
import { CephError, type ErrorContext } from '../ceph/errors.js';
import { Errno } from '../ceph/errno.js';

/** A parsed image location. */
export interface RbdLocation {
  fsid: string;
  pool: string;
  /** '' when the URL has no namespace. */
  namespace: string;
  image: string;
  snapshot: string;
}

/** The image location (or another image given to the driver) cannot be accepted. */
export class ImageUnacceptable extends CephError {
  override name = 'ImageUnacceptable';
  /** The rule that refused it, for programs. */
  readonly reason: string;
  constructor(reason: string, message: string, ctx: ErrorContext = {}) {
    super(message, Errno.EINVAL, ctx);
    this.reason = reason;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
/** librbd's historical limit on image names (RBD_MAX_IMAGE_NAME_SIZE). */
export const MAX_IMAGE_NAME_BYTES = 96;
const MAX_PIECE_BYTES = 255;

/** Why a name piece is unacceptable, or null when it is fine. */
export function nameProblem(piece: string, what: string, maxBytes = MAX_PIECE_BYTES): string | null {
  if (piece === '') return `${what} is empty`;
  if (piece.includes('/')) return `${what} contains '/'`;
  if (piece.includes('@')) return `${what} contains '@'`;
  if (CONTROL.test(piece)) return `${what} contains NUL or a control character`;
  if (piece.startsWith('-')) return `${what} starts with '-'`;
  if (Buffer.byteLength(piece, 'utf8') > maxBytes) return `${what} is longer than ${maxBytes} bytes`;
  return null;
}

/**
 * Parses and validates an `rbd://` location.
 * @throws {@link ImageUnacceptable} saying which rule failed.
 */
export function parseRbdUrl(url: string): RbdLocation {
  const refuse = (reason: string, message: string): never => {
    throw new ImageUnacceptable(reason, `not a usable rbd:// location: ${message}`, { op: 'parseUrl' });
  };
  if (typeof url !== 'string') return refuse('type', 'the location must be a string');
  if (!url.startsWith('rbd://')) return refuse('scheme', "it does not start with 'rbd://'");
  if (url.length > 4096) return refuse('length', 'it is longer than 4096 characters');
  const raw = url.slice('rbd://'.length).split('/');
  if (raw.length !== 4 && raw.length !== 5) return refuse('pieces', `expected 4 or 5 pieces after rbd://, found ${raw.length}`);
  const pieces = raw.map((p, i) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return refuse('encoding', `piece ${i + 1} has invalid percent-encoding`);
    }
  });
  const [fsid, pool, ...rest] = pieces as [string, string, ...string[]];
  const [namespace, image, snapshot] = rest.length === 3 ? (rest as [string, string, string]) : ['', rest[0]!, rest[1]!];
  if (!UUID.test(fsid)) refuse('fsid', 'the fsid is not a UUID');
  const checks: [string, string, number?][] = [
    [pool, 'pool'],
    ...(rest.length === 3 ? ([[namespace, 'namespace']] as [string, string][]) : []),
    [image, 'image name', MAX_IMAGE_NAME_BYTES],
    [snapshot, 'snapshot name'],
  ];
  for (const [piece, what, max] of checks) {
    const problem = nameProblem(piece, what, max);
    if (problem) refuse(what.split(' ')[0]!, problem);
  }
  return { fsid: fsid.toLowerCase(), pool, namespace, image, snapshot };
}

/** Formats a location as an `rbd://` URL, percent-encoding each piece. */
export function formatRbdUrl(loc: RbdLocation): string {
  const parts = [loc.fsid, loc.pool, ...(loc.namespace ? [loc.namespace] : []), loc.image, loc.snapshot];
  return `rbd://${parts.map(encodeURIComponent).join('/')}`;
}
