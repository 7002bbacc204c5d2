import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleFunction } from '@laminar/bundler';
import { loadSpec } from '@laminar/spec';
import { afterAll, describe, expect, it } from 'vitest';

const fnDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'laminar-build-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Imports the bundle in a plain Node process, as Lambda would, and sends it one event. */
function runBundle(dir: string, env: Record<string, string>, event: unknown): { name?: string; message?: string } {
  const script = `
    const { handler } = await import(${JSON.stringify(join(dir, 'index.mjs'))}).catch((e) => { console.log(JSON.stringify({ name: e.name, message: e.message })); process.exit(0); });
    const end = Date.now() + 10000;
    const ctx = { awsRequestId: 'req', functionName: 'rss-producer', getRemainingTimeInMillis: () => end - Date.now() };
    try { console.log(JSON.stringify(await handler(${JSON.stringify(event)}, ctx))); }
    catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message })); }`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_NAMESPACE: 'Test', ...env },
    encoding: 'utf8',
    // A sync call blocks this worker, so vitest's own timeout could not end a hung child.
    timeout: 50_000,
    // Powertools' "no metrics to publish" notice goes to stderr: noise here.
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return JSON.parse(out.trim().split('\n').pop() as string);
}

describe('rss-producer build', () => {
  it('gives byte-identical zips, keeps the Kafka client external, and the bundle starts', async () => {
    const loaded = await loadSpec(fnDir);
    const a = await bundleFunction(loaded, { outDir: join(scratch, 'a') });
    const b = await bundleFunction(loaded, { outDir: join(scratch, 'b') });
    expect(readFileSync(a.zipPath).equals(readFileSync(b.zipPath))).toBe(true);
    expect(a.sourceCodeHash).toBe(b.sourceCodeHash);
    // The native client comes from the kafka-layer at run time, never from the bundle.
    expect(a.external).toEqual(['@confluentinc/kafka-javascript']);
    expect(a.topInputs.some((i) => i.path.includes('kafka-javascript'))).toBe(false);

    const dir = join(scratch, 'run');
    execFileSync('unzip', ['-q', a.zipPath, '-d', dir]);
    const env = {
      FEED_URLS: 'https://feeds.example.com/rss.xml',
      DEDUP_TABLE: 'laminar-local-rss-dedup',
      REJECTS_BUCKET: 'laminar-local-lake',
      REJECTS_PREFIX: 'rejected/rss-producer/',
      KAFKA_TOPIC: 'rss-items',
      KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:9',
      KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT',
    };
    // Config, runtime and event validation all work from the bundle, before any network call.
    expect(runBundle(dir, env, { Records: [] })).toMatchObject({ name: 'InputValidationError' });
    // A missing variable fails the cold start by name.
    const { FEED_URLS: _, ...withoutFeeds } = env;
    expect(runBundle(dir, withoutFeeds, {})).toMatchObject({ name: 'ConfigError', message: expect.stringContaining('FEED_URLS: missing') });
  });
});
