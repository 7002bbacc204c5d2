import { Readable } from 'node:stream';
import { HeadObjectCommand, ListObjectsV2Command, type ListObjectsV2CommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { createBatchPresigner, type LifetimeCap, unreachableByUrl, uploadStream } from '@laminar/aws';
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
  /** The URLs' lifetime in seconds: expiresIn, or less when the signing credentials cap it. */
  expiresIn: number;
  /** Why expiresIn is shorter than asked, when it is (LIFETIME_CAPS says it in words). */
  cappedBy?: LifetimeCap;
  bytes: number;
  /** Matching keys left out because no URL can reach them (unreachableByUrl): how many, and the first few. */
  unreachable: number;
  unreachableKeys: string[];
  /**
   * Matching keys left out because they sit in an archive storage class (a GET answers 403
   * InvalidObjectState until restored): how many, and the first few.
   */
  archived: number;
  archivedKeys: string[];
}

/**
 * Storage classes whose objects a GET refuses until restored. (GLACIER_IR reads as any other;
 * Intelligent-Tiering's opt-in archive tiers are not visible in a listing: such a key gets a line.)
 */
const ARCHIVED_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);

/** How many keys of each kind left out (unreachable, archived) the result names; the count has them all. */
export const MAX_UNREACHABLE_KEYS = 20;

/** What each cap on the URLs' lifetime means, and why a longer expiresIn cannot lift it. */
export const LIFETIME_CAPS: Record<LifetimeCap, { why: string; advice: string }> = {
  'credentials-expire': {
    why: "capped by the signing credentials' expiry",
    advice: 'the credentials the function signs with expire then, so a longer expiresIn cannot help',
  },
  'session-expiry-unknown': {
    why: 'capped because the signing credentials are a session of unknown expiry',
    advice: 'with session credentials a longer expiresIn cannot help; longer-lived links need long-term keys',
  },
};

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
 * How long after one attempt Lambda may retry the same async event (same request id): its maximum
 * event age, 6 h at most whatever the spec sets (an hour today: looking back further costs one
 * HEAD request in the first hours of a day and survives a longer setting), plus a margin for
 * clocks that differ between hosts.
 */
export const RETRY_SPAN_MS = 6 * 3_600_000 + 10 * 60_000;

/**
 * The manifest's key: dated by the run's UTC day, unless an earlier attempt at this request (a
 * retry keeps the request id) wrote one dated the day before — then that key, so that a retry
 * across midnight rewrites the manifest rather than leaving a second one. Neither the event (it
 * carries no time) nor the request id (random) says when the first attempt ran, so the day before
 * is looked at, once, only while a retry could still reach back to it.
 */
export async function resolveManifestKey(
  input: ManifestInput,
  requestId: string,
  at: Date,
  s3: S3Client,
  signal?: AbortSignal,
): Promise<string> {
  const key = manifestKeyFor(input, requestId, at);
  const earlier = manifestKeyFor(input, requestId, new Date(at.getTime() - RETRY_SPAN_MS));
  if (earlier === key) return key;
  try {
    await s3.send(new HeadObjectCommand({ Bucket: input.bucket, Key: earlier }), { abortSignal: signal });
    return earlier;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return key;
    throw err;
  }
}

/**
 * A key as ListObjectsV2 returns it under EncodingType 'url'. S3 form-encodes keys there ("a b" as
 * "a+b", "a+b" as "a%2Bb"), so "+" is a space; "%20" decodes to one too, so a server that
 * percent-encodes spaces instead is read right as well. A literal "+" always comes as "%2B".
 */
export function decodeListedKey(encoded: string): string {
  try {
    return decodeURIComponent(encoded.replaceAll('+', ' '));
  } catch {
    throw new Error(`ListObjectsV2 returned a key that is not URL-encoded as asked (EncodingType url): ${JSON.stringify(encoded)}`);
  }
}

/**
 * Lists `prefix`, presigns every key ending in `suffix` (case-insensitive) and streams JSONL lines
 * into one S3 upload. Listing runs one page ahead of presigning, and the stream's high-water mark
 * of one page makes the listing wait for the upload: memory stays at about two pages plus the
 * upload's part buffers, however many objects there are.
 */
export async function writeManifest(input: ManifestInput, requestId: string, deps: ManifestDeps): Promise<ManifestResult> {
  const now = deps.now?.() ?? new Date();
  const suffix = input.suffix.toLowerCase();
  let count = 0;
  let scanned = 0;
  let bytes = 0;
  const unreachable = leftOut();
  const archived = leftOut();

  const list = (token: string | undefined): Promise<ListObjectsV2CommandOutput> => {
    deps.checkDeadline('listing');
    // Encoded: in plain XML a key's "\r" comes back as "\n" (XML's end-of-line handling) and a
    // character XML 1.0 cannot carry breaks the whole listing; the manifest would hand out a dead
    // link for the first and count it a success.
    const page = deps.s3.send(
      new ListObjectsV2Command({ Bucket: input.bucket, Prefix: input.prefix, ContinuationToken: token, MaxKeys: 1000, EncodingType: 'url' }),
      { abortSignal: deps.signal },
    );
    // Read-ahead: this page may be abandoned if the upload fails first; its error is handled there.
    page.catch(() => undefined);
    return page;
  };

  // The first page is requested while the presigner and the key are prepared: none waits for another.
  const firstPage = list(undefined);
  const [presigner, manifestKey] = await Promise.all([
    createBatchPresigner(deps.s3, { bucket: input.bucket, expiresIn: input.expiresIn, signingDate: now }),
    resolveManifestKey(input, requestId, now, deps.s3, deps.signal),
  ]);

  async function* lines(): AsyncGenerator<Buffer> {
    let pending: Promise<ListObjectsV2CommandOutput> | undefined = firstPage;
    while (pending) {
      const page: ListObjectsV2CommandOutput = await pending;
      if (page.IsTruncated && !page.NextContinuationToken) {
        // Ending here would write a manifest missing the rest of the prefix, and call it complete.
        throw new Error(
          `ListObjectsV2 of s3://${input.bucket}/${input.prefix} said more keys follow (IsTruncated) but gave no NextContinuationToken after ${scanned + (page.Contents?.length ?? 0)} keys: the listing cannot go on, so no manifest was written`,
        );
      }
      pending = page.IsTruncated ? list(page.NextContinuationToken) : undefined;
      // Servers that ignore EncodingType (s3rver) send raw keys and say no encoding: decoding
      // those would turn a "+" or "%xx" in a key into something else.
      const encoded = page.EncodingType === 'url';
      let chunk = '';
      for (const object of page.Contents ?? []) {
        scanned++;
        const key = object.Key === undefined ? undefined : encoded ? decodeListedKey(object.Key) : object.Key;
        // A folder marker ("reports/", the console's "Create folder") is no file, whatever the suffix
        // ("" matches every key): its link would download an empty object.
        if (key === undefined || key.endsWith('/') || !key.toLowerCase().endsWith(suffix) || key === manifestKey) continue;
        // A line for it would be a link that opens another key, or none: counted and named instead.
        if (unreachableByUrl(key)) {
          unreachable.add(key);
          continue;
        }
        // A link to an archived object would answer 403 InvalidObjectState: counted and named, not
        // handed out. A restored copy is left out too: a listing tells whether one exists (and until
        // when) only when asked for RestoreStatus, a request option whose IAM needs are not checked
        // here, and a HEAD per archived object would slow the listing down.
        if (object.StorageClass && ARCHIVED_CLASSES.has(object.StorageClass)) {
          archived.add(key);
          continue;
        }
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
  // credentials expire sooner, or may) must be left.
  const checkLifetime = () => {
    const finished = deps.now?.() ?? new Date();
    const leftMs = presigner.expiresAt.getTime() - finished.getTime();
    if (leftMs >= (presigner.expiresIn * 1000) / 10) return;
    // Capped by the credentials the function signs with, a longer expiresIn cannot help.
    const cap = presigner.cappedBy ? LIFETIME_CAPS[presigner.cappedBy] : undefined;
    const lifetime = `${presigner.expiresIn} s${cap ? ` (the ${input.expiresIn} s asked for, ${cap.why})` : ''}`;
    const advice = cap?.advice ?? 'ask for a longer expiresIn';
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
    expiresIn: presigner.expiresIn,
    ...(presigner.cappedBy ? { cappedBy: presigner.cappedBy } : {}),
    bytes,
    unreachable: unreachable.count,
    unreachableKeys: unreachable.keys,
    archived: archived.count,
    archivedKeys: archived.keys,
  };
}

/** Keys of one kind left out of the manifest: all counted, the first few named. */
function leftOut(): { count: number; keys: string[]; add(key: string): void } {
  const kind = {
    count: 0,
    keys: [] as string[],
    add(key: string) {
      kind.count++;
      if (kind.keys.length < MAX_UNREACHABLE_KEYS) kind.keys.push(key);
    },
  };
  return kind;
}
