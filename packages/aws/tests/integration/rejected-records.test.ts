import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { type S3Emulator, startS3 } from '@laminar/emulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client, keepRejectedRecords, type RejectedRecord, rejectedRecordKey } from '../../src/index.ts';

const BUCKET = 'lake';
let s3: S3Emulator;
let client: S3Client;

beforeAll(async () => {
  s3 = await startS3({ buckets: [BUCKET] });
  client = createS3Client({ region: s3.region, endpoint: s3.endpoint, credentials: s3.credentials });
});
afterAll(async () => {
  client?.destroy();
  await s3?.stop();
});

const keys = async (prefix: string) =>
  ((await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }))).Contents ?? []).map((o) => o.Key as string).sort();
const read = async (key: string) => JSON.parse(await (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString());

const bad = (n: number): RejectedRecord => ({ source: 'https://example.com/feed.xml', reasons: ['no title and no link'], record: { guid: `g${n}` } });

describe('keepRejectedRecords against S3', () => {
  it('keeps each record once, with its reasons, however often it is rejected again', async () => {
    const prefix = 'rejected/once/';
    const first = await keepRejectedRecords([bad(1), bad(2), bad(1)], { client, bucket: BUCKET, prefix, rejectedBy: 'rss-producer', now: () => new Date('2026-01-01T00:00:00Z') });
    // Every record accounted for: two objects written, the repeat within the call kept already.
    expect(first).toEqual({ written: 2, alreadyKept: 1, failed: 0, failedSources: [] });
    const again = await keepRejectedRecords([bad(1), bad(2), bad(3)], { client, bucket: BUCKET, prefix, rejectedBy: 'rss-producer', now: () => new Date('2026-01-02T00:00:00Z') });
    expect(again).toEqual({ written: 1, alreadyKept: 2, failed: 0, failedSources: [] });
    expect(await keys(prefix)).toEqual([bad(1), bad(2), bad(3)].map((r) => rejectedRecordKey(prefix, r)).sort());
    // The first rejection's time is kept: the second call did not overwrite the object.
    expect(await read(rejectedRecordKey(prefix, bad(1)))).toEqual({
      source: 'https://example.com/feed.xml',
      reasons: ['no title and no link'],
      rejectedBy: 'rss-producer',
      firstRejectedAt: '2026-01-01T00:00:00.000Z',
      record: { guid: 'g1' },
    });
    expect((await read(rejectedRecordKey(prefix, bad(3)))).firstRejectedAt).toBe('2026-01-02T00:00:00.000Z');
  });

  it('keeps a record again when its reasons change, and records a count for records that could not be told apart', async () => {
    const prefix = 'rejected/changed/';
    const unread: RejectedRecord = { source: 'https://example.com/a.xml', reasons: ['malformed XML'], record: null, count: 3 };
    const result = await keepRejectedRecords([bad(1), { ...bad(1), reasons: ['link longer than 2,048 characters'] }, unread], { client, bucket: BUCKET, prefix, rejectedBy: 'rss-producer' });
    // Counted in records: the unreadable three are one object.
    expect(result.written).toBe(5);
    expect(await read(rejectedRecordKey(prefix, unread))).toMatchObject({ count: 3, record: null, reasons: ['malformed XML'] });
  });

  it('keeps a record named by its identity once, as first read, however its content changes', async () => {
    const prefix = 'rejected/identity/';
    const market = (volume: number): RejectedRecord => ({ source: 'https://gamma.example/markets', reasons: ['outcomes: missing'], record: { id: '12', volume }, identity: 'market 12' });
    expect(await keepRejectedRecords([market(1)], { client, bucket: BUCKET, prefix, rejectedBy: 'polymarket-producer' })).toMatchObject({ written: 1 });
    expect(await keepRejectedRecords([market(2)], { client, bucket: BUCKET, prefix, rejectedBy: 'polymarket-producer' })).toMatchObject({ written: 0, alreadyKept: 1 });
    expect(await keys(prefix)).toHaveLength(1);
    expect((await read(rejectedRecordKey(prefix, market(2)))).record).toEqual({ id: '12', volume: 1 });
    // The identity names the rejection: reasons worded otherwise (a quoted value that changed) are the same one…
    expect(await keepRejectedRecords([{ ...market(3), reasons: ['outcomes: missing (again)'] }], { client, bucket: BUCKET, prefix, rejectedBy: 'polymarket-producer' })).toMatchObject({ written: 0, alreadyKept: 1 });
    // …and another identity is another rejection.
    expect(await keepRejectedRecords([{ ...market(3), identity: 'market 12 (id)' }], { client, bucket: BUCKET, prefix, rejectedBy: 'polymarket-producer' })).toMatchObject({ written: 1 });
  });

  it('counts records it could not write, by source, and goes on with the others', async () => {
    // A bucket that does not exist: every write fails, and none is counted kept.
    const result = await keepRejectedRecords([bad(1), { ...bad(2), source: 'https://example.org/b.xml' }], { client, bucket: 'no-such-bucket', prefix: 'rejected/', rejectedBy: 'rss-producer' });
    expect(result).toMatchObject({ written: 0, alreadyKept: 0, failed: 2 });
    expect(result.failedSources.sort()).toEqual(['https://example.com/feed.xml', 'https://example.org/b.xml']);
    expect(result.firstError).toMatch(/NoSuchBucket/);
  });

  it('writes nothing once its signal has stopped, and counts every record not kept', async () => {
    const stop = new AbortController();
    stop.abort(new Error('deadline'));
    const result = await keepRejectedRecords([bad(7), bad(8)], { client, bucket: BUCKET, prefix: 'rejected/stopped/', rejectedBy: 'rss-producer', signal: stop.signal });
    expect(result).toMatchObject({ written: 0, failed: 2, firstError: 'Error: deadline' });
    expect(await keys('rejected/stopped/')).toEqual([]);
  });
});
