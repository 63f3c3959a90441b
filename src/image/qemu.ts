/**
 * qemu-img, only for formats we do not decode natively, and only after the inspector passed the
 * image: argv arrays, the input format always explicit, an absolute path, CPU-time and
 * address-space limits (prlimit), LC_ALL=C.
 */
import { isAbsolute } from 'node:path';
import { runProgram } from '../util/process.js';
import { CorruptImage } from './errors.js';
import type { ImageFormat } from './inspect.js';

/** qemu's name for each format. */
const QEMU_FORMAT: Record<ImageFormat, string> = { raw: 'raw', qcow2: 'qcow2', vmdk: 'vmdk', vhd: 'vpc', vhdx: 'vhdx', vdi: 'vdi', iso: 'raw' };

export interface QemuLimits {
  /** CPU seconds (default 30, as Nova). */
  cpuSeconds?: number;
  /** Address space in bytes (default 1 GiB). */
  addressSpace?: number;
}

function limited(args: string[], limits: QemuLimits): [string, string[]] {
  const cpu = limits.cpuSeconds ?? 30;
  const as = limits.addressSpace ?? 2 ** 30;
  return ['prlimit', [`--cpu=${cpu}`, `--as=${as}`, '--', 'qemu-img', ...args]];
}

function assertAbsolute(path: string): void {
  if (!isAbsolute(path) || path.includes('\0')) throw new TypeError(`qemu-img gets absolute paths only, not ${JSON.stringify(path)}`);
}

/** `qemu-img info` of a file whose format the inspector established: its virtual size. */
export async function qemuVirtualSize(path: string, format: ImageFormat, limits: QemuLimits = {}): Promise<number> {
  assertAbsolute(path);
  const [cmd, args] = limited(['info', '-f', QEMU_FORMAT[format], '--output=json', '--force-share', path], limits);
  const { stdout } = await runProgram(cmd, args, { env: { LC_ALL: 'C' }, timeoutMs: 60_000 });
  const info = JSON.parse(stdout) as { 'virtual-size'?: number; 'backing-filename'?: string; format?: string };
  if (info['backing-filename']) throw new CorruptImage('backing-file', `qemu-img reports a backing file in this ${format} image`, format);
  if (info.format !== QEMU_FORMAT[format]) throw new CorruptImage('format-mismatch', `qemu-img reads it as ${info.format}`, format);
  const size = info['virtual-size'];
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0) throw new CorruptImage('virtual-size', 'qemu-img reports no virtual size', format);
  return size;
}

/** Escapes a value for qemu's `rbd:` target syntax, where `:` separates options and `\` escapes. */
export function qemuRbdEscape(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
}

/** The qemu `rbd:` target for an image we created; every piece escaped. */
export function qemuRbdTarget(t: { pool: string; namespace: string; image: string; snapshot?: string | undefined; conf: string; user: string; keyring?: string | undefined }): string {
  const path = `${qemuRbdEscape(t.pool)}/${t.namespace ? `${qemuRbdEscape(t.namespace)}/` : ''}${qemuRbdEscape(t.image)}${t.snapshot ? `@${qemuRbdEscape(t.snapshot)}` : ''}`;
  const id = t.user.startsWith('client.') ? t.user.slice(7) : t.user;
  return `rbd:${path}:conf=${qemuRbdEscape(t.conf)}:id=${qemuRbdEscape(id)}${t.keyring ? `:keyring=${qemuRbdEscape(t.keyring)}` : ''}`;
}

/** Converts `path` (of `format`) into an existing, zeroed RBD image; skips zeros (`--target-is-zero`). */
export async function qemuConvertIntoRbd(path: string, format: ImageFormat, target: string, limits: QemuLimits = {}, signal?: AbortSignal): Promise<void> {
  assertAbsolute(path);
  const [cmd, args] = limited(['convert', '-n', '--target-is-zero', '-f', QEMU_FORMAT[format], '-O', 'raw', path, target], { cpuSeconds: 600, addressSpace: 2 ** 31, ...limits });
  await runProgram(cmd, args, { env: { LC_ALL: 'C' }, timeoutMs: 3_600_000, ...(signal ? { signal } : {}) });
}

/** Converts one of our RBD images (the `rbd:` source we built and escaped) to a new file of `format`. */
export async function qemuConvertFromRbd(source: string, outPath: string, format: 'qcow2', limits: QemuLimits = {}, signal?: AbortSignal): Promise<void> {
  assertAbsolute(outPath);
  const [cmd, args] = limited(['convert', '-f', 'raw', '-O', format, source, outPath], { cpuSeconds: 600, addressSpace: 2 ** 31, ...limits });
  await runProgram(cmd, args, { env: { LC_ALL: 'C' }, timeoutMs: 3_600_000, ...(signal ? { signal } : {}) });
}
