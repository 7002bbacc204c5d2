import { readFileSync } from 'node:fs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDBClient } from '@laminar/aws';
import { DedupStore, ensureTable, LatestValueStore } from '@laminar/dedup';
import {
  type ConsumedKafkaMessage,
  type DynamoEmulator,
  type HttpFixtures,
  type KafkaEmulator,
  readKafkaTopic,
  startDynamoDB,
  startHttpFixtures,
  startKafka,
} from '@laminar/emulators';
import { getProducer, type KafkaProducer } from '@laminar/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunDeps, runOnce } from '../../src/run.ts';
import type { PriceTickPayload } from '../../src/ticks.ts';

/**
 * The whole function against real servers: the local fixture set served over HTTP the way the
 * local runner serves it (static files by path, whatever the query), librdkafka's mock cluster,
 * and dynalite for dedup.
 */
const read = (path: string) => JSON.parse(readFileSync(new URL(`../../fixtures/http/${path}`, import.meta.url), 'utf8'));
const MARKETS = read('gamma/markets.json') as Record<string, unknown>[];
const MIDPOINTS = read('clob/midpoints.json') as Record<string, string>;
const TOPIC = 'polymarket-prices-it';
const TABLE = 'polymarket-dedup-it';

let kafka: KafkaEmulator;
let dynamo: DynamoEmulator;
let fixtures: HttpFixtures;
let client: DynamoDBClient;
let producer: KafkaProducer;
let markets = MARKETS;
let midpoints = MIDPOINTS;

beforeAll(async () => {
  [kafka, dynamo, fixtures] = await Promise.all([
    startKafka(),
    startDynamoDB(),
    startHttpFixtures({
      '/gamma/markets': () => ({ body: JSON.stringify(markets) }),
      '/clob/midpoints': () => ({ body: JSON.stringify(midpoints) }),
    }),
  ]);
  client = createDynamoDBClient({ region: dynamo.region, endpoint: dynamo.endpoint, credentials: dynamo.credentials });
  await ensureTable(client, TABLE, 'dedup');
  producer = await getProducer({
    KAFKA_BOOTSTRAP_SERVERS: kafka.bootstrapServers,
    KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT',
    KAFKA_SASL_MECHANISM: 'PLAIN',
  });
});
afterAll(async () => {
  await producer?.close();
  client?.destroy();
  await Promise.all([kafka?.stop(), dynamo?.stop(), fixtures?.stop()]);
});

function run(store = new DedupStore({ client, tableName: TABLE }), latest = new LatestValueStore({ client, tableName: TABLE })): ReturnType<typeof runOnce> {
  const deps: RunDeps = {
    config: {
      GAMMA_API_URL: `${fixtures.url}/gamma`,
      CLOB_API_URL: `${fixtures.url}/clob`,
      MAX_MARKETS: 500,
      HTTP_TIMEOUT_MS: 5_000,
      KAFKA_TOPIC: TOPIC,
    },
    store,
    latest,
    producer,
    deadline: { remainingMs: () => 30_000, check: () => undefined },
  };
  return runOnce(deps);
}

const payloadOf = (m: ConsumedKafkaMessage) => JSON.parse(String(m.value)).payload as PriceTickPayload;
const GOOD_IDS = ['601204', '603550', '601377', '602015'];

/** A copy of the fixture market `id` with a new updatedAt and Gamma prices. */
function updated(id: string, updatedAt: string, prices: [string, string]) {
  return markets.map((m) => (m.id === id ? { ...m, updatedAt, outcomePrices: JSON.stringify(prices) } : m));
}

describe('polymarket-producer end to end (fixtures → Kafka, dedup in DynamoDB)', { shuffle: false }, () => {
  // Steps of one scenario: each test continues from the state the one before left (the dedup
  // table, the topic, the fixture markets), so the order is pinned (vitest --sequence.shuffle.tests leaves it).
  it('produces one tick per outcome of every valid market on the first run', async () => {
    const result = await run();
    expect(result).toEqual({
      markets: { fetched: 6, accepted: 4, rejected: 2, repeated: 0, pages: 1 },
      rejections: [
        { marketId: '604001', reason: 'conditionId: missing' },
        { marketId: '604002', reason: expect.stringMatching(/^clobTokenIds: not a JSON-encoded array/) },
      ],
      prices: { clob: 6, gamma: 2, unpriced: 0, gammaUnusable: 0, clobRequests: 1, clobFailedBatches: 0 },
      ticks: 8,
      new: 8,
      duplicate: 0,
      inFlight: 0,
      produced: 8,
      bytes: expect.any(Number),
      flushMs: expect.any(Number),
    });

    const messages = await readKafkaTopic(kafka.bootstrapServers, TOPIC);
    expect(messages).toHaveLength(8);
    expect(new Set(messages.map((m) => m.key))).toEqual(new Set(GOOD_IDS));
    // All outcomes of a market on one partition.
    for (const id of GOOD_IDS) expect(new Set(messages.filter((m) => m.key === id).map((m) => m.partition)).size).toBe(1);

    const ecbYes = messages.find((m) => m.headers.id === '601204:Yes:2026-11-25T20:58:41.391Z:0.72#1');
    expect(ecbYes?.headers).toMatchObject({ type: 'polymarket.price_tick', 'schema-version': '1', source: `${fixtures.url}/clob` });
    expect(JSON.parse(String(ecbYes?.value))).toMatchObject({
      schemaVersion: 1,
      type: 'polymarket.price_tick',
      id: '601204:Yes:2026-11-25T20:58:41.391Z:0.72#1',
      observedAt: '2026-11-25T20:58:41.391Z',
      payload: { marketId: '601204', outcome: 'Yes', price: 0.72, priceSource: 'clob-midpoint', question: expect.stringMatching(/ECB/) },
    });
    // No order book for 603550: Gamma's price, and the envelope names Gamma as the source.
    const pope = messages.filter((m) => m.key === '603550');
    expect(pope.map((m) => [payloadOf(m).outcome, payloadOf(m).price, payloadOf(m).priceSource, m.headers.source])).toEqual(
      expect.arrayContaining([
        ['Yes', 0.0125, 'gamma-outcome-prices', `${fixtures.url}/gamma`],
        ['No', 0.9875, 'gamma-outcome-prices', `${fixtures.url}/gamma`],
      ]),
    );
  });

  it('produces nothing new when nothing changed', async () => {
    await expect(run()).resolves.toMatchObject({ ticks: 8, new: 0, duplicate: 8, inFlight: 0, produced: 0 });
    expect(await readKafkaTopic(kafka.bootstrapServers, TOPIC)).toHaveLength(8);
  });

  it('produces a CLOB move while Gamma\'s record (its updatedAt) stays as it was: the price is part of the state', async () => {
    const [yesToken] = JSON.parse(markets.find((m) => m.id === '601377')?.clobTokenIds as string) as string[];
    midpoints = { ...MIDPOINTS, [yesToken as string]: '0.5' };
    await expect(run()).resolves.toMatchObject({ new: 1, duplicate: 7, produced: 1 });
    const messages = await readKafkaTopic(kafka.bootstrapServers, TOPIC);
    expect(messages).toHaveLength(9);
    expect(messages.map((m) => [m.key, payloadOf(m).outcome, payloadOf(m).price])).toContainEqual(['601377', 'Lakers', 0.5]);
    // Read again unchanged: nothing new.
    await expect(run()).resolves.toMatchObject({ new: 0, duplicate: 8, produced: 0 });
  });

  it('produces a price that moves back to its earlier value under the same updatedAt (A → B → A), as a new change', async () => {
    midpoints = MIDPOINTS;
    await expect(run()).resolves.toMatchObject({ new: 1, duplicate: 7, produced: 1 });
    const messages = await readKafkaTopic(kafka.bootstrapServers, TOPIC);
    expect(messages).toHaveLength(10);
    const lakers = messages.filter((m) => m.key === '601377' && payloadOf(m).outcome === 'Lakers');
    // The same state as the first tick, under the next number: consumers end on the price that holds.
    expect(lakers.map((m) => [payloadOf(m).price, m.headers.id?.replace(/^.*#/, '#'), payloadOf(m).change])).toEqual([
      [payloadOf(lakers[0] as ConsumedKafkaMessage).price, '#1', 1],
      [0.5, '#2', 2],
      [payloadOf(lakers[0] as ConsumedKafkaMessage).price, '#3', 3],
    ]);
    await expect(run()).resolves.toMatchObject({ new: 0, duplicate: 8, produced: 0 });
  });

  it('produces a change a run recorded and was killed before producing, under the number it recorded', async () => {
    const [yesToken] = JSON.parse(markets.find((m) => m.id === '601377')?.clobTokenIds as string) as string[];
    midpoints = { ...MIDPOINTS, [yesToken as string]: '0.45' };
    // What the killed run did before it died: read the outcome's record, record the move as change 4.
    const latest = new LatestValueStore({ client, tableName: TABLE });
    const seen = (await latest.read('polymarket-latest', ['601377:Lakers'])).get('601377:Lakers');
    expect(seen?.seq).toBe(3);
    const state = `${seen?.value.replace(/:[^:]*$/, '')}:0.45`;
    expect((await latest.advance('polymarket-latest', [{ key: '601377:Lakers', value: state, seen }])).numbers).toEqual(new Map([['601377:Lakers', 4]]));
    await expect(run()).resolves.toMatchObject({ new: 1, duplicate: 7, produced: 1 });
    const messages = await readKafkaTopic(kafka.bootstrapServers, TOPIC);
    expect(messages).toHaveLength(11);
    // Order holds within a key's partition only: the reader interleaves partitions as they come.
    const lakers = messages.filter((m) => m.key === '601377' && payloadOf(m).outcome === 'Lakers');
    expect(lakers.at(-1)?.headers.id).toBe(`${state}#4`);
    await expect(run()).resolves.toMatchObject({ new: 0, duplicate: 8, produced: 0 });
    midpoints = { ...MIDPOINTS, [yesToken as string]: '0.5' };
  });

  it('produces just the changed market\'s ticks once its record changes', async () => {
    markets = updated('601377', '2026-11-25T21:06:12.250113Z', ['0.49', '0.51']);
    const result = await run();
    expect(result).toMatchObject({ ticks: 8, new: 2, duplicate: 6, produced: 2 });
    const messages = await readKafkaTopic(kafka.bootstrapServers, TOPIC);
    expect(messages).toHaveLength(13);
    const fresh = messages.filter((m) => payloadOf(m).observedAt === '2026-11-25T21:06:12.250Z');
    expect(fresh.map((m) => [m.key, payloadOf(m).outcome, payloadOf(m).price, payloadOf(m).priceSource])).toEqual(
      expect.arrayContaining([
        ['601377', 'Lakers', 0.5, 'clob-midpoint'],
        ['601377', 'Celtics', 0.575, 'clob-midpoint'],
      ]),
    );
    expect(fresh).toHaveLength(2);
  });

  it('lets only one of two concurrent invocations produce a new tick', async () => {
    markets = updated('602015', '2026-11-25T21:10:00.5Z', ['0.2', '0.8']);
    const results = await Promise.all([run(), run()]);
    expect(results.map((r) => r.new).reduce((a, b) => a + b)).toBe(2);
    for (const r of results) expect(r.new + r.duplicate + r.inFlight).toBe(8);
    expect(await readKafkaTopic(kafka.bootstrapServers, TOPIC)).toHaveLength(15);
  });
});
