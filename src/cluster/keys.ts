/**
 * cephx keys and keyring files, made in-process so that no key ever passes through argv.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';

const CEPH_CRYPTO_AES = 1;

/**
 * A new cephx secret in Ceph's encoding (as `ceph-authtool --gen-print-key` prints it):
 * u16 type, u32 seconds, u32 nanoseconds, u16 length, then 16 random bytes; base64.
 */
export function generateCephxKey(now = Date.now()): string {
  const buf = Buffer.alloc(2 + 4 + 4 + 2 + 16);
  buf.writeUInt16LE(CEPH_CRYPTO_AES, 0);
  buf.writeUInt32LE(Math.floor(now / 1000), 2);
  buf.writeUInt32LE((now % 1000) * 1_000_000, 6);
  buf.writeUInt16LE(16, 10);
  randomBytes(16).copy(buf, 12);
  return buf.toString('base64');
}

/** One entity of a keyring file. */
export interface KeyringEntry {
  entity: string;
  key: string;
  caps?: Record<string, string>;
}

/** Writes a keyring file readable by its owner only. */
export async function writeKeyring(path: string, entries: readonly KeyringEntry[]): Promise<void> {
  const text = entries
    .map((e) => {
      const caps = Object.entries(e.caps ?? {}).map(([svc, cap]) => `\tcaps ${svc} = "${cap}"\n`);
      return `[${e.entity}]\n\tkey = ${e.key}\n${caps.join('')}`;
    })
    .join('');
  await writeFile(path, text, { mode: 0o600 });
}
