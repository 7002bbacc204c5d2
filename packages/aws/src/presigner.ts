import { createHash, createHmac } from 'node:crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

export interface PresignBatchOptions {
  bucket: string;
  /** Seconds, 1..604800 (SigV4's limit). */
  expiresIn: number;
  /** One signing time for the whole batch, so every URL in it expires at the same instant. */
  signingDate?: Date;
}

export interface BatchPresigner {
  /** Presigned GET URL for a key; byte-identical to the SDK's getSignedUrl for the same inputs. */
  presign(key: string): string;
  signingDate: Date;
  /** When the URLs stop working: the signing time + expiresIn, or sooner when the credentials cap it. */
  expiresAt: Date;
  /** The lifetime signed into the URLs, in seconds: expiresIn, or less when the credentials cap it. */
  expiresIn: number;
  /**
   * Why expiresIn is shorter than asked, when it is: `credentials-expire` (they state their expiry),
   * `session-expiry-unknown` (temporary credentials that do not: see UNKNOWN_SESSION_LIFETIME_SECONDS).
   */
  cappedBy?: LifetimeCap;
}

export type LifetimeCap = 'credentials-expire' | 'session-expiry-unknown';

/**
 * The most a URL signed with temporary credentials of unknown expiry is claimed to live, in seconds.
 *
 * Such a URL stops working when the session does, whatever its X-Amz-Expires says. Lambda hands a
 * function its role's session as environment variables (a session token, no expiry), and AWS
 * documents no length for those sessions ("services that assume a role, such as the Lambda
 * execution role, don't necessarily comply with the role's session duration settings"), nor how
 * long before an invocation they were issued. So no bound is known; 15 minutes is the shortest
 * session STS issues at all (DurationSeconds' minimum), and pdf-manifest's default expiry: a
 * conservative claim, not a guarantee. Links meant to last days need long-term keys (an IAM user's).
 */
export const UNKNOWN_SESSION_LIFETIME_SECONDS = 900;

const PROBE_KEY = 'laminar-presign-probe';

/** S3's URI encoding for a key: each "/"-separated segment encoded per RFC 3986. */
export function encodeKeyPath(key: string): string {
  return key
    .split('/')
    .map((segment) =>
      encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
    )
    .join('/');
}

/**
 * Why no URL can reach this key, or undefined when one can. A "." or ".." path segment is resolved
 * away by every URL parser before the request is sent (RFC 3986 §5.2.4; WHATWG URL treats "%2e"
 * as a dot too, so no encoding escapes it): a presigned URL to `a/../b.pdf` asks for `b.pdf`,
 * whose signature it does not carry. S3 itself stores such keys.
 */
export function unreachableByUrl(key: string): string | undefined {
  // Asked of every key a manifest lists: one regex test, no array of segments per key.
  const dots = DOT_SEGMENT.exec(key)?.[1];
  return dots === undefined ? undefined : `a "${dots}" path segment, which URL parsers resolve away before the request is sent`;
}

const DOT_SEGMENT = /(?:^|\/)(\.\.?)(?:\/|$)/;

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/**
 * A presigned URL for an error message: its parameters' names, not their values. The values hold
 * the access key id and the session token, and an error message is logged, traced and kept in the
 * DLQ's error context.
 */
export function redactedUrl(url: URL): string {
  const names = [...url.searchParams.keys()];
  return `${url.origin}${url.pathname}${names.length > 0 ? `?${names.map((n) => `${n}=…`).join('&')}` : ''}`;
}

/**
 * Presigns many GET URLs for one bucket at ~SHA-256 + HMAC cost per URL.
 *
 * Why by hand: the SDK's getSignedUrl runs the client's whole middleware stack per URL (endpoint
 * rules, credential lookup, header canonicalisation, key derivation) — ~2.7k URLs/s here, against
 * ~200k/s for the cryptography itself. Within one batch everything but the object path is
 * constant, so we presign one probe key with the SDK, keep its URL as a template (endpoint, query
 * parameters, credential scope — whatever the SDK decided), derive the SigV4 signing key once, and
 * per key compute only the canonical request hash and the signature. The template is verified
 * against the SDK's own signature before use, so a future SDK change fails loudly, not silently.
 */
export async function createBatchPresigner(client: S3Client, options: PresignBatchOptions): Promise<BatchPresigner> {
  const signingDate = new Date(Math.floor((options.signingDate ?? new Date()).getTime() / 1000) * 1000);
  // A URL signed with temporary credentials (a Lambda role's session) stops working when they
  // expire, whatever its X-Amz-Expires says: the lifetime is capped there, so expiresAt is true.
  const credentials = await client.config.credentials();
  const { expiresIn, cappedBy } = cappedLifetime(options.expiresIn, signingDate, credentials);
  const probeUrl = await getSignedUrl(client, new GetObjectCommand({ Bucket: options.bucket, Key: PROBE_KEY }), {
    expiresIn,
    signingDate,
  });
  const url = new URL(probeUrl);
  const encodedProbe = encodeKeyPath(PROBE_KEY);
  if (!url.pathname.endsWith(encodedProbe)) throw new Error(`unexpected presigned URL shape: ${redactedUrl(url)}`);
  const pathPrefix = url.pathname.slice(0, -encodedProbe.length);
  const origin = `${url.protocol}//${url.host}`;

  const rawQuery = probeUrl.slice(probeUrl.indexOf('?') + 1);
  const pairs = rawQuery.split('&');
  const sigIndex = pairs.findIndex((p) => p.startsWith('X-Amz-Signature='));
  const param = (name: string) => pairs.find((p) => p.startsWith(`${name}=`))?.slice(name.length + 1);
  const amzDate = param('X-Amz-Date');
  const credential = param('X-Amz-Credential');
  const signedHeaders = param('X-Amz-SignedHeaders');
  if (sigIndex < 0 || !amzDate || !credential || signedHeaders !== 'host') {
    throw new Error(`presigned URL lacks the expected SigV4 query parameters: ${redactedUrl(url)}`);
  }
  const [, date, region, service] = decodeURIComponent(credential).split('/');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const canonicalQuery = pairs
    .filter((_, i) => i !== sigIndex)
    .sort((a, b) => {
      const ka = a.slice(0, a.indexOf('='));
      const kb = b.slice(0, b.indexOf('='));
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    })
    .join('&');
  const queryHead = `?${pairs.slice(0, sigIndex).join('&')}${sigIndex > 0 ? '&' : ''}X-Amz-Signature=`;
  const queryTail = sigIndex < pairs.length - 1 ? `&${pairs.slice(sigIndex + 1).join('&')}` : '';
  const canonicalTail = `\n${canonicalQuery}\nhost:${url.host}\n\nhost\nUNSIGNED-PAYLOAD`;
  const stringToSignHead = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n`;

  const signingKey = hmac(
    hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, date as string), region as string), service as string),
    'aws4_request',
  );

  const signPath = (path: string): string => {
    const canonicalHash = createHash('sha256').update(`GET\n${path}${canonicalTail}`, 'utf8').digest('hex');
    const signature = createHmac('sha256', signingKey).update(stringToSignHead + canonicalHash, 'utf8').digest('hex');
    return `${origin}${path}${queryHead}${signature}${queryTail}`;
  };

  if (signPath(pathPrefix + encodedProbe) !== probeUrl) {
    throw new Error('fast presigner self-check failed: its URL differs from the SDK presigner for the same key');
  }
  return {
    presign: (key) => signPath(pathPrefix + encodeKeyPath(key)),
    signingDate,
    expiresIn,
    expiresAt: new Date(signingDate.getTime() + expiresIn * 1000),
    ...(cappedBy ? { cappedBy } : {}),
  };
}

/**
 * `expiresIn`, or fewer seconds when the credentials expire sooner, or may (a session token with no
 * stated expiry); refuses credentials already expired. Long-term keys (no session token) are not
 * capped: their URLs live as long as the keys stay active.
 */
function cappedLifetime(
  expiresIn: number,
  signingDate: Date,
  credentials: { sessionToken?: string | undefined; expiration?: Date | undefined },
): { expiresIn: number; cappedBy?: LifetimeCap } {
  const expiration = credentials.expiration;
  if (expiration) {
    const left = Math.floor((expiration.getTime() - signingDate.getTime()) / 1000);
    if (left < 1) throw new Error(`the signing credentials expired at ${expiration.toISOString()}: no URL signed with them would work`);
    return left < expiresIn ? { expiresIn: left, cappedBy: 'credentials-expire' } : { expiresIn };
  }
  if (credentials.sessionToken && expiresIn > UNKNOWN_SESSION_LIFETIME_SECONDS) {
    return { expiresIn: UNKNOWN_SESSION_LIFETIME_SECONDS, cappedBy: 'session-expiry-unknown' };
  }
  return { expiresIn };
}
