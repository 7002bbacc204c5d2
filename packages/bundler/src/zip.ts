import { createHash } from 'node:crypto';
import yauzl from 'yauzl';
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

/**
 * Lambda's deployment package limits: a .zip uploaded directly (as infra does, no S3 hop), and
 * what it unzips to (for a function, together with its layers).
 */
export const LAMBDA_PACKAGE_LIMITS = { zipBytes: 52_428_800, unzippedBytes: 262_144_000 } as const;

export class PackageTooLargeError extends Error {
  override name = 'PackageTooLargeError';
}

/** Fails the build that made a package Lambda would refuse, instead of the apply or update that sends it. */
export function assertWithinLambdaLimits(what: string, zip: Buffer, entries: readonly { data: Buffer }[]): void {
  const unzipped = entries.reduce((n, e) => n + e.data.length, 0);
  if (zip.length > LAMBDA_PACKAGE_LIMITS.zipBytes) {
    throw new PackageTooLargeError(`${what}: the zip is ${size(zip.length)}; Lambda takes at most ${size(LAMBDA_PACKAGE_LIMITS.zipBytes)} uploaded directly`);
  }
  if (unzipped > LAMBDA_PACKAGE_LIMITS.unzippedBytes) {
    throw new PackageTooLargeError(`${what}: ${size(unzipped)} unzipped; Lambda takes at most ${size(LAMBDA_PACKAGE_LIMITS.unzippedBytes)} (a function with all its layers)`);
  }
}

/** What a zip unzips to: the sum of its entries' sizes, as its central directory states them. */
export async function unzippedBytes(zipPath: string): Promise<number> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(zipPath, { lazyEntries: true, autoClose: false }, (err, z) => (err ? reject(err) : resolve(z))),
  );
  try {
    return await new Promise<number>((resolve, reject) => {
      let total = 0;
      zip.on('error', reject);
      zip.on('end', () => resolve(total));
      zip.on('entry', (entry: yauzl.Entry) => {
        total += entry.uncompressedSize;
        zip.readEntry();
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
}

/**
 * Lambda's 250 MB counts a function's code together with every layer it uses, which neither
 * build sees alone: checked where both zips are at hand (infra's synth).
 */
export function assertFunctionWithLayersFits(
  fn: string,
  parts: readonly { what: string; unzippedBytes: number }[],
  limit: number = LAMBDA_PACKAGE_LIMITS.unzippedBytes,
): void {
  const total = parts.reduce((n, p) => n + p.unzippedBytes, 0);
  if (total <= limit) return;
  const list = parts.map((p) => `${p.what} ${mib(p.unzippedBytes)}`).join(', ');
  throw new PackageTooLargeError(`function ${fn} with its layers unzips to ${size(total)} (${list}); Lambda takes at most ${size(limit)}`);
}

const mib = (n: number) => `${(n / 1_048_576).toFixed(1)} MiB`;
/** Bytes too: a package just over a limit reads "50.0 MiB" in MiB alone, as the limit does. */
const size = (n: number) => `${n} bytes = ${mib(n)}`;

/** The base64 SHA-256 Terraform's `source_code_hash` expects. */
export function sourceCodeHash(data: Buffer): string {
  return createHash('sha256').update(data).digest('base64');
}
