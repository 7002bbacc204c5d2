import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type S3Emulator, startS3 } from '../../src/index.ts';

const MiB = 2 ** 20;
let s3: S3Emulator;
beforeAll(async () => {
  s3 = await startS3({ buckets: ['seeded'] });
});
afterAll(() => s3?.stop());

describe('embedded S3', () => {
  it('serves the S3 protocol, paginates and emits object-created events', async () => {
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      credentials: s3.credentials,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    const seen: unknown[] = [];
    s3.events.on('event', (e) => seen.push(e));
    await client.send(new CreateBucketCommand({ Bucket: 'fresh' }));
    await Promise.all(
      Array.from({ length: 7 }, (_, i) => client.send(new PutObjectCommand({ Bucket: 'seeded', Key: `k/${i}`, Body: `v${i}` }))),
    );
    const first = await client.send(new ListObjectsV2Command({ Bucket: 'seeded', Prefix: 'k/', MaxKeys: 5 }));
    expect(first.KeyCount).toBe(5);
    expect(first.IsTruncated).toBe(true);
    const second = await client.send(
      new ListObjectsV2Command({ Bucket: 'seeded', Prefix: 'k/', MaxKeys: 5, ContinuationToken: first.NextContinuationToken }),
    );
    expect(second.KeyCount).toBe(2);
    await expect.poll(() => seen.length).toBe(7);
    expect(JSON.stringify(seen[0])).toContain('ObjectCreated');
    client.destroy();
  });

  it('deletes a batch (DeleteObjects) in one go and reports each object removed, as S3 does', async () => {
    // One attempt: s3rver's batch once failed half-way (its removals raced for the emptied folder)
    // and only the SDK's retry, which then found nothing to remove, answered.
    const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials, forcePathStyle: true, maxAttempts: 1 });
    const keys = Array.from({ length: 6 }, (_, i) => `batch/dt=2026-01-30/part-${i}.csv`);
    for (const Key of keys) await client.send(new PutObjectCommand({ Bucket: 'seeded', Key, Body: 'x' }));
    await s3.flushEvents();
    type Seen = { event: { Records: { eventName: string; s3: { object: { key: string } } }[] }; request: { operation: string } };
    const seen: Seen[] = [];
    const listener = (event: Seen['event'], request: Seen['request']) => {
      seen.push({ event, request });
    };
    s3.events.on('event', listener);
    const res = await client.send(
      new DeleteObjectsCommand({ Bucket: 'seeded', Delete: { Objects: [...keys, 'batch/never-there.csv'].map((Key) => ({ Key })) } }),
    );
    await s3.flushEvents();
    s3.events.off('event', listener);
    expect(res.Errors ?? []).toEqual([]);
    expect((await client.send(new ListObjectsV2Command({ Bucket: 'seeded', Prefix: 'batch/' }))).KeyCount).toBe(0);
    // Record keys are the keys as written, not URL-encoded (see S3Emulator.events).
    const removed = seen.flatMap((s) => s.event.Records.map((r) => [r.eventName, r.s3.object.key, s.request.operation]));
    expect(removed.sort()).toEqual(keys.map((k) => ['ObjectRemoved:Delete', k, 'DeleteObjects']).sort());
    client.destroy();
  });
});

/** One notification record as the emulator forwards it (s3rver's shape), with the request behind it. */
interface SeenEvent {
  record: {
    eventName: string;
    s3: { bucket: { name: string; arn: string }; object: { key: string; size?: number; eTag?: string; sequencer: string } };
  };
  operation?: string;
}

/** Every record the emulator emits from now until the returned function is called (which stops it). */
function recordEvents(): { seen: SeenEvent[]; stop(): void } {
  const seen: SeenEvent[] = [];
  const listener = (event: { Records: SeenEvent['record'][] }, request?: { operation: string }) => {
    for (const record of event.Records) seen.push({ record, operation: request?.operation });
  };
  s3.events.on('event', listener);
  return { seen, stop: () => s3.events.off('event', listener) };
}

const md5Hex = (data: Buffer | string) => createHash('md5').update(data).digest('hex');
const bytesOf = async (body: unknown) => Buffer.from(await (body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());

describe('embedded S3 notification records', () => {
  it("are s3rver's: keys as written (not URL-encoded), a multipart completion named ObjectCreated:Post, the request saying which call it was", async () => {
    const c = new S3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', maxAttempts: 1 });
    const Key = 'raw/a b+c=d%20é.csv';
    const events = recordEvents();
    await c.send(new PutObjectCommand({ Bucket: 'seeded', Key, Body: 'x' }));
    await c.send(new CopyObjectCommand({ Bucket: 'seeded', Key: `${Key}.copy`, CopySource: `seeded/${encodeURIComponent(Key)}` }));
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: 'seeded', Key: `${Key}.mpu` }));
    const part = await c.send(new UploadPartCommand({ Bucket: 'seeded', Key: `${Key}.mpu`, UploadId, PartNumber: 1, Body: 'y' }));
    await c.send(new CompleteMultipartUploadCommand({ Bucket: 'seeded', Key: `${Key}.mpu`, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    await c.send(new DeleteObjectCommand({ Bucket: 'seeded', Key }));
    await s3.flushEvents();
    events.stop();
    expect(events.seen.map((e) => [e.record.eventName, e.record.s3.object.key, e.operation, e.record.s3.bucket.arn])).toEqual([
      ['ObjectCreated:Put', Key, 'PutObject', 'arn:aws:s3: : :seeded'],
      ['ObjectCreated:Copy', `${Key}.copy`, 'CopyObject', 'arn:aws:s3: : :seeded'],
      ['ObjectCreated:Post', `${Key}.mpu`, 'CompleteMultipartUpload', 'arn:aws:s3: : :seeded'],
      ['ObjectRemoved:Delete', Key, 'DeleteObject', 'arn:aws:s3: : :seeded'],
    ]);
    expect(events.seen.map((e) => e.record.s3.object.eTag)).toEqual([md5Hex('x'), md5Hex('x'), `${md5Hex(Buffer.from(md5Hex('y'), 'hex'))}-1`, undefined]);
    c.destroy();
  });
});

describe('embedded S3 listings and writes, as S3 orders and commits them', () => {
  const client = () => new S3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', maxAttempts: 1 });

  it('lists keys in UTF-8 byte order, so pages neither skip nor repeat keys (a key that is a prefix of others, a folder beside a file)', async () => {
    const c = client();
    const keys = ['order/file', 'order/file-2', 'order/a/b', 'order/a.txt', 'order/a-c', 'order/a', 'order/z', 'order/é', 'order/Z'];
    for (const Key of keys) await c.send(new PutObjectCommand({ Bucket: 'seeded', Key, Body: Key }));
    const listed: string[] = [];
    let token: string | undefined;
    do {
      const page = await c.send(new ListObjectsV2Command({ Bucket: 'seeded', Prefix: 'order/', MaxKeys: 2, ContinuationToken: token }));
      listed.push(...(page.Contents ?? []).map((o) => o.Key as string));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const byteOrder = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(listed).toEqual(byteOrder);
    expect(byteOrder.slice(0, 5)).toEqual(['order/Z', 'order/a', 'order/a-c', 'order/a.txt', 'order/a/b']);
    // The first key under a prefix is the key itself when it exists (a "does it exist" listing).
    const one = await c.send(new ListObjectsV2Command({ Bucket: 'seeded', Prefix: 'order/file', MaxKeys: 1 }));
    expect(one.Contents?.map((o) => o.Key)).toEqual(['order/file']);
    c.destroy();
  });

  it('changes an object only once a PutObject has every byte: readers meanwhile get the old one, and a cut-off upload leaves it', async () => {
    const c = client();
    const old = Buffer.alloc(1024, 'o');
    const { ETag: oldEtag } = await c.send(new PutObjectCommand({ Bucket: 'seeded', Key: 'atomic/object', Body: old }));
    const body = new Readable({ read() {} });
    body.push(Buffer.alloc(MiB, 'n'));
    const cut = new AbortController();
    const upload = c.send(new PutObjectCommand({ Bucket: 'seeded', Key: 'atomic/object', Body: body, ContentLength: 4 * MiB }), { abortSignal: cut.signal });
    upload.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const during = await c.send(new GetObjectCommand({ Bucket: 'seeded', Key: 'atomic/object' }));
    expect(during.ETag).toBe(oldEtag);
    expect(Buffer.from(await (during.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()).equals(old)).toBe(true);
    cut.abort(new Error('cut off'));
    await expect(upload).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = await c.send(new GetObjectCommand({ Bucket: 'seeded', Key: 'atomic/object' }));
    expect(after.ETag).toBe(oldEtag);
    expect(Buffer.from(await (after.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()).equals(old)).toBe(true);
    // Nothing of the cut-off upload is listed.
    const listed = await c.send(new ListObjectsV2Command({ Bucket: 'seeded', Prefix: 'atomic/' }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(['atomic/object']);
    c.destroy();
  });

  it('refuses a key segment too long for a file name with a clear error, and keeps serving', async () => {
    const c = client();
    const key = `long/${'漢'.repeat(100)}.csv`;
    await expect(c.send(new PutObjectCommand({ Bucket: 'seeded', Key: key, Body: 'x' }))).rejects.toThrow(/longest segment \(304 bytes\) does not fit/);
    await c.send(new PutObjectCommand({ Bucket: 'seeded', Key: 'long/short.csv', Body: 'x' }));
    expect((await c.send(new HeadObjectCommand({ Bucket: 'seeded', Key: 'long/short.csv' }))).ContentLength).toBe(1);
    c.destroy();
  });

  it('takes a key segment of up to 233 bytes by PUT and by multipart upload, and refuses a longer multipart one by name, not with a 500', async () => {
    const c = client();
    // 233 bytes plus s3rver's "._S3rver_metadata.json" fill a 255-byte file name.
    const longest = `long/${'k'.repeat(233)}`;
    await c.send(new PutObjectCommand({ Bucket: 'seeded', Key: longest, Body: 'x' }));
    expect((await c.send(new HeadObjectCommand({ Bucket: 'seeded', Key: longest }))).ContentLength).toBe(1);
    const multipart = async (key: string) => {
      const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: 'seeded', Key: key }));
      const part = await c.send(new UploadPartCommand({ Bucket: 'seeded', Key: key, UploadId, PartNumber: 1, Body: 'y' }));
      return c.send(new CompleteMultipartUploadCommand({ Bucket: 'seeded', Key: key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    };
    await multipart(longest);
    expect((await c.send(new HeadObjectCommand({ Bucket: 'seeded', Key: longest }))).ContentLength).toBe(1);
    await expect(multipart(`long/${'k'.repeat(240)}`)).rejects.toMatchObject({ name: 'KeyTooLongError' });
    c.destroy();
  });

  it("refuses a key over S3's 1,024 bytes (KeyTooLongError) and takes one of exactly 1,024", async () => {
    const c = client();
    // Segments short enough for file names: only the key's whole length is at issue.
    const segments = (n: number) => Array.from({ length: n }, () => 'é'.repeat(100)).join('/');
    const exact = `long/${segments(5)}/${'x'.repeat(1024 - 5 - Buffer.byteLength(segments(5)) - 1)}`;
    expect(Buffer.byteLength(exact)).toBe(1024);
    await c.send(new PutObjectCommand({ Bucket: 'seeded', Key: exact, Body: 'x' }));
    expect((await c.send(new HeadObjectCommand({ Bucket: 'seeded', Key: exact }))).ContentLength).toBe(1);
    const over = `${exact}y`;
    await expect(c.send(new PutObjectCommand({ Bucket: 'seeded', Key: over, Body: 'x' }))).rejects.toMatchObject({ name: 'KeyTooLongError' });
    await expect(c.send(new CreateMultipartUploadCommand({ Bucket: 'seeded', Key: over }))).rejects.toMatchObject({ name: 'KeyTooLongError' });
    c.destroy();
  });

  it('refuses a body that does not match its Content-MD5 or CRC32 (BadDigest), as S3 does, and keeps the object', async () => {
    const c = client();
    const crc = (data: string) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(crc32(data));
      return b.toString('base64');
    };
    await c.send(new PutObjectCommand({ Bucket: 'seeded', Key: 'digest/object', Body: 'kept', ChecksumCRC32: crc('kept') }));
    await expect(c.send(new PutObjectCommand({ Bucket: 'seeded', Key: 'digest/object', Body: 'other', ChecksumCRC32: crc('kept') }))).rejects.toMatchObject({ name: 'BadDigest' });
    const md5 = createHash('md5').update('kept').digest('base64');
    await expect(c.send(new PutObjectCommand({ Bucket: 'seeded', Key: 'digest/object', Body: 'other', ContentMD5: md5 }))).rejects.toMatchObject({ name: 'BadDigest' });
    const got = await c.send(new GetObjectCommand({ Bucket: 'seeded', Key: 'digest/object' }));
    expect(await (got.Body as { transformToString(): Promise<string> }).transformToString()).toBe('kept');
    // A part too: the one S3 would refuse is not kept, the right one is.
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: 'seeded', Key: 'digest/mpu', ChecksumAlgorithm: 'CRC32' }));
    await expect(c.send(new UploadPartCommand({ Bucket: 'seeded', Key: 'digest/mpu', UploadId, PartNumber: 1, Body: 'part', ChecksumCRC32: crc('trap') }))).rejects.toMatchObject({ name: 'BadDigest' });
    const part = await c.send(new UploadPartCommand({ Bucket: 'seeded', Key: 'digest/mpu', UploadId, PartNumber: 1, Body: 'part', ChecksumCRC32: crc('part') }));
    await c.send(new CompleteMultipartUploadCommand({ Bucket: 'seeded', Key: 'digest/mpu', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag, ChecksumCRC32: crc('part') }] } }));
    const assembled = await c.send(new GetObjectCommand({ Bucket: 'seeded', Key: 'digest/mpu' }));
    expect(await (assembled.Body as { transformToString(): Promise<string> }).transformToString()).toBe('part');
    c.destroy();
  });

  it('serves a suffix range (the last N bytes), as S3 does', async () => {
    const c = client();
    await c.send(new PutObjectCommand({ Bucket: 'seeded', Key: 'range/digits', Body: '0123456789' }));
    const tail = await c.send(new GetObjectCommand({ Bucket: 'seeded', Key: 'range/digits', Range: 'bytes=-3' }));
    expect(await (tail.Body as { transformToString(): Promise<string> }).transformToString()).toBe('789');
    expect(tail.ContentRange).toBe('bytes 7-9/10');
    const more = await c.send(new GetObjectCommand({ Bucket: 'seeded', Key: 'range/digits', Range: 'bytes=-20' }));
    expect(await (more.Body as { transformToString(): Promise<string> }).transformToString()).toBe('0123456789');
    c.destroy();
  });
});

describe('embedded S3 conditional writes', () => {
  it('writes with If-None-Match: * only where no object is, as S3 does (412 otherwise, the object kept)', async () => {
    const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials, forcePathStyle: true, maxAttempts: 1 });
    const put = (Key: string, Body: string) => client.send(new PutObjectCommand({ Bucket: 'seeded', Key, Body, IfNoneMatch: '*' }));
    await put('cond/ünïcode key.json', 'first');
    const refused = await put('cond/ünïcode key.json', 'second').catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
    const kept = await client.send(new GetObjectCommand({ Bucket: 'seeded', Key: 'cond/ünïcode key.json' }));
    expect(await kept.Body?.transformToString()).toBe('first');
    // Without the condition, a write replaces the object as before.
    await client.send(new PutObjectCommand({ Bucket: 'seeded', Key: 'cond/ünïcode key.json', Body: 'third' }));
    expect(await (await client.send(new GetObjectCommand({ Bucket: 'seeded', Key: 'cond/ünïcode key.json' }))).Body?.transformToString()).toBe('third');
    client.destroy();
  });
});

describe('embedded S3 conditional reads', () => {
  it('serves a GET or HEAD with If-Match only while the object has that ETag, as S3 does (412 once it was replaced)', async () => {
    const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials, forcePathStyle: true, maxAttempts: 1 });
    const Key = 'cond/read ünïcode+key.csv';
    const first = await client.send(new PutObjectCommand({ Bucket: 'seeded', Key, Body: 'first' }));
    const get = (IfMatch: string) => client.send(new GetObjectCommand({ Bucket: 'seeded', Key, IfMatch })).then((r) => r.Body?.transformToString(), (e: unknown) => e);
    expect(await get(first.ETag as string)).toBe('first');
    expect(await get((first.ETag as string).replaceAll('"', ''))).toBe('first');
    expect(await get('*')).toBe('first');
    await client.send(new PutObjectCommand({ Bucket: 'seeded', Key, Body: 'second' }));
    expect(await get(first.ETag as string)).toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
    const head = await client.send(new HeadObjectCommand({ Bucket: 'seeded', Key, IfMatch: first.ETag })).catch((e: unknown) => e);
    expect(head).toMatchObject({ $metadata: { httpStatusCode: 412 } });
    // A list naming the current ETag matches; a missing object is NoSuchKey, not 412.
    const current = (await client.send(new HeadObjectCommand({ Bucket: 'seeded', Key }))).ETag as string;
    expect(await get(`${first.ETag}, ${current}`)).toBe('second');
    expect(await client.send(new GetObjectCommand({ Bucket: 'seeded', Key: 'cond/never-there.csv', IfMatch: current })).catch((e: unknown) => e)).toMatchObject({ name: 'NoSuchKey' });
    client.destroy();
  });
});

describe('embedded S3 CopyObject', () => {
  it('reads the copy source URL-encoded, as S3 does: keys with +, =, %, ?, spaces and unicode', async () => {
    const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials, forcePathStyle: true, maxAttempts: 1 });
    for (const Key of ['copy/dt=2026-11-25/a+b c%(1)?.csv', 'copy/ünïcode, @:;.csv']) {
      await client.send(new PutObjectCommand({ Bucket: 'seeded', Key, Body: Key }));
      const encoded = `seeded/${Key.split('/').map(encodeURIComponent).join('/')}`;
      await client.send(new CopyObjectCommand({ Bucket: 'seeded', Key: `${Key}.copy`, CopySource: encoded }));
      const copy = await client.send(new GetObjectCommand({ Bucket: 'seeded', Key: `${Key}.copy` }));
      expect(await copy.Body?.transformToString(), Key).toBe(Key);
    }
    client.destroy();
  });
});

describe('embedded S3 CopyObject ETags and commits', () => {
  const client = () =>
    new S3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', maxAttempts: 1 });

  it("gives a copy over an existing key (MetadataDirective REPLACE) the new bytes' MD5: answer, HEAD, GET and event agree", async () => {
    const c = client();
    await c.send(new PutObjectCommand({ Bucket: 'seeded', Key: 'copy-etag/src.csv', Body: 'new bytes YYYY' }));
    await c.send(new PutObjectCommand({ Bucket: 'seeded', Key: 'copy-etag/dest.csv', Body: 'old X', ContentType: 'text/plain' }));
    const events = recordEvents();
    const copied = await c.send(
      new CopyObjectCommand({ Bucket: 'seeded', Key: 'copy-etag/dest.csv', CopySource: 'seeded/copy-etag/src.csv', MetadataDirective: 'REPLACE', ContentType: 'text/csv', Metadata: { run: 'r1' } }),
    );
    await s3.flushEvents();
    events.stop();
    const etag = `"${md5Hex('new bytes YYYY')}"`;
    expect(copied.CopyObjectResult?.ETag).toBe(etag);
    const head = await c.send(new HeadObjectCommand({ Bucket: 'seeded', Key: 'copy-etag/dest.csv' }));
    expect([head.ETag, head.ContentType, head.Metadata]).toEqual([etag, 'text/csv', { run: 'r1' }]);
    const got = await c.send(new GetObjectCommand({ Bucket: 'seeded', Key: 'copy-etag/dest.csv' }));
    expect(got.ETag).toBe(etag);
    expect((await bytesOf(got.Body)).toString()).toBe('new bytes YYYY');
    expect(events.seen.map((e) => [e.record.eventName, e.record.s3.object.key, e.record.s3.object.eTag, e.record.s3.object.size])).toEqual([
      ['ObjectCreated:Copy', 'copy-etag/dest.csv', md5Hex('new bytes YYYY'), 14],
    ]);
    c.destroy();
  });

  it('gives a copy of a multipart object the plain MD5 of its bytes (a CopyObject is one part), and the source\'s metadata by default', async () => {
    const c = client();
    const parts = [Buffer.alloc(5 * MiB, 'a'), Buffer.from('the end')];
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: 'seeded', Key: 'copy-etag/mpu.bin', ContentType: 'application/x-test', Metadata: { kind: 'mpu' } }));
    const etags: string[] = [];
    for (const [i, Body] of parts.entries()) etags.push((await c.send(new UploadPartCommand({ Bucket: 'seeded', Key: 'copy-etag/mpu.bin', UploadId, PartNumber: i + 1, Body }))).ETag as string);
    const done = await c.send(
      new CompleteMultipartUploadCommand({ Bucket: 'seeded', Key: 'copy-etag/mpu.bin', UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }),
    );
    expect(done.ETag).toMatch(/-2"$/);
    const events = recordEvents();
    const copied = await c.send(new CopyObjectCommand({ Bucket: 'seeded', Key: 'copy-etag/mpu-copy.bin', CopySource: 'seeded/copy-etag/mpu.bin' }));
    await s3.flushEvents();
    events.stop();
    const whole = Buffer.concat(parts);
    const etag = `"${md5Hex(whole)}"`;
    expect(copied.CopyObjectResult?.ETag).toBe(etag);
    const got = await c.send(new GetObjectCommand({ Bucket: 'seeded', Key: 'copy-etag/mpu-copy.bin' }));
    expect([got.ETag, got.ContentType, got.Metadata]).toEqual([etag, 'application/x-test', { kind: 'mpu' }]);
    expect((await bytesOf(got.Body)).equals(whole)).toBe(true);
    expect(events.seen.map((e) => e.record.s3.object.eTag)).toEqual([md5Hex(whole)]);
    c.destroy();
  });

  it('puts a copy in place whole: the key it replaces is never missing or partly written meanwhile', async () => {
    const c = client();
    const big = 64 * MiB;
    await c.send(new PutObjectCommand({ Bucket: 'seeded', Key: 'copy-etag/big.bin', Body: Buffer.alloc(big, 'n') }));
    await c.send(new PutObjectCommand({ Bucket: 'seeded', Key: 'copy-etag/replaced.bin', Body: 'old' }));
    let copying = true;
    const copy = c.send(new CopyObjectCommand({ Bucket: 'seeded', Key: 'copy-etag/replaced.bin', CopySource: 'seeded/copy-etag/big.bin' })).finally(() => {
      copying = false;
    });
    // Readers while the copy runs see the old object or the new one, whole (s3rver removed the old
    // file and wrote the new one where it was: NoSuchKey, then a growing object).
    const seen = new Set<string>();
    while (copying) {
      const head = await c.send(new HeadObjectCommand({ Bucket: 'seeded', Key: 'copy-etag/replaced.bin' })).then(
        (h) => String(h.ContentLength),
        (error: { name?: string }) => String(error.name),
      );
      seen.add(head);
    }
    await copy;
    expect([...seen].filter((size) => size !== '3' && size !== String(big))).toEqual([]);
    c.destroy();
  });
});

describe('embedded S3 concurrent writes of one key', () => {
  it("commits them one at a time: the object's ETag is its bytes' MD5, and the key's last event (greatest sequencer, last sent) names it", async () => {
    const c = new S3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', maxAttempts: 1 });
    // Writes of every kind that commits an object: PutObject, CopyObject, CompleteMultipartUpload,
    // and a DeleteObject among them. Each round's key has a folder of its own, which a delete empties.
    await c.send(new PutObjectCommand({ Bucket: 'seeded', Key: 'race-source.csv', Body: 'copied bytes' }));
    const multipartEtag = (body: Buffer) => `${md5Hex(Buffer.from(md5Hex(body), 'hex'))}-1`;
    const events = recordEvents();
    const wrong: unknown[] = [];
    for (let round = 0; round < 25; round++) {
      const Key = `race/${round}/object.csv`;
      const bodies = Array.from({ length: 6 }, (_, i) => Buffer.alloc(1024 * (1 + ((i * 37 + round) % 200)), String.fromCharCode(97 + i)));
      const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: 'seeded', Key }));
      const part = await c.send(new UploadPartCommand({ Bucket: 'seeded', Key, UploadId, PartNumber: 1, Body: Buffer.alloc(3000 + round, 'm') }));
      await Promise.all([
        ...bodies.map((Body) => c.send(new PutObjectCommand({ Bucket: 'seeded', Key, Body }))),
        c.send(new CopyObjectCommand({ Bucket: 'seeded', Key, CopySource: 'seeded/race-source.csv' })),
        c.send(new CompleteMultipartUploadCommand({ Bucket: 'seeded', Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } })),
        ...(round % 2 === 0 ? [c.send(new DeleteObjectCommand({ Bucket: 'seeded', Key }))] : []),
      ]);
      await s3.flushEvents();
      const got = await c.send(new GetObjectCommand({ Bucket: 'seeded', Key })).catch((error: { name?: string }) => String(error.name));
      const ofKey = events.seen.filter((e) => e.record.s3.object.key === Key);
      const bySequencer = [...ofKey].sort((a, b) => (a.record.s3.object.sequencer < b.record.s3.object.sequencer ? -1 : 1));
      const last = bySequencer.at(-1)?.record;
      if (new Set(ofKey.map((e) => e.record.s3.object.sequencer)).size !== ofKey.length) wrong.push({ round, sequencers: 'not distinct' });
      if (bySequencer.some((e, i) => e !== ofKey[i])) wrong.push({ round, order: 'events not sent in sequencer order' });
      if (typeof got === 'string') {
        if (got !== 'NoSuchKey' || last?.eventName !== 'ObjectRemoved:Delete') wrong.push({ round, got, last: last?.eventName });
        continue;
      }
      const body = await bytesOf(got.Body);
      const etag = (got.ETag as string).replaceAll('"', '');
      const expected = etag.endsWith('-1') ? multipartEtag(body) : md5Hex(body);
      if (etag !== expected || last?.s3.object.eTag !== etag) wrong.push({ round, etag, expected, lastEvent: [last?.eventName, last?.s3.object.eTag] });
    }
    events.stop();
    expect(wrong).toEqual([]);
    c.destroy();
  });
});

describe('embedded S3 reads during writes', () => {
  it('answers every HEAD and GET of a key while it is written again and again (the old object or the new, never an error)', async () => {
    const c = new S3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', maxAttempts: 1 });
    const Key = 'reads/hot.csv';
    const Metadata = { note: 'n'.repeat(2000) };
    await c.send(new PutObjectCommand({ Bucket: 'seeded', Key, Body: 'first', ContentType: 'text/csv', Metadata }));
    let writing = true;
    const writes = (async () => {
      for (let i = 0; i < 40; i++) await c.send(new PutObjectCommand({ Bucket: 'seeded', Key, Body: `body ${i}`, ContentType: 'text/csv', Metadata }));
      await c.send(new CopyObjectCommand({ Bucket: 'seeded', Key, CopySource: `seeded/${Key}`, MetadataDirective: 'REPLACE', ContentType: 'text/csv', Metadata }));
    })().finally(() => {
      writing = false;
    });
    const failures: string[] = [];
    let reads = 0;
    await Promise.all(
      Array.from({ length: 4 }, async (_, i) => {
        while (writing) {
          reads++;
          const read = i % 2 === 0 ? c.send(new HeadObjectCommand({ Bucket: 'seeded', Key })) : c.send(new GetObjectCommand({ Bucket: 'seeded', Key })).then((got) => bytesOf(got.Body));
          await read.catch((error: { name?: string; $metadata?: { httpStatusCode?: number } }) => failures.push(`${error.name} ${error.$metadata?.httpStatusCode}`));
        }
      }),
    );
    await writes;
    expect(reads).toBeGreaterThan(100);
    expect(failures).toEqual([]);
    c.destroy();
  });
});

describe('embedded S3 credentials', () => {
  it('refuses keys it does not know until told to accept them (functions beside an external DynamoDB sign with its keys)', async () => {
    const keys = { accessKeyId: 'AKIAEXTERNAL', secretAccessKey: 'external-secret' };
    const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, credentials: keys, forcePathStyle: true, maxAttempts: 1 });
    const put = () => client.send(new PutObjectCommand({ Bucket: 'seeded', Key: 'keys/one', Body: 'x' }));
    await expect(put()).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
    await s3.acceptCredentials(keys);
    await put();
    const got = await client.send(new GetObjectCommand({ Bucket: 'seeded', Key: 'keys/one' }));
    expect(await got.Body?.transformToString()).toBe('x');
    client.destroy();
  });
});

describe('embedded S3 multipart uploads', () => {
  const client = () =>
    new S3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED' });
  const md5 = (data: Buffer) => createHash('md5').update(data).digest();
  async function upload(c: S3Client, key: string, parts: Buffer[]) {
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: 'seeded', Key: key }));
    const etags: string[] = [];
    for (const [i, Body] of parts.entries()) {
      etags.push((await c.send(new UploadPartCommand({ Bucket: 'seeded', Key: key, UploadId, PartNumber: i + 1, Body }))).ETag as string);
    }
    return { UploadId: UploadId as string, etags };
  }

  it('assembles the parts and answers with S3\'s multipart ETag (MD5 of the parts\' MD5s, "-N")', async () => {
    const c = client();
    const parts = [Buffer.alloc(5 * MiB, 'a'), Buffer.alloc(5 * MiB, 'b'), Buffer.from('the end')];
    const { UploadId, etags } = await upload(c, 'mpu/whole', parts);
    expect(etags[0]).toBe(`"${md5(parts[0] as Buffer).toString('hex')}"`);
    const done = await c.send(
      new CompleteMultipartUploadCommand({ Bucket: 'seeded', Key: 'mpu/whole', UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }),
    );
    const expected = `${createHash('md5').update(Buffer.concat(parts.map(md5))).digest('hex')}-3`;
    expect(done.ETag).toBe(`"${expected}"`);
    const got = await c.send(new GetObjectCommand({ Bucket: 'seeded', Key: 'mpu/whole' }));
    expect(got.ETag).toBe(`"${expected}"`);
    expect(Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()).equals(Buffer.concat(parts))).toBe(true);
    c.destroy();
  });

  it('completes with exactly the listed parts, whatever order they arrived in, re-uploaded or left out', async () => {
    const c = client();
    const [a, b, z, end] = [Buffer.alloc(5 * MiB, 'a'), Buffer.alloc(5 * MiB, 'b'), Buffer.alloc(5 * MiB + 1, 'z'), Buffer.from('the end')];
    // The emulator appends parts that arrived in order to one file after it has answered them
    // (s3-server.cjs, partArrived), and completion waits for that. Waiting until every part so far
    // is in the file puts completion on the path where the file holds parts the list leaves out or
    // replaces; the outcome must be the same either way, so this sets the case up, it hides no race.
    const appended = async (UploadId: string, parts: Buffer[]) => {
      const file = join(s3.directory, 'seeded', '._S3rver_uploads', UploadId, 'assembling');
      const bytes = parts.reduce((n, p) => n + p.length, 0);
      await expect.poll(async () => (await stat(file).catch(() => undefined))?.size, { interval: 20 }).toBe(bytes);
    };
    const part = async (key: string, UploadId: string, PartNumber: number, Body: Buffer) =>
      (await c.send(new UploadPartCommand({ Bucket: 'seeded', Key: key, UploadId, PartNumber, Body }))).ETag as string;
    const complete = async (key: string, UploadId: string, parts: [number, string][]) => {
      const done = await c.send(
        new CompleteMultipartUploadCommand({ Bucket: 'seeded', Key: key, UploadId, MultipartUpload: { Parts: parts.map(([PartNumber, ETag]) => ({ PartNumber, ETag })) } }),
      );
      const got = await c.send(new GetObjectCommand({ Bucket: 'seeded', Key: key }));
      const bytes = Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
      return { etag: done.ETag, bytes };
    };
    const multipartEtag = (parts: Buffer[]) => `"${createHash('md5').update(Buffer.concat(parts.map(md5))).digest('hex')}-${parts.length}"`;

    // Arrived 2, 3, 1.
    let { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: 'seeded', Key: 'mpu/shuffled' }));
    const e2 = await part('mpu/shuffled', UploadId as string, 2, b);
    const e3 = await part('mpu/shuffled', UploadId as string, 3, end);
    const e1 = await part('mpu/shuffled', UploadId as string, 1, a);
    let result = await complete('mpu/shuffled', UploadId as string, [[1, e1], [2, e2], [3, e3]]);
    expect(result.bytes.equals(Buffer.concat([a, b, end]))).toBe(true);
    expect(result.etag).toBe(multipartEtag([a, b, end]));

    // Part 2 uploaded again, with other bytes, after the first was appended: the last one counts.
    ({ UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: 'seeded', Key: 'mpu/replaced' })));
    const r1 = await part('mpu/replaced', UploadId as string, 1, a);
    await part('mpu/replaced', UploadId as string, 2, b);
    const r3 = await part('mpu/replaced', UploadId as string, 3, end);
    await appended(UploadId as string, [a, b, end]);
    const r2 = await part('mpu/replaced', UploadId as string, 2, z);
    result = await complete('mpu/replaced', UploadId as string, [[1, r1], [2, r2], [3, r3]]);
    expect(result.bytes.equals(Buffer.concat([a, z, end]))).toBe(true);

    // Parts left out of the list, in the middle and at the end.
    ({ UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: 'seeded', Key: 'mpu/subset' })));
    const s1 = await part('mpu/subset', UploadId as string, 1, a);
    await part('mpu/subset', UploadId as string, 2, b);
    const s3e = await part('mpu/subset', UploadId as string, 3, z);
    await part('mpu/subset', UploadId as string, 4, end);
    await appended(UploadId as string, [a, b, z, end]);
    result = await complete('mpu/subset', UploadId as string, [[1, s1], [3, s3e]]);
    expect(result.bytes.equals(Buffer.concat([a, z]))).toBe(true);
    expect(result.etag).toBe(multipartEtag([a, z]));

    ({ UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: 'seeded', Key: 'mpu/prefix' })));
    const p1 = await part('mpu/prefix', UploadId as string, 1, a);
    const p2 = await part('mpu/prefix', UploadId as string, 2, b);
    await part('mpu/prefix', UploadId as string, 3, end);
    await appended(UploadId as string, [a, b, end]);
    result = await complete('mpu/prefix', UploadId as string, [[1, p1], [2, p2]]);
    expect(result.bytes.equals(Buffer.concat([a, b]))).toBe(true);
    c.destroy();
  });

  it('refuses what S3 refuses: a wrong part ETag, parts out of order, a small part that is not the last', async () => {
    const c = client();
    const small = await upload(c, 'mpu/small', [Buffer.from('too small'), Buffer.from('last')]);
    const list = (etags: string[], order = [1, 2]) => ({ Parts: order.map((n) => ({ ETag: etags[n - 1] as string, PartNumber: n })) });
    await expect(
      c.send(new CompleteMultipartUploadCommand({ Bucket: 'seeded', Key: 'mpu/small', UploadId: small.UploadId, MultipartUpload: list(small.etags) })),
    ).rejects.toMatchObject({ name: 'EntityTooSmall' });
    await expect(
      c.send(new CompleteMultipartUploadCommand({ Bucket: 'seeded', Key: 'mpu/small', UploadId: small.UploadId, MultipartUpload: list(small.etags, [2, 1]) })),
    ).rejects.toMatchObject({ name: 'InvalidPartOrder' });
    await expect(
      c.send(new CompleteMultipartUploadCommand({ Bucket: 'seeded', Key: 'mpu/small', UploadId: small.UploadId, MultipartUpload: list(['"0"', small.etags[1] as string]) })),
    ).rejects.toMatchObject({ name: 'InvalidPart' });
    await expect(c.send(new UploadPartCommand({ Bucket: 'seeded', Key: 'mpu/small', UploadId: 'no-such-upload', PartNumber: 1, Body: 'x' }))).rejects.toMatchObject({
      name: 'NoSuchUpload',
    });
    // Nothing became visible.
    const listed = await c.send(new ListObjectsV2Command({ Bucket: 'seeded', Prefix: 'mpu/small' }));
    expect(listed.KeyCount).toBe(0);
    c.destroy();
  });
  it('aborts a multipart upload as S3 does: for its own key only, and then it is gone', async () => {
    const c = client();
    const started = await upload(c, 'mpu/aborted key', [Buffer.from('part one')]);
    const abort = (key: string, uploadId = started.UploadId) => c.send(new AbortMultipartUploadCommand({ Bucket: 'seeded', Key: key, UploadId: uploadId }));
    await expect(abort('mpu/another key')).rejects.toMatchObject({ name: 'NoSuchUpload' });
    // Ids and buckets that would be paths elsewhere in the store name nothing.
    await expect(abort('mpu/aborted key', `../._S3rver_uploads/${started.UploadId}`)).rejects.toMatchObject({ name: 'NoSuchUpload' });
    await expect(c.send(new AbortMultipartUploadCommand({ Bucket: 'no-such-bucket', Key: 'mpu/aborted key', UploadId: started.UploadId }))).rejects.toMatchObject({
      name: 'NoSuchBucket',
    });
    await abort('mpu/aborted key');
    await expect(
      c.send(new CompleteMultipartUploadCommand({ Bucket: 'seeded', Key: 'mpu/aborted key', UploadId: started.UploadId, MultipartUpload: { Parts: [{ ETag: started.etags[0] as string, PartNumber: 1 }] } })),
    ).rejects.toMatchObject({ name: 'NoSuchUpload' });
    await expect(abort('mpu/aborted key')).rejects.toMatchObject({ name: 'NoSuchUpload' });
    // A plain DELETE is still DeleteObject.
    await c.send(new PutObjectCommand({ Bucket: 'seeded', Key: 'mpu/plain', Body: 'x' }));
    await c.send(new DeleteObjectCommand({ Bucket: 'seeded', Key: 'mpu/plain' }));
    const listed = await c.send(new ListObjectsV2Command({ Bucket: 'seeded', Prefix: 'mpu/' }));
    expect(listed.Contents?.map((o) => o.Key) ?? []).not.toContain('mpu/plain');
    c.destroy();
  });

  it('answers NoSuchUpload to a part still arriving when its upload is aborted', async () => {
    const c = new S3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', maxAttempts: 1 });
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: 'seeded', Key: 'mpu/raced' }));
    const body = new Readable({ read() {} });
    body.push(Buffer.alloc(65536, 'a'));
    const part = c.send(new UploadPartCommand({ Bucket: 'seeded', Key: 'mpu/raced', UploadId, PartNumber: 1, Body: body, ContentLength: 2 * 65536 }));
    const settled = part.then(
      () => 'uploaded',
      (error: { name?: string }) => error.name,
    );
    // The part's first bytes are in the emulator's hands before the abort: its file of the part
    // in progress holds them, so the part is past the upload's existence check and mid-write.
    const uploadDir = join(s3.directory, 'seeded', '._S3rver_uploads', UploadId as string);
    const partialBytes = async () => {
      const partial = (await readdir(uploadDir)).find((f) => /^1\.[0-9a-f]+\.partial$/.test(f));
      return partial === undefined ? undefined : (await stat(join(uploadDir, partial))).size;
    };
    await expect.poll(partialBytes, { interval: 20 }).toBe(65536);
    await c.send(new AbortMultipartUploadCommand({ Bucket: 'seeded', Key: 'mpu/raced', UploadId }));
    body.push(Buffer.alloc(65536, 'b'));
    body.push(null);
    expect(await settled).toBe('NoSuchUpload');
    c.destroy();
  });

  it('keeps a part as it was when an upload of it again is cut off half-way, as S3 does', async () => {
    const c = new S3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', maxAttempts: 1 });
    const first = Buffer.alloc(MiB, 'a');
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: 'seeded', Key: 'mpu/again' }));
    const { ETag } = await c.send(new UploadPartCommand({ Bucket: 'seeded', Key: 'mpu/again', UploadId, PartNumber: 1, Body: first }));
    // The same part once more: 64 KiB of it sent, then the client gives up.
    const body = new Readable({ read() {} });
    body.push(Buffer.alloc(65536, 'b'));
    const cut = new AbortController();
    setTimeout(() => cut.abort(new Error('cut off')), 300);
    await expect(
      c.send(new UploadPartCommand({ Bucket: 'seeded', Key: 'mpu/again', UploadId, PartNumber: 1, Body: body, ContentLength: first.length }), { abortSignal: cut.signal }),
    ).rejects.toThrow();
    await c.send(new CompleteMultipartUploadCommand({ Bucket: 'seeded', Key: 'mpu/again', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] } }));
    const got = await c.send(new GetObjectCommand({ Bucket: 'seeded', Key: 'mpu/again' }));
    expect(Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()).equals(first)).toBe(true);
    c.destroy();
  });
});

describe('seedS3Directory', () => {
  it('writes objects the server then lists and serves', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { seedS3Directory } = await import('../../src/index.ts');
    const dir = mkdtempSync(join(tmpdir(), 'laminar-seed-'));
    await seedS3Directory(dir, 'bulk', Array.from({ length: 1500 }, (_, i) => ({ key: `p/${i}.pdf`, body: `b${i}` })));
    const server = await startS3({ directory: dir });
    const client = new S3Client({ endpoint: server.endpoint, region: server.region, credentials: server.credentials, forcePathStyle: true });
    let count = 0;
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: 'bulk', ContinuationToken: token }));
      count += page.KeyCount ?? 0;
      token = page.NextContinuationToken;
    } while (token);
    expect(count).toBe(1500);
    client.destroy();
    await server.stop();
  });
});
