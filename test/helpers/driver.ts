/**
 * Drivers for tests, with their logs captured: in memory for assertions, and appended to
 * `.cluster/test-logs/` so that the test run can grep every line for secrets.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Feature, Image, Rbd } from '../../src/ceph/index.js';
import { RbdDriver, type DriverOptions } from '../../src/driver/index.js';
import { connect, localCluster, uniqueName } from './cluster.js';

/** Log lines of every driver made in this process. */
export const logLines: string[] = [];

export async function logFile(): Promise<string> {
  const dir = join((await localCluster()).dir, 'test-logs');
  mkdirSync(dir, { recursive: true });
  return join(dir, `driver-${process.pid}.log`);
}

/** A driver on the local cluster as `user` (default compute, pool vms), logging at debug level. */
export async function driverFor(user = 'compute', extra: Partial<DriverOptions> = {}): Promise<RbdDriver> {
  const { conf } = await localCluster();
  const file = await logFile();
  const stream = {
    write(line: string) {
      logLines.push(line);
      appendFileSync(file, line);
    },
  };
  return RbdDriver.connect({ conf, user, pool: 'vms', logger: pino({ level: 'debug' }, stream), ...extra });
}

/** Parsed audit events logged so far. */
export function auditEvents(): Record<string, unknown>[] {
  return logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e['audit'] === true);
}

/** A golden image in `images` with a protected snapshot `snap`, made as admin; returns its URL and a remover. */
export async function goldenImage(size = 16 * 1024 * 1024, data = true): Promise<{ name: string; url: string; remove: () => Promise<void> }> {
  const rados = await connect();
  const io = await rados.openIoCtx('images');
  const name = uniqueName('gold');
  await Rbd.create(io, name, size, { features: Feature.LAYERING });
  {
    await using img = await Image.open(io, name);
    if (data) await img.write(Buffer.alloc(1024 * 1024, 0x42), 0);
    await img.createSnapshot('snap');
    await img.protectSnapshot('snap');
  }
  return {
    name,
    url: `rbd://${rados.fsid()}/images/${name}/snap`,
    remove: async () => {
      {
        await using img = await Image.open(io, name);
        await img.removeSnapshot('snap', { force: true });
      }
      await Rbd.remove(io, name);
      await rados.close();
    },
  };
}
