import { defineFunction } from '@laminar/spec';

export default defineFunction({
  name: 'csv-validator',
  description: 'Validates CSV files landing in bronze/ and writes valid rows to silver/, rejected rows to quarantine/.',
  entry: './src/handler.ts',
  // Not for memory — the function holds < 150 MB up to 1 GB files (fixed part buffers, a capped
  // young generation: src/young-generation.ts) — but for CPU, which follows memory on Lambda:
  // 1,769 MB is one full vCPU, the single core the ≥ 300k rows/s goal and the benchmark assume
  // (1,024 MB gives 0.58 of one). Validation is CPU-bound: 1.7× the memory for ~0.6× the time
  // costs about the same GB-seconds, and a file is done sooner.
  memoryMb: 1769,
  timeoutS: 900,
  // /tmp for the duplicate-order-id check (src/duplicates.ts): it spills ~(id length + 13) bytes per
  // row plus the held-back records, and when a file's flagged ids outgrow its 8 MiB memory budget
  // it partitions them on disk as well. Past ~11M rows its capped filter holds back a growing share
  // of the rows, each as a whole record (~6 % at 20M rows, ~25 % at 30M, ~65 % at 50M), so it is
  // /tmp, not memory, that bounds the file: around 4–5 GB of CSV (~50M rows) fills these 10 GB, and
  // the run fails with an error naming this setting. Either way far past the free 512 MB.
  // Billed above 512 MB for every billed second, spill or not: a fraction of a cent a month —
  // `pnpm cost` puts it at $0.0038 (124,260 GB-s, us-east-1) for the assumed 6,000 invocations.
  ephemeralStorageMb: 10240,
  architecture: 'arm64',
  env: {
    LAKE_BUCKET: { ref: { bucket: 'lake' } },
    SILVER_PREFIX: 'silver/',
    QUARANTINE_PREFIX: 'quarantine/',
    IDEMPOTENCY_TABLE: { ref: { table: 'csv-idempotency' } },
    POWERTOOLS_SERVICE_NAME: 'csv-validator',
    POWERTOOLS_METRICS_NAMESPACE: 'Laminar',
    // glibc's malloc raises its mmap threshold, from 128 KiB up to 32 MiB, each time a large block
    // is freed — loading the bundle frees some — and from then on mid-sized blocks (socket reads,
    // V8's compiler zones) land in its heap, which it cannot give back once fragmented. A fixed
    // threshold keeps them mapped on their own: ~61 MB of RSS after init instead of 69–71 in most
    // starts, measured without source maps, which add ~4 (one in eight still shows ~70, when V8
    // grows its young generation during the load).
    GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=131072',
  },
  // The local runner waits 1 and 2 s where Lambda waits 1 and 2 minutes before a retry; a claim
  // left by a crash lapses on about that scale (src/config.ts). 2 s, not the 1 s that would scale
  // AWS's 60 exactly: a claim is renewed every third of its lease, and a 1 s lease would lapse under
  // a live invocation whose event loop stalls ~0.7 s on a busy machine (the runner shares it with
  // the emulators). The cost: a crashed attempt's first retry still finds the claim, fails, and the
  // second one finishes the file, where on AWS the first one usually does.
  local: { env: { IDEMPOTENCY_LEASE_SECONDS: '2' } },
  tables: [{ name: 'csv-idempotency', kind: 'idempotency' }],
  // The EMF metrics it emits (dashboard, cost; checked against src/ by infra's tests).
  metrics: [
    'RowsRead',
    'RowsValid',
    'RowsRejected',
    'FilesProcessed',
    'FilesPoisoned',
    'FilesRejected',
    'FilesSkipped',
    'DuplicateDeliveries',
    'ObjectsIgnored',
    'FilesFailed',
  ],
  // `.CSV` too: Windows tools and old exporters write `ORDERS.CSV`, which a case-sensitive rule
  // would leave in bronze/ with nothing said about it. (Mixed case, `.Csv`, is not matched.)
  triggers: [{ kind: 's3', bucket: 'lake', prefix: 'bronze/', suffix: '.csv', alsoUpperCaseSuffix: true }],
  permissions: [
    // A GET of an object deleted before processing is answered 403 (the GET carries no s3:prefix
    // for this grant to match): a listing of that one key tells it apart from a real denial, so
    // it is a clean skip, not retries and the DLQ.
    { actions: ['s3:ListBucket'], resource: { bucket: 'lake', prefix: 'bronze/*' } },
    // The CSVs its trigger delivers, both spellings, not the rest of bronze/ (kafka-archiver's
    // batches live there too).
    { actions: ['s3:GetObject', 's3:GetObjectVersion'], resource: { bucket: 'lake', prefix: ['bronze/*.csv', 'bronze/*.CSV'] } },
    { actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resource: { bucket: 'lake', prefix: 'silver/*' } },
    { actions: ['s3:PutObject', 's3:AbortMultipartUpload'], resource: { bucket: 'lake', prefix: 'quarantine/*' } },
    // Its own manifests, so that a skip never contradicts what a run of the same version wrote.
    { actions: ['s3:GetObject'], resource: { bucket: 'lake', prefix: 'silver/*/_manifest.json' } },
    { actions: ['s3:GetObject'], resource: { bucket: 'lake', prefix: 'quarantine/*/_manifest.json' } },
    {
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      resource: { table: 'csv-idempotency' },
    },
  ],
  async: { maxRetries: 2, maxEventAgeS: 3600, onFailure: 'dlq' },
  // A file quarantined whole succeeds (retrying cannot help), so neither Errors nor the DLQ alarm
  // would say so; poison files fail into the DLQ and page through its alarm.
  metricAlarms: [{ metric: 'FilesRejected', description: 'a CSV was quarantined whole (header, empty file, a record too large): its quarantine manifest says why' }],
});
