/**
 * qcow2: header checks, and the cluster map the one-pass import follows. Every offset and table
 * size is checked against the file size and fixed bounds before it is used.
 * Reference: qemu's docs/interop/qcow2.txt.
 */
import { CorruptImage, UnsafeImage } from './errors.js';
import type { ImageSource } from './source.js';

export const QCOW2_MAGIC = 0x514649fb; // 'QFI\xfb'

/** A qcow2 header that passed every check. */
export interface Qcow2Header {
  version: 2 | 3;
  clusterBits: number;
  clusterSize: number;
  virtualSize: number;
  l1Size: number;
  l1Offset: number;
  headerLength: number;
  incompatible: bigint;
}

/** Bounds: no header may make us read or allocate more than this. */
const MAX_L1_BYTES = 32 * 1024 * 1024;
const MAX_VIRTUAL_SIZE = 2 ** 53 - 1;

const EXT_BACKING_FORMAT = 0xe2792aca;
const EXT_CRYPTO = 0x0537be77;
const EXT_DATA_FILE = 0x44415441;

/** Incompatible feature bits: 0 dirty (fine), 1 corrupt, 2 external data file, 3 compression type, 4 extended L2. */
const INCOMPAT_DIRTY = 1n;
const INCOMPAT_CORRUPT = 2n;
const INCOMPAT_DATA_FILE = 4n;
const INCOMPAT_COMPRESSION = 8n;

function refuse(rule: string, message: string): never {
  throw new UnsafeImage(rule, `qcow2 refused: ${message}`, 'qcow2');
}

function corrupt(rule: string, message: string): never {
  throw new CorruptImage(rule, `qcow2 is malformed: ${message}`, 'qcow2');
}

function u64(buf: Buffer, at: number): number {
  const v = buf.readBigUInt64BE(at);
  if (v > BigInt(MAX_VIRTUAL_SIZE)) corrupt('qcow2-field-range', `a 64-bit field at ${at} is out of range`);
  return Number(v);
}

/**
 * Parses and checks the header in `head` (the file's first bytes; at least one cluster is best).
 * `fileSize` bounds every offset when known.
 * @throws UnsafeImage (backing file, data file, encryption, versions, unknown features), CorruptImage
 */
export function parseQcow2Header(head: Buffer, fileSize: number | undefined): Qcow2Header {
  if (head.length < 72) corrupt('qcow2-truncated', `the header needs 72 bytes, the file has ${head.length}`);
  const version = head.readUInt32BE(4);
  if (version !== 2 && version !== 3) refuse('qcow2-version', `version ${version} (only 2 and 3 are accepted)`);
  if (head.readBigUInt64BE(8) !== 0n || head.readUInt32BE(16) !== 0) refuse('qcow2-backing-file', 'it names a backing file');
  const clusterBits = head.readUInt32BE(20);
  if (clusterBits < 9 || clusterBits > 21) corrupt('qcow2-cluster-bits', `cluster_bits ${clusterBits} outside 9..21`);
  const clusterSize = 2 ** clusterBits;
  const virtualSize = u64(head, 24);
  if (head.readUInt32BE(32) !== 0) refuse('qcow2-encrypted', 'it is encrypted');
  const l1Size = head.readUInt32BE(36);
  const l1Offset = u64(head, 40);
  const l2Entries = clusterSize / 8;
  const needL1 = Math.ceil(virtualSize / (clusterSize * l2Entries));
  if (l1Size < needL1) corrupt('qcow2-l1-size', `L1 has ${l1Size} entries, ${needL1} are needed for ${virtualSize} bytes`);
  if (l1Size * 8 > MAX_L1_BYTES) corrupt('qcow2-l1-size', `L1 table of ${l1Size * 8} bytes is over ${MAX_L1_BYTES}`);
  if (l1Size > 0 && l1Offset % clusterSize !== 0) corrupt('qcow2-l1-offset', 'L1 table is not cluster-aligned');
  if (fileSize !== undefined && l1Size > 0 && l1Offset + l1Size * 8 > fileSize) corrupt('qcow2-l1-offset', 'L1 table lies beyond the end of the file');
  const refcountOffset = u64(head, 48);
  if (fileSize !== undefined && refcountOffset >= fileSize) corrupt('qcow2-refcount-offset', 'refcount table lies beyond the end of the file');
  let incompatible = 0n;
  let headerLength = 72;
  if (version === 3) {
    if (head.length < 104) corrupt('qcow2-truncated', 'a version 3 header needs 104 bytes');
    incompatible = head.readBigUInt64BE(72);
    headerLength = head.readUInt32BE(100);
    if (headerLength < 104 || headerLength > Math.min(clusterSize, head.length)) corrupt('qcow2-header-length', `header_length ${headerLength}`);
    if (incompatible & INCOMPAT_DATA_FILE) refuse('qcow2-data-file', 'it uses an external data file');
    if (incompatible & INCOMPAT_CORRUPT) refuse('qcow2-corrupt-bit', 'it is marked corrupt');
    const known = INCOMPAT_DIRTY | INCOMPAT_COMPRESSION;
    if (incompatible & ~known) refuse('qcow2-incompatible-features', `unknown incompatible feature bits 0x${(incompatible & ~known).toString(16)}`);
    if (incompatible & INCOMPAT_COMPRESSION) {
      if (headerLength < 105) corrupt('qcow2-header-length', 'compression type bit without the field');
      if (head[104] !== 0) refuse('qcow2-compression-type', `compression type ${head[104]} (only zlib is decoded)`);
    }
  }
  // Header extensions, up to the end of the first cluster: backing format, encryption and data file refuse.
  let at = headerLength;
  const limit = Math.min(head.length, clusterSize);
  while (at + 8 <= limit) {
    const type = head.readUInt32BE(at);
    const len = head.readUInt32BE(at + 4);
    if (type === 0) break;
    if (type === EXT_BACKING_FORMAT) refuse('qcow2-backing-file', 'it names a backing file format');
    if (type === EXT_CRYPTO) refuse('qcow2-encrypted', 'it carries an encryption header');
    if (type === EXT_DATA_FILE) refuse('qcow2-data-file', 'it names an external data file');
    at += 8 + Math.ceil(len / 8) * 8;
  }
  return { version, clusterBits, clusterSize, virtualSize, l1Size, l1Offset, headerLength, incompatible };
}

/** A stretch of the file that holds guest data: `length` bytes at `host` go to `guest`. */
export interface DataRun {
  host: number;
  guest: number;
  length: number;
  /** For a compressed cluster: its compressed bytes are `length` long and inflate to one cluster. */
  compressed: boolean;
}

/**
 * Most data runs a map holds (24 bytes each): a file this fragmented (or this many compressed
 * clusters, 128 GiB of them at 64 KiB) is refused rather than mapped in unbounded memory.
 */
export const MAX_DATA_RUNS = 2 * 1024 * 1024;

/** Where the guest data is; unallocated and zero clusters are simply absent. */
export interface ClusterMap {
  header: Qcow2Header;
  /** How many runs {@link ClusterMap.runs} yields. */
  runCount: number;
  /** The data runs in file order, neighbours merged (up to the map's maximum run length). */
  runs(): Iterable<DataRun>;
  /** Bytes of guest data (clusters) the runs hold. */
  dataBytes: number;
}

/** Runs packed three numbers each (host, guest, length; a compressed run's length is negative). */
class RunList {
  #data = new Float64Array(3 * 1024);
  count = 0;

  constructor(private readonly maxRuns: number) {}

  push(host: number, guest: number, length: number, compressed: boolean, maxRun: number): void {
    const d = this.#data;
    const k = 3 * (this.count - 1);
    // Neighbours in the file and in the guest become one write (a converted image is mostly this).
    if (this.count > 0 && !compressed && d[k + 2]! > 0 && d[k]! + d[k + 2]! === host && d[k + 1]! + d[k + 2]! === guest && d[k + 2]! + length <= maxRun) {
      d[k + 2] = d[k + 2]! + length;
      return;
    }
    if (this.count >= this.maxRuns) corrupt('qcow2-too-fragmented', `more than ${this.maxRuns} separate data runs`);
    if (3 * (this.count + 1) > d.length) {
      this.#data = new Float64Array(Math.max(3, Math.min(2 * d.length, 3 * this.maxRuns)));
      this.#data.set(d);
    }
    this.#data.set([host, guest, compressed ? -length : length], 3 * this.count++);
  }

  run(i: number): DataRun {
    const d = this.#data;
    const length = d[3 * i + 2]!;
    return { host: d[3 * i]!, guest: d[3 * i + 1]!, length: Math.abs(length), compressed: length < 0 };
  }

  /** Indices in file order (usually already sorted: then no permutation is kept). */
  order(): Uint32Array | undefined {
    const d = this.#data;
    let sorted = true;
    for (let i = 1; i < this.count && sorted; i++) sorted = d[3 * i]! >= d[3 * (i - 1)]!;
    if (sorted) return undefined;
    return new Uint32Array(this.count).map((_, i) => i).sort((a, b) => d[3 * a]! - d[3 * b]!);
  }
}

/** Bounds of {@link readClusterMap}. */
export interface ClusterMapLimits {
  /** Longest merged run in bytes (default 4 MiB, one RBD object). */
  maxRun?: number;
  /** Most separate runs (default {@link MAX_DATA_RUNS}). */
  maxRuns?: number;
}

/**
 * Reads the L1 and L2 tables (random access) and returns the data runs, merging neighbours.
 * @throws CorruptImage for any table or cluster outside the file, shared, overlapping, or too many runs.
 */
export async function readClusterMap(src: ImageSource, header: Qcow2Header, limits: ClusterMapLimits = {}): Promise<ClusterMap> {
  const maxRun = limits.maxRun ?? 4 * 1024 * 1024;
  if (!src.readAt || src.size === undefined) throw new UnsafeImage('qcow2-needs-random-access', 'qcow2 tables need random access: import from a file or an http(s) URL, not a pipe', 'qcow2');
  const size = src.size;
  const { clusterSize, clusterBits, l1Size, l1Offset, virtualSize } = header;
  const l2Entries = clusterSize / 8;
  const l1 = await src.readAt(l1Offset, l1Size * 8);
  if (l1.length < l1Size * 8) corrupt('qcow2-truncated', 'the L1 table is cut short');
  const list = new RunList(Math.max(1, limits.maxRuns ?? MAX_DATA_RUNS));
  let dataBytes = 0;
  const offsetMask = (1n << 56n) - 1n - 511n; // bits 9..55
  const x = 62 - (clusterBits - 8);
  const sectorsMask = (1n << BigInt(clusterBits - 8)) - 1n;
  const seenL2 = new Set<number>();
  for (let i = 0; i < l1Size; i++) {
    const l1e = l1.readBigUInt64BE(i * 8);
    const l2Offset = Number(l1e & offsetMask);
    if (l2Offset === 0) continue;
    if (l2Offset % clusterSize !== 0 || l2Offset + clusterSize > size) corrupt('qcow2-l2-offset', `L2 table ${i} at ${l2Offset} is misaligned or beyond the file`);
    if (seenL2.has(l2Offset)) corrupt('qcow2-l2-shared', `L2 table at ${l2Offset} is used twice`);
    seenL2.add(l2Offset);
    const l2 = await src.readAt(l2Offset, clusterSize);
    if (l2.length < clusterSize) corrupt('qcow2-truncated', `L2 table ${i} is cut short`);
    for (let j = 0; j < l2Entries; j++) {
      const guest = (i * l2Entries + j) * clusterSize;
      if (guest >= virtualSize) break;
      const e = l2.readBigUInt64BE(j * 8);
      if (e === 0n) continue;
      if (e & (1n << 62n)) {
        const host = Number(e & ((1n << BigInt(x)) - 1n));
        const length = (Number((e >> BigInt(x)) & sectorsMask) + 1) * 512 - (host & 511);
        if (host + Math.min(length, 1) > size || length <= 0) corrupt('qcow2-compressed-offset', `compressed cluster at ${host} is beyond the file`);
        list.push(host, guest, Math.min(length, size - host), true, maxRun);
        dataBytes += clusterSize;
      } else {
        if (e & 1n) continue; // reads as zeros (v3 zero flag)
        const host = Number(e & offsetMask);
        if (host === 0) continue; // unallocated: reads as zeros, there is no backing file
        if (host % clusterSize !== 0 || host + clusterSize > size) corrupt('qcow2-data-offset', `data cluster at ${host} is misaligned or beyond the file`);
        const length = Math.min(clusterSize, virtualSize - guest);
        list.push(host, guest, length, false, maxRun);
        dataBytes += length;
      }
    }
  }
  const order = list.order();
  const at = (k: number) => list.run(order ? order[k]! : k);
  for (let k = 1; k < list.count; k++) {
    const a = at(k - 1);
    const b = at(k);
    if (b.host < a.host + a.length && !(a.compressed || b.compressed)) corrupt('qcow2-overlap', `clusters overlap at ${b.host}`);
  }
  return {
    header,
    runCount: list.count,
    dataBytes,
    *runs() {
      for (let k = 0; k < list.count; k++) yield at(k);
    },
  };
}
