// pnpm bench: Firehose batching efficiency — how full putRecords fills PutRecordBatch calls
// (records and bytes per call against the 500 / 4 MiB limits) for small, mixed and large records,
// and how many extra calls it costs when Firehose refuses 5 % of entries at random on every
// attempt. Against the local Firehose endpoint.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFirehose } from '@laminar/emulators';
import { findRoot } from '@laminar/spec';
import { createFirehoseClient } from '../src/client.ts';
import { FIREHOSE_LIMITS, putRecords } from '../src/put-records.ts';

const RECORDS = 20_000;
let delivered = 0;
const firehose = await startFirehose({
  streams: [{ name: 'bench', bucket: 'b', prefix: 'p/', errorOutputPrefix: 'e/!{firehose:error-output-type}/', bufferingSizeMb: 128, bufferingIntervalS: 900 }],
  deliver: async (_b, _k, body) => {
    delivered += body.length;
  },
});
const client = createFirehoseClient({ endpoint: firehose.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });

// A deterministic spread of sizes, so every run measures the same records.
let seed = 7;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const shapes = {
  'inventory (~340 B)': () => 340,
  'mixed (100 B – 20 KB)': () => Math.round(100 + random() ** 3 * 20_000),
  'large (~30 KB)': () => 30_000,
};

const rows: Record<string, unknown>[] = [];
for (const [name, size] of Object.entries(shapes)) {
  for (const refusal of [0, 0.05]) {
    const records = Array.from({ length: RECORDS }, (_, i) => Buffer.alloc(size(), 65 + (i % 26)));
    const bytes = records.reduce((n, r) => n + r.length, 0);
    firehose.injectFailures(refusal ? () => (random() < refusal ? { code: 'ServiceUnavailableException', message: 'Slow down.' } : undefined) : undefined);
    const t = performance.now();
    const result = await putRecords(records, { client, deliveryStreamName: 'bench', sleep: async () => {} });
    const ms = performance.now() - t;
    const minimumCalls = Math.max(Math.ceil(RECORDS / FIREHOSE_LIMITS.recordsPerCall), Math.ceil(bytes / FIREHOSE_LIMITS.bytesPerCall));
    rows.push({
      records: name,
      refusedPerAttempt: `${refusal * 100} %`,
      delivered: result.delivered,
      failed: result.failed.length,
      calls: result.calls,
      minimumCalls,
      recordsPerCall: Number(result.recordsPerCall.toFixed(1)),
      mibPerCall: Number((result.bytes / 2 ** 20 / Math.max(1, result.calls)).toFixed(2)),
      recordsPerS: Math.round((RECORDS / ms) * 1000),
    });
  }
}
client.destroy();
await firehose.stop();

console.log(`\nFirehose batching: ${RECORDS} records per row, local Firehose endpoint (limits: 500 records, 4 MiB per call)`);
console.log('| records | refused per attempt | delivered | failed (after 4 attempts) | calls | minimum calls | records/call | MiB/call | records/s |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.records} | ${r.refusedPerAttempt} | ${r.delivered} | ${r.failed} | ${r.calls} | ${r.minimumCalls} | ${r.recordsPerCall} | ${r.mibPerCall} | ${r.recordsPerS} |`);
const out = join(findRoot(dirname(fileURLToPath(import.meta.url))), 'bench', 'results', 'firehose.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ benchmark: 'firehose-batching', at: new Date().toISOString(), node: process.version, recordsPerRow: RECORDS, bytesDelivered: delivered, rows }, null, 2)}\n`);
console.log(`written to ${out}`);
