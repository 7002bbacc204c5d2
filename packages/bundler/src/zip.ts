import { createHash } from 'node:crypto';
import yazl from 'yazl';

export interface ZipEntry {
  name: string;
  data: Buffer;
  /** Unix mode; files default to 0644, use 0755 for executables. */
  mode?: number;
}

/**
 * DOS timestamps are local time, so the fixed time is built from local components: the bytes are
 * then the same in every time zone. 1980-01-01 is the earliest instant a zip can hold.
 */
const FIXED_MTIME = new Date(1980, 0, 1, 0, 0, 0);

/**
 * A zip whose bytes depend only on the entries' names and contents: sorted names, one fixed
 * timestamp, fixed modes, no extra fields, one compression level.
 */
export async function deterministicZip(entries: ZipEntry[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]?.name === sorted[i - 1]?.name) throw new Error(`duplicate zip entry ${sorted[i]?.name}`);
  }
  for (const entry of sorted) {
    zip.addBuffer(entry.data, entry.name, {
      mtime: FIXED_MTIME,
      mode: 0o100000 | (entry.mode ?? 0o644),
      compress: true,
      compressionLevel: 9,
      forceDosTimestamp: true,
    });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The base64 SHA-256 Terraform's `source_code_hash` expects. */
export function sourceCodeHash(data: Buffer): string {
  return createHash('sha256').update(data).digest('base64');
}
