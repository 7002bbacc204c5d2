import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeTableCommand, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MissingBuildError, startLocal } from '../../src/runner.ts';
import { Scheduler, scheduleEntries } from '../../src/scheduler.ts';
import { emptyTable } from '../../src/services.ts';
import { runLaminar } from './laminar-process.ts';
import { servicesRoot } from './services-root.ts';

let root: Awaited<ReturnType<typeof servicesRoot>>;

beforeAll(async () => {
  root = await servicesRoot();
});
afterAll(() => root.remove());

describe('layers', () => {
  it('mounts a function\'s layers merged in order where Lambda has /opt, reachable through NODE_PATH and LD_LIBRARY_PATH', async () => {
    const local = await startLocal({ root: root.dir, functions: ['layered'], env: {} });
    try {
      expect(local.s3).toBeUndefined();
      expect(local.dynamodb).toBeUndefined();
      expect(local.kafka).toBeUndefined();
      const res = await local.invoke('layered', {});
      expect(res.error).toBeUndefined();
      const r = res.result as Record<string, string | boolean>;
      const layers = readdirSync(join(root.dir, '.laminar', 'layers'));
      expect(layers).toHaveLength(1);
      expect(layers[0]).toMatch(/^base-layer\+patch-layer-[0-9a-f]{12}$/);
      const opt = join(root.dir, '.laminar', 'layers', layers[0] as string);
      // The later layer's file wins, as in /opt; both layers' modules resolve.
      expect(r).toMatchObject({ fake: 'patched', other: 'other', lib: 'not really a library', libIsLink: true });
      expect(r.resolved).toBe(join(opt, 'nodejs', 'node_modules', 'fake-mod', 'index.js'));
      expect(r.NODE_PATH).toBe(`${opt}/nodejs/node20/node_modules:${opt}/nodejs/node_modules:${r.taskRoot}`);
      expect(r.LD_LIBRARY_PATH).toBe(`${r.taskRoot}:${r.taskRoot}/lib:${opt}/lib`);
    } finally {
      await local.stop();
    }
  });

  it('says "run pnpm build" when a layer zip is missing', async () => {
    const zip = join(root.dir, 'layers', 'patch-layer', 'dist', 'patch-layer.zip');
    renameSync(zip, `${zip}.away`);
    try {
      const err = await startLocal({ root: root.dir, functions: ['layered'], env: {} }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MissingBuildError);
      expect((err as Error).message).toContain('layers/patch-layer/dist/patch-layer.zip');
      expect((err as Error).message).toContain('run pnpm build');
    } finally {
      renameSync(`${zip}.away`, zip);
    }
  });
});

type Fetched = { status: number; type: string; body: string };

describe('HTTP fixtures', () => {
  it('serves fixtures/http under /<function>/ and puts the URL into the function\'s env', async () => {
    const local = await startLocal({ root: root.dir, functions: ['fetcher'], env: {}, fixturesPort: 0 });
    try {
      expect(local.fixtures?.files).toEqual({ fetcher: 2 });
      const base = `${local.fixtures?.url}/fetcher`;
      expect(local.env.fetcher).toMatchObject({ FEED_URL: `${base}/feeds/world.xml`, API_URL: `${base}/gamma` });
      const res = await local.invoke('fetcher', {});
      const r = res.result as { env: Record<string, string>; feed: Fetched; api: Fetched; missing: number };
      expect(r.env).toEqual({ FEED_URL: `${base}/feeds/world.xml`, API_URL: `${base}/gamma`, KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT' });
      // Query strings are ignored; content type by extension; an extension-less API path finds its .json.
      expect(r.feed).toEqual({ status: 200, type: 'application/xml', body: '<rss version="2.0"><channel><title>w</title></channel></rss>' });
      expect(r.api).toEqual({ status: 200, type: 'application/json', body: '[{"id":"m1"}]' });
      expect(r.missing).toBe(404);
      expect(local.fixtures?.requests).toContainEqual({ method: 'GET', url: '/fetcher/feeds/world.xml?since=yesterday', status: 200 });
      // Nothing outside the function's folder is reachable.
      for (const path of ['/fetcher/%2e%2e/spec.ts', '/fetcher/..%2Fspec.ts', '/fetcher/', '/other/feeds/world.xml']) {
        expect((await fetch(`${local.fixtures?.url}${path}`)).status, path).toBe(404);
      }
    } finally {
      await local.stop();
    }
  });

  it('--live: no fixture server, the spec\'s URLs stay', async () => {
    const local = await startLocal({ root: root.dir, functions: ['fetcher'], env: {}, live: true });
    try {
      expect(local.fixtures).toBeUndefined();
      const r = (await local.invoke('fetcher', { noFetch: true })).result as { env: Record<string, string> };
      expect(r.env).toEqual({
        FEED_URL: 'https://feeds.example.invalid/world.xml',
        API_URL: 'https://api.example.invalid',
        KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT',
      });
    } finally {
      await local.stop();
    }
  });
});

type Deduped = { totals: { new: number; duplicate: number }; event: Record<string, unknown>; env: Record<string, string> };

describe('DynamoDB, Kafka and schedules', () => {
  it('creates the declared tables, points the function at them and keeps their data between runs', async () => {
    const dynamodbDirectory = mkdtempSync(join(root.dir, 'ddb-'));
    const first = await startLocal({ root: root.dir, functions: ['deduper'], env: {}, dynamodbDirectory });
    try {
      expect(first.s3).toBeUndefined();
      expect(first.tables).toEqual({ seen: 'laminar-local-seen' });
      expect(first.topics).toEqual({ items: 'local.items' });
      const table = await first.dynamodb?.client.send(new DescribeTableCommand({ TableName: 'laminar-local-seen' }));
      expect(table?.Table?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
      expect(table?.Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');

      const res = await first.invoke('deduper', {});
      const r = res.result as Deduped;
      expect(r.env).toEqual({
        SEEN_TABLE: 'laminar-local-seen',
        TOPIC: 'local.items',
        KAFKA_BOOTSTRAP_SERVERS: first.kafka?.bootstrapServers,
        AWS_ENDPOINT_URL_DYNAMODB: first.dynamodb?.endpoint,
      });
      expect(r.totals).toMatchObject({ new: 3, duplicate: 0 });
      const item = await first.dynamodb?.client.send(new GetItemCommand({ TableName: 'laminar-local-seen', Key: { pk: { S: 'a' } } }));
      expect(item?.Item).toEqual({ pk: { S: 'a' } });

      // A schedule fires it with EventBridge's payload, recorded as an async invocation.
      const scheduler = new Scheduler({ invoker: first.invoker, entries: scheduleEntries(first.specs), region: first.region });
      const [run] = await scheduler.fireAll();
      expect(run?.result?.invocationType).toBe('Event');
      expect(run?.result?.trigger).toMatchObject({ kind: 'schedule', ruleName: 'laminar-local-deduper-schedule-0', expression: 'rate(15 minutes)' });
      const fired = run?.result?.result as Deduped | undefined;
      expect(fired?.event).toEqual({
        version: '0',
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: '000000000000',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        region: 'us-east-1',
        resources: ['arn:aws:events:us-east-1:000000000000:rule/laminar-local-deduper-schedule-0'],
        detail: {},
      });
      expect(fired?.totals).toMatchObject({ new: 0, duplicate: 3 });
    } finally {
      await first.stop();
    }

    const second = await startLocal({ root: root.dir, functions: ['deduper'], env: {}, dynamodbDirectory });
    try {
      const r = (await second.invoke('deduper', {})).result as Deduped;
      expect(r.totals).toMatchObject({ new: 0, duplicate: 3 });
    } finally {
      await second.stop();
    }
  });

  it('empties a table (what dev does to idempotency tables when it wipes the S3)', async () => {
    const local = await startLocal({ root: root.dir, functions: ['deduper'], env: {} });
    try {
      expect((await local.invoke('deduper', {})).error).toBeUndefined();
      const client = local.dynamodb?.client as NonNullable<typeof local.dynamodb>['client'];
      expect(await emptyTable(client, 'laminar-local-seen', 'dedup')).toBe(3);
      expect((await client.send(new ScanCommand({ TableName: 'laminar-local-seen' }))).Count).toBe(0);
      expect(await emptyTable(client, 'laminar-local-seen', 'dedup')).toBe(0);
    } finally {
      await local.stop();
    }
  });

  it('uses a DynamoDB endpoint from the environment instead of starting one', async () => {
    const other = await startLocal({ root: root.dir, functions: ['deduper'], env: {} });
    try {
      const local = await startLocal({
        root: root.dir,
        functions: ['deduper'],
        env: { AWS_ENDPOINT_URL_DYNAMODB: other.dynamodb?.endpoint, KAFKA_BOOTSTRAP_SERVERS: other.kafka?.bootstrapServers, AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's' },
      });
      try {
        expect(local.dynamodb?.embedded).toBeUndefined();
        expect(local.kafka?.embedded).toBeUndefined();
        expect(local.credentials.accessKeyId).toBe('k');
        const r = (await local.invoke('deduper', {})).result as Deduped;
        expect(r.env.AWS_ENDPOINT_URL_DYNAMODB).toBe(other.dynamodb?.endpoint);
        expect(r.env.KAFKA_BOOTSTRAP_SERVERS).toBe(other.kafka?.bootstrapServers);
        expect(r.totals.new).toBe(3);
      } finally {
        await local.stop();
      }
    } finally {
      await other.stop();
    }
  });
});

// Any free port for the fixtures: a developer's own `laminar dev` may hold the default one.
const laminar = (args: string[], env: Record<string, string> = {}) => runLaminar(args, { cwd: root.dir, env: { LAMINAR_FIXTURES_PORT: '0', ...env } });

describe('laminar dev --once', () => {
  it('refuses --fresh beside an external DynamoDB, whose data it cannot forget, before anything runs', async () => {
    const run = await laminar(['dev', '--once', '--fresh'], { LAMINAR_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' });
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe(
      "laminar: --fresh forgets the embedded DynamoDB's data; DynamoDB is http://127.0.0.1:9 here (LAMINAR_DYNAMODB_ENDPOINT): empty its tables there instead",
    );
  });

  it('fires each schedule once, prints REPORT lines and a summary; a second run sees only duplicates', async () => {
    const first = await laminar(['dev', '--once', '--fresh']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/embedded DynamoDB at http:\/\/127\.0\.0\.1:\d+ \(data: .*\.laminar\/dynamodb\); tables seen → laminar-local-seen/);
    expect(first.stdout).toMatch(/embedded Kafka .*; topics items → local\.items/);
    expect(first.stdout).toMatch(/HTTP fixtures at http:\/\/127\.0\.0\.1:\d+ \(fetcher: 2 files under \/fetcher\/\)/);
    expect(first.stdout).toContain('▶ deduper ← rate(15 minutes) (rule laminar-local-deduper-schedule-0, async Event');
    expect(first.stdout).toMatch(/\[deduper\] REPORT RequestId: [0-9a-f-]{36}\tDuration: /);
    expect(first.stdout).toContain('✔ deduper (rate(15 minutes)): 1 scheduled invocation, 0 failed');
    expect(first.stdout).toContain('    new 3, duplicate 0, produced 0');
    expect(first.stdout).toContain('    feeds fixed-ids: new 3, duplicate 0');
    expect(first.stdout).toContain('Messages produced per topic (this run only: the embedded broker keeps nothing between runs)');
    expect(first.stdout).toContain('    local.items: 0 messages, 0 distinct keys');
    expect(first.stdout).toContain('DynamoDB keeps its data in .laminar/dynamodb');
    expect(existsSync(join(root.dir, '.laminar', 'dynamodb'))).toBe(true);

    const second = await laminar(['dev', '--once']);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('    new 0, duplicate 3, produced 0');
  });

  it('keeps its state in LAMINAR_STATE_DIR when set, and leaves .laminar/ as it was', async () => {
    // The repository's own state, as a developer's earlier runs left it: seen items, queue files.
    const seeded = await laminar(['dev', '--once', '--fresh']);
    expect(seeded.code).toBe(0);
    const ownQueues = join(root.dir, '.laminar', 'queues');
    mkdirSync(ownQueues, { recursive: true });
    writeFileSync(join(ownQueues, 'kept.jsonl'), '');

    const state = mkdtempSync(join(root.dir, 'state-'));
    const isolated = await laminar(['dev', '--once'], { LAMINAR_STATE_DIR: state });
    expect(isolated.stderr).toBe('');
    expect(isolated.code).toBe(0);
    // Nothing seen yet in this state: the repository's seen items were not read.
    expect(isolated.stdout).toContain('    new 3, duplicate 0, produced 0');
    expect(isolated.stdout).toMatch(/embedded DynamoDB at http:\/\/127\.0\.0\.1:\d+ \(data: .*\/state-[^/]+\/dynamodb\)/);
    for (const dir of ['dynamodb', 'queues', 'envs', 'tmp']) expect(existsSync(join(state, dir)), dir).toBe(true);
    // Nor written: dev empties the queue folder of the state it runs in, here the chosen one only.
    expect(existsSync(join(ownQueues, 'kept.jsonl'))).toBe(true);
    const again = await laminar(['dev', '--once']);
    expect(again.stdout).toContain('    new 0, duplicate 3, produced 0');
  });
});
