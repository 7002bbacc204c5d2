// pnpm bench: pdf-manifest keys/s and peak memory at 10k and 100k objects against the embedded S3,
// beside the bare listing rate of that same server, plus presigns/s of both signers.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createBatchPresigner, createS3Client } from '@laminar/aws';
import { seedS3Directory, startS3 } from '@laminar/emulators';
import { lambdaNodeArgs, nodeForRuntime } from '@laminar/lambda-node';
import { findRoot, loadSpec } from '@laminar/spec';

const here = dirname(fileURLToPath(import.meta.url));
const root = findRoot(here);
const sizes = (process.env.BENCH_SIZES ?? '10000,100000').split(',').map(Number);
const BUCKET = 'bench-documents';
// The runs' Node is the one Lambda runs the function on (its spec's runtime), started with the flags
// Lambda's bootstrap gives it for the spec's memory (V8's heap sized from it), as the local runner's.
const { spec } = await loadSpec(join(here, '..'));
const runtimeNode = nodeForRuntime(spec.runtime);
const nodeArgs = lambdaNodeArgs(spec.memoryMb);
if (!runtimeNode.exact) console.warn(`not the runtime's Node: ${runtimeNode.note}`);
console.log(`runs: ${spec.runtime} on node ${runtimeNode.version} (${runtimeNode.path}) ${nodeArgs.join(' ')}`);

async function presignRates() {
  const client = createS3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' } });
  const signingDate = new Date();
  const keys = Array.from({ length: 200_000 }, (_, i) => `reports/2026/${i % 97}/document ${i}.pdf`);
  let t = performance.now();
  const sdkN = 5_000;
  for (let i = 0; i < sdkN; i++) await getSignedUrl(client, new GetObjectCommand({ Bucket: BUCKET, Key: keys[i] }), { expiresIn: 900, signingDate });
  const sdk = sdkN / ((performance.now() - t) / 1000);
  const fast = await createBatchPresigner(client, { bucket: BUCKET, expiresIn: 900, signingDate });
  for (let i = 0; i < 20_000; i++) fast.presign(keys[i] as string); // warm-up
  t = performance.now();
  for (const key of keys) fast.presign(key);
  const batch = keys.length / ((performance.now() - t) / 1000);
  client.destroy();
  return { sdkGetSignedUrlPerS: Math.round(sdk), batchPresignerPerS: Math.round(batch), speedup: +(batch / sdk).toFixed(1) };
}

async function ensureSeeded(n: number): Promise<string> {
  const dir = join(root, '.laminar', 'bench', `s3-${n}`);
  const marker = join(dir, '.seeded');
  if (existsSync(marker)) return dir;
  mkdirSync(dir, { recursive: true });
  const t = performance.now();
  // 9 in 10 objects are PDFs (a tenth upper-case), the rest are filtered out.
  const objects = Array.from({ length: n }, (_, i) => ({
    key: `scan/${String(i % 100).padStart(2, '0')}/doc-${String(i).padStart(7, '0')}.${i % 10 === 9 ? 'txt' : i % 10 === 0 ? 'PDF' : 'pdf'}`,
    body: '%PDF-1.4\n%%EOF\n',
  }));
  await seedS3Directory(dir, BUCKET, objects);
  writeFileSync(marker, '');
  console.log(`seeded ${n} objects in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return dir;
}

interface Run {
  ms: number;
  keys: number;
  bytes: number;
  peakRssMb: number;
}

function run(endpoint: string, mode: 'list' | 'manifest'): Run {
  const out = execFileSync(
    runtimeNode.path,
    [...nodeArgs, '--import', 'tsx', join(here, 'one-manifest.ts'), JSON.stringify({ endpoint, bucket: BUCKET, prefix: 'scan/', mode })],
    { encoding: 'utf8', env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
  );
  return JSON.parse(out) as Run;
}

const rows = [];
for (const n of sizes) {
  const dir = await ensureSeeded(n);
  const s3 = await startS3({ directory: dir });
  try {
    // Alternate the two measurements so neither always runs on a warmer server.
    const lists: Run[] = [];
    const manifests: Run[] = [];
    for (let i = 0; i < 2; i++) {
      lists.push(run(s3.endpoint, 'list'));
      manifests.push(run(s3.endpoint, 'manifest'));
    }
    const rate = (runs: Run[]) => (n / runs.reduce((sum, r) => sum + r.ms, 0)) * 1000 * runs.length;
    const listPerS = rate(lists);
    const e2ePerS = rate(manifests);
    rows.push({
      objects: n,
      bareListKeysPerS: Math.round(listPerS),
      manifestKeysPerS: Math.round(e2ePerS),
      ratioToListing: +(e2ePerS / listPerS).toFixed(3),
      listPeakRssMb: +Math.max(...lists.map((r) => r.peakRssMb)).toFixed(1),
      manifestPeakRssMb: +Math.max(...manifests.map((r) => r.peakRssMb)).toFixed(1),
      manifestMb: +((manifests[0]?.bytes ?? 0) / 2 ** 20).toFixed(1),
    });
  } finally {
    await s3.stop();
  }
}
const presign = await presignRates();

console.log('\npdf-manifest end to end (embedded S3, one process each)');
console.table(rows);
if (rows.length > 1) {
  const growth = (rows.at(-1)?.manifestPeakRssMb ?? 0) - (rows[0]?.manifestPeakRssMb ?? 0);
  console.log(`peak RSS growth ${rows[0]?.objects} → ${rows.at(-1)?.objects} objects: ${growth.toFixed(1)} MB`);
}
console.log('\npresigning (one core)');
console.table([presign]);

const results = { benchmark: 'pdf-manifest', at: new Date().toISOString(), node: process.version, runtime: spec.runtime, runsNode: runtimeNode.version, runsNodeArgs: nodeArgs, cpus: (await import('node:os')).cpus().length, endToEnd: rows, presign };
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
const file = join(root, 'bench', 'results', 'pdf-manifest.json');
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwritten ${file}`);
