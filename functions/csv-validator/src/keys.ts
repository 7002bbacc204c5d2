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
 * `<prefix><key without bronze/ and .csv>/<versionId, else etag>/…`. The same object version
 * always maps to the same keys, so a retry overwrites its own outputs instead of adding to them,
 * and a new upload of the same key (new version or content) gets a folder of its own.
 */
export function outputKeys(source: SourceIdentity, prefixes: { silver: string; quarantine: string }): OutputKeys {
  let base = source.key.startsWith(BRONZE_PREFIX) ? source.key.slice(BRONZE_PREFIX.length) : source.key;
  if (base.toLowerCase().endsWith('.csv')) base = base.slice(0, -4);
  if (base === '' || base.endsWith('/')) base += '_';
  // S3 reports "null" as the version of objects written while versioning was off or suspended.
  const versionId = source.versionId && source.versionId !== 'null' ? source.versionId : undefined;
  const version = versionId ?? bareEtag(source.etag);
  if (!version) throw new Error(`no versionId or etag for ${source.key}: output keys would not be deterministic`);
  const silver = `${prefixes.silver}${base}/${version}/`;
  const quarantine = `${prefixes.quarantine}${base}/${version}/`;
  return {
    silverPart: `${silver}part-00000.jsonl`,
    silverManifest: `${silver}_manifest.json`,
    rejected: `${quarantine}rejected.jsonl`,
    quarantineManifest: `${quarantine}_manifest.json`,
  };
}
