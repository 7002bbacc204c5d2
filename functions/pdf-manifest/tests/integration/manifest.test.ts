import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createS3Client } from '@laminar/aws';
import { type S3Emulator, startS3 } from '@laminar/emulators';
import { ClientError, DeadlineExceededError } from '@laminar/runtime';
import { lambdaContext } from '@laminar/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config.ts';
import { inputSchema } from '../../src/input.ts';
import { type ManifestLine, writeManifest } from '../../src/manifest.ts';

const BUCKET = 'documents';
let s3: S3Emulator;
let client: S3Client;
const schema = inputSchema(configSchema.parse({ DEFAULT_BUCKET: BUCKET }));
const noDeadline = () => undefined;

async function put(keys: string[], body = (k: string) => `%PDF-1.4 ${k}`) {
  for (let i = 0; i < keys.length; i += 32) {
    await Promise.all(keys.slice(i, i + 32).map((k) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key: k, Body: body(k) }))));
  }
}

async function readManifest(url: string): Promise<ManifestLine[]> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/x-ndjson');
  const text = await res.text();
  return text === '' ? [] : text.trimEnd().split('\n').map((l) => JSON.parse(l) as ManifestLine);
}

/**
 * A client on the real server whose ListObjectsV2 answers are made up by `page` (called with the
 * request and the page's number, from 1): for what the embedded S3 cannot do. Every command's name
 * is recorded, and so are the upload ids of the multipart uploads it creates.
 */
function clientWithListing(page: (input: ListObjectsV2CommandInput, n: number) => object) {
  const stubbed = createS3Client({ region: s3.region, endpoint: s3.endpoint, credentials: s3.credentials });
  const sent: string[] = [];
  const uploadIds: string[] = [];
  let pages = 0;
  stubbed.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push(context.commandName as string);
      if (context.commandName === 'ListObjectsV2Command') {
        const output = page(args.input as ListObjectsV2CommandInput, ++pages);
        return { output: { $metadata: {}, ...output }, response: {} } as never;
      }
      const result = await next(args);
      if (context.commandName === 'CreateMultipartUploadCommand') uploadIds.push((result.output as { UploadId: string }).UploadId);
      return result;
    },
    { step: 'initialize', name: 'fakeListing' },
  );
  return { client: stubbed, sent, uploadIds };
}

/** Synthetic listing pages of ~3 MB (long unicode keys): two of them fill one 5 MiB part. */
const bulkyPage = (n: number) => ({
  Contents: Array.from({ length: 1000 }, (_, i) => ({ Key: `synthetic/${'é'.repeat(300)}/${n}-${i}.pdf`, Size: 1, ETag: '"0"', LastModified: new Date() })),
  IsTruncated: true,
  NextContinuationToken: `t${n}`,
});

async function exists(key: string): Promise<boolean> {
  try {
    await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  s3 = await startS3({ buckets: [BUCKET] });
  client = createS3Client({ region: s3.region, endpoint: s3.endpoint, credentials: s3.credentials });
});
afterAll(async () => {
  client?.destroy();
  await s3?.stop();
});

describe('writeManifest against a real S3 server', () => {
  it('paginates past 1,000 keys and filters by suffix, case-insensitively', async () => {
    const pdfs = Array.from({ length: 1100 }, (_, i) => `big/${String(i).padStart(5, '0')}.${i % 10 === 0 ? 'PDF' : 'pdf'}`);
    const others = ['big/readme.txt', 'big/data.csv', 'big/old.pdf.bak', 'big/folder/'];
    await put([...pdfs, ...others]);
    const result = await writeManifest(schema.parse({ prefix: 'big/' }), 'req-big', { s3: client, checkDeadline: noDeadline });
    expect(result.count).toBe(1100);
    expect(result.scanned).toBe(1104);
    const lines = await readManifest(result.manifestUrl);
    expect(lines.map((l) => l.key).sort()).toEqual([...pdfs].sort());
    expect(new Set(lines.map((l) => l.url)).size).toBe(1100);
    expect(lines[0]).toMatchObject({ size: expect.any(Number), etag: expect.stringMatching(/^[0-9a-f]{32}$/) });
    const custom = await writeManifest(schema.parse({ prefix: 'big/', suffix: '.TXT' }), 'req-txt', { s3: client, checkDeadline: noDeadline });
    expect(custom.count).toBe(1);
  });

  it('presigns awkward keys so each URL downloads its own object', async () => {
    const keys = ['odd/with space.pdf', 'odd/plus+sign.pdf', 'odd/percent%20literal.pdf', 'odd/日本語/é😀.pdf', "odd/bang!'()*.pdf", 'odd/a=b&c.pdf'];
    await put(keys);
    const result = await writeManifest(schema.parse({ prefix: 'odd/' }), 'req-odd', { s3: client, checkDeadline: noDeadline });
    const lines = await readManifest(result.manifestUrl);
    expect(lines.map((l) => l.key).sort()).toEqual([...keys].sort());
    for (const line of lines) {
      const res = await fetch(line.url);
      expect(res.status, line.key).toBe(200);
      expect(await res.text()).toBe(`%PDF-1.4 ${line.key}`);
    }
  });

  it('leaves out, counts and names the keys with a "." or ".." segment, which no URL reaches; the others get their lines', async () => {
    const keys = ['dots/./a.pdf', 'dots/x/../b.pdf', 'dots/ok.pdf', 'dots/..c.pdf', 'dots/.../d.pdf', 'dots/..'];
    const { client: listing } = clientWithListing(() => ({
      Contents: keys.map((Key) => ({ Key, Size: 1, ETag: '"0"', LastModified: new Date() })),
      IsTruncated: false,
    }));
    const result = await writeManifest(schema.parse({ prefix: 'dots/', suffix: '' }), 'req-dots', { s3: listing, checkDeadline: noDeadline });
    expect(result).toMatchObject({ scanned: 6, count: 3, unreachable: 3, unreachableKeys: ['dots/./a.pdf', 'dots/x/../b.pdf', 'dots/..'] });
    const lines = await readManifest(result.manifestUrl);
    expect(lines.map((l) => l.key)).toEqual(['dots/ok.pdf', 'dots/..c.pdf', 'dots/.../d.pdf']);
    listing.destroy();
  });

  it('gives a folder marker no line, whatever the suffix: its link would download an empty object', async () => {
    const keys = ['marked/', 'marked/reports/', 'marked/reports/a.pdf', 'marked/x.pdf/'];
    const { client: listing } = clientWithListing(() => ({
      Contents: keys.map((Key) => ({ Key, Size: Key.endsWith('/') ? 0 : 1, ETag: '"0"', LastModified: new Date() })),
      IsTruncated: false,
    }));
    for (const suffix of ['', '/', '.pdf']) {
      const result = await writeManifest(schema.parse({ prefix: 'marked/', suffix }), `req-marked-${suffix.length}`, { s3: listing, checkDeadline: noDeadline });
      expect(result, suffix).toMatchObject({ scanned: 4, count: suffix === '/' ? 0 : 1 });
      expect((await readManifest(result.manifestUrl)).map((l) => l.key), suffix).toEqual(suffix === '/' ? [] : ['marked/reports/a.pdf']);
    }
    listing.destroy();
  });

  it('writes a valid empty manifest for a prefix with nothing under it', async () => {
    const result = await writeManifest(schema.parse({ prefix: 'nothing-here/' }), 'req-empty', { s3: client, checkDeadline: noDeadline });
    expect(result).toMatchObject({ count: 0, scanned: 0, bytes: 0 });
    expect(await readManifest(result.manifestUrl)).toEqual([]);
  });

  it('carries the requested expiry in every URL and in expiresAt', async () => {
    await put(['exp/a.pdf']);
    const now = new Date('2026-11-25T12:00:00Z');
    const result = await writeManifest(schema.parse({ prefix: 'exp/', expiresIn: 604_800 }), 'req-exp', {
      s3: client,
      checkDeadline: noDeadline,
      now: () => now,
    });
    expect(result.expiresAt).toBe('2026-12-02T12:00:00.000Z');
    expect(result.manifestUrl).toContain('X-Amz-Expires=604800');
    const body = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: result.manifestKey }));
    const line = JSON.parse(await body.Body!.transformToString()) as ManifestLine;
    expect(line.url).toContain('X-Amz-Expires=604800');
    expect(line.url).toContain('X-Amz-Date=20261125T120000Z');
  });

  it('fails, saying why and writing nothing, when the run outlasted the URLs it hands out or left them under a tenth of their life', async () => {
    await put(['late/a.pdf']);
    // Each run starts at 12:00; the URLs were asked to live 10 s, then 100 s.
    const clockEndingAt = (seconds: number) => {
      let calls = 0;
      return () => new Date(Date.UTC(2026, 10, 25, 12, 0, calls++ === 0 ? 0 : seconds));
    };
    const late = writeManifest(schema.parse({ prefix: 'late/', expiresIn: 10 }), 'req-late', { s3: client, checkDeadline: noDeadline, now: clockEndingAt(20) });
    await expect(late).rejects.toThrow(ClientError);
    await expect(late).rejects.toThrow(
      /the manifest's URLs expired at 2026-11-25T12:00:10.000Z, before the run ended \(2026-11-25T12:00:20.000Z\), after their 10 s: ask for a longer expiresIn; no manifest was written/,
    );
    // Signed with credentials that expire 30 s in, the URLs live 30 s whatever was asked for.
    const shortLived = createS3Client({
      region: s3.region,
      endpoint: s3.endpoint,
      credentials: { ...s3.credentials, expiration: new Date(Date.UTC(2026, 10, 25, 12, 0, 30)) },
    });
    const capped = writeManifest(schema.parse({ prefix: 'late/', expiresIn: 100 }), 'req-capped', { s3: shortLived, checkDeadline: noDeadline, now: clockEndingAt(40) });
    await expect(capped).rejects.toThrow(
      /expired at 2026-11-25T12:00:30.000Z, .*after their 30 s \(the 100 s asked for, capped by the signing credentials' expiry\): the credentials the function signs with expire then, so a longer expiresIn cannot help/,
    );
    expect(await exists('manifests/2026-11-25/req-capped.jsonl')).toBe(false);
    const nearly = writeManifest(schema.parse({ prefix: 'late/', expiresIn: 100 }), 'req-nearly', { s3: client, checkDeadline: noDeadline, now: clockEndingAt(95) });
    await expect(nearly).rejects.toThrow(/would expire at 2026-11-25T12:01:40.000Z, 5 s after the run ended .*under a tenth of their 100 s/);
    expect(await exists('manifests/2026-11-25/req-late.jsonl')).toBe(false);
    expect(await exists('manifests/2026-11-25/req-nearly.jsonl')).toBe(false);
    const inTime = await writeManifest(schema.parse({ prefix: 'late/', expiresIn: 100 }), 'req-in-time', { s3: client, checkDeadline: noDeadline, now: clockEndingAt(80) });
    expect(await exists(inTime.manifestKey)).toBe(true);
    // Long-term keys: the lifetime asked for, and no cap to report.
    expect(inTime.expiresIn).toBe(100);
    expect(inTime).not.toHaveProperty('cappedBy');
  });

  it('leaves no manifest when listing fails midway through a multipart upload', async () => {
    // Synthetic listing pages (long unicode keys make ~3 MB pages) so the upload goes multipart
    // against the real server before page 5 fails; everything else is real S3 traffic.
    const failing = createS3Client({ region: s3.region, endpoint: s3.endpoint, credentials: s3.credentials });
    const sent: string[] = [];
    let pages = 0;
    failing.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push(context.commandName as string);
        if (context.commandName !== 'ListObjectsV2Command') return next(args);
        pages++;
        if (pages === 5) throw new Error('injected: listing failed on page 5');
        const Contents = Array.from({ length: 1000 }, (_, i) => ({
          Key: `synthetic/${'é'.repeat(300)}/${pages}-${i}.pdf`,
          Size: 1,
          ETag: '"0"',
          LastModified: new Date(),
        }));
        return { output: { Contents, IsTruncated: true, NextContinuationToken: `t${pages}`, $metadata: {} }, response: {} } as never;
      },
      { step: 'initialize', name: 'fakeListing' },
    );
    const input = schema.parse({ prefix: 'synthetic/' });
    await expect(
      writeManifest(input, 'req-fail', { s3: failing, checkDeadline: noDeadline, partSize: 5 * 1024 * 1024 }),
    ).rejects.toThrow('injected: listing failed on page 5');
    expect(sent).toContain('CreateMultipartUploadCommand');
    expect(sent).toContain('UploadPartCommand');
    expect(sent).toContain('AbortMultipartUploadCommand');
    expect(sent).not.toContain('CompleteMultipartUploadCommand');
    const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'manifests/' }));
    expect((listed.Contents ?? []).filter((o) => o.Key?.includes('req-fail'))).toEqual([]);
    failing.destroy();
  });

  it('stops with a clear error when the deadline approaches, leaving nothing behind', async () => {
    // Its own synthetic pages, big enough that the upload has gone multipart (one part sent) when
    // the deadline stops the listing: the abort is then something that can be left undone.
    const { client: listing, sent, uploadIds } = clientWithListing((_, n) => bulkyPage(n));
    let calls = 0;
    const checkDeadline = (what: string) => {
      if (++calls > 3) throw new DeadlineExceededError(`stopped ${what}: 900 ms left`);
    };
    const input = schema.parse({ prefix: 'synthetic/' });
    // One clock for the run and the check, so a run across midnight (UTC) still looks at its key.
    const now = new Date();
    await expect(
      writeManifest(input, 'req-deadline', { s3: listing, checkDeadline, now: () => now, partSize: 5 * 1024 * 1024 }),
    ).rejects.toThrow(/stopped listing/);
    expect(sent).toContain('UploadPartCommand');
    expect(sent).not.toContain('CompleteMultipartUploadCommand');
    expect(uploadIds).toHaveLength(1);
    expect(sent.filter((c) => c === 'AbortMultipartUploadCommand')).toHaveLength(1);
    // The server no longer knows the upload: its parts are gone, not merely unassembled.
    const key = `manifests/${now.toISOString().slice(0, 10)}/req-deadline.jsonl`;
    await expect(
      client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadIds[0], PartNumber: 2, Body: 'x' })),
    ).rejects.toMatchObject({ name: 'NoSuchUpload' });
    expect(await exists(key)).toBe(false);
    listing.destroy();
  });

  it('lists with EncodingType url and decodes the keys, so a key with a carriage return gets a working link', async () => {
    // Plain XML gives "\r" back as "\n" (its end-of-line handling); the embedded S3 ignores
    // EncodingType, so the listing is stubbed as S3 answers it, and the objects are real.
    const keys = ['enc/line\rbreak.pdf', 'enc/with space+plus.pdf', 'enc/spelt%20space.pdf', 'enc/100%.pdf'];
    await put(keys);
    // As S3 encodes them: form encoding, "+" for a space, "%2B" for a "+", "%25" for a "%".
    const encoded = ['enc/line%0Dbreak.pdf', 'enc/with+space%2Bplus.pdf', 'enc/spelt%2520space.pdf', 'enc/100%25.pdf'];
    const asked: ListObjectsV2CommandInput[] = [];
    const { client: listing } = clientWithListing((request) => {
      asked.push(request);
      const listed = request.EncodingType === 'url' ? encoded : keys.map((k) => k.replaceAll('\r', '\n'));
      return {
        Contents: listed.map((Key) => ({ Key, Size: 1, ETag: '"0"', LastModified: new Date() })),
        IsTruncated: false,
        ...(request.EncodingType === 'url' ? { EncodingType: 'url' } : {}),
      };
    });
    const result = await writeManifest(schema.parse({ prefix: 'enc/' }), 'req-enc', { s3: listing, checkDeadline: noDeadline });
    expect(asked.map((r) => r.EncodingType)).toEqual(['url']);
    const lines = await readManifest(result.manifestUrl);
    expect(lines.map((l) => l.key)).toEqual(keys);
    for (const line of lines) {
      const res = await fetch(line.url);
      expect(res.status, JSON.stringify(line.key)).toBe(200);
      expect(await res.text()).toBe(`%PDF-1.4 ${line.key}`);
    }
    // "%20" and "+" both read as a space: a key spelt with either comes back the same.
    const { client: percent } = clientWithListing(() => ({
      Contents: [{ Key: 'enc/with%20space%2Bplus.pdf', Size: 1, ETag: '"0"', LastModified: new Date() }],
      IsTruncated: false,
      EncodingType: 'url',
    }));
    const spelt = await writeManifest(schema.parse({ prefix: 'enc/' }), 'req-enc-20', { s3: percent, checkDeadline: noDeadline });
    expect((await readManifest(spelt.manifestUrl)).map((l) => l.key)).toEqual(['enc/with space+plus.pdf']);
    listing.destroy();
    percent.destroy();
  });

  it('leaves out, counts and names archived objects, whose links S3 would refuse', async () => {
    // The embedded S3 lists every object as STANDARD: the listing is stubbed as S3 answers it.
    const classes: Record<string, string | undefined> = {
      'arch/standard.pdf': 'STANDARD',
      'arch/instant.pdf': 'GLACIER_IR',
      'arch/tiered.pdf': 'INTELLIGENT_TIERING',
      'arch/unsaid.pdf': undefined,
      'arch/cold.pdf': 'GLACIER',
      'arch/deep.pdf': 'DEEP_ARCHIVE',
    };
    const { client: listing } = clientWithListing(() => ({
      Contents: Object.entries(classes).map(([Key, StorageClass]) => ({ Key, Size: 1, ETag: '"0"', LastModified: new Date(), ...(StorageClass ? { StorageClass } : {}) })),
      IsTruncated: false,
      EncodingType: 'url',
    }));
    const result = await writeManifest(schema.parse({ prefix: 'arch/' }), 'req-arch', { s3: listing, checkDeadline: noDeadline });
    listing.destroy();
    expect((await readManifest(result.manifestUrl)).map((l) => l.key)).toEqual(['arch/standard.pdf', 'arch/instant.pdf', 'arch/tiered.pdf', 'arch/unsaid.pdf']);
    expect(result).toMatchObject({ count: 4, scanned: 6, archived: 2, archivedKeys: ['arch/cold.pdf', 'arch/deep.pdf'] });
  });

  it('fails, writing nothing, when a page says more keys follow but gives no continuation token', async () => {
    const { client: listing, sent } = clientWithListing((_, n) => ({
      Contents: [{ Key: `cut/${n}.pdf`, Size: 1, ETag: '"0"', LastModified: new Date() }],
      IsTruncated: true,
      EncodingType: 'url',
    }));
    const run = writeManifest(schema.parse({ prefix: 'cut/' }), 'req-cut', { s3: listing, checkDeadline: noDeadline });
    await expect(run).rejects.toThrow(
      'ListObjectsV2 of s3://documents/cut/ said more keys follow (IsTruncated) but gave no NextContinuationToken after 1 keys: the listing cannot go on, so no manifest was written',
    );
    expect(sent.filter((c) => c === 'ListObjectsV2Command')).toHaveLength(1);
    expect(sent).not.toContain('PutObjectCommand');
    expect(sent).not.toContain('CompleteMultipartUploadCommand');
    const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'manifests/' }));
    expect((listed.Contents ?? []).filter((o) => o.Key?.includes('req-cut'))).toEqual([]);
    listing.destroy();
  });

  it('rewrites the same key when a retry of the request runs after UTC midnight', async () => {
    await put(['midnight/a.pdf']);
    const input = schema.parse({ prefix: 'midnight/' });
    const at = (iso: string) => ({ s3: client, checkDeadline: noDeadline, now: () => new Date(iso) });
    const first = await writeManifest(input, 'req-midnight', at('2026-11-25T23:59:30Z'));
    expect(first.manifestKey).toBe('manifests/2026-11-25/req-midnight.jsonl');
    // Lambda retries an async event with the same request id, here two minutes later: next day.
    const retry = await writeManifest(input, 'req-midnight', at('2026-11-26T00:01:30Z'));
    expect(retry.manifestKey).toBe('manifests/2026-11-25/req-midnight.jsonl');
    expect(await exists('manifests/2026-11-26/req-midnight.jsonl')).toBe(false);
    const body = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: retry.manifestKey }));
    expect(await body.Body!.transformToString()).toContain('X-Amz-Date=20261126T000130Z');
    // Another request that night is dated by its own day; so is this one once no retry can reach
    // back to the day before (Lambda keeps an async event for 6 h at most).
    expect((await writeManifest(input, 'req-after-midnight', at('2026-11-26T00:01:30Z'))).manifestKey).toBe(
      'manifests/2026-11-26/req-after-midnight.jsonl',
    );
    expect((await writeManifest(input, 'req-midnight', at('2026-11-26T06:30:00Z'))).manifestKey).toBe(
      'manifests/2026-11-26/req-midnight.jsonl',
    );
  });

  it('caps the URLs at the bound for a session of unknown expiry, as Lambda\'s environment credentials are, and says so in expiresAt', async () => {
    await put(['session/a.pdf']);
    // What Lambda gives the function: the role's session, a token and no expiry.
    const session = createS3Client({ region: s3.region, endpoint: s3.endpoint, credentials: { ...s3.credentials, sessionToken: 'role-session' } });
    // Today, whole seconds: the server refuses URLs past their expiry, so the manifest is fetched.
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const result = await writeManifest(schema.parse({ prefix: 'session/', expiresIn: 604_800 }), 'req-session', {
      s3: session,
      checkDeadline: noDeadline,
      now: () => now,
    });
    expect(result.expiresAt).toBe(new Date(now.getTime() + 900_000).toISOString());
    expect(result.expiresIn).toBe(900);
    expect(result.cappedBy).toBe('session-expiry-unknown');
    expect(result.manifestUrl).toContain('X-Amz-Expires=900');
    const [line] = await readManifest(result.manifestUrl);
    expect(line?.url).toContain('X-Amz-Expires=900');
    // A run that leaves them under a tenth of that fails naming why a longer expiresIn cannot help.
    let calls = 0;
    const late = writeManifest(schema.parse({ prefix: 'session/', expiresIn: 3600 }), 'req-session-late', {
      s3: session,
      checkDeadline: noDeadline,
      now: () => new Date(now.getTime() + (calls++ === 0 ? 0 : 850_000)),
    });
    await expect(late).rejects.toThrow(
      /under a tenth of their 900 s \(the 3600 s asked for, capped because the signing credentials are a session of unknown expiry\): with session credentials a longer expiresIn cannot help; longer-lived links need long-term keys/,
    );
    session.destroy();
  });
});

describe('the handler', () => {
  const context = (remainingMs: number, requestId: string) => lambdaContext('pdf-manifest', { remainingMs, requestId });

  // The environment Lambda gives: the role's session as variables, a token and no expiry.
  const loadHandler = async () => {
    Object.assign(process.env, {
      AWS_REGION: s3.region,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      AWS_SESSION_TOKEN: 'role-session',
      DEFAULT_BUCKET: BUCKET,
      POWERTOOLS_METRICS_NAMESPACE: 'Test',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    });
    return (await import('../../src/handler.ts')).handler;
  };

  it('refuses bad input with one clear error and writes nothing', async () => {
    const handler = await loadHandler();
    const before = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'manifests/' }));
    await expect(handler({ prefix: '/abs', expiresIn: 0, bukket: 'x' }, context(30_000, 'req-bad'))).rejects.toMatchObject({
      name: 'InputValidationError',
      message: expect.stringMatching(/prefix: must not start with "\/".*expiresIn.*bukket/s),
    });
    const after = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'manifests/' }));
    expect(after.KeyCount).toBe(before.KeyCount);

    // Its own objects: the test passes alone (-t) as in the file.
    await put(['handler/a.pdf', 'handler/b.PDF', 'handler/notes.txt']);
    const ok = await handler({ prefix: 'handler/' }, context(30_000, 'req-good'));
    expect(ok).toMatchObject({ count: 2, manifestKey: expect.stringMatching(/^manifests\/\d{4}-\d\d-\d\d\/req-good\.jsonl$/) });
  });

  it('reports URLs signed with the role\'s session as living no longer than the cap', async () => {
    const handler = await loadHandler();
    await put(['handler-session/a.pdf']);
    const result = await handler({ prefix: 'handler-session/', expiresIn: 604_800 }, context(30_000, 'req-handler-session'));
    const url = new URL(result.manifestUrl);
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe('role-session');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    const signedAt = url.searchParams.get('X-Amz-Date')!.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z');
    expect(Date.parse(result.expiresAt) - Date.parse(signedAt)).toBe(900_000);
    expect(result.expiresIn).toBe(900);
    expect(result.cappedBy).toBe('session-expiry-unknown');
  });
});
