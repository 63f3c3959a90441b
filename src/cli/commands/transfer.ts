/**
 * Moving disk images in and out: import, export.
 */
import { UsageError, parseImageSpec } from '../args.js';
import type { Command } from '../context.js';
import { iec } from '../output.js';
import type { ExportResult, ImportResult } from '../../driver/index.js';

export const transferCommands: Command[] = [
  {
    name: 'import',
    usage: 'import FILE POOL/NAME',
    summary: 'import a raw disk image file as a new image, skipping zero blocks',
    async run(ctx, [file, spec]) {
      if (!file) throw new UsageError('missing the file to import');
      const s = parseImageSpec(spec, 'destination');
      if (s.snapshot) throw new UsageError('the destination is an image, not a snapshot');
      const place = await ctx.placement(s);
      const bar = ctx.progress('import', true);
      const r = await (await ctx.driver(place.pool)).importImage(file, s.image, { ...place, signal: ctx.signal, onProgress: (p) => bar.update(p.done, p.total) });
      bar.done();
      return { pool: place.pool, ...r };
    },
    human: (r: ImportResult & { pool: string }) => `imported ${r.pool}/${r.name}: ${iec(r.size)}, ${iec(r.bytesWritten)} written, ${iec(r.zeroBytesSkipped)} of zeros skipped`,
  },
  {
    name: 'export',
    usage: 'export POOL/IMAGE[@SNAP] FILE',
    summary: 'export an image or snapshot to a new raw, sparse file',
    async run(ctx, [spec, file]) {
      const s = parseImageSpec(spec);
      if (!file) throw new UsageError('missing the file to write');
      const place = await ctx.placement(s);
      const bar = ctx.progress('export', true);
      const r = await (await ctx.driver(place.pool)).exportImage(s.image, file, { ...place, ...(s.snapshot ? { snapshot: s.snapshot } : {}), signal: ctx.signal, onProgress: (p) => bar.update(p.done, p.total) });
      bar.done();
      return r;
    },
    human: (r: ExportResult) => `exported ${iec(r.size)} to ${r.path} (${iec(r.bytesWritten)} of data)`,
  },
];
