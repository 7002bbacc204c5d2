// One measured run in its own process, so cold costs match and peak RSS belongs to this run alone.
// mode "list": the bare listing (the floor); mode "manifest": the whole pdf-manifest pipeline.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createS3Client } from '@laminar/aws';
import { configSchema } from '../src/config.ts';
import { inputSchema } from '../src/input.ts';
import { writeManifest } from '../src/manifest.ts';

const { endpoint, bucket, prefix, mode } = JSON.parse(process.argv[2] ?? '{}') as {
  endpoint: string;
  bucket: string;
  prefix: string;
  mode: 'list' | 'manifest';
};
const s3 = createS3Client({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
const started = performance.now();
let keys = 0;
let bytes = 0;
if (mode === 'list') {
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: 1000 }));
    keys += page.KeyCount ?? 0;
    token = page.NextContinuationToken;
  } while (token);
} else {
  const input = inputSchema(configSchema.parse({ DEFAULT_BUCKET: bucket })).parse({ prefix });
  const result = await writeManifest(input, `bench-${Date.now()}`, { s3, checkDeadline: () => undefined });
  keys = result.scanned;
  bytes = result.bytes;
}
const ms = performance.now() - started;
s3.destroy();
process.stdout.write(JSON.stringify({ ms, keys, bytes, peakRssMb: process.resourceUsage().maxRSS / 1024 }));
