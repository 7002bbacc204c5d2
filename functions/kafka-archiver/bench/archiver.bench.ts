// pnpm bench: kafka-archiver — records/s for 10k-record batches in the event source mapping's shape
// (~500 B envelopes, a 6 MB event as Lambda's payload limit allows, over 4 partitions, 1 % not envelopes), from the event to the JSON Lines objects
// in the embedded S3 (PutObject included). Also: the same batch delivered again (the overwrite).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '@laminar/aws';
import { startS3 } from '@laminar/emulators';
import { envelope } from '@laminar/kafka/envelope';
import { findRoot } from '@laminar/spec';
import { archiveBatch } from '../src/archive.ts';
import { parseKafkaEvent } from '../src/event.ts';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const PARTITIONS = 4;

function batch(firstOffset: number) {
  const records: Record<string, unknown[]> = {};
  const base = Date.UTC(2026, 10, 26, 10, 0);
  for (let i = 0; i < RECORDS; i++) {
    const partition = i % PARTITIONS;
    const bad = i % 100 === 99;
    const value = bad
      ? 'not an envelope'
      : envelope({ type: 'rss.item', source: 'https://example.com/feed', id: `item-${firstOffset + i}`, observedAt: new Date(base), payload: { title: `Title ${i}`, summary: 'x'.repeat(90) } }).value;
    const id = `dev.rss-items-${partition}`;
    records[id] ??= [];
    (records[id] as unknown[]).push({
      topic: 'dev.rss-items',
      partition,
      offset: firstOffset + Math.floor(i / PARTITIONS),
      timestamp: base + i,
      timestampType: 'CREATE_TIME',
      key: Buffer.from(`item-${i}`).toString('base64'),
      value: Buffer.from(value).toString('base64'),
      headers: [{ type: [...Buffer.from('rss.item')] }],
    });
  }
  return { eventSource: 'SelfManagedKafka', bootstrapServers: 'b:9092', records };
}

const s3 = await startS3();
const client = createS3Client({ region: s3.region, endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials });
await client.send(new CreateBucketCommand({ Bucket: 'bench-lake' }));
const deps = { s3: client, bucket: 'bench-lake', archivePrefix: 'bronze/', quarantinePrefix: 'quarantine/kafka/', concurrency: 8 };

const events = Array.from({ length: RUNS }, (_, r) => batch(r * RECORDS));
const payloadMb = Buffer.byteLength(JSON.stringify(events[0])) / 1e6;
const runs: { ms: number; cpuMs: number }[] = [];
let result: Awaited<ReturnType<typeof archiveBatch>> | undefined;
for (const [r, event] of events.entries()) {
  const cpu = process.cpuUsage();
  const t = performance.now();
  result = await archiveBatch(parseKafkaEvent(event), deps);
  const ms = performance.now() - t;
  const c = process.cpuUsage(cpu);
  if (r > 0) runs.push({ ms, cpuMs: (c.user + c.system) / 1000 }); // the first run warms up
}
const t = performance.now();
await archiveBatch(parseKafkaEvent(events.at(-1)), deps);
const redeliveryMs = performance.now() - t;
client.destroy();
await s3.stop();

const sorted = [...runs].sort((a, b) => a.ms - b.ms);
const median = sorted[Math.floor(sorted.length / 2)] as { ms: number; cpuMs: number };
const summary = {
  benchmark: 'kafka-archiver',
  at: new Date().toISOString(),
  node: process.version,
  recordsPerBatch: RECORDS,
  payloadMbPerBatch: Number(payloadMb.toFixed(1)),
  objectsPerBatch: result?.objects.length,
  archived: result?.archived,
  quarantined: result?.quarantined,
  medianMs: Math.round(median.ms),
  recordsPerS: Math.round((RECORDS / median.ms) * 1000),
  recordsPerCpuS: Math.round((RECORDS / median.cpuMs) * 1000),
  bestRecordsPerS: Math.round((RECORDS / (sorted[0] as { ms: number }).ms) * 1000),
  redeliveryMs: Math.round(redeliveryMs),
  runs: runs.length,
};
console.log(`\nkafka-archiver: ${RECORDS} records per batch (${summary.payloadMbPerBatch} MB event), ${PARTITIONS} partitions, 1 % quarantined, embedded S3; median of ${runs.length}`);
console.log('| records/batch | objects | median ms | records/s | records/CPU-s (this process) | best records/s | redelivery ms |');
console.log('|---:|---:|---:|---:|---:|---:|---:|');
console.log(`| ${RECORDS} | ${summary.objectsPerBatch} | ${summary.medianMs} | ${summary.recordsPerS} | ${summary.recordsPerCpuS} | ${summary.bestRecordsPerS} | ${summary.redeliveryMs} |`);
const out = join(findRoot(dirname(fileURLToPath(import.meta.url))), 'bench', 'results', 'kafka-archiver.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
console.log(`written to ${out}`);
