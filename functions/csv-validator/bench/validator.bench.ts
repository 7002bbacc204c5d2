// pnpm bench: csv-validator end to end — generated orders CSVs (100 MB and 1 GB by default;
// BENCH_SIZES=100 picks sizes in MB) in the embedded S3, validated by the built bundle's handler in
// a process of its own, pinned to a core of its own (S3 stream → silver + quarantine + manifest,
// idempotency in dynalite): a cold invocation (the first in the process) and a warm one (a second
// object, as Lambda reuses an environment), BENCH_REPEAT processes per size (3 up to 200 MB, else
// 1; medians reported), with rows/s, CPU (the JavaScript thread's, the other threads', the kernel's),
// the time spent waiting and peak RSS; beside it the parser alone on the
// same stream, and the measurements behind the parser and validator choices.
// The handler's process starts with the heap flags Lambda gives the spec's memory. For digging:
// BENCH_CPU_PROF=<dir> (a CPU profile of the handler run from source), BENCH_NODE_ARGS="<flags>"
// (e.g. --trace-gc), BENCH_CHILD_LOG=<file> (what the handler's process printed),
// BENCH_NODE=<node binary> (run the handler on another Node than its runtime's, to compare),
// BENCH_BUNDLE=<index.mjs> (measure another build, an older one say, instead of this one; its
// index.mjs.map beside it, as unzipped, or Node has no map to hold),
// BENCH_PIN=0 (no pinning).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { CopyObjectCommand, DeleteObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { bundleFunction } from '@laminar/bundler';
import { createDynamoDBClient, createS3Client, ensureTable, uploadStream } from '@laminar/aws';
import { startDynamoDB, startS3 } from '@laminar/emulators';
import { lambdaNodeArgs, nodeForRuntime } from '@laminar/lambda-node';
import { extractZip } from '@laminar/local';
import { findRoot, loadSpec, resolveEnv } from '@laminar/spec';
import Papa from 'papaparse';
import { CsvReader } from '../src/csv.ts';
import { columnsOf, deriveRowParser, INVALID } from '../src/fast-validator.ts';
import { ORDER_COLUMNS, orderRowSchema } from '../src/schema.ts';
import { type GeneratedStats, generateOrders, HEADER } from './generate.ts';

const here = dirname(fileURLToPath(import.meta.url));
const fnDir = join(here, '..');
const root = findRoot(here);
const sizesMb = (process.env.BENCH_SIZES ?? '100,1000').split(',').map(Number);
const BUCKET = 'bench-lake';
/**
 * Where the embedded S3 keeps its files (and the seeded-file markers, so that they go together).
 * In memory (tmpfs) when there is room: S3's own disk is not the function's work, and on a disk
 * the emulator's GBs of writes wait in the page cache and are written back while the handler runs,
 * which then competes for the disk with the handler's own /tmp (the duplicate check's spill, which
 * stays on disk, as Lambda's /tmp is). BENCH_S3_DIR chooses another place.
 */
function emulatorStorage(): { dir: string; kind: string } {
  if (process.env.BENCH_S3_DIR) return { dir: process.env.BENCH_S3_DIR, kind: 'BENCH_S3_DIR' };
  const disk = { dir: join(root, '.laminar', 'bench', 'csv-validator'), kind: 'disk' };
  const memory = { dir: '/dev/shm/laminar-bench/csv-validator', kind: 'tmpfs' };
  try {
    const shm = statfsSync('/dev/shm');
    // Sources not seeded there yet (each with its copy), plus one size's outputs at a time: silver
    // (~1.35× the CSV) for both invocations, its parts until assembled, and quarantine.
    const sources = sizesMb.filter((mb) => !existsSync(join(memory.dir, `seeded-${mb}mb.json`))).reduce((sum, mb) => sum + 2 * mb, 0);
    const needed = (sources + Math.max(...sizesMb) * 4.5) * 1e6;
    return shm.bavail * shm.bsize > needed ? memory : disk;
  } catch {
    return disk;
  }
}
const storage = emulatorStorage();
const dataDir = storage.dir;
const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

interface Seeded extends GeneratedStats {
  key: string;
  etag: string;
}

/** A client of the embedded S3 (s3rver's fixed credentials). */
function emulatorClient(endpoint: string) {
  return createS3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
}

/** The function's runtime's node with `args`, on the handler's core when there is one (pinCores). */
function onHandlerCore(args: string[]): [string, string[]] {
  return handlerCore === undefined ? [handlerNode.path, args] : ['taskset', ['-c', String(handlerCore), handlerNode.path, ...args]];
}

/** Generates and uploads a file once (streamed: never in memory); later runs reuse it. */
async function ensureSeeded(mb: number, endpoint: string): Promise<Seeded> {
  const marker = join(dataDir, `seeded-${mb}mb.json`);
  if (existsSync(marker)) return JSON.parse(readFileSync(marker, 'utf8')) as Seeded;
  const client = emulatorClient(endpoint);
  const stats: GeneratedStats = { rows: 0, bytes: 0, invalid: 0 };
  const key = `bronze/bench/orders-${mb}mb.csv`;
  const t = performance.now();
  const body = Readable.from((function* () { for (const chunk of generateOrders(mb * 1e6, stats)) yield Buffer.from(chunk); })());
  const { etag } = await uploadStream({ client, bucket: BUCKET, key, body, contentType: 'text/csv', partSize: 16 * 2 ** 20, queueSize: 4 });
  client.destroy();
  const seeded: Seeded = { ...stats, key, etag: (etag ?? '').replaceAll('"', '') };
  writeFileSync(marker, JSON.stringify(seeded));
  console.log(`seeded ${key}: ${stats.rows.toLocaleString('en')} rows in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return seeded;
}

/**
 * A second object with the same rows, for the warm run (a new key: its own idempotency record and
 * outputs). Copied once, by the emulator, and kept like the original.
 */
async function ensureWarmCopy(seeded: Seeded, endpoint: string): Promise<Seeded> {
  const client = emulatorClient(endpoint);
  const key = seeded.key.replace(/\.csv$/, '-again.csv');
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })).catch(() => undefined);
    if (head?.ContentLength === seeded.bytes) return { ...seeded, key, etag: (head.ETag ?? '').replaceAll('"', '') };
    const out = await client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: key, CopySource: `${BUCKET}/${seeded.key}` }));
    return { ...seeded, key, etag: (out.CopyObjectResult?.ETag ?? '').replaceAll('"', '') };
  } finally {
    client.destroy();
  }
}

interface Invocation {
  ms: number;
  mainThreadCpuMs: number;
  processCpuMs: number;
  /** The kernel's share of processCpuMs (I/O, page faults, reclaim when memory runs short). */
  systemCpuMs: number;
  /** Of processCpuMs, the threads besides the JavaScript one (V8's compiler and GC workers, libuv's pool). */
  otherThreadsCpuMs: number;
  /** Wall clock the event loop sat waiting (for the emulators' answers, the disk), not computing. */
  loopIdleMs: number;
  result: { rowsRead: number; valid: number; rejected: number; objects: { status: string; outputs: unknown }[] };
}

interface HandlerRun {
  /** The cold invocation (first in a fresh process), then the warm one. */
  runs: Invocation[];
  rssAfterInitMb: number;
  peakRssMb: number;
  /** process.memoryUsage() at the highest RSS sampled. */
  atPeak: Record<string, number>;
  /** Per invocation: the EMF document it printed. */
  emf: Record<string, number>[];
}

function runHandler(bundle: string, files: Seeded[], s3Endpoint: string, dynamoEndpoint: string, table: string): HandlerRun {
  const events = files.map((seeded) => ({
    version: '0',
    id: `bench-${Date.now()}`,
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '000000000000',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [`arn:aws:s3:::${BUCKET}`],
    detail: { version: '0', bucket: { name: BUCKET }, object: { key: seeded.key, size: seeded.bytes, etag: seeded.etag }, reason: 'PutObject' },
  }));
  // BENCH_CPU_PROF=<dir>: the handler runs from source (readable names) and writes a V8 CPU profile there.
  const profileDir = process.env.BENCH_CPU_PROF;
  const target = profileDir ? ['--import', 'tsx', '--cpu-prof', `--cpu-prof-dir=${profileDir}`, join(here, 'invoke-bundle.mjs'), join(fnDir, 'src', 'handler.ts')] : [join(here, 'invoke-bundle.mjs'), bundle];
  // BENCH_NODE_ARGS: more node flags, for experiments (they come after Lambda's, so they win).
  const extra = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // node's flags as Lambda's bootstrap sets them (gc() exposed, the heap sized from the memory: without
  // them V8's 16 MB default semi-spaces would understate what the function holds on Lambda).
  const args = [...lambdaNodeArgs(memoryMb), ...extra, ...target, JSON.stringify(events)];
  // On one core of its own, as on Lambda at this memory size (one vCPU); S3 and DynamoDB are on the others.
  const [command, argv] = onHandlerCore(args);
  const out = execFileSync(command, argv, {
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
    env: {
      ...env,
      ...specEnv,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_S3: s3Endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
      LAKE_BUCKET: BUCKET,
      IDEMPOTENCY_TABLE: table,
      POWERTOOLS_METRICS_NAMESPACE: 'Bench',
      POWERTOOLS_LOG_LEVEL: 'WARN',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
    },
  });
  if (process.env.BENCH_CHILD_LOG) writeFileSync(process.env.BENCH_CHILD_LOG, out);
  const lines = out.trim().split('\n');
  // The last JSON line: V8's tracing flags (BENCH_NODE_ARGS) print to stdout as well, after it too.
  const run = JSON.parse(lines.findLast((l) => l.startsWith('{"')) as string) as Omit<HandlerRun, 'emf'>;
  // The EMF documents the handler printed, one per invocation: they must reconcile as the results do.
  const emf = lines
    .filter((l) => l.includes('"_aws"') && l.includes('RowsRead'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .map((doc) => Object.fromEntries(['RowsRead', 'RowsValid', 'RowsRejected', 'FilesProcessed'].map((k) => [k, Number(doc[k])])));
  return { ...run, emf };
}

/** Drops the run's outputs (GBs for the large file) and keeps the seeded sources. */
async function removeOutputs(endpoint: string): Promise<void> {
  const client = emulatorClient(endpoint);
  for (const prefix of [`${specEnv.SILVER_PREFIX ?? 'silver/'}bench/`, `${specEnv.QUARANTINE_PREFIX ?? 'quarantine/'}bench/`]) {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
    for (const o of listed.Contents ?? []) await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: o.Key }));
  }
  client.destroy();
}

function runParseOnly(seeded: Seeded, endpoint: string): { rows: number; ms: number; mainThreadCpuMs: number } {
  const args = ['--import', 'tsx', join(here, 'parse-only.ts'), JSON.stringify({ endpoint, bucket: BUCKET, key: seeded.key })];
  const [command, argv] = onHandlerCore(args);
  const out = execFileSync(command, argv, {
    encoding: 'utf8',
    env,
  });
  return JSON.parse(out) as { rows: number; ms: number; mainThreadCpuMs: number };
}

/**
 * The measurements behind two choices, on ~30 MB in memory (no I/O): how papaparse is driven (its
 * `chunk` form, its Node-stream form, and CsvReader's own loop around its parser), row validator.
 */
async function choices() {
  const stats: GeneratedStats = { rows: 0, bytes: 0, invalid: 0 };
  const text = [...generateOrders(30e6, stats, 7)].join('');
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += 65_536) chunks.push(text.slice(i, i + 65_536));
  const rate = (n: number, ms: number) => Math.round((n / ms) * 1000);

  let t = performance.now();
  let n = 0;
  await new Promise<void>((resolve, reject) =>
    Papa.parse<string[]>(Readable.from(chunks), {
      delimiter: ',',
      chunk: (r) => {
        n += r.data.length;
      },
      complete: () => resolve(),
      error: reject,
    }),
  );
  const chunkApi = rate(n, performance.now() - t);

  t = performance.now();
  n = 0;
  const duplex = Papa.parse(Papa.NODE_STREAM_INPUT, { delimiter: ',' });
  const counted = (async () => {
    for await (const _ of duplex) n++;
  })();
  for (const c of chunks) if (!duplex.write(c)) await new Promise((r) => duplex.once('drain', r));
  duplex.end();
  await counted;
  const streamApi = rate(n, performance.now() - t);

  t = performance.now();
  n = 0;
  const reader = new CsvReader({
    maxRecordChars: 1 << 20,
    onBatch: (batch) => {
      n += batch.rows.length;
    },
  });
  await reader.run(
    (async function* () {
      yield* chunks;
    })(),
  );
  const readerRate = rate(n, performance.now() - t);

  // Unquoted rows only (a plain split), mapped by the generated file's header.
  const header = HEADER.split(',');
  const rows = text.split('\n').slice(1, 200_001).filter((l) => !l.includes('"')).map((l) => l.split(','));
  const parseRow = deriveRowParser(orderRowSchema);
  const layout = columnsOf(orderRowSchema, (k) => header.indexOf(k));
  const objects = rows.map((f) => Object.fromEntries(ORDER_COLUMNS.map((c) => [c, header.includes(c) ? f[header.indexOf(c)] : undefined])));
  let ok = 0;
  t = performance.now();
  for (const o of objects) if (orderRowSchema.safeParse(o).success) ok++;
  const zod = rate(rows.length, performance.now() - t);
  let fastOk = 0;
  t = performance.now();
  for (const f of rows) if (parseRow(f, layout) !== INVALID) fastOk++;
  const fast = rate(rows.length, performance.now() - t);
  if (ok !== fastOk) throw new Error(`zod accepted ${ok} rows, the fast validator ${fastOk}`);
  return {
    papaparseChunkApiRowsPerS: chunkApi,
    papaparseNodeStreamRowsPerS: streamApi,
    csvReaderRowsPerS: readerRate,
    zodSafeParseRowsPerS: zod,
    fastValidatorRowsPerS: fast,
  };
}

/**
 * The core the handler runs on: the last one, when there are two or more and taskset can pin
 * processes. This process, and with it the emulators it starts, keeps the others. Without pinning,
 * the handler's GC and I/O threads would borrow a second core that a 1,769 MB Lambda does not have.
 */
function pinCores(): number | undefined {
  const count = cpus().length;
  if (count < 2 || process.env.BENCH_PIN === '0') return undefined;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', `0-${count - 2}`, String(process.pid)], { stdio: 'ignore' });
    return count - 1;
  } catch {
    console.warn('taskset is not available: the handler shares every core with the emulators');
    return undefined;
  }
}

/**
 * The page cache's file pages held in huge folios (/proc/meminfo FileHugePages), in MB. Files read
 * in large folios — node's binary right after pnpm extracted it, say — are mapped a folio at a
 * time: the handler's RSS then counts 10–17 MB more of node's binary (rssFileAtPeakMb 62–68
 * against 51) for the same work. Recorded beside the peak so that runs can be compared; dropping
 * the page cache (root: `echo 1 > /proc/sys/vm/drop_caches`) before a run brings it back to 0.
 */
function fileHugePagesMb(): number | undefined {
  try {
    const kb = /^FileHugePages:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1];
    return kb === undefined ? undefined : Math.round(Number(kb) / 1024);
  } catch {
    return undefined;
  }
}

mkdirSync(dataDir, { recursive: true });
console.log(`embedded S3 files: ${dataDir} (${storage.kind})`);
const hugeAtStart = fileHugePagesMb();
if (hugeAtStart) console.warn(`page cache: ${hugeAtStart} MB of file pages in huge folios — node's mapped binary, and so peak RSS, may count 10–17 MB more than after a drop of the page cache`);
const handlerCore = pinCores();
const scratch = mkdtempSync(join(tmpdir(), 'csv-validator-bench-'));
const loaded = await loadSpec(fnDir);
// The Node Lambda runs the function on (its spec's runtime), as the local runner does; BENCH_NODE=<path>
// to compare another.
const handlerNode = process.env.BENCH_NODE
  ? { path: process.env.BENCH_NODE, version: execFileSync(process.env.BENCH_NODE, ['--version'], { encoding: 'utf8', timeout: 20_000 }).trim().replace(/^v/, ''), exact: false }
  : nodeForRuntime(loaded.spec.runtime);
if (!process.env.BENCH_NODE && !handlerNode.exact) console.warn(`not the runtime's Node: ${handlerNode.note}`);
console.log(`handler: ${loaded.spec.runtime} on node ${handlerNode.version} (${handlerNode.path})`);
// The function's environment as infra gives it (resolveEnv): the platform's NODE_OPTIONS
// (--enable-source-maps: Node then holds the bundle's map) and the spec's settings, its bucket and
// table references pointing at the bench's own resources.
const memoryMb = loaded.spec.memoryMb;
const specEnv = resolveEnv(loaded.spec, {
  bucket: () => BUCKET,
  // Each process gets a fresh idempotency table, set per run below.
  table: (t) => `bench-${t}`,
  topic: (t) => t,
  deliveryStream: (d) => d,
  setting: (name) => {
    throw new Error(`the benchmark has no value for setting ${name}`);
  },
});
const built = await bundleFunction(loaded, { outDir: scratch });
const bundle = process.env.BENCH_BUNDLE ?? join(scratch, 'index.mjs');
// Unzipped as in Lambda's /var/task: index.mjs and, beside it, the map Node reads (--enable-source-maps, PLATFORM_ENV).
if (!process.env.BENCH_BUNDLE) await extractZip(built.zipPath, scratch);

const s3 = await startS3({ directory: join(dataDir, 's3'), buckets: [BUCKET] });
const dynamo = await startDynamoDB();
const dynamoClient = createDynamoDBClient({ region: dynamo.region, endpoint: dynamo.endpoint, credentials: dynamo.credentials });
const rowsOut = [];
try {
  for (const mb of sizesMb) {
    const seeded = await ensureSeeded(mb, s3.endpoint);
    const again = await ensureWarmCopy(seeded, s3.endpoint);
    // Fresh processes, one after the other: the machine's other work moves single runs by ±15 %.
    const repeats = Number(process.env.BENCH_REPEAT ?? (mb <= 200 ? 3 : 1));
    const handlerRuns: HandlerRun[] = [];
    for (let r = 0; r < repeats; r++) {
      const table = `bench-idempotency-${mb}-${Date.now()}`;
      await ensureTable(dynamoClient, table, 'idempotency');
      const run = runHandler(bundle, [seeded, again], s3.endpoint, dynamo.endpoint, table);
      await removeOutputs(s3.endpoint);
      run.runs.forEach(({ result }, i) => {
        const { rowsRead, valid, rejected } = result;
        if (rowsRead !== valid + rejected || rowsRead !== seeded.rows) throw new Error(`counts do not reconcile: ${JSON.stringify(result)} for ${seeded.rows} rows`);
        const emf = run.emf[i];
        if (emf?.RowsRead !== rowsRead || emf.RowsValid !== valid || emf.RowsRejected !== rejected) {
          throw new Error(`EMF metrics ${JSON.stringify(emf)} differ from the result ${JSON.stringify(result)}`);
        }
      });
      handlerRuns.push(run);
    }
    const parse = runParseOnly(seeded, s3.endpoint);
    const rows = seeded.rows;
    const perS = (ms: number) => Math.round((rows / ms) * 1000);
    const median = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return sorted[Math.floor((sorted.length - 1) / 2)] as number;
    };
    const colds = handlerRuns.map((h) => h.runs[0] as Invocation);
    const warms = handlerRuns.map((h) => h.runs[1] as Invocation);
    // The run with the highest peak: memory is reported at its worst, speed at its median.
    const run = handlerRuns.reduce((a, b) => (b.peakRssMb > a.peakRssMb ? b : a));
    rowsOut.push({
      sizeMb: mb,
      rows,
      rejected: (colds[0] as Invocation).result.rejected,
      runs: repeats,
      seconds: +(median(colds.map((c) => c.ms)) / 1000).toFixed(1),
      rowsPerS: perS(median(colds.map((c) => c.ms))),
      rowsPerProcessCpuS: perS(median(colds.map((c) => c.processCpuMs))),
      warmRowsPerS: perS(median(warms.map((w) => w.ms))),
      warmRowsPerProcessCpuS: perS(median(warms.map((w) => w.processCpuMs))),
      // Of each invocation's CPU, what the kernel spent (seconds): where "more CPU per row" comes from.
      systemCpuS: +(median(colds.map((c) => c.systemCpuMs)) / 1000).toFixed(1),
      warmSystemCpuS: +(median(warms.map((w) => w.systemCpuMs)) / 1000).toFixed(1),
      // The JavaScript thread's own CPU (the rest: GC helpers, the JIT compiler, the kernel's I/O).
      mainThreadCpuS: +(median(colds.map((c) => c.mainThreadCpuMs)) / 1000).toFixed(1),
      warmMainThreadCpuS: +(median(warms.map((w) => w.mainThreadCpuMs)) / 1000).toFixed(1),
      // What the other threads took of the one core (seconds): the JIT's compiles, GC helpers.
      otherThreadsCpuS: +(median(colds.map((c) => c.otherThreadsCpuMs)) / 1000).toFixed(1),
      warmOtherThreadsCpuS: +(median(warms.map((w) => w.otherThreadsCpuMs)) / 1000).toFixed(1),
      // Wall clock spent waiting on I/O rather than computing (seconds).
      waitS: +(median(colds.map((c) => c.loopIdleMs)) / 1000).toFixed(2),
      warmWaitS: +(median(warms.map((w) => w.loopIdleMs)) / 1000).toFixed(2),
      bestRowsPerS: perS(Math.min(...colds.map((c) => c.ms), ...warms.map((w) => w.ms))),
      rssAfterInitMb: +run.rssAfterInitMb.toFixed(1),
      peakRssMb: +run.peakRssMb.toFixed(1),
      heapAtPeakMb: run.atPeak.heapTotalMb,
      arrayBuffersAtPeakMb: run.atPeak.arrayBuffersMb,
      // RSS at the peak by kind: the process's own memory, and mapped file pages (node's binary).
      rssAnonAtPeakMb: run.atPeak.rssAnonMb,
      rssFileAtPeakMb: run.atPeak.rssFileMb,
      fileHugePagesMb: fileHugePagesMb(),
      peakIn: run.atPeak.invocation === 0 ? 'cold' : 'warm',
      parserOnlyRowsPerS: Math.round((parse.rows / parse.ms) * 1000),
      parserOnlyRowsPerMainThreadCpuS: Math.round((parse.rows / parse.mainThreadCpuMs) * 1000),
      handlerNode: handlerNode.version,
    });
  }
} finally {
  dynamoClient.destroy();
  await dynamo.stop();
  await s3.stop();
  rmSync(scratch, { recursive: true, force: true });
}
const measured = await choices();

console.log('\ncsv-validator end to end: embedded S3 → built handler (own process) → silver + quarantine + manifest');
console.table(rowsOut);
console.log('\nchoices, ~30 MB in memory, one core');
console.table([measured]);

mkdirSync(join(root, 'bench', 'results'), { recursive: true });
const file = join(root, 'bench', 'results', 'csv-validator.json');
// Sizes measured before and not now (BENCH_SIZES=2000 alone, say) stay in the file, with their date.
const at = new Date().toISOString();
/** The source measured: the commit, and whether the tree differed from it. */
function sourceRevision(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    // The results written by an earlier run are no change to what is measured.
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', '.', ':!bench/results'], { cwd: root, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${commit} with uncommitted changes` : commit;
  } catch {
    return 'unknown (not a git checkout)';
  }
}
// What each size was measured under, kept with its row: a run of some sizes keeps the others'
// rows, which were measured by another build, maybe with other flags or storage.
const conditions = {
  source: process.env.BENCH_BUNDLE ? `bundle ${process.env.BENCH_BUNDLE}` : sourceRevision(),
  cpus: cpus().length,
  memoryMb,
  handlerNodeArgs: lambdaNodeArgs(memoryMb),
  extraNodeArgs: process.env.BENCH_NODE_ARGS ?? '',
  handlerCore,
  emulatorStorage: storage.kind,
};
const earlier = existsSync(file) ? ((JSON.parse(readFileSync(file, 'utf8')) as { endToEnd?: { sizeMb: number; at?: string }[] }).endToEnd ?? []) : [];
const endToEnd = [
  // Rows from before conditions were kept per row say so, rather than seem to share this run's.
  ...earlier.filter((e) => e.at && !sizesMb.includes(e.sizeMb)).map((e) => ('conditions' in e ? e : { ...e, conditions: 'not recorded: measured before they were kept per row' })),
  ...rowsOut.map((r) => ({ ...r, at, conditions })),
].sort((a, b) => a.sizeMb - b.sizeMb);
const results = {
  benchmark: 'csv-validator',
  at,
  // The bench's own node; the handler's (its runtime's) is handlerNode, also per size.
  node: process.version,
  runtime: loaded.spec.runtime,
  handlerNode: handlerNode.version,
  // This run's (each endToEnd row has its own): the handler's process started as Lambda starts it
  // for the spec's memory, pinned to handlerCore (undefined: not pinned), the embedded S3's files
  // on emulatorStorage (tmpfs or disk).
  ...conditions,
  endToEnd,
  choices: measured,
};
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwritten ${file}`);
