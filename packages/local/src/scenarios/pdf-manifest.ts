import { performance } from 'node:perf_hooks';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { formatReport } from '../report.ts';
import { samplePdf } from './sample-pdf.ts';
import type { Scenario, ScenarioContext, ScenarioResult } from './types.ts';

const FUNCTION = 'pdf-manifest';
const PREFIX = 'reports/';
/** More than one ListObjectsV2 page (1,000 keys), so the manifest must follow continuation tokens. */
const BULK = 1_050;
/** Bulk URLs downloaded besides every hand-written key. */
const BULK_SAMPLES = 5;

export interface SeedObject {
  key: string;
  body: Buffer;
}

/**
 * Keys chosen to break naive code: nested prefixes, upper-case extensions, look-alike names and
 * characters that need escaping in URLs and signatures (space, +, %, #, ?, unicode, emoji).
 */
export const HAND_WRITTEN_KEYS = [
  'reports/top-level.pdf',
  'reports/2026/q1/summary.pdf',
  'reports/2026/q1/Invoice 001.pdf',
  'reports/2026/q1/a+b=c.pdf',
  'reports/2026/q1/100% done.pdf',
  'reports/2026/q1/semi;colon & ampersand.pdf',
  'reports/2026/q1/(parens) [brackets] {braces}.pdf',
  "reports/2026/q1/it's quoted.pdf",
  'reports/2026/q2/SCAN.PDF',
  'reports/2026/q2/Mixed.Pdf',
  'reports/2026/q2/deep/nested/résumé.pdf',
  'reports/2026/q2/deep/日本語レポート.pdf',
  'reports/2026/q2/deep/🚀 launch plan.pdf',
  'reports/2026/q2/deep/tilde~hash#1.pdf',
  'reports/2026/q2/deep/question?.pdf',
  'reports/2026/q2/deep/more/levels/below/x.pdf',
  // Not PDFs, though some look close.
  'reports/2026/q1/notes.txt',
  'reports/2026/q1/data.csv',
  'reports/2026/q1/summary.pdf.bak',
  'reports/2026/q1/pdf',
  'reports/2026/q2/deep/fake.pdf.txt',
  'reports/2026/empty-folder/',
  // PDFs outside the prefix.
  'archive/2025/old.pdf',
  'Reports/upper-case-prefix.pdf',
  'reports-old/elsewhere.pdf',
  'top.pdf',
];

export function seedObjects(): SeedObject[] {
  const objects: SeedObject[] = HAND_WRITTEN_KEYS.map((key) => ({
    key,
    body: key.endsWith('/') ? Buffer.alloc(0) : /\.pdf$/i.test(key) ? samplePdf(key) : Buffer.from(`not a pdf: ${key}\n`),
  }));
  for (let i = 1; i <= BULK; i++) {
    const key = `reports/2026/bulk/doc-${String(i).padStart(4, '0')}.pdf`;
    objects.push({ key, body: samplePdf(key) });
  }
  return objects;
}

/** What the function should list: PDFs (any case of the extension) under the prefix. */
export function expectedKeys(objects: SeedObject[], prefix = PREFIX): string[] {
  return objects.map((o) => o.key).filter((k) => k.startsWith(prefix) && k.toLowerCase().endsWith('.pdf'));
}

interface ManifestEntry {
  key: string;
  url: string;
}

async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await work(item);
      }
    }),
  );
}

export const pdfManifestScenario: Scenario = {
  name: 'pdf-manifest',
  description: 'seed PDFs, build a presigned manifest, download through its URLs',
  functions: [FUNCTION],
  async run({ local, print }: ScenarioContext): Promise<ScenarioResult> {
    const s3 = local.s3;
    if (!s3) return { ok: false, summary: ['no S3: the runner started none (no function uses a bucket)'] };
    const bucket = local.bucket('documents');
    const objects = seedObjects();
    const byKey = new Map(objects.map((o) => [o.key, o.body]));
    const expected = expectedKeys(objects);

    let t = performance.now();
    await pool(objects, 16, async (o) => {
      await s3.client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: o.key,
          Body: o.body,
          ContentType: /\.pdf$/i.test(o.key) ? 'application/pdf' : 'application/octet-stream',
        }),
      );
    });
    print(
      `seeded ${objects.length} objects into ${bucket} in ${((performance.now() - t) / 1000).toFixed(1)} s ` +
        `(${expected.length} PDFs under ${PREFIX}, the rest decoys)`,
    );

    const event = { prefix: PREFIX };
    print(`invoking ${FUNCTION} with ${JSON.stringify(event)} (bucket from DEFAULT_BUCKET)`);
    const cold = await local.invoke(FUNCTION, event);
    if (cold.error) {
      return { ok: false, summary: [`invocation failed: ${cold.error.errorType}: ${cold.error.errorMessage}`] };
    }
    const result = cold.result as { manifestUrl?: unknown; count?: unknown; scanned?: unknown };
    if (typeof result?.manifestUrl !== 'string') {
      return { ok: false, summary: [`the result has no manifestUrl: ${JSON.stringify(cold.result)}`] };
    }
    const failures: string[] = [];

    t = performance.now();
    const response = await fetch(result.manifestUrl);
    if (!response.ok) {
      return { ok: false, summary: [`GET manifestUrl answered ${response.status}: ${(await response.text()).slice(0, 300)}`] };
    }
    const lines = (await response.text()).split('\n').filter((l) => l.trim() !== '');
    const entries: ManifestEntry[] = [];
    for (const [i, line] of lines.entries()) {
      try {
        const parsed = JSON.parse(line) as Partial<ManifestEntry>;
        if (typeof parsed.key !== 'string' || typeof parsed.url !== 'string') throw new Error('no key/url');
        entries.push({ key: parsed.key, url: parsed.url });
      } catch (err) {
        failures.push(`manifest line ${i + 1} is not {key, url, ...} JSON (${(err as Error).message}): ${line.slice(0, 200)}`);
        break;
      }
    }

    if (result.count !== expected.length) failures.push(`count is ${String(result.count)}, expected ${expected.length}`);
    if (entries.length !== lines.length || lines.length !== expected.length) {
      failures.push(`the manifest has ${lines.length} lines, expected ${expected.length}`);
    }
    const listed = new Set(entries.map((e) => e.key));
    const missing = expected.filter((k) => !listed.has(k));
    const unexpected = [...listed].filter((k) => !expected.includes(k));
    if (missing.length) failures.push(`missing from the manifest: ${missing.slice(0, 5).map((k) => JSON.stringify(k)).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`);
    if (unexpected.length) failures.push(`should not be in the manifest: ${unexpected.slice(0, 5).map((k) => JSON.stringify(k)).join(', ')}`);

    // Every hand-written key (the awkward ones) and a spread of the bulk ones.
    const bulk = entries.filter((e) => e.key.startsWith('reports/2026/bulk/'));
    const step = Math.max(1, Math.floor(bulk.length / BULK_SAMPLES));
    const toCheck = [
      ...entries.filter((e) => !e.key.startsWith('reports/2026/bulk/')),
      ...bulk.filter((_, i) => i % step === 0).slice(0, BULK_SAMPLES),
    ];
    let verified = 0;
    await pool(toCheck, 8, async (entry) => {
      const res = await fetch(entry.url);
      const body = Buffer.from(await res.arrayBuffer());
      const seeded = byKey.get(entry.key);
      if (!res.ok) failures.push(`GET ${JSON.stringify(entry.key)} answered ${res.status}`);
      else if (!seeded?.equals(body)) failures.push(`GET ${JSON.stringify(entry.key)} returned different bytes (${body.length} B)`);
      else verified++;
    });
    const checkMs = performance.now() - t;

    print(`manifest: ${result.manifestUrl}`);
    print(`count: ${String(result.count)} (expected ${expected.length}; scanned ${String(result.scanned)})`);
    const sampled = `every hand-written key and ${toCheck.length - (entries.length - bulk.length)} of the ${bulk.length} bulk ones`;
    print(`verified: ${verified}/${toCheck.length} presigned URLs (${sampled}) return the seeded bytes (${checkMs.toFixed(0)} ms)`);

    print(`invoking ${FUNCTION} again (warm)`);
    const warm = await local.invoke(FUNCTION, event);
    if (warm.error) failures.push(`warm invocation failed: ${warm.error.errorType}: ${warm.error.errorMessage}`);
    if (warm.report.cold) failures.push('the second invocation was a cold start; expected the warm environment');
    if (!cold.report.cold) failures.push('the first invocation was not a cold start');

    for (const f of failures) print(`FAIL ${f}`);
    return {
      ok: failures.length === 0,
      summary: [
        `manifest ${result.manifestUrl.split('?')[0]}`,
        `${String(result.count)} PDFs listed (expected ${expected.length}), ${verified}/${toCheck.length} sampled URLs verified byte for byte`,
        `cold: ${formatReport(cold.requestId, cold.report)}`,
        `warm: ${formatReport(warm.requestId, warm.report)}`,
        ...failures.map((f) => `FAIL ${f}`),
      ],
    };
  },
};
