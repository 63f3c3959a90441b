/**
 * Debian packages the project needs on the machine, and installing them when missing.
 */
import { runProgram } from '../util/process.js';

/** Packages the local cluster, the native build and the image pipeline need. */
export const CLUSTER_PACKAGES = [
  'ceph-mon',
  'ceph-mgr',
  'ceph-osd',
  'ceph-common',
  'librados-dev',
  'librbd-dev',
  'qemu-utils',
  // qemu-img's rbd block driver: other formats are converted straight into the image.
  'qemu-block-extra',
] as const;

/** Ceph's own Python bindings: the latency floor in the benchmark. */
export const PYTHON_BINDING_PACKAGES = ['python3-rados', 'python3-rbd'] as const;

/** Nova's RBD driver, the behaviour and speed baseline. */
export const NOVA_PACKAGES = ['python3-nova'] as const;

/** System packages are missing and this process cannot install them. */
export class MissingPackages extends Error {
  override readonly name = 'MissingPackages';
  readonly code = 'MISSING_PACKAGES';
  constructor(readonly packages: readonly string[]) {
    super(
      `missing Debian packages: ${packages.join(' ')}. Install them as root: ` +
        `apt-get update && apt-get install -y --no-install-recommends ${packages.join(' ')}`,
    );
  }
}

/** Returns the packages of `names` that dpkg does not report as installed. */
export async function missingPackages(names: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const name of names) {
    try {
      const { stdout } = await runProgram('dpkg-query', ['-W', '-f=${Status}', name], { timeoutMs: 30_000 });
      if (!stdout.includes('install ok installed')) missing.push(name);
    } catch {
      missing.push(name);
    }
  }
  return missing;
}

/**
 * Installs whichever of `names` are missing with apt (as root); otherwise throws
 * {@link MissingPackages} naming them. Returns the packages it installed.
 */
export async function ensurePackages(
  names: readonly string[],
  log: (line: string) => void = () => {},
): Promise<string[]> {
  const missing = await missingPackages(names);
  if (missing.length === 0) return [];
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) throw new MissingPackages(missing);
  log(`installing Debian packages: ${missing.join(' ')}`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  await runProgram('apt-get', ['update'], { env, timeoutMs: 600_000 });
  await runProgram('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, timeoutMs: 1_800_000 });
  const still = await missingPackages(missing);
  if (still.length > 0) throw new MissingPackages(still);
  return missing;
}
