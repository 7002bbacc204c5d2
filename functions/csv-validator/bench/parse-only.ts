// The floor for comparison: the same S3 stream through the same decoder and CSV reader, rows only
// counted — no validation, no outputs. argv: JSON { endpoint, bucket, key }.
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '@laminar/aws';
import { CsvReader } from '../src/csv.ts';
import { SniffingDecoder } from '../src/decoding.ts';

const { endpoint, bucket, key } = JSON.parse(process.argv[2] ?? '{}') as { endpoint: string; bucket: string; key: string };

function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const s3 = createS3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
const cpu0 = mainThreadCpuMs();
const t0 = performance.now();
const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
const decoder = new SniffingDecoder();
let rows = 0;
const reader = new CsvReader({
  maxRecordChars: 1 << 20,
  onBatch: (batch) => {
    rows += batch.rows.length;
  },
});
await reader.run(
  (async function* () {
    for await (const chunk of object.Body as Readable) {
      const text = decoder.write(chunk as Buffer);
      if (text) yield text;
    }
    const rest = decoder.end();
    if (rest) yield rest;
  })(),
);
const ms = performance.now() - t0;
s3.destroy();
process.stdout.write(JSON.stringify({ rows: rows - 1, ms, mainThreadCpuMs: mainThreadCpuMs() - cpu0 }));
