/**
 * Loads the native addon and describes its raw surface. Nothing outside `src/ceph` uses this
 * directly: the typed API there validates handles and arguments and maps errors.
 * @internal
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A number, or a BigInt when the value exceeds 2^53. */
export type U64 = number | bigint;

export interface NativeHandleState {
  closed: boolean;
  inflight: number;
  children?: number;
}

export type ProgressFn = (offset: number, total: number) => void;

export interface NativeCancelToken {
  cancel(): void;
  isCanceled(): boolean;
}

export interface NativeImageOptions {
  format?: number;
  features?: U64;
  order?: number;
  stripeUnit?: U64;
  stripeCount?: U64;
  featuresSet?: U64;
  featuresClear?: U64;
  cloneFormat?: number;
  flatten?: boolean;
  dataPool?: string;
}

export interface NativeRados {
  confReadFile(path: string): void;
  confSet(option: string, value: string): void;
  confGet(option: string): string;
  connect(): Promise<void>;
  shutdown(): Promise<void>;
  fsid(): string;
  addrs(): string;
  clusterStat(): Promise<{ kb: U64; kbUsed: U64; kbAvail: U64; numObjects: U64 }>;
  poolLookup(pool: string): Promise<number>;
  monCommand(cmd: string, input?: string | null): Promise<{ out: Buffer; status: string }>;
  ioctxCreate(pool: string): Promise<NativeIoCtx>;
  state(): NativeHandleState;
}

export interface NativePoolStat {
  numBytes: U64;
  numObjects: U64;
  numObjectClones: U64;
  numObjectCopies: U64;
  numObjectsDegraded: U64;
  numRd: U64;
  numWr: U64;
}

export interface NativeIoCtx {
  close(): void;
  setNamespace(ns: string): void;
  poolId(): number;
  poolStat(): Promise<NativePoolStat>;
  stat(oid: string): Promise<{ size: U64; mtime: number }>;
  read(oid: string, buf: Buffer, offset: U64): Promise<number>;
  write(oid: string, buf: Buffer, offset: U64): Promise<void>;
  writeFull(oid: string, buf: Buffer, failIfFull?: boolean): Promise<void>;
  remove(oid: string): Promise<void>;
  exec(oid: string, cls: string, method: string, input: Buffer): Promise<Buffer>;
  omapGetVals(oid: string, startAfter: string | null, prefix: string | null, max: number): Promise<{ entries: [string, Buffer][]; more: boolean }>;
  state(): NativeHandleState;
}

export interface NativeLinkedImage {
  poolId: number;
  pool: string;
  namespace: string;
  imageId: string;
  image: string;
  trash: boolean;
}

export interface NativeParent extends NativeLinkedImage {
  snapId: U64;
  snap: string;
  snapNamespaceType: number;
}

export interface NativeImage {
  close(): Promise<void>;
  state(): NativeHandleState;
  stat(): Promise<{ size: U64; objSize: U64; numObjs: U64; order: number }>;
  size(): Promise<U64>;
  id(): string;
  resize(size: U64, allowShrink: boolean, progress?: ProgressFn, token?: NativeCancelToken): Promise<void>;
  flatten(progress?: ProgressFn, token?: NativeCancelToken): Promise<void>;
  parentInfo(): Promise<NativeParent>;
  listChildren(): Promise<NativeLinkedImage[]>;
  snapList(): Promise<{ id: U64; size: U64; name: string }[]>;
  snapCreate(name: string, flags?: number): Promise<void>;
  snapRemove(name: string, flags: number, progress?: ProgressFn, token?: NativeCancelToken): Promise<void>;
  snapProtect(name: string): Promise<void>;
  snapUnprotect(name: string): Promise<void>;
  snapIsProtected(name: string): Promise<boolean>;
  snapExists(name: string): Promise<boolean>;
  snapRollback(name: string, progress?: ProgressFn, token?: NativeCancelToken): Promise<void>;
  snapGetLimit(): Promise<U64>;
  snapSetLimit(limit: U64): Promise<void>;
  features(): bigint;
  updateFeatures(mask: U64, enabled: boolean): Promise<void>;
  watchers(): Promise<{ addr: string; id: number; cookie: U64 }[]>;
  metadataGet(key: string): Promise<string>;
  metadataSet(key: string, value: string): Promise<void>;
  metadataRemove(key: string): Promise<void>;
  copy(dest: NativeIoCtx, name: string, opts: { order?: number } | null, progress?: ProgressFn, token?: NativeCancelToken): Promise<void>;
  read(offset: U64, buf: Buffer): Promise<number>;
  write(offset: U64, buf: Buffer): Promise<number>;
  discard(offset: U64, length: U64): Promise<void>;
  flush(): Promise<void>;
  aioRead(offset: U64, buf: Buffer): Promise<number>;
  aioWrite(offset: U64, buf: Buffer): Promise<number>;
  diffIterate(fromSnap: string | null, offset: U64, length: U64, includeParent: boolean, wholeObject: boolean): Promise<Float64Array>;
}

export interface NativeBinding {
  Rados: new (cluster: string, entity: string) => NativeRados;
  CancelToken: new () => NativeCancelToken;
  rbdCreate(io: NativeIoCtx, name: string, size: U64, opts: NativeImageOptions | null): Promise<void>;
  rbdClone(pio: NativeIoCtx, parent: string, snap: string, cio: NativeIoCtx, name: string, opts: NativeImageOptions | null): Promise<void>;
  rbdRemove(io: NativeIoCtx, name: string, progress?: ProgressFn, token?: NativeCancelToken): Promise<void>;
  rbdRename(io: NativeIoCtx, src: string, dest: string): Promise<void>;
  rbdList(io: NativeIoCtx): Promise<{ id: string; name: string }[]>;
  rbdTrashMove(io: NativeIoCtx, name: string, delaySeconds: number): Promise<void>;
  rbdTrashList(io: NativeIoCtx): Promise<{ id: string; name: string; source: number; deletionTime: number; defermentEndTime: number }[]>;
  rbdTrashRestore(io: NativeIoCtx, id: string, name: string): Promise<void>;
  rbdTrashRemove(io: NativeIoCtx, id: string, force: boolean): Promise<void>;
  rbdOpen(io: NativeIoCtx, name: string, snap: string | null, readOnly: boolean): Promise<NativeImage>;
  /** lseek(2) SEEK_DATA/SEEK_HOLE walk of [offset, end): [offset, length] pairs of data, at most maxExtents. */
  fileDataExtents(fd: number, offset: number, end: number, maxExtents: number): Promise<Float64Array>;
}

function findAddon(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'native', 'build', 'Release', 'ceph_native.node');
    if (existsSync(candidate)) return candidate;
    dir = resolve(dir, '..');
  }
  throw new Error('native addon not built: run `npm run build` (needs librados-dev and librbd-dev)');
}

let loaded: NativeBinding | undefined;

/** The addon, loaded on first use so that pure modules (URL parsing, inspection) never need it. */
export function native(): NativeBinding {
  loaded ??= createRequire(import.meta.url)(findAddon()) as NativeBinding;
  return loaded;
}
