import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { type DynamoEmulator, startDynamoDB } from '@laminar/emulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTable, LatestValueStore } from '../../src/index.ts';

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
  it('numbers a key from 1 and +1 per change, each recorded only over the record read, kept twice the TTL', async () => {
    const scope = freshScope();
    const store = latest();
    expect(await store.read(scope, ['m1:Yes', 'm1:No'])).toEqual(new Map());
    expect((await store.advance(scope, [{ key: 'm1:Yes', value: 'A' }])).numbers).toEqual(new Map([['m1:Yes', 1]]));
    const read = await store.read(scope, ['m1:Yes', 'm1:No', 'm1:Yes']);
    expect([...read]).toEqual([['m1:Yes', { value: 'A', seq: 1, expiresAt: clock / 1000 + 2 * TTL }]]);
    const { Item } = await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: `${scope}#m1:Yes` } } }));
    expect(Item).toEqual({ pk: { S: `${scope}#m1:Yes` }, value: { S: 'A' }, seq: { N: '1' }, expiresAt: { N: String(clock / 1000 + 2 * TTL) } });

    const b = await store.advance(scope, [{ key: 'm1:Yes', value: 'B', seen: read.get('m1:Yes') }]);
    expect(b).toEqual({ numbers: new Map([['m1:Yes', 2]]), failed: [] });
    const again = (await store.read(scope, ['m1:Yes'])).get('m1:Yes');
    expect((await store.advance(scope, [{ key: 'm1:Yes', value: 'A', seen: again }])).numbers).toEqual(new Map([['m1:Yes', 3]]));
    expect((await store.read(scope, ['m1:Yes'])).get('m1:Yes')).toMatchObject({ value: 'A', seq: 3 });
  });

  it('of two runs that read the same record, the first records its change; the other gets no number, or the same one for the same value', async () => {
    const scope = freshScope();
    const store = latest();
    await store.advance(scope, [{ key: 'k', value: 'A' }, { key: 'fresh', value: 'X' }]);
    const seen = (await store.read(scope, ['k'])).get('k');
    expect((await store.advance(scope, [{ key: 'k', value: 'B', seen }])).numbers).toEqual(new Map([['k', 2]]));
    // The other run saw C from the same record: no number, nothing to publish for k.
    expect((await store.advance(scope, [{ key: 'k', value: 'C', seen }])).numbers).toEqual(new Map());
    // A third saw B too: the same change, under the winner's number.
    expect((await store.advance(scope, [{ key: 'k', value: 'B', seen }])).numbers).toEqual(new Map([['k', 2]]));
    // A run that read no record where another has since been made.
    expect((await store.advance(scope, [{ key: 'fresh', value: 'Y' }])).numbers).toEqual(new Map());
    expect((await store.read(scope, ['k', 'fresh'])).get('k')).toMatchObject({ value: 'B', seq: 2 });
  });

  it('records a change only over a record of an earlier reading: a run that read its source first and reached the table last gets no number', async () => {
    const scope = freshScope();
    const store = latest();
    await store.advance(scope, [{ key: 'k', value: 'A', observedAt: 1_000 }]);
    // Run B read its source at 3,000 and recorded first.
    const a = (await store.read(scope, ['k'])).get('k');
    expect(a).toMatchObject({ value: 'A', seq: 1, observedAt: 1_000 });
    expect((await store.advance(scope, [{ key: 'k', value: 'B', seen: a, observedAt: 3_000 }])).numbers).toEqual(new Map([['k', 2]]));
    // Run C read at 2,000 (before B) but only now reads the record, B's: C's price is older than
    // the one recorded as the newest change, and numbering it 3 would make consumers that keep
    // the highest number hold it.
    const b = (await store.read(scope, ['k'])).get('k');
    expect(b).toMatchObject({ value: 'B', seq: 2, observedAt: 3_000 });
    expect(await store.advance(scope, [{ key: 'k', value: 'C', seen: b, observedAt: 2_000 }])).toEqual({ numbers: new Map(), failed: [] });
    // The same reading time is no later either; a later reading moves it on.
    expect((await store.advance(scope, [{ key: 'k', value: 'C', seen: b, observedAt: 3_000 }])).numbers).toEqual(new Map());
    expect((await store.advance(scope, [{ key: 'k', value: 'D', seen: b, observedAt: 4_000 }])).numbers).toEqual(new Map([['k', 3]]));
    expect((await store.read(scope, ['k'])).get('k')).toMatchObject({ value: 'D', seq: 3, observedAt: 4_000 });
    // A change without a reading time leaves none from the record before it.
    const d = (await store.read(scope, ['k'])).get('k');
    expect((await store.advance(scope, [{ key: 'k', value: 'E', seen: d }])).numbers).toEqual(new Map([['k', 4]]));
    const e = (await store.read(scope, ['k'])).get('k');
    expect(e).toEqual({ value: 'E', seq: 4, expiresAt: clock / 1000 + 2 * TTL });
  });

  it('renews an unchanged record only once less than 1.5 TTL is left on it, and never one moved on', async () => {
    const scope = freshScope();
    const store = latest();
    await store.advance(scope, [{ key: 'k', value: 'A' }, { key: 'moved', value: 'A' }]);
    const read = await store.read(scope, ['k', 'moved']);
    const seen = read.get('k') as NonNullable<ReturnType<typeof read.get>>;
    expect(await store.renew(scope, [{ key: 'k', seen }])).toEqual({ renewed: 0, failed: 0 });
    clock += (TTL / 2 - 60) * 1000;
    expect(await store.renew(scope, [{ key: 'k', seen }])).toEqual({ renewed: 0, failed: 0 });
    clock += 120 * 1000;
    await store.advance(scope, [{ key: 'moved', value: 'B', seen: read.get('moved') }]);
    expect(await store.renew(scope, [{ key: 'k', seen }, { key: 'moved', seen: read.get('moved') as typeof seen }])).toEqual({ renewed: 1, failed: 0 });
    expect((await store.read(scope, ['k'])).get('k')?.expiresAt).toBe(clock / 1000 + 2 * TTL);
    expect((await store.read(scope, ['moved'])).get('moved')).toMatchObject({ value: 'B', seq: 2 });
  });

  it('takes a record past its TTL for absent, and lets numbering start again over it', async () => {
    const scope = freshScope();
    const store = latest();
    await store.advance(scope, [{ key: 'k', value: 'B' }]);
    clock += (2 * TTL + 1) * 1000;
    expect(await store.read(scope, ['k'])).toEqual(new Map());
    expect((await store.advance(scope, [{ key: 'k', value: 'A' }])).numbers).toEqual(new Map([['k', 1]]));
    expect((await store.read(scope, ['k'])).get('k')).toMatchObject({ value: 'A', seq: 1 });
  });

  it('lists the changes the table refuses (no number: nothing may be published for them), counts refused renewals', async () => {
    const missing = new LatestValueStore({ client, tableName: 'no-such-table', ttlSeconds: TTL });
    const advanced = await missing.advance('s', [{ key: 'a', value: 'A' }, { key: 'b', value: 'B' }]);
    expect(advanced).toMatchObject({ numbers: new Map(), failed: expect.arrayContaining(['a', 'b']) });
    expect(String(advanced.error)).toMatch(/ResourceNotFound|non-existent table|not found/i);
    const seen = { value: 'A', seq: 1, expiresAt: 0 };
    const out = await missing.renew('s', [{ key: 'a', seen }, { key: 'b', seen }]);
    expect(out).toMatchObject({ renewed: 0, failed: 2 });
    expect(String(out.error)).toMatch(/ResourceNotFound|non-existent table|not found/i);
  });
});
