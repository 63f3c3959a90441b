/**
 * What every driver operation works with: the shared connection, the logger, the defaults.
 * @internal
 */
import type { IoCtx } from '../ceph/index.js';
import type { Connection } from './connection.js';
import type { Logger } from './logging.js';
import type { RetryPolicy } from './retry.js';

/** Where an image lives: the driver's pool and namespace unless given. */
export interface Placement {
  pool?: string;
  namespace?: string;
}

/** Clone-depth policy, as Cinder's `rbd_max_clone_depth`. */
export interface CloneDepthPolicy {
  /** Longest allowed chain of parents (default 5). */
  max: number;
  /** What to do when a new clone would exceed it: flatten the new clone (default), or refuse. */
  onExceed: 'flatten' | 'refuse';
}

/** What the clone preflight learned about a parent snapshot. */
export interface ParentCheck {
  isProtected: boolean;
  /** Parents above the parent image. */
  depth: number;
}

export interface DriverContext {
  /**
   * Parent-snapshot checks by URL, for a few seconds: a boot storm clones one snapshot many times.
   * A stale entry is harmless: librbd's clone itself refuses a vanished or unprotected parent.
   */
  parentChecks: Map<string, { at: number; check: Promise<ParentCheck> }>;
  conn: Connection;
  log: Logger;
  pool: string;
  namespace: string;
  retry: RetryPolicy;
  cloneDepth: CloneDepthPolicy;
  conf: string;
  keyring: string | undefined;
}

/** Resolves a placement against the driver's defaults. */
export function place(ctx: DriverContext, p: Placement | undefined): { pool: string; namespace: string } {
  return { pool: p?.pool ?? ctx.pool, namespace: p?.namespace ?? ctx.namespace };
}

/** The I/O context of a placement. */
export function ioctxOf(ctx: DriverContext, p: Placement | undefined): Promise<IoCtx> {
  const { pool, namespace } = place(ctx, p);
  return ctx.conn.ioctx(pool, namespace);
}
