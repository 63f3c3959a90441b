/** Copies a file with some bytes changed. */
import { readFile, writeFile } from 'node:fs/promises';

export async function patchFile(file: string, edits: [number, number[]][]): Promise<string> {
  const buf = await readFile(file);
  for (const [at, bytes] of edits) Buffer.from(bytes).copy(buf, at);
  const out = `${file}.patched-${edits.map(([a, b]) => `${a}-${b.join('.')}`).join('_')}`;
  await writeFile(out, buf);
  return out;
}
