/**
 * Image commands: ls, info, create, resize, rm, exists, clone, flatten, parent, destroy, cleanup.
 */
import { UsageError, parseCount, parseImageSpec, parseSize } from '../args.js';
import type { Command, CommandContext } from '../context.js';
import { columns, iec } from '../output.js';
import { formatRbdUrl, type CleanupEntry, type CloneResult, type DestroyResult, type ImageInfo, type ParentRef } from '../../driver/index.js';

async function target(ctx: CommandContext, spec: string | undefined, what = 'image') {
  const s = parseImageSpec(spec, what);
  const place = await ctx.placement(s);
  return { ...s, ...place, driver: await ctx.driver(place.pool) };
}

function noSnapshot(s: { snapshot: string | undefined }, cmd: string): void {
  if (s.snapshot !== undefined) throw new UsageError(`${cmd} takes an image, not a snapshot`);
}

export const imageCommands: Command[] = [
  {
    name: 'ls',
    usage: 'ls [POOL]',
    summary: 'list the images of a pool',
    async run(ctx, [pool]) {
      const p = pool ?? (await ctx.defaultPool());
      const images = await (await ctx.driver(p)).listImages({ pool: p, namespace: ctx.globals.namespace ?? '' });
      return { pool: p, images };
    },
    human: (r: { images: string[] }) => r.images.join('\n'),
  },
  {
    name: 'info',
    usage: 'info POOL/IMAGE',
    summary: 'size, features, parent, snapshots and watchers of an image',
    async run(ctx, [spec]) {
      const t = await target(ctx, spec);
      noSnapshot(t, 'info');
      return t.driver.info(t.image, t);
    },
    human: (i: ImageInfo) =>
      columns(
        ['field', 'value'],
        [
          ['image', `${i.pool}/${i.namespace ? `${i.namespace}/` : ''}${i.name}`],
          ['id', i.id],
          ['size', `${iec(i.size)} in ${i.objects} objects of ${iec(i.objectSize)}`],
          ['features', i.features.join(', ')],
          ['parent', i.parent ? `${i.parent.pool}/${i.parent.image}@${i.parent.snapshot}` : '-'],
          ['snapshots', i.snapshots.join(', ') || '-'],
          ['watchers', i.watchers.join(', ') || '-'],
        ],
      ),
  },
  {
    name: 'create',
    usage: 'create POOL/IMAGE --size SIZE [--order N]',
    summary: 'create an empty image (sizes like 10G)',
    options: { size: { type: 'string', short: 's' }, order: { type: 'string' } },
    async run(ctx, [spec], o) {
      const t = await target(ctx, spec);
      noSnapshot(t, 'create');
      const size = parseSize(o['size'] as string | undefined);
      const order = o['order'] === undefined ? undefined : parseCount(o['order'] as string, 'order', 22);
      await t.driver.create(t.image, size, { pool: t.pool, namespace: t.namespace, ...(order !== undefined ? { order } : {}) });
      return { pool: t.pool, image: t.image, size };
    },
    human: (r: { pool: string; image: string; size: number }) => `created ${r.pool}/${r.image} (${iec(r.size)})`,
  },
  {
    name: 'resize',
    usage: 'resize POOL/IMAGE --size SIZE [--allow-shrink]',
    summary: 'grow an image (shrinking discards data and needs --allow-shrink)',
    options: { size: { type: 'string', short: 's' }, 'allow-shrink': { type: 'boolean' } },
    async run(ctx, [spec], o) {
      const t = await target(ctx, spec);
      noSnapshot(t, 'resize');
      const size = parseSize(o['size'] as string | undefined);
      const bar = ctx.progress('resize', false);
      await t.driver.resize(t.image, size, { pool: t.pool, namespace: t.namespace, allowShrink: o['allow-shrink'] === true, signal: ctx.signal, onProgress: (p) => bar.update(p.done, p.total) });
      bar.done();
      return { pool: t.pool, image: t.image, size };
    },
    human: (r: { pool: string; image: string; size: number }) => `resized ${r.pool}/${r.image} to ${iec(r.size)}`,
  },
  {
    name: 'rm',
    usage: 'rm POOL/IMAGE',
    summary: 'remove an image once (no retries); an absent image is reported, not an error',
    async run(ctx, [spec]) {
      const t = await target(ctx, spec);
      noSnapshot(t, 'rm');
      return { pool: t.pool, image: t.image, outcome: await t.driver.removeImage(t.image, t) };
    },
    human: (r: { pool: string; image: string; outcome: string }) => `${r.pool}/${r.image}: ${r.outcome}`,
  },
  {
    name: 'exists',
    usage: 'exists POOL/IMAGE',
    summary: 'exit 0 when the image exists, 3 when it does not',
    async run(ctx, [spec]) {
      const t = await target(ctx, spec);
      noSnapshot(t, 'exists');
      return { pool: t.pool, image: t.image, exists: await t.driver.exists(t.image, t) };
    },
    human: (r: { exists: boolean }) => (r.exists ? 'yes' : 'no'),
    exitCode: (r: { exists: boolean }) => (r.exists ? 0 : 3),
  },
  {
    name: 'clone',
    usage: 'clone RBD-URL|POOL/IMAGE@SNAP POOL/NAME',
    summary: 'clone a golden snapshot copy-on-write, after checking everything first',
    async run(ctx, [from, to]) {
      if (from === undefined) throw new UsageError('missing the snapshot to clone (rbd://… or pool/image@snap)');
      const dest = await target(ctx, to, 'destination');
      noSnapshot(dest, 'clone destination');
      let url = from;
      if (!from.startsWith('rbd://')) {
        const src = parseImageSpec(from, 'source');
        if (!src.snapshot) throw new UsageError('the source must name a snapshot: pool/image@snap');
        const place = await ctx.placement(src);
        url = formatRbdUrl({ fsid: await dest.driver.getFsid(), pool: place.pool, namespace: place.namespace, image: src.image, snapshot: src.snapshot });
      }
      const bar = ctx.progress('flatten', false);
      const r = await dest.driver.clone(url, dest.image, { dest: { pool: dest.pool, namespace: dest.namespace }, signal: ctx.signal, onProgress: (p) => bar.update(p.done, p.total) });
      bar.done();
      return r;
    },
    human: (r: CloneResult) => `cloned ${r.parent.pool}/${r.parent.image}@${r.parent.snapshot} to ${r.pool}/${r.name} (depth ${r.depth}${r.flattened ? ', flattened' : ''})`,
  },
  {
    name: 'flatten',
    usage: 'flatten POOL/IMAGE',
    summary: "copy a clone's parent data in and detach it",
    async run(ctx, [spec]) {
      const t = await target(ctx, spec);
      noSnapshot(t, 'flatten');
      const bar = ctx.progress('flatten', false);
      await t.driver.flatten(t.image, { pool: t.pool, namespace: t.namespace, signal: ctx.signal, onProgress: (p) => bar.update(p.done, p.total) });
      bar.done();
      return { pool: t.pool, image: t.image, flattened: true };
    },
    human: (r: { pool: string; image: string }) => `flattened ${r.pool}/${r.image}`,
  },
  {
    name: 'parent',
    usage: 'parent POOL/IMAGE',
    summary: 'the parent snapshot of a clone (none for a flat image)',
    async run(ctx, [spec]) {
      const t = await target(ctx, spec);
      return { pool: t.pool, image: t.image, parent: await t.driver.parentInfo(t.image, t) };
    },
    human: (r: { parent: ParentRef | null }) => (r.parent ? `${r.parent.pool}/${r.parent.namespace ? `${r.parent.namespace}/` : ''}${r.parent.image}@${r.parent.snapshot}` : 'no parent'),
  },
  {
    name: 'destroy',
    usage: 'destroy POOL/IMAGE [--attempts N] [--interval SECONDS] [--purge-snapshots] [--trash]',
    summary: 'remove an image, retrying while clients let go of it',
    options: { attempts: { type: 'string' }, interval: { type: 'string' }, 'purge-snapshots': { type: 'boolean' }, trash: { type: 'boolean' } },
    async run(ctx, [spec], o) {
      const t = await target(ctx, spec);
      noSnapshot(t, 'destroy');
      const attempts = parseCount(o['attempts'] as string | undefined, 'attempts', 12);
      const intervalMs = parseCount(o['interval'] as string | undefined, 'interval', 5) * 1000;
      const bar = ctx.progress('waiting for watchers', false);
      try {
        return await t.driver.destroyVolume(t.image, {
          pool: t.pool,
          namespace: t.namespace,
          retry: { attempts, intervalMs },
          purgeSnapshots: o['purge-snapshots'] === true,
          trashOnFailure: o['trash'] === true,
          signal: ctx.signal,
          onRetry: (ev) => {
            if (ev.attempt === 1) ctx.say(`busy: held open by ${ev.watchers.map((w) => w.address).join(', ') || ev.error.message}; retrying every ${(ev.delayMs / 1000).toFixed(1)} s, ${attempts} attempts at most`);
            bar.update(ev.attempt, attempts);
          },
        });
      } finally {
        bar.done();
      }
    },
    human: (r: DestroyResult) => `${r.name}: ${r.outcome} after ${r.attempts} attempt(s)${r.snapshotsRemoved.length ? `, snapshots removed: ${r.snapshotsRemoved.join(', ')}` : ''}`,
  },
  {
    name: 'cleanup',
    usage: 'cleanup --prefix PREFIX [POOL] [--concurrency N] [--attempts N] [--interval SECONDS]',
    summary: 'destroy every image whose name starts with PREFIX',
    options: { prefix: { type: 'string' }, concurrency: { type: 'string' }, attempts: { type: 'string' }, interval: { type: 'string' } },
    async run(ctx, [pool], o) {
      const prefix = o['prefix'];
      if (typeof prefix !== 'string' || prefix === '') throw new UsageError('cleanup needs --prefix (it never removes a whole pool)');
      const p = pool ?? (await ctx.defaultPool());
      const bar = ctx.progress('cleanup', false);
      const report = await (await ctx.driver(p)).cleanupVolumes(
        { prefix },
        {
          pool: p,
          concurrency: parseCount(o['concurrency'] as string | undefined, 'concurrency', 8),
          retry: { attempts: parseCount(o['attempts'] as string | undefined, 'attempts', 12), intervalMs: parseCount(o['interval'] as string | undefined, 'interval', 5) * 1000 },
          signal: ctx.signal,
          onProgress: (p2) => bar.update(p2.done, p2.total),
        },
      );
      bar.done();
      return { pool: p, prefix, volumes: report };
    },
    human: (r: { pool: string; volumes: CleanupEntry[] }) =>
      r.volumes.length === 0 ? 'nothing matched' : columns(['image', 'outcome', 'attempts'], r.volumes.map((v) => [v.name, v.ok ? v.outcome : 'failed', v.ok ? String(v.attempts) : '-'])),
  },
];
