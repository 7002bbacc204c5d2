import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { type DynamoEmulator, startDynamoDB } from '@laminar/emulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DedupStore, ensureTable, LatestValueStore, publishOnce } from '../../src/index.ts';

const TABLE = 'laminar-local-latest';
const TTL = 3600;
let db: DynamoEmulator;
let client: DynamoDBClient;
let clock = 1_700_000_000_000;
const latest = () => new LatestValueStore({ client, tableName: TABLE, ttlSeconds: TTL, now: () => clock });
let scopeCounter = 0;
const freshScope = () => `latest${++scopeCounter}`;

beforeAll(async () => {
  db = await startDynamoDB();
  client = new DynamoDBClient({ endpoint: db.endpoint, region: db.region, credentials: db.credentials });
  await ensureTable(client, TABLE, 'dedup');
});
afterAll(async () => {
  client?.destroy();
  await db?.stop();
});

describe('LatestValueStore', () => {
  it('reads nothing for unseen keys, then what was recorded, kept twice the TTL', async () => {
    const scope = freshScope();
    const store = latest();
    expect(await store.read(scope, ['m1:Yes', 'm1:No'])).toEqual(new Map());
    expect(await store.record(scope, [{ key: 'm1:Yes', value: 'A', seq: 1 }])).toEqual({ written: 1, failed: 0 });
    const read = await store.read(scope, ['m1:Yes', 'm1:No', 'm1:Yes']);
    expect([...read]).toEqual([['m1:Yes', { value: 'A', seq: 1, expiresAt: clock / 1000 + 2 * TTL }]]);
    const { Item } = await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: `${scope}#m1:Yes` } } }));
    expect(Item).toEqual({ pk: { S: `${scope}#m1:Yes` }, value: { S: 'A' }, seq: { N: '1' }, expiresAt: { N: String(clock / 1000 + 2 * TTL) } });
  });

  it('only moves forward: a later change wins, an earlier one or another value under the same number is not written', async () => {
    const scope = freshScope();
    const store = latest();
    await store.record(scope, [{ key: 'k', value: 'B', seq: 2 }]);
    // Two runs recording at once, one with an older view: the record stays at the later change.
    expect(await store.record(scope, [{ key: 'k', value: 'A', seq: 1 }])).toEqual({ written: 0, failed: 0 });
    expect(await store.record(scope, [{ key: 'k', value: 'C', seq: 2 }])).toEqual({ written: 0, failed: 0 });
    expect((await store.read(scope, ['k'])).get('k')).toMatchObject({ value: 'B', seq: 2 });
    expect(await store.record(scope, [{ key: 'k', value: 'A', seq: 3 }])).toEqual({ written: 1, failed: 0 });
    expect((await store.read(scope, ['k'])).get('k')).toMatchObject({ value: 'A', seq: 3 });
  });

  it('renews an unchanged record only once less than one TTL is left on it', async () => {
    const scope = freshScope();
    const store = latest();
    await store.record(scope, [{ key: 'k', value: 'A', seq: 1 }]);
    const seen = (await store.read(scope, ['k'])).get('k');
    expect(await store.record(scope, [{ key: 'k', value: 'A', seq: 1, seen }])).toEqual({ written: 0, failed: 0 });
    clock += (TTL + 60) * 1000;
    expect(await store.record(scope, [{ key: 'k', value: 'A', seq: 1, seen }])).toEqual({ written: 1, failed: 0 });
    expect((await store.read(scope, ['k'])).get('k')?.expiresAt).toBe(clock / 1000 + 2 * TTL);
  });

  it('takes a record past its TTL for absent, and lets numbering start again over it', async () => {
    const scope = freshScope();
    const store = latest();
    await store.record(scope, [{ key: 'k', value: 'B', seq: 7 }]);
    clock += (2 * TTL + 1) * 1000;
    expect(await store.read(scope, ['k'])).toEqual(new Map());
    expect(await store.record(scope, [{ key: 'k', value: 'A', seq: 1 }])).toEqual({ written: 1, failed: 0 });
    expect((await store.read(scope, ['k'])).get('k')).toMatchObject({ value: 'A', seq: 1 });
  });

  it('counts writes the table refuses instead of throwing', async () => {
    const missing = new LatestValueStore({ client, tableName: 'no-such-table', ttlSeconds: TTL });
    const out = await missing.record('s', [{ key: 'a', value: 'A', seq: 1 }, { key: 'b', value: 'B', seq: 1 }]);
    expect(out).toMatchObject({ written: 0, failed: 2 });
    expect(String(out.error)).toMatch(/ResourceNotFound|non-existent table|not found/i);
  });
});

describe('publishOnce onDuplicates', () => {
  it('names the items whose ids were already published, once each, not those claimed or repeated', async () => {
    const scope = freshScope();
    const store = new DedupStore({ client, tableName: TABLE });
    await publishOnce({ store, scope, items: ['a', 'b'], idOf: (x) => x, publish: async () => undefined });
    let told: string[] | undefined;
    const out = await publishOnce({
      store,
      scope,
      items: ['a', 'c', 'a', 'c', 'b'],
      idOf: (x) => x,
      publish: async () => undefined,
      onDuplicates: (items) => {
        told = items;
      },
    });
    expect(out).toMatchObject({ fresh: ['c'], duplicates: 4, inFlight: 0 });
    expect(told).toEqual(['a', 'b']);
  });
});
