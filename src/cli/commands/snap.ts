/**
 * `snap create|rm|ls|protect|unprotect|rollback`.
 */
import { UsageError, parseImageSpec } from '../args.js';
import type { Command, CommandContext } from '../context.js';
import { columns, iec } from '../output.js';
import type { SnapInfo } from '../../driver/index.js';

async function snapTarget(ctx: CommandContext, spec: string | undefined, needSnap: boolean) {
  const s = parseImageSpec(spec, needSnap ? 'snapshot (pool/image@snap)' : 'image');
  if (needSnap && !s.snapshot) throw new UsageError(`name the snapshot: ${spec ?? ''}@SNAP`);
  const place = await ctx.placement(s);
  return { image: s.image, snapshot: s.snapshot ?? '', ...place, driver: await ctx.driver(place.pool) };
}

export const snapCommand: Command = {
  name: 'snap',
  usage: 'snap create|rm|ls|protect|unprotect|rollback POOL/IMAGE[@SNAP] [--protect] [--force] [--ignore-missing]',
  summary: 'manage snapshots',
  options: { protect: { type: 'boolean' }, force: { type: 'boolean' }, 'ignore-missing': { type: 'boolean' } },
  async run(ctx, [action, spec], o) {
    switch (action) {
      case 'ls': {
        const t = await snapTarget(ctx, spec, false);
        return { pool: t.pool, image: t.image, snapshots: await t.driver.listSnaps(t.image, t) };
      }
      case 'create': {
        const t = await snapTarget(ctx, spec, true);
        await t.driver.createSnap(t.image, t.snapshot, { pool: t.pool, namespace: t.namespace, protect: o['protect'] === true });
        return { pool: t.pool, image: t.image, snapshot: t.snapshot, outcome: 'created', protected: o['protect'] === true };
      }
      case 'rm': {
        const t = await snapTarget(ctx, spec, true);
        const outcome = await t.driver.removeSnap(t.image, t.snapshot, { pool: t.pool, namespace: t.namespace, force: o['force'] === true, ignoreMissing: o['ignore-missing'] === true });
        return { pool: t.pool, image: t.image, snapshot: t.snapshot, outcome };
      }
      case 'protect':
      case 'unprotect': {
        const t = await snapTarget(ctx, spec, true);
        if (action === 'protect') await t.driver.protectSnap(t.image, t.snapshot, t);
        else await t.driver.unprotectSnap(t.image, t.snapshot, t);
        return { pool: t.pool, image: t.image, snapshot: t.snapshot, outcome: `${action}ed` };
      }
      case 'rollback': {
        const t = await snapTarget(ctx, spec, true);
        const bar = ctx.progress('rollback', false);
        await t.driver.rollbackToSnap(t.image, t.snapshot, { pool: t.pool, namespace: t.namespace, signal: ctx.signal, onProgress: (p) => bar.update(p.done, p.total) });
        bar.done();
        return { pool: t.pool, image: t.image, snapshot: t.snapshot, outcome: 'rolled back' };
      }
      default:
        throw new UsageError(action ? `unknown snap action ${JSON.stringify(action)}` : 'missing snap action: create, rm, ls, protect, unprotect or rollback');
    }
  },
  human: (r: { image: string; snapshot?: string; outcome?: string; snapshots?: SnapInfo[] }) =>
    r.snapshots
      ? r.snapshots.length
        ? columns(['snapshot', 'size', 'protected', 'made by driver'], r.snapshots.map((s) => [s.name, iec(s.size), s.protected ? 'yes' : 'no', s.ours ? 'yes' : 'no']))
        : 'no snapshots'
      : `${r.image}@${r.snapshot}: ${r.outcome}`,
};
