import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';

export interface ZipRecord {
  name: string;
  data: Buffer;
  /** Unix permission bits from the entry's external attributes (0 when the zip has none). */
  mode: number;
}

const hex = (n: number) => n.toString(16).padStart(8, '0');

/**
 * Every entry of a zip (given by its path or as its bytes), in the central directory's order. yauzl reads
 * zip64 (a layer past 65,535 files), checks each entry's size against the central directory and
 * refuses names that are absolute or climb out with `..`; it leaves the CRC-32 to its caller, so
 * it is checked here: a flipped bit that still inflates would otherwise pass as a different file.
 */
export async function readZip(zip: Buffer | string): Promise<ZipRecord[]> {
  const what = typeof zip === 'string' ? zip : 'zip';
  let file: yauzl.ZipFile;
  try {
    const options: yauzl.Options = { autoClose: false, validateEntrySizes: true };
    file = typeof zip === 'string' ? await yauzl.openPromise(zip, options) : await yauzl.fromBufferPromise(zip, options);
  } catch (err) {
    throw new Error(`${what}: not a zip file (${(err as Error).message})`, { cause: err });
  }
  const out: ZipRecord[] = [];
  try {
    for await (const entry of file.eachEntry()) {
      const name = entry.fileName;
      let data: Buffer;
      try {
        data = await buffer(await file.openReadStreamPromise(entry));
      } catch (err) {
        throw new Error(`${name}: corrupted, cannot be unzipped (${(err as Error).message})`, { cause: err });
      }
      const actual = crc32(data);
      if (actual !== entry.crc32) {
        throw new Error(`${name}: corrupted: its data's CRC-32 is ${hex(actual)}, the zip records ${hex(entry.crc32)}`);
      }
      out.push({ name, data, mode: (entry.externalFileAttributes >>> 16) & 0o7777 });
    }
  } catch (err) {
    // Neither yauzl's errors (a bad central directory, an unsafe name) nor the entry's say which zip.
    throw new Error(`${what}: ${(err as Error).message}`, { cause: err });
  } finally {
    file.close();
  }
  return out;
}

/**
 * Unpacks a zip into `dir`, keeping permission bits (the loader needs nothing more). Every entry is
 * read and checked before anything is written, so a corrupted zip leaves no partial tree.
 */
export async function extractZip(zip: Buffer | string, dir: string): Promise<void> {
  for (const entry of await readZip(zip)) {
    if (entry.name.endsWith('/')) continue;
    // readZip has refused absolute names and `..` (yauzl): the target stays under dir.
    const target = join(dir, entry.name);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, entry.data);
    if (entry.mode) chmodSync(target, entry.mode);
  }
}
