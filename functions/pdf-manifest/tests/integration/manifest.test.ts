import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
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
    let calls = 0;
    const checkDeadline = (what: string) => {
      if (++calls > 1) throw new DeadlineExceededError(`stopped ${what}: 900 ms left`);
    };
    const input = schema.parse({ prefix: 'big/' });
    // One clock for the run and the check, so a run across midnight (UTC) still looks at its key.
    const now = new Date();
    await expect(writeManifest(input, 'req-deadline', { s3: client, checkDeadline, now: () => now })).rejects.toThrow(/stopped listing/);
    const key = `manifests/${now.toISOString().slice(0, 10)}/req-deadline.jsonl`;
    expect(await exists(key)).toBe(false);
  });
});

describe('the handler', () => {
  const context = (remainingMs: number, requestId: string) => lambdaContext('pdf-manifest', { remainingMs, requestId });

  it('refuses bad input with one clear error and writes nothing', async () => {
    Object.assign(process.env, {
      AWS_REGION: s3.region,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      DEFAULT_BUCKET: BUCKET,
      POWERTOOLS_METRICS_NAMESPACE: 'Test',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    });
    const { handler } = await import('../../src/handler.ts');
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
});
