/**
 * A corpus of disk images made on the spot (never downloaded): valid ones of every format, and one
 * crafted image per refusal rule, by qemu-img and byte patches.
 */
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProgram } from '../../src/util/process.js';
import type { ImageFormat } from '../../src/image/index.js';

const MiB = 1024 * 1024;

async function qemuImg(...args: string[]): Promise<void> {
  await runProgram('qemu-img', args, { env: { LC_ALL: 'C' } });
}

async function qemuIo(file: string, fmt: string, ...cmds: string[]): Promise<void> {
  await runProgram('qemu-io', ['-f', fmt, ...cmds.flatMap((c) => ['-c', c]), file]);
}

async function patch(file: string, edits: [number, number[]][], out = file): Promise<string> {
  const buf = await readFile(file);
  for (const [at, bytes] of edits) Buffer.from(bytes).copy(buf, at);
  await writeFile(out, buf);
  return out;
}

/** A valid image and what it must become. */
export interface ValidImage {
  name: string;
  path: string;
  format: ImageFormat;
  /** qemu-img's own conversion of it to raw, for byte comparison. */
  raw: string;
}

/** A crafted image and the rule that must refuse it. */
export interface CraftedImage {
  name: string;
  path: string;
  declared: ImageFormat | undefined;
  rule: string;
  errorName: string;
}

export interface Corpus {
  dir: string;
  /** Removes the corpus directory. */
  remove: () => Promise<void>;
  valid: ValidImage[];
  crafted: CraftedImage[];
}

/** Builds the corpus in a new temporary directory (a few seconds). */
export async function buildCorpus(): Promise<Corpus> {
  const dir = await mkdtemp(join(tmpdir(), 'rbdctl-corpus-'));
  const p = (n: string) => join(dir, n);
  // A raw disk with data and holes: the source of most formats below.
  const rawData = Buffer.alloc(24 * MiB);
  rawData.fill(0x5a, MiB, 3 * MiB);
  rawData.write('partition-less data near the end', 20 * MiB);
  await writeFile(p('holes.raw'), rawData);
  // The same kind of disk with real holes in the file (SEEK_DATA finds them): data across an
  // object boundary, a block of zeros written out, and a hole to the end.
  const sparseFile = await open(p('sparse.raw'), 'w');
  await sparseFile.write(Buffer.alloc(64 * 1024, 0x11), 0, 64 * 1024, 0);
  await sparseFile.write(Buffer.alloc(MiB, 0x22), 0, MiB, 7.5 * MiB);
  await sparseFile.write(Buffer.alloc(256 * 1024), 0, 256 * 1024, 12 * MiB);
  await sparseFile.write(Buffer.from('last data before the hole'), 0, 25, 16 * MiB - 25);
  await sparseFile.truncate(24 * MiB);
  await sparseFile.close();

  await qemuImg('convert', '-q', '-f', 'raw', '-O', 'qcow2', p('holes.raw'), p('plain.qcow2'));
  await qemuImg('convert', '-q', '-c', '-f', 'raw', '-O', 'qcow2', p('holes.raw'), p('compressed.qcow2'));
  await qemuImg('convert', '-q', '-f', 'raw', '-O', 'qcow2', '-o', 'compat=0.10', p('holes.raw'), p('v2.qcow2'));
  await qemuImg('convert', '-q', '-f', 'raw', '-O', 'qcow2', p('holes.raw'), p('zeros.qcow2'));
  await qemuIo(p('zeros.qcow2'), 'qcow2', 'write -z 1M 512k', 'write -P 0x77 8M 64k');
  await qemuImg('convert', '-q', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', p('holes.raw'), p('stream.vmdk'));
  await qemuImg('convert', '-q', '-f', 'raw', '-O', 'vpc', p('holes.raw'), p('dynamic.vhd'));
  await qemuImg('convert', '-q', '-f', 'raw', '-O', 'vhdx', p('holes.raw'), p('disk.vhdx'));
  const valid: ValidImage[] = [];
  for (const [name, format, qfmt] of [
    ['holes.raw', 'raw', 'raw'],
    ['sparse.raw', 'raw', 'raw'],
    ['plain.qcow2', 'qcow2', 'qcow2'],
    ['compressed.qcow2', 'qcow2', 'qcow2'],
    ['v2.qcow2', 'qcow2', 'qcow2'],
    ['zeros.qcow2', 'qcow2', 'qcow2'],
    ['stream.vmdk', 'vmdk', 'vmdk'],
    ['dynamic.vhd', 'vhd', 'vpc'],
    ['disk.vhdx', 'vhdx', 'vhdx'],
  ] as const) {
    const raw = p(`${name}.expected.raw`);
    await qemuImg('convert', '-q', '-f', qfmt, '-O', 'raw', p(name), raw);
    valid.push({ name, path: p(name), format, raw });
  }

  const crafted: CraftedImage[] = [];
  const add = (name: string, path: string, declared: ImageFormat | undefined, rule: string, errorName = 'UnsafeImage') => crafted.push({ name, path, declared, rule, errorName });
  await qemuImg('create', '-q', '-f', 'qcow2', '-b', '/etc/passwd', '-F', 'raw', p('backing.qcow2'));
  add('qcow2 with a backing file', p('backing.qcow2'), 'qcow2', 'qcow2-backing-file');
  const plain = p('plain.qcow2');
  add('qcow2 with the data-file bit', await patch(plain, [[0x4f, [0x04]]], p('datafile.qcow2')), 'qcow2', 'qcow2-data-file');
  add('qcow2 with unknown incompatible bits (byte 0x48)', await patch(plain, [[0x48, [0x01]]], p('incompat-high.qcow2')), 'qcow2', 'qcow2-incompatible-features');
  add('qcow2 with unknown incompatible bits (byte 0x4f = 0x80)', await patch(plain, [[0x4f, [0x80]]], p('incompat-low.qcow2')), 'qcow2', 'qcow2-incompatible-features');
  add('qcow2 version 1', await patch(plain, [[4, [0, 0, 0, 1]]], p('v1.qcow2')), 'qcow2', 'qcow2-version');
  add('qcow2 version 4', await patch(plain, [[4, [0, 0, 0, 4]]], p('v4.qcow2')), 'qcow2', 'qcow2-version');
  add('qcow2 encrypted', await patch(plain, [[32, [0, 0, 0, 1]]], p('encrypted.qcow2')), 'qcow2', 'qcow2-encrypted');
  await qemuImg('create', '-q', '-f', 'qed', p('disk.qed'), '16M');
  add('qed', p('disk.qed'), 'qcow2', 'qed');
  await qemuImg('create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', p('flat.vmdk'), '16M');
  add('vmdk flat (descriptor file)', p('flat.vmdk'), 'vmdk', 'vmdk-flat');
  await qemuImg('create', '-q', '-f', 'vmdk', p('sparse.vmdk'), '16M');
  const sparse = await readFile(p('sparse.vmdk'));
  const text = sparse.toString('latin1');
  const at = (needle: string) => text.indexOf(needle);
  const extentName = /SPARSE "([^"]+)"/.exec(text)![1]!;
  const pathName = `/${'etc/passwd'.padEnd(extentName.length - 1, 'x')}`.slice(0, extentName.length);
  add('vmdk extent naming a path', await patch(p('sparse.vmdk'), [[at(`"${extentName}"`) + 1, [...Buffer.from(pathName)]]], p('extent-path.vmdk')), 'vmdk', 'vmdk-extent-path');
  add('vmdk without createType', await patch(p('sparse.vmdk'), [[at('createType'), [...Buffer.from('#reateType')]]], p('no-createtype.vmdk')), 'vmdk', 'vmdk-create-type');
  add('vmdk with the descriptor elsewhere', await patch(p('sparse.vmdk'), [[28, [2, 0, 0, 0, 0, 0, 0, 0]]], p('desc-elsewhere.vmdk')), 'vmdk', 'vmdk-descriptor-location');
  add('qcow2 declared as raw', plain, 'raw', 'format-mismatch', 'FormatMismatch');
  const iso = Buffer.alloc(4 * MiB);
  (await readFile(plain)).subarray(0, 512).copy(iso, 0);
  iso.write('CD001', 0x8001, 'latin1');
  await writeFile(p('iso-qcow2.iso'), iso);
  add('iso carrying a qcow2 header', p('iso-qcow2.iso'), 'iso', 'multiple-formats', 'FormatMismatch');
  await qemuImg('create', '-q', '-f', 'qcow2', p('huge.qcow2'), '4T');
  add('virtual size over the limit', p('huge.qcow2'), 'qcow2', 'virtual-size', 'ImageTooLarge');
  await writeFile(p('truncated.qcow2'), (await readFile(plain)).subarray(0, 48));
  add('qcow2 truncated inside the header', p('truncated.qcow2'), 'qcow2', 'qcow2-truncated', 'CorruptImage');
  await writeFile(p('short-tables.qcow2'), (await readFile(plain)).subarray(0, 65536));
  add('qcow2 cut before its tables', p('short-tables.qcow2'), 'qcow2', 'qcow2-l1-offset', 'CorruptImage');
  await writeFile(p('empty.raw'), Buffer.alloc(0));
  add('empty file', p('empty.raw'), 'raw', 'empty', 'CorruptImage');
  const luks = Buffer.alloc(MiB);
  luks.write('LUKS\u00ba\u00be', 0, 'latin1');
  await writeFile(p('disk.luks'), luks);
  add('luks', p('disk.luks'), undefined, 'luks');
  return { dir, valid, crafted, remove: () => rm(dir, { recursive: true, force: true }) };
}
