/**
 * The driver's option and result types, and the input checks its methods share.
 */
import type { LoggerOptions } from 'pino';
import { Feature, IoCtx, type Timeouts, validatePoolName } from '../ceph/index.js';
import type { CloneDepthPolicy, Placement } from './context.js';
import type { Logger } from './logging.js';
import type { RetryPolicy } from './retry.js';
import { ImageUnacceptable, nameProblem } from './url.js';

/** Options for {@link RbdDriver.connect}. */
export interface DriverOptions {
  /** ceph.conf path. */
  conf: string;
  /** Ceph user, `compute` or `client.compute`. */
  user: string;
  /** Keyring file path (never a key). Default: what ceph.conf says. */
  keyring?: string;
  /** The pool instance disks live in (default `rbd`, Ceph's default pool). Checked at connect when given. */
  pool?: string;
  /** RADOS namespace within the pool (default none). */
  namespace?: string;
  timeouts?: Timeouts;
  /** Default retry policy of destroyVolume/cleanupVolumes. */
  retry?: Partial<RetryPolicy>;
  /** Clone-depth policy (default: at most 5, flatten beyond, as Cinder). */
  cloneDepth?: Partial<CloneDepthPolicy>;
  /** A pino logger (used as a child), pino options, or nothing (silent). */
  logger?: Logger | LoggerOptions;
}

/** Glance-style image metadata for {@link RbdDriver.isCloneable}. */
export interface ImageMeta {
  disk_format?: string;
  diskFormat?: string;
}

/** A snapshot as {@link RbdDriver.listSnaps} reports it. */
export interface SnapInfo {
  name: string;
  id: bigint;
  size: number;
  protected: boolean;
  /** Made by this driver (destroyVolume removes these). */
  ours: boolean;
}

/** What {@link RbdDriver.info} reports. */
export interface ImageInfo {
  pool: string;
  namespace: string;
  name: string;
  id: string;
  size: number;
  objectSize: number;
  objects: number;
  order: number;
  features: string[];
  parent: ParentRef | null;
  snapshots: string[];
  watchers: string[];
}

const FEATURE_LABELS: [bigint, string][] = Object.entries(Feature).map(([k, v]) => [v, k.toLowerCase().replace(/_/g, '-')]);

/** Feature bits as Ceph's names (`layering`, `exclusive-lock`…). */
export function featureNames(bits: bigint): string[] {
  return FEATURE_LABELS.filter(([b]) => (bits & b) !== 0n).map(([, n]) => n);
}

/** Parent of a clone. */
export interface ParentRef {
  pool: string;
  namespace: string;
  image: string;
  snapshot: string;
}

export function checkNamespace(ns: unknown): string {
  if (ns === undefined) return '';
  IoCtx.validateNamespace(ns);
  return ns;
}

export function checkSnap(snap: unknown): string {
  if (typeof snap !== 'string') throw new ImageUnacceptable('type', 'snapshot name must be a string');
  const problem = nameProblem(snap, 'snapshot name');
  if (problem) throw new ImageUnacceptable('snapshot', `unacceptable snapshot name ${JSON.stringify(snap)}: ${problem}`);
  return snap;
}

export function checkPlacement(p: Placement | undefined): void {
  if (p?.pool !== undefined) validatePoolName(p.pool);
  if (p?.namespace !== undefined) checkNamespace(p.namespace);
}

