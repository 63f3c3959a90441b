/**
 * Bounded, observable retries: a policy object, a loop that never runs forever, and a callback
 * plus a log line for every retry, so a caller always knows what is being waited on.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { canceled, invalidArgument } from '../ceph/errors.js';

/** How often and how long to retry. */
export interface RetryPolicy {
  /** Attempts in all, the first included (default 12). */
  attempts: number;
  /** Wait before the second attempt (default 5000 ms). */
  intervalMs: number;
  /** Each wait is the previous one times this (default 1: fixed interval, as Nova). */
  backoff: number;
  /** Cap on a single wait (default 30 000 ms). */
  maxIntervalMs: number;
  /** Overall bound from the first attempt; no attempt starts after it (default 120 000 ms). */
  deadlineMs: number;
}

/** 12 × 5 s like Nova's defaults: outlasts Ceph's 30-second watch timeout of a dead client. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 12, intervalMs: 5000, backoff: 1, maxIntervalMs: 30_000, deadlineMs: 120_000 };

/** What a retry callback is told. */
export interface RetryEvent {
  attempt: number;
  /** How long until the next attempt. */
  delayMs: number;
  error: Error;
}

/** Fills in and checks a partial policy. @throws InvalidArgument */
export function retryPolicy(partial: Partial<RetryPolicy> | undefined): RetryPolicy {
  const p = { ...DEFAULT_RETRY, ...partial };
  if (!Number.isInteger(p.attempts) || p.attempts < 1 || p.attempts > 1000) throw invalidArgument('retry.attempts must be an integer 1..1000');
  for (const k of ['intervalMs', 'maxIntervalMs', 'deadlineMs'] as const) {
    if (!Number.isFinite(p[k]) || p[k] < 0) throw invalidArgument(`retry.${k} must be a non-negative number`);
  }
  if (!Number.isFinite(p.backoff) || p.backoff < 1) throw invalidArgument('retry.backoff must be >= 1');
  return p;
}

/** The wait before attempt `attempt + 1`. */
export function retryDelay(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxIntervalMs, policy.intervalMs * policy.backoff ** (attempt - 1));
}

/** Waits `ms`, or rejects with OperationCanceled when `signal` aborts. */
export async function waitOrAbort(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  try {
    await delay(ms, undefined, signal ? { signal } : {});
  } catch {
    throw canceled({ op: what }, signal?.reason);
  }
}
