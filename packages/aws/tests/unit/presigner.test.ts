import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { describe, expect, it } from 'vitest';
import { createBatchPresigner, createS3Client, encodeKeyPath, redactedUrl, UNKNOWN_SESSION_LIFETIME_SECONDS, unreachableByUrl } from '../../src/index.ts';

const AWKWARD_KEYS = [
  'reports/2026/q1.pdf',
  'with space/and+plus/100%.pdf',
  'unicode/é日本😀/naïve.PDF',
  "rfc3986/!'()*~_-.pdf",
  'percent/%2F%20already-encoded.pdf',
  'double//slash/.pdf',
  '/leading-slash.pdf',
  'trailing-slash/',
  'a=b&c=d?e#f.pdf',
  'tab\there.pdf',
  '[brackets]{braces}^`|\\.pdf',
];

function randomKey(seed: number): string {
  const alphabet = "abcXYZ019 +%/=&?#!'()*~_-.é日😀\u00a0";
  const chars = [...alphabet];
  let s = seed;
  let out = '';
  for (let i = 0; i < 1 + (seed % 40); i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    out += chars[s % chars.length];
  }
  return out;
}

const clients = {
  'AWS virtual-hosted with session token': createS3Client({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret/with+chars', sessionToken: 'tok/en+=abc' },
  }),
  'AWS us-east-1 without session token': createS3Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 's' },
  }),
  'custom endpoint, path style': createS3Client({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:4569',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  }),
};

describe('createBatchPresigner', () => {
  const signingDate = new Date('2026-03-04T05:06:07Z');
  for (const [name, client] of Object.entries(clients)) {
    for (const bucket of ['documents', 'dotted.bucket.name']) {
      it(`matches the SDK's getSignedUrl byte for byte: ${name}, ${bucket}`, async () => {
        const fast = await createBatchPresigner(client, { bucket, expiresIn: 900, signingDate });
        const keys = [...AWKWARD_KEYS, ...Array.from({ length: 40 }, (_, i) => randomKey(i + 1))];
        for (const key of keys) {
          const sdk = await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), {
            expiresIn: 900,
            signingDate,
          });
          expect(fast.presign(key), key).toBe(sdk);
        }
        expect(fast.expiresAt.toISOString()).toBe('2026-03-04T05:21:07.000Z');
      });
    }
  }

  it('signs differently for different keys, expiries and dates', async () => {
    const client = clients['custom endpoint, path style'];
    const a = await createBatchPresigner(client, { bucket: 'b', expiresIn: 60, signingDate });
    const b = await createBatchPresigner(client, { bucket: 'b', expiresIn: 61, signingDate });
    expect(a.presign('k')).not.toBe(a.presign('k2'));
    expect(a.presign('k')).not.toBe(b.presign('k'));
  });

  it('caps the URLs\' lifetime at the credentials\' expiry (a role session), so expiresAt is when they stop working', async () => {
    const expiration = new Date(signingDate.getTime() + 10 * 60 * 1000);
    const client = createS3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 's', sessionToken: 't', expiration } });
    const capped = await createBatchPresigner(client, { bucket: 'documents', expiresIn: 604_800, signingDate });
    expect(capped.expiresIn).toBe(600);
    expect(capped.cappedBy).toBe('credentials-expire');
    expect(capped.expiresAt).toEqual(expiration);
    expect(new URL(capped.presign('a.pdf')).searchParams.get('X-Amz-Expires')).toBe('600');
    // Shorter than the session: as asked.
    expect((await createBatchPresigner(client, { bucket: 'documents', expiresIn: 300, signingDate })).expiresIn).toBe(300);
    const expired = createS3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'A', secretAccessKey: 's', expiration: signingDate } });
    await expect(createBatchPresigner(expired, { bucket: 'documents', expiresIn: 300, signingDate })).rejects.toThrow(/credentials expired/);
  });

  it('caps the lifetime of URLs signed with a session of unknown expiry (Lambda\'s environment credentials), saying why', async () => {
    // What Lambda gives a function: the role's session as environment variables, with no expiry.
    const client = createS3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 's', sessionToken: 't' } });
    const capped = await createBatchPresigner(client, { bucket: 'documents', expiresIn: 604_800, signingDate });
    expect(UNKNOWN_SESSION_LIFETIME_SECONDS).toBe(900);
    expect(capped.expiresIn).toBe(900);
    expect(capped.cappedBy).toBe('session-expiry-unknown');
    expect(capped.expiresAt.toISOString()).toBe('2026-03-04T05:21:07.000Z');
    expect(new URL(capped.presign('a.pdf')).searchParams.get('X-Amz-Expires')).toBe('900');
    // Within the bound: as asked, nothing reported.
    const short = await createBatchPresigner(client, { bucket: 'documents', expiresIn: 600, signingDate });
    expect([short.expiresIn, short.cappedBy]).toEqual([600, undefined]);
    // Long-term keys (no session token) sign URLs that live as long as asked, up to SigV4's 7 days.
    const longTerm = createS3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 's' } });
    const week = await createBatchPresigner(longTerm, { bucket: 'documents', expiresIn: 604_800, signingDate });
    expect([week.expiresIn, week.cappedBy]).toEqual([604_800, undefined]);
  });

  it('names a URL in an error by its parameters, without their values (the access key id and session token)', async () => {
    const session = createS3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'ASIASECRETID', secretAccessKey: 's', sessionToken: 'TOKEN-VALUE' } });
    const signed = new URL(await getSignedUrl(session, new GetObjectCommand({ Bucket: 'documents', Key: 'a b.pdf' }), { expiresIn: 60 }));
    const shown = redactedUrl(signed);
    expect(shown).toMatch(/^https:\/\/documents\.s3\.eu-west-1\.amazonaws\.com\/a%20b\.pdf\?/);
    expect(shown).toContain('X-Amz-Security-Token=…');
    expect(shown).toContain('X-Amz-Credential=…');
    for (const secret of ['ASIASECRETID', 'TOKEN-VALUE', signed.searchParams.get('X-Amz-Signature') ?? 'no signature']) expect(shown).not.toContain(secret);
    expect(redactedUrl(new URL('https://b.s3.amazonaws.com/k'))).toBe('https://b.s3.amazonaws.com/k');
  });

  it('encodes keys as S3 expects', () => {
    expect(encodeKeyPath("a b/c+d/é/!'()*")).toBe('a%20b/c%2Bd/%C3%A9/%21%27%28%29%2A');
  });

  it('says which keys no URL reaches: a "." or ".." segment is resolved away, encoded or not', () => {
    for (const key of ['a/../b.pdf', './a.pdf', 'a/./b.pdf', 'a/..']) {
      expect(unreachableByUrl(key), key).toMatch(/path segment/);
      // What a client sends for the URL: not the key's path, whose signature the URL carries.
      const sent = new URL(`https://b.s3.amazonaws.com/${encodeKeyPath(key)}`).pathname;
      expect(sent, key).not.toBe(`/${encodeKeyPath(key)}`);
      expect(new URL(`https://b.s3.amazonaws.com/${key.replaceAll('.', '%2E')}`).pathname, key).not.toContain('%2E%2E/');
    }
    for (const key of ['a/..b.pdf', 'a/.../b.pdf', '.hidden/a.pdf', 'a//b.pdf', 'a/%2e%2e/b.pdf']) {
      expect(unreachableByUrl(key), key).toBeUndefined();
      expect(new URL(`https://b.s3.amazonaws.com/${encodeKeyPath(key)}`).pathname, key).toBe(`/${encodeKeyPath(key)}`);
    }
  });
});
