import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type S3Emulator, startS3 } from '@laminar/emulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchPresigner, createS3Client } from '../../src/index.ts';

let s3: S3Emulator;
let client: S3Client;
beforeAll(async () => {
  s3 = await startS3({ buckets: ['docs'] });
  client = createS3Client({ region: s3.region, endpoint: s3.endpoint, credentials: s3.credentials });
});
afterAll(async () => {
  client?.destroy();
  await s3?.stop();
});

describe('presigned URLs against a real S3 server', () => {
  // What this shows is the path: each URL names its key as S3 decodes it. The embedded S3 does not
  // verify signatures; the unit tests compare every URL with the SDK's presigner, byte for byte.
  it('download exactly the object named, for awkward keys', async () => {
    const keys = ['plain.pdf', 'with space.pdf', 'plus+sign.pdf', 'percent%41.pdf', 'unicode/é日本😀.pdf', "bang!'()*.pdf"];
    await Promise.all(keys.map((k) => client.send(new PutObjectCommand({ Bucket: 'docs', Key: k, Body: `body of ${k}` }))));
    const presigner = await createBatchPresigner(client, { bucket: 'docs', expiresIn: 300 });
    for (const key of keys) {
      const res = await fetch(presigner.presign(key));
      expect(res.status, key).toBe(200);
      expect(await res.text()).toBe(`body of ${key}`);
    }
  });
});
