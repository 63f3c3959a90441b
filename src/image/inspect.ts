/**
 * The format inspector: what an image really is, how big it claims to be, and whether it is safe
 * to hand to qemu-img or to write to a disk. Reads only bounded regions (64 KiB head, at most
 * 1 MiB of VMDK descriptor, a few sectors elsewhere), never touches a cluster.
 */
import { CorruptImage, FormatMismatch, ImageTooLarge, UnsafeImage } from './errors.js';
import { type ClusterMap, QCOW2_MAGIC, type Qcow2Header, parseQcow2Header, readClusterMap } from './qcow2.js';
import { type ImageSource, bufferSource, fileSource } from './source.js';
import { VMDK_MAGIC, checkVmdk } from './vmdk.js';

/** Formats the pipeline imports. */
export type ImageFormat = 'raw' | 'qcow2' | 'vmdk' | 'vhd' | 'vhdx' | 'vdi' | 'iso';
/** Every signature the inspector knows. */
export type Signature = ImageFormat | 'qed' | 'gpt' | 'mbr' | 'luks';

export const IMAGE_FORMATS: readonly ImageFormat[] = ['raw', 'qcow2', 'vmdk', 'vhd', 'vhdx', 'vdi', 'iso'];

/** What {@link inspect} found. */
export interface Inspection {
  /** The effective format (a partition table alone is raw). */
  format: ImageFormat;
  /** Every signature found. */
  signatures: Signature[];
  partitionTable: 'gpt' | 'mbr' | null;
  /** Guest-visible size in bytes; undefined where only qemu-img can tell (vhd, vhdx, vdi). */
  virtualSize: number | undefined;
  fileSize: number | undefined;
  /** Bytes of guest data stored (qcow2: allocated clusters; raw and others: the file size). */
  dataSize: number | undefined;
  qcow2?: Qcow2Header;
  /** A qcow2's data runs, read once here so that an import need not read the tables again. */
  qcow2Map?: ClusterMap;
  /** Null when safe; else the rule that refuses it. */
  refusal: { rule: string; message: string; error: UnsafeImage } | null;
}

/** Options for {@link inspect} and {@link assertSafe}. */
export interface InspectOptions {
  /** The format the caller says it is: the content must agree. */
  declared?: ImageFormat;
  /** Largest acceptable virtual size (default 1 TiB). */
  maxVirtualSize?: number;
}

export const DEFAULT_MAX_VIRTUAL_SIZE = 2 ** 40;
const HEAD = 64 * 1024;

function ascii(buf: Buffer, at: number, len: number): string {
  return buf.subarray(at, at + len).toString('latin1');
}

/** Signatures in the head (and, for random-access sources, the regions beyond it). */
async function signatures(src: ImageSource, head: Buffer): Promise<Signature[]> {
  const found: Signature[] = [];
  if (head.length >= 4 && head.readUInt32BE(0) === QCOW2_MAGIC) found.push('qcow2');
  if (ascii(head, 0, 4) === 'QED\0') found.push('qed');
  if (ascii(head, 0, 4) === VMDK_MAGIC || ascii(head, 0, 21) === '# Disk DescriptorFile') found.push('vmdk');
  if (ascii(head, 0, 8) === 'conectix') found.push('vhd');
  else if (src.readAt && src.size !== undefined && src.size >= 512 && ascii(await src.readAt(src.size - 512, 8), 0, 8) === 'conectix') found.push('vhd');
  if (ascii(head, 0, 8) === 'vhdxfile') found.push('vhdx');
  if (head.length >= 0x44 && head.readUInt32LE(0x40) === 0xbeda107f) found.push('vdi');
  const iso = (buf: Buffer, at: number) => ['CD001', 'NSR02', 'NSR03', 'BEA01'].includes(ascii(buf, at, 5));
  if (iso(head, 0x8001) || iso(head, 0x8801) || iso(head, 0x9001)) found.push('iso');
  if (ascii(head, 0, 6) === 'LUKS\u00ba\u00be') found.push('luks');
  if (head.length >= 512 && head[510] === 0x55 && head[511] === 0xaa && !(head[0x10] === 2 && head[0x15] === 0xf8)) {
    const types = [0, 1, 2, 3].map((i) => head[446 + 16 * i + 4]!);
    found.push(types.includes(0xee) ? 'gpt' : 'mbr');
  }
  return found;
}

function checkMbr(head: Buffer, kind: 'gpt' | 'mbr'): void {
  const entries = [0, 1, 2, 3].map((i) => ({ flag: head[446 + 16 * i]!, type: head[446 + 16 * i + 4]! }));
  if (entries.some((e) => e.flag !== 0 && e.flag !== 0x80)) throw new UnsafeImage('mbr-boot-flag', 'partition table refused: a boot flag other than 0x00 or 0x80', kind);
  const used = entries.filter((e) => e.type !== 0);
  if (used.length === 0) throw new UnsafeImage('mbr-empty', 'partition table refused: no partition', kind);
  if (kind === 'gpt' && used.length !== 1) throw new UnsafeImage('gpt-protective', 'partition table refused: a protective GPT entry must be the only one', kind);
}

/**
 * Inspects `source` (a path, a Buffer or an ImageSource). Never throws for unsafe content: the
 * verdict is in `refusal`. Throws only when the source cannot be read.
 */
export async function inspect(source: string | Buffer | ImageSource, options: InspectOptions = {}): Promise<Inspection> {
  if (typeof source === 'string') {
    await using src = await fileSource(source);
    return await inspect(src, options);
  }
  const src = Buffer.isBuffer(source) ? bufferSource(source) : source;
  const head = await src.head(HEAD);
  const result: Inspection = { format: 'raw', signatures: [], partitionTable: null, virtualSize: undefined, fileSize: src.size, dataSize: src.size, refusal: null };
  try {
    try {
      await check(src, head, result, options);
    } catch (e) {
      // A field pointing past the bytes actually there: the file is shorter than it claims.
      if (e instanceof RangeError && 'code' in e && /ERR_(BUFFER_)?OUT_OF_(BOUNDS|RANGE)/.test(String(e.code))) {
        throw new CorruptImage('truncated', `the image is shorter than its headers say: ${e.message}`, result.format);
      }
      throw e;
    }
  } catch (e) {
    if (!(e instanceof UnsafeImage)) throw e;
    result.refusal = { rule: e.rule, message: e.message, error: e };
  }
  return result;
}

async function check(src: ImageSource, head: Buffer, r: Inspection, options: InspectOptions): Promise<void> {
  if (head.length === 0) throw new CorruptImage('empty', 'the image is empty', undefined);
  r.signatures = await signatures(src, head);
  const partition = r.signatures.filter((s): s is 'gpt' | 'mbr' => s === 'gpt' || s === 'mbr');
  const formats = r.signatures.filter((s) => s !== 'gpt' && s !== 'mbr');
  r.partitionTable = partition[0] ?? null;
  if (formats.length > 1) throw new FormatMismatch('multiple-formats', `the image is ${formats.join(' and ')} at once: refused`, formats.join('+'));
  const found = formats[0];
  if (found === 'qed') throw new UnsafeImage('qed', 'qed images are refused', 'qed');
  if (found === 'luks') throw new UnsafeImage('luks', 'encrypted (LUKS) images are refused', 'luks');
  if (found && partition.length && found !== 'iso') throw new FormatMismatch('multiple-formats', `the image is ${found} and carries a partition table: refused`, found);
  r.format = found ?? 'raw';
  if (r.format === 'raw' && r.partitionTable) checkMbr(head, r.partitionTable);
  if (options.declared !== undefined && options.declared !== r.format) {
    throw new FormatMismatch('format-mismatch', `declared ${options.declared} but the content is ${r.format}`, r.format);
  }
  switch (r.format) {
    case 'qcow2': {
      r.qcow2 = parseQcow2Header(head, src.size);
      r.virtualSize = r.qcow2.virtualSize;
      if (src.readAt) {
        r.qcow2Map = await readClusterMap(src, r.qcow2);
        r.dataSize = r.qcow2Map.dataBytes;
      }
      break;
    }
    case 'vmdk': {
      if (ascii(head, 0, 4) !== VMDK_MAGIC) throw new UnsafeImage('vmdk-flat', 'vmdk refused: a descriptor file (flat or split extents name host files)', 'vmdk');
      r.virtualSize = (await checkVmdk(src, head)).virtualSize;
      break;
    }
    case 'vhdx': {
      const region = src.readAt ? await src.readAt(192 * 1024, 4) : (await src.head(192 * 1024 + 4)).subarray(192 * 1024);
      if (ascii(region, 0, 4) !== 'regi') throw new CorruptImage('vhdx-region-table', 'vhdx has no region table at 192 KiB', 'vhdx');
      break;
    }
    case 'vdi': {
      if (head.length < 0x178) throw new CorruptImage('vdi-truncated', 'vdi header is cut short', 'vdi');
      r.virtualSize = Number(head.readBigUInt64LE(0x170));
      break;
    }
    case 'raw':
    case 'iso':
      r.virtualSize = src.size;
      break;
    default:
      break;
  }
  const max = options.maxVirtualSize ?? DEFAULT_MAX_VIRTUAL_SIZE;
  if (r.virtualSize !== undefined && r.virtualSize > max) {
    throw new ImageTooLarge('virtual-size', `virtual size ${r.virtualSize} is over the limit of ${max} bytes`, r.format);
  }
  if (r.virtualSize === 0) throw new CorruptImage('empty', 'the image has no guest data (virtual size 0)', r.format);
}

/** Throws the refusal of an inspection, if any. */
export function assertSafe(inspection: Inspection): void {
  if (inspection.refusal) throw inspection.refusal.error;
}
