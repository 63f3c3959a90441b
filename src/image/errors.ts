/**
 * Image-pipeline errors. Every refusal names the rule that refused, so a program can tell a
 * backing file from a size bomb.
 */
import { CephError, type ErrorContext } from '../ceph/errors.js';
import { Errno } from '../ceph/errno.js';

/** The image is refused: it could make the host read its own files, or is malformed, or lies about itself. */
export class UnsafeImage extends CephError {
  override name = 'UnsafeImage';
  override readonly code: string = 'UNSAFE_IMAGE';
  constructor(
    /** The rule, e.g. `qcow2-backing-file`. */
    readonly rule: string,
    message: string,
    /** The format the content was detected as. */
    readonly format: string | undefined,
    ctx: ErrorContext = {},
  ) {
    super(message, Errno.EINVAL, { op: 'inspect', ...ctx });
  }
}

/** The content is not the declared format (a qcow2 uploaded as raw), or is more than one format. */
export class FormatMismatch extends UnsafeImage {
  override name = 'FormatMismatch';
}

/** The virtual size is over the limit or over the pool's free space. */
export class ImageTooLarge extends UnsafeImage {
  override name = 'ImageTooLarge';
}

/** A header or table points outside the file or is otherwise malformed (truncated, empty). */
export class CorruptImage extends UnsafeImage {
  override name = 'CorruptImage';
}

/** The image's checksum is not the one expected: the import is undone. */
export class ChecksumMismatch extends CephError {
  override name = 'ChecksumMismatch';
  override readonly code: string = 'CHECKSUM_MISMATCH';
  constructor(
    readonly algorithm: string,
    readonly expected: string,
    readonly actual: string,
    ctx: ErrorContext = {},
  ) {
    super(`${algorithm} checksum mismatch: expected ${expected}, got ${actual}`, Errno.EINVAL, { op: 'import', ...ctx });
  }
}
