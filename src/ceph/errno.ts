/**
 * Linux errno values, as librados and librbd return them (negated). Kept here rather than taken
 * from `os.constants.errno`, which lacks some (ESHUTDOWN) and varies by platform.
 */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  EINVAL: 22,
  EFBIG: 27,
  ENOSPC: 28,
  EROFS: 30,
  EDOM: 33,
  ERANGE: 34,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ENODATA: 61,
  EOPNOTSUPP: 95,
  ECONNREFUSED: 111,
  ENOTCONN: 107,
  ESHUTDOWN: 108,
  ETIMEDOUT: 110,
  EDQUOT: 122,
  ECANCELED: 125,
  EBLOCKLISTED: 108, // Ceph reports a blocklisted client as ESHUTDOWN
} as const;

const NAMES = new Map<number, string>();
for (const [name, n] of Object.entries(Errno)) if (!NAMES.has(n)) NAMES.set(n, name);

/** `ENOENT` for 2; `E<n>` for an errno this table does not name. */
export function errnoName(errno: number): string {
  return NAMES.get(errno) ?? `E${errno}`;
}
