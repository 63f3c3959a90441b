// Pure mapping from errno to error class: no cluster needed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ArgumentOutOfRange,
  CephError,
  ConnectionShutdown,
  DiskQuotaExceeded,
  Errno,
  HandleClosed,
  ImageBusy,
  ImageExists,
  ImageHasSnapshots,
  ImageNotFound,
  InvalidArgument,
  IoError,
  NoSpace,
  NotFound,
  ObjectNotFound,
  OperationCanceled,
  OperationNotSupported,
  PermissionDenied,
  PoolNotFound,
  ReadOnlyImage,
  Timeout,
  errorFromErrno,
  mapNativeError,
} from '../../src/ceph/index.js';

describe('errorFromErrno', () => {
  const table: [number, new (...a: never[]) => CephError, string, boolean][] = [
    [Errno.EEXIST, ImageExists, 'EEXIST', false],
    [Errno.EBUSY, ImageBusy, 'EBUSY', true],
    [Errno.ENOTEMPTY, ImageHasSnapshots, 'ENOTEMPTY', false],
    [Errno.EPERM, PermissionDenied, 'EPERM', false],
    [Errno.EACCES, PermissionDenied, 'EACCES', false],
    [Errno.ENOSPC, NoSpace, 'ENOSPC', false],
    [Errno.EDQUOT, DiskQuotaExceeded, 'EDQUOT', false],
    [Errno.EINVAL, InvalidArgument, 'EINVAL', false],
    [Errno.EROFS, ReadOnlyImage, 'EROFS', false],
    [Errno.ETIMEDOUT, Timeout, 'ETIMEDOUT', true],
    [Errno.ESHUTDOWN, ConnectionShutdown, 'ESHUTDOWN', true],
    [Errno.EOPNOTSUPP, OperationNotSupported, 'EOPNOTSUPP', false],
    [Errno.ENOSYS, OperationNotSupported, 'ENOSYS', false],
    [Errno.ECANCELED, OperationCanceled, 'ECANCELED', false],
    [Errno.EIO, IoError, 'EIO', false],
    [Errno.EDOM, ArgumentOutOfRange, 'EDOM', false],
    [Errno.EBADF, HandleClosed, 'EBADF', false],
  ];
  for (const [errno, cls, code, retryable] of table) {
    it(`maps ${code} to ${cls.name}`, () => {
      const e = errorFromErrno(errno, { op: 'rbd_open', pool: 'vms', image: 'disk' }, 'image');
      assert.ok(e instanceof cls);
      assert.ok(e instanceof CephError);
      assert.equal(e.code, code);
      assert.equal(e.errno, errno);
      assert.equal(e.op, 'rbd_open');
      assert.equal(e.pool, 'vms');
      assert.equal(e.image, 'disk');
      assert.equal(e.retryable, retryable);
      assert.match(e.message, /rbd_open failed on vms\/disk/);
    });
  }

  it('picks the ENOENT class by what was looked for', () => {
    assert.ok(errorFromErrno(Errno.ENOENT, {}, 'image') instanceof ImageNotFound);
    assert.ok(errorFromErrno(Errno.ENOENT, {}, 'pool') instanceof PoolNotFound);
    assert.ok(errorFromErrno(Errno.ENOENT, {}, 'object') instanceof ObjectNotFound);
    const generic = errorFromErrno(Errno.ENOENT, {}, 'other');
    assert.ok(generic instanceof NotFound && !(generic instanceof ImageNotFound));
  });

  it('gives an unknown errno a typed error with a code', () => {
    const e = errorFromErrno(4242, { op: 'rados_connect' });
    assert.equal(e.constructor, CephError);
    assert.equal(e.code, 'E4242');
    assert.equal(e.errno, 4242);
    assert.equal(e.retryable, false);
  });

  it('names the snapshot and the detail in the message', () => {
    const e = errorFromErrno(Errno.EBUSY, { op: 'rbd_snap_unprotect', pool: 'images', image: 'gold', snapshot: 'snap', detail: 'has clones' }, 'image');
    assert.match(e.message, /images\/gold@snap/);
    assert.match(e.message, /has clones/);
  });
});

describe('mapNativeError', () => {
  it('reads errno, op and detail from a native error', () => {
    const native = Object.assign(new Error('rados_mon_command: Invalid argument'), { errno: Errno.EINVAL, op: 'rados_mon_command', detail: 'unknown command' });
    const e = mapNativeError(native, { pool: 'vms' });
    assert.ok(e instanceof InvalidArgument);
    assert.equal(e.op, 'rados_mon_command');
    assert.equal(e.detail, 'unknown command');
    assert.equal(e.cause, native);
  });

  it('turns argument TypeErrors into InvalidArgument', () => {
    const e = mapNativeError(new TypeError('name must be a string'), { op: 'rbd_open' });
    assert.ok(e instanceof InvalidArgument);
    assert.equal(e.errno, Errno.EINVAL);
  });

  it('passes typed errors through unchanged', () => {
    const original = errorFromErrno(Errno.EBUSY, {});
    assert.equal(mapNativeError(original, { op: 'x' }), original);
  });

  it('wraps anything else in a CephError without errno', () => {
    const e = mapNativeError('weird', { op: 'x' });
    assert.equal(e.constructor, CephError);
    assert.equal(e.errno, undefined);
    assert.equal(e.code, 'ECEPH');
  });
});
