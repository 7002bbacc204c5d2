import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type S3Emulator, startS3 } from '../../src/index.ts';

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
    const first = await client.send(new ListObjectsV2Command({ Bucket: 'seeded', MaxKeys: 5 }));
    expect(first.KeyCount).toBe(5);
    expect(first.IsTruncated).toBe(true);
    const second = await client.send(
      new ListObjectsV2Command({ Bucket: 'seeded', MaxKeys: 5, ContinuationToken: first.NextContinuationToken }),
    );
    expect(second.KeyCount).toBe(2);
    await expect.poll(() => seen.length).toBe(7);
    expect(JSON.stringify(seen[0])).toContain('ObjectCreated');
    client.destroy();
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
