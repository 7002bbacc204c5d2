import { readFileSync } from 'node:fs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createDynamoDBClient, createS3Client } from '@laminar/aws';
import { lambdaContext } from '@laminar/runtime/testing';
import { DedupStore, ensureTable } from '@laminar/dedup';
import {
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
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FlushTimeoutError, getProducer, messagesOf } from '@laminar/kafka';
import { configSchema, kafkaEnvOf } from '../../src/config.ts';
import { DEDUP_SCOPE } from '../../src/run.ts';

/** The Lambda entry point as the runtime calls it: env at import, a context, EMF on stdout. */
const fixture = (path: string) => readFileSync(new URL(`../../fixtures/${path}`, import.meta.url), 'utf8');
const scheduled = JSON.parse(readFileSync(new URL('../../events/scheduled.json', import.meta.url), 'utf8'));
const TOPIC = 'polymarket-prices-handler';
const TABLE = 'polymarket-dedup-handler';

let kafka: KafkaEmulator;
let dynamo: DynamoEmulator;
let fixtures: HttpFixtures;
let s3: S3Emulator;
const LAKE = 'laminar-local-lake';
let client: DynamoDBClient;
let markets = JSON.parse(fixture('http/gamma/markets.json')) as Record<string, unknown>[];

const context = (remainingMs: number, requestId: string) => lambdaContext('polymarket-producer', { remainingMs, requestId });

/** EMF documents written to stdout during `fn`, whether it resolves or rejects (then rethrown). */
async function emfDuring<T>(fn: () => Promise<T>): Promise<{ value: T; metrics: Record<string, unknown> }> {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  const logSpy = vi.spyOn(console, 'log').mockImplementation((...args) => {
    lines.push(args.map(String).join(' '));
  });
  const metrics = () =>
    Object.assign(
      {},
      ...lines
        .flatMap((l) => l.split('\n'))
        .filter((l) => l.includes('"_aws"'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    ) as Record<string, unknown>;
  try {
    const value = await fn();
    return { value, metrics: metrics() };
  } catch (error) {
    throw Object.assign(error as Error, { metrics: metrics() });
  } finally {
    spy.mockRestore();
    logSpy.mockRestore();
  }
}

beforeAll(async () => {
  [kafka, dynamo, s3, fixtures] = await Promise.all([
    startKafka(),
    startDynamoDB(),
    startS3({ buckets: [LAKE] }),
    startHttpFixtures({
      '/gamma/markets': () => ({ body: JSON.stringify(markets) }),
      '/clob/midpoints': { body: fixture('http/clob/midpoints.json') },
    }),
  ]);
  client = createDynamoDBClient({ region: dynamo.region, endpoint: dynamo.endpoint, credentials: dynamo.credentials });
  // The handler signs every client with the one key pair its environment holds (dynalite's).
  await s3.acceptCredentials(dynamo.credentials);
  await ensureTable(client, TABLE, 'dedup');
  Object.assign(process.env, {
    AWS_REGION: dynamo.region,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    REJECTS_BUCKET: LAKE,
    REJECTS_PREFIX: 'rejected/polymarket-producer/',
    AWS_ACCESS_KEY_ID: dynamo.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: dynamo.credentials.secretAccessKey,
    GAMMA_API_URL: `${fixtures.url}/gamma`,
    CLOB_API_URL: `${fixtures.url}/clob/`,
    DEDUP_TABLE: TABLE,
    KAFKA_TOPIC: TOPIC,
    KAFKA_BOOTSTRAP_SERVERS: kafka.bootstrapServers,
    KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT',
    POWERTOOLS_SERVICE_NAME: 'polymarket-producer',
    POWERTOOLS_METRICS_NAMESPACE: 'Test',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  });
});
afterAll(async () => {
  client?.destroy();
  await Promise.all([kafka?.stop(), dynamo?.stop(), fixtures?.stop(), s3?.stop()]);
});

async function rejectedObjects(): Promise<{ source: string; reasons: string[]; rejectedBy: string; record: { id: string } }[]> {
  const lake = createS3Client({ region: s3.region, endpoint: s3.endpoint, credentials: s3.credentials });
  try {
    const listed = (await lake.send(new ListObjectsV2Command({ Bucket: LAKE, Prefix: 'rejected/polymarket-producer/' }))).Contents ?? [];
    return await Promise.all(listed.map(async (o) => JSON.parse(await (await lake.send(new GetObjectCommand({ Bucket: LAKE, Key: o.Key }))).Body!.transformToString())));
  } finally {
    lake.destroy();
  }
}

describe('the handler', { shuffle: false }, () => {
  // One environment's life: a scheduled run, a warm manual run that finds it all produced, then
  // Kafka stopped under a producer already connected (the last test: it stops the broker).
  it('runs on a scheduled event, produces every tick and publishes a metric per count', async () => {
    const { handler } = await import('../../src/handler.ts');
    const { value, metrics } = await emfDuring(() => handler(scheduled, context(60_000, 'req-1')));
    expect(value).toMatchObject({ markets: { fetched: 6, accepted: 4, rejected: 2 }, ticks: 8, new: 8, produced: 8 });
    expect(metrics).toMatchObject({
      MarketsFetched: 6,
      MarketsAccepted: 4,
      MarketsRejected: 2,
      RejectsNotKept: 0,
      MarketsRepeated: 0,
      PricesFromClob: 6,
      PricesFromGamma: 2,
      OutcomesUnpriced: 0,
      ClobFailedBatches: 0,
      TicksBuilt: 8,
      TicksNew: 8,
      TicksDuplicate: 0,
      TicksInFlight: 0,
      TicksProduced: 8,
      service: 'polymarket-producer',
    });
    const messages = await readKafkaTopic(kafka.bootstrapServers, TOPIC);
    expect(messages).toHaveLength(8);
    // CLOB_API_URL was given with a trailing slash: the source names the base URL without it.
    expect(messages.filter((m) => m.headers.source === `${fixtures.url}/clob`)).toHaveLength(6);
    // Both rejected records are in S3, each with its reasons and the record as Gamma sent it.
    expect(value).toMatchObject({ rejects: { kept: 2, keptNow: 2, notKept: 0 } });
    const kept = await rejectedObjects();
    expect(kept.map((o) => o.record.id).sort()).toEqual(['604001', '604002']);
    expect(kept.find((o) => o.record.id === '604001')).toMatchObject({
      source: `${fixtures.url}/gamma/markets`,
      reasons: ['conditionId: missing'],
      rejectedBy: 'polymarket-producer',
      record: markets.find((m) => m.id === '604001'),
    });
  });

  it('takes {} as a manual run and, warm, finds everything already produced', async () => {
    const { handler } = await import('../../src/handler.ts');
    const { value, metrics } = await emfDuring(() => handler({}, context(60_000, 'req-2')));
    expect(value).toMatchObject({ ticks: 8, new: 0, duplicate: 8, produced: 0 });
    // Rejected again, the same markets: kept already, no new objects.
    expect(value).toMatchObject({ rejects: { kept: 2, keptNow: 0, notKept: 0 } });
    expect(await rejectedObjects()).toHaveLength(2);
    expect(metrics).toMatchObject({ TicksBuilt: 8, TicksNew: 0, TicksDuplicate: 8, TicksProduced: 0 });
    expect(await readKafkaTopic(kafka.bootstrapServers, TOPIC)).toHaveLength(8);
  });

  it('refuses an event it does not understand before doing anything', async () => {
    const { handler } = await import('../../src/handler.ts');
    const before = fixtures.requests.length;
    await expect(handler({ markets: ['601204'] }, context(60_000, 'req-3'))).rejects.toMatchObject({ name: 'InputValidationError' });
    expect(fixtures.requests.length).toBe(before);
  });

  it('a retry that finds claims its killed earlier attempt left fails saying so; another run counts them in flight', async () => {
    const { handler } = await import('../../src/handler.ts');
    markets = markets.map((m) => (m.id === '601204' ? { ...m, updatedAt: '2026-11-25T21:10:00Z' } : m));
    const ids = ['601204:Yes:2026-11-25T21:10:00.000Z:0.72#2', '601204:No:2026-11-25T21:10:00.000Z:0.29#2'];
    // Attempt 1 of request req-5 claimed both ticks, then was killed before it could produce or release them.
    await new DedupStore({ client, tableName: TABLE }).claim(DEDUP_SCOPE, ids, { origin: 'req-5', leaseMs: 60_000 });
    await expect(handler(scheduled, context(60_000, 'req-5'))).rejects.toMatchObject({ name: 'EarlierAttemptClaimsError', ids, outcome: { fresh: 0, duplicates: 6, inFlight: 2 } });
    const other = (await handler(scheduled, context(60_000, 'req-6'))) as { new: number; duplicate: number; inFlight: number };
    expect(other).toMatchObject({ new: 0, duplicate: 6, inFlight: 2 });
    expect(await readKafkaTopic(kafka.bootstrapServers, TOPIC)).toHaveLength(8);
  });

  it('a flush that fails after delivering some ticks still counts them in its metrics; the retry counts the rest', async () => {
    const { handler } = await import('../../src/handler.ts');
    markets = markets.map((m) => (m.id === '601204' ? { ...m, updatedAt: '2026-11-25T21:15:00Z' } : m));
    // The environment's producer (getProducer keeps one per configuration): its next send delivers
    // the first tick for real, then fails as a flush that ran out of time for the second.
    const producer = await getProducer(kafkaEnvOf(configSchema.parse(process.env)));
    const send = producer.send.bind(producer);
    const spy = vi.spyOn(producer, 'send').mockImplementationOnce(async (messages, options) => {
      const sent = await send(messagesOf(messages).slice(0, 1), options);
      throw new FlushTimeoutError(sent.delivered, messages.length, options.timeoutMs, messagesOf(messages).map((_, i) => i === 0));
    });
    const failed = await emfDuring(() => handler(scheduled, context(60_000, 'req-7'))).catch((err: Error & { metrics: Record<string, unknown> }) => err);
    spy.mockRestore();
    expect(failed).toBeInstanceOf(FlushTimeoutError);
    // One of the two new ticks was delivered, and confirmed: this run's to count.
    const metrics = (failed as unknown as { metrics: Record<string, number> }).metrics;
    expect(metrics).toMatchObject({ TicksBuilt: 8, TicksNew: 1, TicksDuplicate: 6, TicksInFlight: 0, TicksReleased: 1, TicksProduced: 1, DedupRefreshFailed: 0 });
    // Every tick built is counted once, the one handed back to the retry too.
    const { TicksNew = 0, TicksDuplicate = 0, TicksInFlight = 0, TicksReleased = 0, TicksBuilt } = metrics;
    expect(TicksNew + TicksDuplicate + TicksInFlight + TicksReleased).toBe(TicksBuilt);
    expect(metrics.ProducedBytes).toBeGreaterThan(0);
    const retry = await emfDuring(() => handler(scheduled, context(60_000, 'req-7')));
    expect(retry.metrics).toMatchObject({ TicksNew: 1, TicksDuplicate: 7, TicksProduced: 1 });
    expect(await readKafkaTopic(kafka.bootstrapServers, TOPIC)).toHaveLength(10);
  });

  it('fails the invocation when Kafka cannot take the ticks in time, leaving them to the retry', async () => {
    const { handler } = await import('../../src/handler.ts');
    markets = markets.map((m) => (m.id === '601204' ? { ...m, updatedAt: '2026-11-25T21:20:00Z' } : m));
    await kafka.stop();
    // 5 s left: the runtime keeps 1 s back, and the fetches and claims before the flush have ~4 s
    // even on a loaded machine; the stopped broker is what runs the flush out of time.
    // What the run read is still in its metrics: a failed run is when they matter.
    await expect(emfDuring(() => handler(scheduled, context(5_000, 'req-4')))).rejects.toMatchObject({
      name: 'FlushTimeoutError',
      metrics: { MarketsFetched: 6, MarketsAccepted: 4, MarketsRejected: 2, TicksBuilt: 8 },
    });
    // The claims were released: the retry can take (and produce) both ticks.
    const store = new DedupStore({ client, tableName: TABLE });
    const ids = ['601204:Yes:2026-11-25T21:20:00.000Z:0.72#3', '601204:No:2026-11-25T21:20:00.000Z:0.29#3'];
    await expect(store.claim(DEDUP_SCOPE, ids)).resolves.toEqual({ claimed: ids, duplicates: [], inFlight: [] });
  });
});
