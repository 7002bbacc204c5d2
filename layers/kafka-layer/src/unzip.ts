import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { inflateRawSync } from 'node:zlib';

export interface ZipRecord {
  name: string;
  data: Buffer;
  /** Unix permission bits from the entry's external attributes (0 when the zip has none). */
  mode: number;
}

/**
 * Reads a zip as `deterministicZip` writes it (stored or deflated entries, no zip64): enough to
 * check and test the layer zip without another dependency.
 */
export function readZip(zip: Buffer): ZipRecord[] {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip file (no end of central directory record)');
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const out: ZipRecord[] = [];
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error(`corrupt zip: bad central directory entry ${n}`);
    const method = zip.readUInt16LE(p + 10);
    const compressedSize = zip.readUInt32LE(p + 20);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const external = zip.readUInt32LE(p + 38);
    const local = zip.readUInt32LE(p + 42);
    const name = zip.toString('utf8', p + 46, p + 46 + nameLen);
    p += 46 + nameLen + extraLen + commentLen;
    if (zip.readUInt32LE(local) !== 0x04034b50) throw new Error(`corrupt zip: bad local header for ${name}`);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(start, start + compressedSize);
    let data: Buffer;
    if (method === 0) data = Buffer.from(raw);
    else if (method === 8) data = inflateRawSync(raw);
    else throw new Error(`${name}: unsupported zip compression method ${method}`);
    out.push({ name, data, mode: (external >>> 16) & 0o7777 });
  }
  return out;
}

/** Unpacks a zip into `dir`, keeping permission bits (the loader needs nothing more). */
export function extractZip(zip: Buffer, dir: string): void {
  const root = resolve(dir);
  for (const entry of readZip(zip)) {
    if (entry.name.endsWith('/')) continue;
    const target = resolve(root, entry.name);
    if (!target.startsWith(root + sep)) throw new Error(`zip entry escapes the target directory: ${entry.name}`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, entry.data);
    if (entry.mode) chmodSync(target, entry.mode);
  }
}
