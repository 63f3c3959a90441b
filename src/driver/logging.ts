/**
 * Structured logs (pino). Destructive operations and permission denials emit one audit event each,
 * with pool, image and user. Keys never reach a log: the driver never reads them, and the logger
 * redacts the usual secret fields anyway.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Fields that must never be logged, censored wherever they appear. */
const REDACT = ['key', 'secret', 'password', 'token', '*.key', '*.secret', '*.password', '*.token', 'keyringContents', '*.keyringContents'];

/** A driver logger: the caller's pino logger (as a child), a pino config, or silence. */
export function createLogger(logger: Logger | LoggerOptions | undefined): Logger {
  if (logger && typeof (logger as Logger).child === 'function') return (logger as Logger).child({ component: 'rbd-driver' });
  const options = (logger as LoggerOptions | undefined) ?? { level: 'silent' };
  return pino({ ...options, redact: { paths: REDACT, censor: '[redacted]' } });
}

/** What an audit event records. */
export interface AuditEvent {
  action: string;
  pool: string;
  namespace?: string;
  image?: string;
  snapshot?: string;
  user: string;
  outcome: string;
  [extra: string]: unknown;
}

/** Emits one audit event. */
export function audit(log: Logger, event: AuditEvent): void {
  log.info({ audit: true, ...event }, `audit ${event.action} ${event.pool}/${event.image ?? ''} ${event.outcome}`);
}
