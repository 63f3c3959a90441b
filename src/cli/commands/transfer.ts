/**
 * Moving disk images in and out, and looking at them first: import, export, inspect.
 */
import { UsageError, parseImageSpec, parseSize } from '../args.js';
import type { Command } from '../context.js';
import { iec } from '../output.js';
import { HASH_ALGORITHMS, type HashAlgorithm, IMAGE_FORMATS, type ImageFormat, type PipelineResult, inspect } from '../../image/index.js';
import type { ExportResult } from '../../driver/index.js';

function format(value: unknown): ImageFormat | undefined {
  if (value === undefined) return undefined;
  if (!IMAGE_FORMATS.includes(value as ImageFormat)) throw new UsageError(`--format must be one of ${IMAGE_FORMATS.join(', ')}`);
  return value as ImageFormat;
}

/** `--checksum` values: algorithms to compute and print without verifying. */
function checksums(value: unknown): HashAlgorithm[] {
  const list = (Array.isArray(value) ? value : []) as string[];
  for (const a of list) if (!HASH_ALGORITHMS.includes(a as HashAlgorithm)) throw new UsageError(`--checksum must be one of ${HASH_ALGORITHMS.join(', ')}`);
  return list as HashAlgorithm[];
}

export const transferCommands: Command[] = [
  {
    name: 'import',
    usage: 'import FILE|-|URL POOL/NAME [--format F] [--sha256 HEX] [--sha512 HEX] [--md5 HEX] [--checksum ALG]... [--golden] [--max-size SIZE]',
    summary: 'inspect, verify and stream a disk image into a new image (refused when unsafe; nothing left on failure)',
    options: {
      format: { type: 'string', short: 'f' },
      sha256: { type: 'string' },
      sha512: { type: 'string' },
      md5: { type: 'string' },
      checksum: { type: 'string', multiple: true },
      golden: { type: 'boolean' },
      'max-size': { type: 'string' },
    },
    async run(ctx, [from, spec], o) {
      if (!from) throw new UsageError('missing what to import: a file, - for stdin, or an http(s) URL');
      const s = parseImageSpec(spec, 'destination');
      if (s.snapshot) throw new UsageError('the destination is an image, not a snapshot');
      const place = await ctx.placement(s);
      const driver = await ctx.driver(place.pool);
      const expect = Object.fromEntries((['sha256', 'sha512', 'md5'] as const).filter((a) => typeof o[a] === 'string').map((a) => [a, o[a] as string]));
      const bar = ctx.progress('import', true);
      const declared = format(o['format']);
      const r = await driver.importImage(from === '-' ? process.stdin : from, s.image, {
        ...place,
        ...(declared ? { format: declared } : {}),
        expect,
        hashes: checksums(o['checksum']),
        golden: o['golden'] === true,
        ...(o['max-size'] ? { maxVirtualSize: parseSize(o['max-size'] as string, '--max-size') } : {}),
        signal: ctx.signal,
        onProgress: (p) => bar.update(p.done, p.total),
      });
      bar.done();
      const { inspection, ...rest } = r;
      return {
        pool: place.pool,
        ...rest,
        dataSize: inspection.dataSize,
      };
    },
    human: (r: Omit<PipelineResult, 'inspection'> & { pool: string; url?: string }) =>
      [
        `imported ${r.pool}/${r.name} from ${r.format}: ${iec(r.virtualSize)} virtual, ${iec(r.bytesWritten)} written, ${iec(Math.max(0, r.virtualSize - r.bytesWritten))} left unallocated (zeros)`,
        ...Object.entries(r.checksums).map(([a, h]) => `${a.padEnd(7)}${h}`),
        ...(r.url ? [`golden  ${r.url}`] : []),
      ].join('\n'),
  },
  {
    name: 'export',
    usage: 'export POOL/IMAGE[@SNAP] FILE|- [--format raw|qcow2]',
    summary: 'export an image or snapshot to a new file (raw and sparse, or qcow2) or to stdout (raw), with its sha256',
    options: { format: { type: 'string', short: 'f' } },
    async run(ctx, [spec, file], o) {
      const s = parseImageSpec(spec);
      if (!file) throw new UsageError('missing the file to write (or - for stdout)');
      if (file === '-' && ctx.json) throw new UsageError('--json cannot share stdout with the image: export to a file');
      const fmt = o['format'] ?? 'raw';
      if (fmt !== 'raw' && fmt !== 'qcow2') throw new UsageError('--format must be raw or qcow2');
      if (file === '-' && fmt !== 'raw') throw new UsageError('stdout gets raw only');
      const place = await ctx.placement(s);
      const bar = ctx.progress('export', true);
      const r = await (await ctx.driver(place.pool)).exportImage(s.image, file === '-' ? process.stdout : file, {
        ...place,
        ...(s.snapshot ? { snapshot: s.snapshot } : {}),
        format: fmt,
        signal: ctx.signal,
        onProgress: (p) => bar.update(p.done, p.total),
      });
      bar.done();
      if (file === '-') ctx.say(`exported ${iec(r.size)} to stdout, sha256 ${r.checksums.sha256}`);
      return r;
    },
    human: (r: ExportResult) => (r.path ? `exported ${iec(r.size)} to ${r.path} as ${r.format} (${iec(r.bytesWritten)} of data)\nsha256 ${r.checksums.sha256}` : ''),
  },
  {
    name: 'inspect',
    usage: 'inspect FILE [--format F] [--max-size SIZE]',
    summary: 'what a disk image really is and whether it is safe (no cluster needed); exit 6 when refused',
    options: { format: { type: 'string', short: 'f' }, 'max-size': { type: 'string' } },
    async run(_ctx, [file], o) {
      if (!file) throw new UsageError('missing the file to inspect');
      const declared = format(o['format']);
      const r = await inspect(file, { ...(declared ? { declared } : {}), ...(o['max-size'] ? { maxVirtualSize: parseSize(o['max-size'] as string, '--max-size') } : {}) });
      return { file, format: r.format, signatures: r.signatures, partitionTable: r.partitionTable, virtualSize: r.virtualSize ?? null, fileSize: r.fileSize ?? null, dataSize: r.dataSize ?? null, safe: r.refusal === null, refusal: r.refusal ? { rule: r.refusal.rule, message: r.refusal.message } : null };
    },
    human: (r: { file: string; format: string; virtualSize: number | null; dataSize: number | null; safe: boolean; refusal: { rule: string; message: string } | null }) =>
      `${r.file}: ${r.format}${r.virtualSize !== null ? `, ${iec(r.virtualSize)} virtual` : r.safe ? ' (virtual size: qemu-img tells at import)' : ''}${r.dataSize !== null ? `, ${iec(r.dataSize)} stored` : ''}\n${r.safe ? 'SAFE' : `REFUSED (${r.refusal!.rule}): ${r.refusal!.message}`}`,
    exitCode: (r: { safe: boolean }) => (r.safe ? 0 : 6),
  },
];
