import { createHash } from 'node:crypto';

/** The trigger's prefix (spec.ts): sources live under it, outputs mirror the rest of the key. */
export const BRONZE_PREFIX = 'bronze/';

export interface SourceIdentity {
  key: string;
  versionId?: string | undefined;
  etag?: string | undefined;
}

export interface OutputKeys {
  silverPart: string;
  silverManifest: string;
  rejected: string;
  quarantineManifest: string;
}

/** An S3 ETag without the quotes S3 puts around it in HTTP headers. */
export function bareEtag(etag: string | undefined): string | undefined {
  return etag?.replace(/^"|"$/g, '') || undefined;
}

/**
 * Where a source object's outputs go:
 * `<prefix><key without bronze/ and a final .csv>/<versionId, else etag>/…`. The same object version
 * always maps to the same keys, so a retry overwrites its own outputs instead of adding to them,
 * and a new upload of the same key (new version or content) gets a folder of its own.
 */
export function outputKeys(source: SourceIdentity, prefixes: { silver: string; quarantine: string }): OutputKeys {
  let base = source.key.startsWith(BRONZE_PREFIX) ? source.key.slice(BRONZE_PREFIX.length) : source.key;
  // Only ".csv" comes off, and only where a name is left: "o.CSV" (the trigger takes both
  // spellings) and ".csv" keep theirs, so no two source keys share a folder, where the later
  // one's manifest replaced the earlier's ("o.csv" and "o.CSV", ".csv" and "_.csv" did).
  if (base.endsWith('.csv') && base !== '.csv' && !base.endsWith('/.csv')) base = base.slice(0, -4);
  // S3 reports "null" as the version of objects written while versioning was off or suspended.
  const versionId = source.versionId && source.versionId !== 'null' ? source.versionId : undefined;
  const version = versionId ?? bareEtag(source.etag);
  if (!version) throw new Error(`no versionId or etag for ${source.key}: output keys would not be deterministic`);
  // The longest key is the longer prefix's, with the longest file name.
  const room = MAX_KEY_BYTES - Math.max(bytes(prefixes.silver), bytes(prefixes.quarantine)) - bytes(`/${version}/${LONGEST_NAME}`);
  base = fitted(base, room, source.key);
  const silver = `${prefixes.silver}${base}/${version}/`;
  const quarantine = `${prefixes.quarantine}${base}/${version}/`;
  return {
    silverPart: `${silver}part-00000.jsonl`,
    silverManifest: `${silver}_manifest.json`,
    rejected: `${quarantine}rejected.jsonl`,
    quarantineManifest: `${quarantine}_manifest.json`,
  };
}

/** S3's limit on an object key, in bytes of UTF-8. */
const MAX_KEY_BYTES = 1024;
/** The longest name under an output folder. */
const LONGEST_NAME = 'part-00000.jsonl';
/** A shortened base ends in "~" and this many hex digits of the whole base's SHA-256. */
const HASH_CHARS = 16;

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/**
 * `base` when its outputs' keys fit S3's 1,024 bytes, else as much of it as fits followed by "~"
 * and a hash of the whole: a source key near the limit (S3 allows 1,024 bytes for it too) would
 * otherwise have every write refused (KeyTooLongError) on every retry, and end in the DLQ with no
 * manifest saying why. Deterministic, so a retry finds the same keys; the manifests name the
 * source key in full.
 */
function fitted(base: string, room: number, sourceKey: string): string {
  if (bytes(base) <= room) return base;
  const keep = room - 1 - HASH_CHARS;
  if (keep < 0) throw new Error(`no output key for ${sourceKey} fits S3's ${MAX_KEY_BYTES} bytes: the output prefixes or its version id are too long`);
  let head = '';
  let used = 0;
  // Whole code points only, so the key stays valid UTF-8.
  for (const c of base) {
    const n = bytes(c);
    if (used + n > keep) break;
    head += c;
    used += n;
  }
  return `${head}~${createHash('sha256').update(base).digest('hex').slice(0, HASH_CHARS)}`;
}
