/**
 * Lifetime of native handles. Every call is counted while in flight; `close()` stops new calls,
 * waits for the running ones, closes children first (images before their I/O context, contexts
 * before their connection), then releases the native handle. Calls after close get
 * {@link HandleClosed}; a second close is a no-op.
 */
import { Errno } from './errno.js';
import { CephError, HandleClosed, type ErrorContext, type Subject, mapNativeError } from './errors.js';

export abstract class NativeResource implements AsyncDisposable {
  #inflight = 0;
  #closing: Promise<void> | null = null;
  #drained: (() => void) | null = null;
  readonly #children = new Set<NativeResource>();
  #parent: NativeResource | null = null;

  /** What errors from this handle are about (pool, image, user…). */
  protected abstract context(): ErrorContext;
  /** Releases the native handle; called once, with nothing in flight and no children open. */
  protected abstract closeNative(): Promise<void>;

  /** True once `close()` has been called. */
  get closed(): boolean {
    return this.#closing !== null;
  }

  /** Operations currently running on this handle. */
  get inflight(): number {
    return this.#inflight;
  }

  protected adopt(child: NativeResource): void {
    child.#parent = this;
    this.#children.add(child);
  }

  protected assertOpen(op: string): void {
    if (this.#closing) throw new HandleClosed(`${op}: handle is closed`, Errno.EBADF, { ...this.context(), op });
  }

  /** Runs a native call, counted while in flight, its failure mapped to a typed error. */
  protected async call<T>(op: string, fn: () => Promise<T>, ctx: ErrorContext = {}, subject: Subject = 'other'): Promise<T> {
    this.assertOpen(op);
    this.#inflight++;
    try {
      return await fn();
    } catch (e) {
      throw mapNativeError(e, { ...this.context(), ...ctx, op }, subject);
    } finally {
      if (--this.#inflight === 0 && this.#drained) this.#drained();
    }
  }

  /** Synchronous native call (local, non-blocking): same checks and error mapping. */
  protected callSync<T>(op: string, fn: () => T, ctx: ErrorContext = {}, subject: Subject = 'other'): T {
    this.assertOpen(op);
    try {
      return fn();
    } catch (e) {
      throw mapNativeError(e, { ...this.context(), ...ctx, op }, subject);
    }
  }

  /** Closes this handle after its work in flight and its children; safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#inflight > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    const results = await Promise.allSettled([...this.#children].map((c) => c.close()));
    try {
      await this.closeNative();
    } catch (e) {
      throw mapNativeError(e, { ...this.context(), op: 'close' });
    } finally {
      if (this.#parent) this.#parent.#children.delete(this);
    }
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason instanceof CephError ? failed.reason : mapNativeError(failed.reason, this.context());
  }

  /** `await using` support. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
