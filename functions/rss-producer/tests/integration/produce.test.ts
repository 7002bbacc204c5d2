import { readFileSync } from 'node:fs';
import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createDynamoDBClient, createS3Client } from '@laminar/aws';
import { lambdaContext } from '@laminar/runtime/testing';
import { DedupStore, ensureTable, publishOnce } from '@laminar/dedup';
import {
  type ConsumedKafkaMessage,
  type DynamoEmulator,
  type HttpFixtures,
  type KafkaEmulator,
  readKafkaTopic,
  type S3Emulator,
  startDynamoDB,
  startHttpFixtures,
  startKafka,
  startS3,
} from '@laminar/emulators';
import { type Envelope, FlushTimeoutError, getProducer, type KafkaEnv, messagesOf } from '@laminar/kafka';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoFeedState } from '../../src/feed-state.ts';
import type { RssItem } from '../../src/normalize.ts';
import { type ProducedCounts, type RunResult, runOnce, validatorTtlSeconds } from '../../src/run.ts';
import { expectAccounted, quiet } from '../support/fakes.ts';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/http/feeds/${name}`, import.meta.url), 'utf8');
const NAMES = ['world.xml', 'tech-atom.xml', 'science-rdf.xml'];
const TABLE = 'laminar-local-rss-dedup';
const TOPIC = 'rss-items';

const NEW_ITEM = `<item>
      <title>Breaking: talks collapse after midnight</title>
      <description>Delegates left without a statement.</description>
      <link>https://news.example.com/world/2026/11/25/talks-collapse</link>
      <guid isPermaLink="false">nw-2026-11-25-0099</guid>
      <pubDate>Wed, 25 Nov 2026 23:55:00 GMT</pubDate>
    </item>
    <item>`;

let kafka: KafkaEmulator;
let db: DynamoEmulator;
let http: HttpFixtures;
let s3: S3Emulator;
const LAKE = 'laminar-local-lake';
let client: DynamoDBClient;
let kafkaEnv: KafkaEnv;

function serveFixtures(version: number, world = fixture('world.xml')) {
  http.route('/feeds/world.xml', { body: world, headers: { 'content-type': 'application/rss+xml' }, etag: `"world-${version}"` });
  http.route('/feeds/tech-atom.xml', { body: fixture('tech-atom.xml'), headers: { 'content-type': 'application/atom+xml' }, etag: '"tech-1"' });
  http.route('/feeds/science-rdf.xml', {
    body: fixture('science-rdf.xml'),
    headers: { 'content-type': 'application/rdf+xml' },
    lastModified: 'Wed, 25 Nov 2026 18:30:00 GMT',
  });
}

beforeAll(async () => {
  [kafka, db, http, s3] = await Promise.all([startKafka(), startDynamoDB(), startHttpFixtures(), startS3({ buckets: [LAKE] })]);
  serveFixtures(1);
  client = createDynamoDBClient({ region: db.region, endpoint: db.endpoint, credentials: db.credentials });
  // The handler signs every client with the one key pair its environment holds (dynalite's).
  await s3.acceptCredentials(db.credentials);
  await ensureTable(client, TABLE, 'dedup');
  kafkaEnv = { KAFKA_BOOTSTRAP_SERVERS: kafka.bootstrapServers, KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT', KAFKA_SASL_MECHANISM: 'PLAIN' };
});

afterAll(async () => {
  await (await getProducer(kafkaEnv).catch(() => undefined))?.close();
  client?.destroy();
  await Promise.all([kafka?.stop(), db?.stop(), http?.stop(), s3?.stop()]);
});

const feedUrls = () => NAMES.map((n) => `${http.url}/feeds/${n}`);

function run(topic = TOPIC): Promise<RunResult> {
  const ttlSeconds = 7 * 86_400;
  const store = new DedupStore({ client, tableName: TABLE, ttlSeconds });
  return runOnce(
    { feedUrls: feedUrls(), topic, timeoutMs: 5_000, maxBytes: 5 * 1024 * 1024, concurrency: 8 },
    {
      feedState: new DynamoFeedState({ client, tableName: TABLE, ttlSeconds, log: quiet }),
      publishOnce: (a) => publishOnce({ store, scope: 'rss', ...a }),
      producer: () => getProducer(kafkaEnv),
      deadline: { remainingMs: () => 30_000 },
      log: quiet,
    },
  );
}

const envelopeOf = (m: ConsumedKafkaMessage) => JSON.parse(String(m.value)) as Envelope<RssItem>;

describe('the producer against embedded Kafka and DynamoDB', { shuffle: false }, () => {
  // Steps of one scenario: each test continues from the state the one before left (the dedup
  // table, the topic, the feeds' validators), so the order is pinned (vitest --sequence.shuffle.tests leaves it).
  let firstMessages: ConsumedKafkaMessage[];

  it('first run produces every unique item once, keyed by item id, in the versioned envelope', async () => {
    serveFixtures(1);
    const result = await run();
    expect(result.totals).toEqual({ feeds: 3, fetched: 39, new: 35, duplicate: 2, inFlight: 0, rejected: 2, released: 0, failedFeeds: 0, stoppedFeeds: 0, produced: 35 });
    expectAccounted(result);

    firstMessages = await readKafkaTopic(kafka.bootstrapServers, TOPIC);
    expect(firstMessages).toHaveLength(35);
    const keys = firstMessages.map((m) => m.key);
    expect(new Set(keys).size).toBe(35);
    for (const m of firstMessages) {
      const e = envelopeOf(m);
      expect(e).toMatchObject({ schemaVersion: 1, type: 'rss.item', id: m.key, source: e.payload.feedUrl });
      expect(e.payload.id).toBe(m.key);
      expect(feedUrls()).toContain(e.source);
      expect(Date.parse(e.observedAt)).not.toBeNaN();
      expect(m.headers).toMatchObject({ type: 'rss.item', id: m.key, source: e.source, 'content-type': 'application/json' });
    }
    // The story both world.xml and tech-atom.xml carry went out once, from the feed listed first.
    const chips = firstMessages.map(envelopeOf).filter((e) => e.payload.title?.startsWith('New chip'));
    expect(chips.map((e) => e.source)).toEqual([`${http.url}/feeds/world.xml`]);
  });

  it('second run produces only the item added meanwhile; unchanged feeds answer 304 from stored validators', async () => {
    serveFixtures(2, fixture('world.xml').replace('<item>', NEW_ITEM));
    http.requests.length = 0;
    const result = await run();
    expect(result.feeds.map((f) => [f.status, f.new, f.duplicate])).toEqual([
      ['ok', 1, 15],
      ['not-modified', 0, 0],
      ['not-modified', 0, 0],
    ]);
    expect(result.totals).toMatchObject({ new: 1, produced: 1, duplicate: 15 });
    expectAccounted(result);
    expect(http.requests.find((r) => r.url === '/feeds/world.xml')?.headers['if-none-match']).toBe('"world-1"');
    expect(http.requests.find((r) => r.url === '/feeds/science-rdf.xml')?.headers['if-modified-since']).toBe('Wed, 25 Nov 2026 18:30:00 GMT');

    const all = await readKafkaTopic(kafka.bootstrapServers, TOPIC);
    expect(all).toHaveLength(36);
    const added = all.filter((m) => !firstMessages.some((f) => f.key === m.key));
    expect(added.map((m) => envelopeOf(m).payload.title)).toEqual(['Breaking: talks collapse after midnight']);

    // A third run: everything answers 304 and nothing is sent.
    const third = await run();
    expect(third.feeds.map((f) => f.status)).toEqual(['not-modified', 'not-modified', 'not-modified']);
    expect(third.totals.produced).toBe(0);
  });
});

describe('the Lambda handler', { shuffle: false }, () => {
  const context = (remainingMs: number, requestId: string) => lambdaContext('rss-producer', { remainingMs, requestId });

  it('runs from its environment on a scheduled event, and refuses an event that is not one', async () => {
    const table = 'laminar-local-rss-dedup-handler';
    await ensureTable(client, table, 'dedup');
    Object.assign(process.env, {
      AWS_REGION: db.region,
      AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      REJECTS_BUCKET: LAKE,
      REJECTS_PREFIX: 'rejected/rss-producer/',
      AWS_ACCESS_KEY_ID: db.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: db.credentials.secretAccessKey,
      FEED_URLS: [...feedUrls(), `${http.url}/feeds/gone.xml`].join(','),
      DEDUP_TABLE: table,
      KAFKA_TOPIC: 'rss-items-handler',
      KAFKA_BOOTSTRAP_SERVERS: kafka.bootstrapServers,
      KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT',
      POWERTOOLS_SERVICE_NAME: 'rss-producer',
      POWERTOOLS_METRICS_NAMESPACE: 'Test',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    });
    // The feeds as the producer's second run left them (the new item in world.xml): its own, in any order.
    serveFixtures(2, fixture('world.xml').replace('<item>', NEW_ITEM));
    const { handler } = await import('../../src/handler.ts');
    const { default: scheduled } = await import('../../events/scheduled.json', { with: { type: 'json' } });

    await expect(handler({ Records: [{ eventSource: 'aws:s3' }] }, context(30_000, 'req-bad'))).rejects.toMatchObject({
      name: 'InputValidationError',
    });

    const stdout = vi.spyOn(process.stdout, 'write');
    const claims = vi.spyOn(DedupStore.prototype, 'claim');
    const before = Math.floor(Date.now() / 1000);
    const result = await handler(scheduled, context(30_000, 'req-1'));
    const after = Math.ceil(Date.now() / 1000);
    // A feed's validators lapse at 40 % of the items' TTL (7 days), a margin before any record they
    // hide can (those have half the TTL left after a whole fetch): the feed is then fetched whole
    // and its still-listed items renew their dedup records before those lapse.
    const validators = await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `feedstate#${feedUrls()[0]}` } }, ConsistentRead: true }));
    const validatorTtl = Math.floor(7 * 86_400 * 0.4);
    expect(Number(validators.Item?.expiresAt?.N)).toBeGreaterThanOrEqual(before + validatorTtl);
    expect(Number(validators.Item?.expiresAt?.N)).toBeLessThanOrEqual(after + validatorTtl);
    // The claims name the invocation and last while it may run, plus the margin (@laminar/dedup).
    expect(claims).toHaveBeenCalledTimes(1);
    const options = claims.mock.calls[0]?.[2];
    claims.mockRestore();
    expect(options).toMatchObject({ origin: 'req-1' });
    expect(options?.leaseMs).toBeGreaterThan(50_000);
    expect(options?.leaseMs).toBeLessThanOrEqual(60_000);
    // The run's own metrics document (Powertools may write a cold-start one of its own first).
    const emf = stdout.mock.calls.map(([line]) => String(line)).find((line) => line.includes('"CloudWatchMetrics"') && line.includes('"FeedsFailed"'));
    stdout.mockRestore();
    expect(JSON.parse(emf as string)).toMatchObject({
      FeedsFailed: 1,
      FeedsStopped: 0,
      ItemsFetched: 40,
      ItemsNew: 36,
      ItemsDuplicate: 2,
      ItemsInFlight: 0,
      ItemsRejected: 2,
      ItemsReleased: 0,
      RejectsNotKept: 0,
      MessagesProduced: 36,
      service: 'rss-producer',
    });
    // Both rejected entries are in S3, each once, with its reason and the entry as the parser read it.
    expect(result.rejects).toEqual({ kept: 2, keptNow: 2, notKept: 0 });
    const lake = createS3Client({ region: s3.region, endpoint: s3.endpoint, credentials: s3.credentials });
    const listRejected = async () => (await lake.send(new ListObjectsV2Command({ Bucket: LAKE, Prefix: 'rejected/rss-producer/' }))).Contents ?? [];
    const kept = await listRejected();
    expect(kept).toHaveLength(2);
    const bodies = await Promise.all(kept.map(async (o) => JSON.parse(await (await lake.send(new GetObjectCommand({ Bucket: LAKE, Key: o.Key }))).Body!.transformToString())));
    expect(bodies.map((b) => b.source).sort()).toEqual([feedUrls()[0], feedUrls()[1]].sort());
    for (const b of bodies) expect(b).toMatchObject({ reasons: ['no title and no link'], rejectedBy: 'rss-producer', record: { titleIsHtml: expect.any(Boolean) } });
    expect(result.totals).toMatchObject({ new: 36, produced: 36, failedFeeds: 1 });
    expect(result.feeds[3]).toMatchObject({ status: 'failed', reason: 'HTTP 404 Not Found' });
    expect(await readKafkaTopic(kafka.bootstrapServers, 'rss-items-handler')).toHaveLength(36);

    // A warm invocation (manual, {}) reuses the producer: nothing changed, nothing sent.
    const again = await handler({}, context(30_000, 'req-2'));
    expect(again.feeds.slice(0, 3).map((f) => f.status)).toEqual(['not-modified', 'not-modified', 'not-modified']);
    expect(again.totals.produced).toBe(0);
    expect(await listRejected()).toHaveLength(2);
    lake.destroy();
  });

  it('a flush that fails after delivering some items still counts them in its metrics; the retry counts the rest', async () => {
    // Runs after the test above, in the environment it set up (the handler's table and producer).
    const extra = (n: number) => `<item><title>Late story ${n}</title><link>https://news.example.com/world/late-${n}</link></item>\n    `;
    serveFixtures(3, fixture('world.xml').replace('<item>', `${extra(1)}${extra(2)}${NEW_ITEM}`));
    const { handler } = await import('../../src/handler.ts');
    // The environment's producer (getProducer keeps one per configuration): its next send delivers
    // the first message for real, then fails as a flush that ran out of time for the second.
    const producer = await getProducer(kafkaEnv);
    const send = producer.send.bind(producer);
    const spy = vi.spyOn(producer, 'send').mockImplementationOnce(async (messages, options) => {
      const sent = await send(messagesOf(messages).slice(0, 1), options);
      throw new FlushTimeoutError(sent.delivered, messages.length, options.timeoutMs, messagesOf(messages).map((_, i) => i === 0));
    });
    /** The EMF documents written during `run` (to stdout, or through console.log), merged. */
    const emf = async (run: () => Promise<unknown>) => {
      const lines: string[] = [];
      const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => lines.push(String(chunk)) > 0);
      const log = vi.spyOn(console, 'log').mockImplementation((...args) => void lines.push(args.map(String).join(' ')));
      try {
        await run();
      } finally {
        stdout.mockRestore();
        log.mockRestore();
      }
      const docs = lines.flatMap((l) => l.split('\n')).filter((l) => l.includes('"CloudWatchMetrics"'));
      return Object.assign({}, ...docs.map((l) => JSON.parse(l))) as Record<string, unknown>;
    };
    let failure: unknown;
    const failed = await emf(() =>
      handler({}, context(30_000, 'req-3')).catch((err: unknown) => {
        failure = err;
      }),
    );
    spy.mockRestore();
    expect(failure).toBeInstanceOf(FlushTimeoutError);
    // One of the two new items was delivered, and confirmed: this run's to count. The other was
    // released for the retry: counted too, so the failed run's metrics add up to what it fetched.
    expect(failed).toMatchObject({ ItemsNew: 1, MessagesProduced: 1, ItemsInFlight: 0, ItemsReleased: 1, DedupRefreshFailed: 0 });
    const sum = (m: Record<string, unknown>, names: string[]) => names.reduce((n, name) => n + (m[name] as number), 0);
    const outcomes = ['ItemsNew', 'ItemsDuplicate', 'ItemsInFlight', 'ItemsRejected', 'ItemsReleased'];
    expect(sum(failed, outcomes)).toBe(failed.ItemsFetched);
    const retried = await emf(() => handler({}, context(30_000, 'req-3')));
    expect(retried).toMatchObject({ ItemsNew: 1, MessagesProduced: 1, ItemsReleased: 0, ItemsDuplicate: (failed.ItemsDuplicate as number) + 1 });
    expect(sum(retried, outcomes)).toBe(retried.ItemsFetched);
    expect(await readKafkaTopic(kafka.bootstrapServers, 'rss-items-handler')).toHaveLength(38);
  });
});

describe("a feed whose items' dedup expiry the table refuses to renew", () => {
  it('keeps its old validators: the next run reads it whole and renews them, instead of 304s while their records lapse', async () => {
    const table = 'laminar-local-rss-dedup-refresh';
    await ensureTable(client, table, 'dedup');
    const url = `${http.url}/refresh/world.xml`;
    const serve = (etag: string) => http.route('/refresh/world.xml', { body: fixture('world.xml'), headers: { 'content-type': 'application/rss+xml' }, etag });
    // A role without dynamodb:UpdateItem: claims and confirms go through, the expiry refresh is refused.
    const refusing = createDynamoDBClient({ region: db.region, endpoint: db.endpoint, credentials: db.credentials });
    refusing.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UpdateItemCommand') throw Object.assign(new Error('not authorized to perform: dynamodb:UpdateItem'), { name: 'AccessDeniedException' });
        return next(args);
      },
      { step: 'initialize' },
    );
    const ttlSeconds = 7 * 86_400;
    const runAt = async (at: number, dynamo: DynamoDBClient) => {
      const store = new DedupStore({ client: dynamo, tableName: table, ttlSeconds, now: () => at });
      const produced: ProducedCounts[] = [];
      const result = await runOnce(
        { feedUrls: [url], topic: 'rss-items-refresh', timeoutMs: 5_000, maxBytes: 5 * 1024 * 1024, concurrency: 2 },
        {
          feedState: new DynamoFeedState({ client: dynamo, tableName: table, ttlSeconds: validatorTtlSeconds(ttlSeconds), log: quiet, now: () => new Date(at) }),
          publishOnce: (a) => publishOnce({ store, scope: 'rss', ...a }),
          producer: () => getProducer(kafkaEnv),
          deadline: { remainingMs: () => 30_000 },
          log: quiet,
          onProduced: (c) => produced.push(c),
        },
      );
      return { result, refreshFailed: produced[0]?.refreshFailed };
    };
    const savedEtag = async () =>
      (await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `feedstate#${url}` } }, ConsistentRead: true }))).Item?.etag?.S;

    try {
      const T = Date.now();
      serve('"w-1"');
      const first = await runAt(T, client);
      expect(first.result.totals.new).toBeGreaterThan(0);
      expect(await savedEtag()).toBe('"w-1"');

      // Four days on the validators (40 % of 7 days) have lapsed, so the feed is read whole, now
      // under another ETag; its items' records are past half their TTL, due a renewal the table refuses.
      serve('"w-2"');
      const refused = await runAt(T + 4 * 86_400_000, refusing);
      expect(refused.result.totals).toMatchObject({ new: 0, produced: 0 });
      expect(refused.refreshFailed).toBe(first.result.totals.new);
      // Saved, "w-2" would be answered 304 until the records lapsed, and the items produced again.
      expect(await savedEtag()).toBe('"w-1"');

      // The next run is not answered 304: it reads the feed whole, renews the records and saves the validators.
      http.requests.length = 0;
      const next = await runAt(T + 4 * 86_400_000 + 900_000, client);
      expect(http.requests.find((r) => r.url === '/refresh/world.xml')?.headers['if-none-match']).toBeUndefined();
      expect(next.result.feeds[0]?.status).toBe('ok');
      expect(next).toMatchObject({ result: { totals: { new: 0 } }, refreshFailed: 0 });
      expect(await savedEtag()).toBe('"w-2"');
    } finally {
      refusing.destroy();
    }
  });
});
