import { Readable } from 'node:stream';
import { ListObjectsV2Command, type ListObjectsV2CommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { createBatchPresigner, uploadStream } from '@laminar/aws';
import { ClientError } from '@laminar/runtime';
import type { ManifestInput } from './input.ts';

export interface ManifestDeps {
  s3: S3Client;
  /** Throws when the invocation must stop (deadline); called before each listing request. */
  checkDeadline: (what: string) => void;
  /** Aborted when the invocation must stop; cancels an upload in flight. */
  signal?: AbortSignal;
  now?: () => Date;
  onAbortFailure?: (error: unknown) => void;
  partSize?: number;
}

export interface ManifestResult {
  count: number;
  /** Objects listed under the prefix, matching or not. */
  scanned: number;
  manifestKey: string;
  manifestUrl: string;
  expiresAt: string;
  bytes: number;
}

/** One manifest line per matching object. */
export interface ManifestLine {
  key: string;
  url: string;
  size: number;
  etag: string;
  lastModified: string;
}

export const MANIFEST_CONTENT_TYPE = 'application/x-ndjson';

export function manifestKeyFor(input: ManifestInput, requestId: string, at: Date): string {
  return `${input.manifestPrefix}${at.toISOString().slice(0, 10)}/${requestId}.jsonl`;
}

/**
 * Lists `prefix`, presigns every key ending in `suffix` (case-insensitive) and streams JSONL lines
 * into one S3 upload. Listing runs one page ahead of presigning, and the stream's high-water mark
 * of one page makes the listing wait for the upload: memory stays at about two pages plus the
 * upload's part buffers, however many objects there are.
 */
export async function writeManifest(input: ManifestInput, requestId: string, deps: ManifestDeps): Promise<ManifestResult> {
  const now = deps.now?.() ?? new Date();
  const manifestKey = manifestKeyFor(input, requestId, now);
  const suffix = input.suffix.toLowerCase();
  let count = 0;
  let scanned = 0;
  let bytes = 0;

  const list = (token: string | undefined): Promise<ListObjectsV2CommandOutput> => {
    deps.checkDeadline('listing');
    const page = deps.s3.send(
      new ListObjectsV2Command({ Bucket: input.bucket, Prefix: input.prefix, ContinuationToken: token, MaxKeys: 1000 }),
      { abortSignal: deps.signal },
    );
    // Read-ahead: this page may be abandoned if the upload fails first; its error is handled there.
    page.catch(() => undefined);
    return page;
  };

  // The first page is requested while the presigner is prepared: neither waits for the other.
  const firstPage = list(undefined);
  const presigner = await createBatchPresigner(deps.s3, { bucket: input.bucket, expiresIn: input.expiresIn, signingDate: now });

  async function* lines(): AsyncGenerator<Buffer> {
    let pending: Promise<ListObjectsV2CommandOutput> | undefined = firstPage;
    while (pending) {
      const page: ListObjectsV2CommandOutput = await pending;
      pending = page.IsTruncated && page.NextContinuationToken ? list(page.NextContinuationToken) : undefined;
      let chunk = '';
      for (const object of page.Contents ?? []) {
        scanned++;
        const key = object.Key;
        if (key === undefined || !key.toLowerCase().endsWith(suffix) || key === manifestKey) continue;
        const line: ManifestLine = {
          key,
          url: presigner.presign(key),
          size: object.Size ?? 0,
          etag: (object.ETag ?? '').replaceAll('"', ''),
          lastModified: (object.LastModified ?? now).toISOString(),
        };
        chunk += `${JSON.stringify(line)}\n`;
        count++;
      }
      if (chunk) {
        const buffer = Buffer.from(chunk, 'utf8');
        bytes += buffer.length;
        yield buffer;
      }
    }
    // Judged before the body ends, so that a failure aborts the upload: checked after it, the
    // manifest of dead links was already visible when the run failed.
    checkLifetime();
  }

  // Every URL counts its lifetime from the run's start: a run that used up most of it hands out
  // links about to die. A tenth of their lifetime (what was asked for, or less when the signing
  // credentials expire sooner) must be left.
  const checkLifetime = () => {
    const finished = deps.now?.() ?? new Date();
    const leftMs = presigner.expiresAt.getTime() - finished.getTime();
    if (leftMs >= (presigner.expiresIn * 1000) / 10) return;
    // Capped by the credentials the function signs with, a longer expiresIn cannot help.
    const capped = presigner.expiresIn < input.expiresIn;
    const lifetime = `${presigner.expiresIn} s${capped ? ` (the ${input.expiresIn} s asked for, capped by the signing credentials' expiry)` : ''}`;
    const advice = capped ? 'the credentials the function signs with expire then, so a longer expiresIn cannot help' : 'ask for a longer expiresIn';
    throw new ClientError(
      leftMs <= 0
        ? `the manifest's URLs expired at ${presigner.expiresAt.toISOString()}, before the run ended (${finished.toISOString()}), after their ${lifetime}: ${advice}; no manifest was written`
        : `the manifest's URLs would expire at ${presigner.expiresAt.toISOString()}, ${Math.round(leftMs / 1000)} s after the run ended (${finished.toISOString()}), under a tenth of their ${lifetime}: ${advice}; no manifest was written`,
      { expiresIn: presigner.expiresIn, expiresAt: presigner.expiresAt.toISOString(), finishedAt: finished.toISOString() },
    );
  };

  await uploadStream({
    client: deps.s3,
    bucket: input.bucket,
    key: manifestKey,
    body: Readable.from(lines(), { objectMode: true, highWaterMark: 1 }),
    contentType: MANIFEST_CONTENT_TYPE,
    ...(deps.partSize ? { partSize: deps.partSize } : {}),
    ...(deps.signal ? { signal: deps.signal } : {}),
    ...(deps.onAbortFailure ? { onAbortFailure: deps.onAbortFailure } : {}),
  });

  return {
    count,
    scanned,
    manifestKey,
    manifestUrl: presigner.presign(manifestKey),
    expiresAt: presigner.expiresAt.toISOString(),
    bytes,
  };
}
