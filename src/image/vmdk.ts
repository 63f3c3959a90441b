/**
 * VMDK: only single-file `monolithicSparse` and `streamOptimized` images pass, with a descriptor
 * where it belongs, every line of it understood, and no extent naming a path (a host file).
 */
import { CorruptImage, UnsafeImage } from './errors.js';
import type { ImageSource } from './source.js';

export const VMDK_MAGIC = 'KDMV';
const MAX_DESCRIPTOR = 1024 * 1024;
const GD_AT_END = 0xffffffffffffffffn;

function refuse(rule: string, message: string): never {
  throw new UnsafeImage(rule, `vmdk refused: ${message}`, 'vmdk');
}

/** Checks a sparse VMDK; returns its virtual size. */
export async function checkVmdk(src: ImageSource, head: Buffer): Promise<{ virtualSize: number; createType: string }> {
  if (head.length < 512) throw new CorruptImage('vmdk-truncated', 'vmdk header is cut short', 'vmdk');
  const version = head.readUInt32LE(4);
  if (version < 1 || version > 3) refuse('vmdk-version', `header version ${version}`);
  const capacity = head.readBigUInt64LE(12);
  const descOffset = head.readBigUInt64LE(28);
  const descSize = head.readBigUInt64LE(36);
  const gdOffset = head.readBigUInt64LE(56);
  if (descOffset !== 1n) refuse('vmdk-descriptor-location', `descriptor at sector ${descOffset}, not sector 1`);
  if (descSize === 0n || descSize * 512n > BigInt(MAX_DESCRIPTOR)) refuse('vmdk-descriptor-size', `descriptor of ${descSize} sectors`);
  if (capacity * 512n > BigInt(2 ** 53 - 1)) throw new CorruptImage('vmdk-capacity', 'capacity out of range', 'vmdk');
  const bytes = Number(descSize) * 512;
  const raw = src.readAt ? await src.readAt(512, bytes) : (await src.head(512 + bytes)).subarray(512);
  if (raw.length < bytes) throw new CorruptImage('vmdk-truncated', 'the descriptor is cut short', 'vmdk');
  const text = raw.subarray(0, raw.indexOf(0) >= 0 ? raw.indexOf(0) : raw.length).toString('latin1');
  let createType: string | undefined;
  let extents = 0;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (/^ddb\./.test(line)) continue;
    const extent = /^(RW|RDONLY|NOACCESS)\s+\d+\s+(\w+)(?:\s+"([^"]*)"(?:\s+\d+)?)?$/.exec(line);
    if (extent) {
      extents++;
      if (extent[2] !== 'SPARSE') refuse('vmdk-extent-type', `extent of type ${extent[2]}`);
      if ((extent[3] ?? '').includes('/')) refuse('vmdk-extent-path', `an extent names a path: ${JSON.stringify(extent[3])}`);
      continue;
    }
    const kv = /^([A-Za-z][\w.]*)\s*=\s*"?([^"]*)"?$/.exec(line);
    if (kv) {
      if (kv[1]!.toLowerCase() === 'createtype') createType = kv[2]!;
      continue;
    }
    refuse('vmdk-descriptor-line', `a descriptor line is not understood: ${JSON.stringify(line.slice(0, 80))}`);
  }
  if (!createType) refuse('vmdk-create-type', 'the descriptor has no createType');
  if (!['monolithicsparse', 'streamoptimized'].includes(createType.toLowerCase())) refuse('vmdk-create-type', `createType ${createType}`);
  if (extents !== 1) refuse('vmdk-extents', `${extents} extents (exactly one, in this file, is accepted)`);
  if (gdOffset === GD_AT_END) {
    if (src.size === undefined || !src.readAt) refuse('vmdk-needs-random-access', 'a streamOptimized footer must be read from a file');
    const footer = await src.readAt(src.size - 1024, 512);
    if (footer.length < 512 || footer.subarray(0, 4).toString('latin1') !== VMDK_MAGIC) throw new CorruptImage('vmdk-footer', 'the footer is missing', 'vmdk');
    if (footer.readBigUInt64LE(12) !== capacity) refuse('vmdk-footer', 'the footer disagrees with the header about the capacity');
  }
  return { virtualSize: Number(capacity) * 512, createType };
}
