/**
 * Command-line arguments: Ceph's connection flags, CEPH_ARGS, and image specs.
 */
import type { ParseArgsConfig } from 'node:util';

/** Flags every command takes, as Ceph's own tools spell them. */
export const GLOBAL_OPTIONS = {
  conf: { type: 'string', short: 'c' },
  id: { type: 'string' },
  user: { type: 'string' },
  keyring: { type: 'string', short: 'k' },
  pool: { type: 'string', short: 'p' },
  namespace: { type: 'string' },
  'connect-timeout': { type: 'string' },
  json: { type: 'boolean' },
  progress: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

/** Bad usage or invalid input: exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** CEPH_ARGS split into words (no shell involved: plain whitespace splitting, as Ceph does). */
export function cephArgsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = env['CEPH_ARGS'];
  return raw ? raw.trim().split(/\s+/).filter(Boolean) : [];
}

/** An image named on the command line: `image`, `pool/image`, `pool/namespace/image`, each with optional `@snap`. */
export interface ImageSpec {
  pool: string | undefined;
  namespace: string | undefined;
  image: string;
  snapshot: string | undefined;
}

export function parseImageSpec(spec: string | undefined, what = 'image'): ImageSpec {
  if (spec === undefined || spec === '') throw new UsageError(`missing ${what} (pool/image[@snap])`);
  const at = spec.indexOf('@');
  const path = at >= 0 ? spec.slice(0, at) : spec;
  const snapshot = at >= 0 ? spec.slice(at + 1) : undefined;
  if (snapshot !== undefined && snapshot === '') throw new UsageError(`empty snapshot name in ${JSON.stringify(spec)}`);
  const parts = path.split('/');
  if (parts.length > 3 || parts.some((p) => p === '')) throw new UsageError(`cannot read ${JSON.stringify(spec)} as pool/[namespace/]image[@snap]`);
  const image = parts.pop()!;
  const [pool, namespace] = parts.length === 2 ? parts : [parts[0], undefined];
  return { pool, namespace, image, snapshot };
}

/** Parses sizes like `10G`, `512M`, `1T`, `4096` (IEC: K = 1024). */
export function parseSize(text: string | undefined, what = 'size'): number {
  const m = /^(\d+)([KMGTP]i?B?)?$/i.exec(text ?? '');
  if (!m) throw new UsageError(`${what} must be a number of bytes or e.g. 10G, got ${JSON.stringify(text)}`);
  const unit = (m[2] ?? '').toUpperCase()[0];
  const power = unit ? 'KMGTP'.indexOf(unit) + 1 : 0;
  const value = Number(m[1]) * 1024 ** power;
  if (!Number.isSafeInteger(value)) throw new UsageError(`${what} is too large`);
  return value;
}

/** A whole number option. */
export function parseCount(text: string | undefined, what: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new UsageError(`--${what} must be a whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}
