import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { type DynamoEmulator, startDynamoDB } from '@laminar/emulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DedupStore, type DedupOptions, EarlierAttemptClaimsError, ensureTable, invocationLeaseMs, type PublishOutcome, publishOnce } from '../../src/index.ts';

const TABLE = 'laminar-local-dedup';
let db: DynamoEmulator;
let client: DynamoDBClient;
const clients: DynamoDBClient[] = [];

/** A separate client per simulated invocation: its own connections, as separate Lambdas have. */
function newClient(): DynamoDBClient {
  const c = new DynamoDBClient({ endpoint: db.endpoint, region: db.region, credentials: db.credentials });
  c.middlewareStack.add(
    (next, context) => (args) => {
      if (context.commandName === 'PutItemCommand') conditionalPuts++;
      return next(args);
    },
    { step: 'initialize' },
  );
  clients.push(c);
  return c;
}
/** Conditional puts sent by all clients: more than the ids claimed means claims really collided. */
let conditionalPuts = 0;
const store = (options: Partial<DedupOptions> = {}) => new DedupStore({ client, tableName: TABLE, ...options });
const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `item-${from + i}`);
let scopeCounter = 0;
/** Each test works in its own scope of the one table. */
const freshScope = () => `scope${++scopeCounter}`;

beforeAll(async () => {
  db = await startDynamoDB();
  client = newClient();
  await ensureTable(client, TABLE, 'dedup');
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await db?.stop();
});

describe('ensureTable', () => {
  it('creates an on-demand table keyed by pk, and is idempotent', async () => {
    await ensureTable(client, TABLE, 'dedup');
    const { Table } = await client.send(new DescribeTableCommand({ TableName: TABLE }));
    expect(Table?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(Table?.TableStatus).toBe('ACTIVE');
  });

  it('refuses an existing table with another key', async () => {
    await client.send(
      new CreateTableCommand({
        TableName: 'wrong-key',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await expect(ensureTable(client, 'wrong-key', 'dedup')).rejects.toThrow(/exists with key .*but a dedup table needs \[{"AttributeName":"pk","KeyType":"HASH"}\]/);
  });
});

describe('DedupStore against the embedded DynamoDB', () => {
  it('claims new ids, reports confirmed ones as duplicates and repeats within a batch too', async () => {
    const scope = freshScope();
    const s = store();
    const first = await s.claim(scope, ['a', 'b', 'a', 'c', 'b']);
    expect(first).toEqual({ claimed: ['a', 'b', 'c'], duplicates: ['a', 'b'], inFlight: [] });
    await s.confirm(scope, first.claimed);
    const second = await s.claim(scope, ['c', 'd', 'a']);
    expect(second.claimed).toEqual(['d']);
    expect(second.duplicates.sort()).toEqual(['a', 'c']);
    // Scopes are separate namespaces.
    expect((await s.claim(freshScope(), ['a'])).claimed).toEqual(['a']);
  });

  it('confirm marks items done with the TTL attribute in epoch seconds', async () => {
    const scope = freshScope();
    const now = 1_800_000_000_000;
    const s = store({ now: () => now, ttlSeconds: 3600 });
    await s.claim(scope, ['x']);
    const pending = await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: `${scope}#x` } } }));
    expect(pending.Item).toMatchObject({ status: { S: 'pending' }, leaseUntil: { N: String(now + 900_000) } });
    await s.confirm(scope, ['x']);
    const done = await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: `${scope}#x` } } }));
    expect(done.Item).toEqual({ pk: { S: `${scope}#x` }, status: { S: 'done' }, expiresAt: { N: String(now / 1000 + 3600) } });
  });

  it('treats items past their TTL as new (dynalite never deletes them)', async () => {
    const scope = freshScope();
    let now = 1_800_000_000_000;
    const s = store({ now: () => now, ttlSeconds: 60 });
    await s.confirm(scope, (await s.claim(scope, ['old'])).claimed);
    now += 29_000;
    expect((await s.claim(scope, ['old'])).duplicates).toEqual(['old']);
    now += 32_000;
    expect((await s.claim(scope, ['old'])).claimed).toEqual(['old']);
  });

  it('keeps an id that is still being seen: past half its TTL, a sighting puts its expiry a TTL ahead', async () => {
    const scope = freshScope();
    let now = 1_800_000_000_000;
    const s = store({ now: () => now, ttlSeconds: 60 });
    const expiryOf = async (id: string) =>
      Number((await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: `${scope}#${id}` } }, ConsistentRead: true }))).Item?.expiresAt?.N);
    await s.confirm(scope, (await s.claim(scope, ['listed', 'gone'])).claimed);
    const first = await expiryOf('listed');
    expect(first).toBe(Math.floor(now / 1000) + 60);
    // Before half the TTL a sighting writes nothing.
    now += 25_000;
    expect(await s.claim(scope, ['listed'])).toEqual({ claimed: [], duplicates: ['listed'], inFlight: [] });
    expect(await expiryOf('listed')).toBe(first);
    // Past it, the expiry moves a TTL ahead of now…
    now += 10_000;
    expect(await s.claim(scope, ['listed'])).toEqual({ claimed: [], duplicates: ['listed'], inFlight: [], refreshed: 1 });
    expect(await expiryOf('listed')).toBe(Math.floor(now / 1000) + 60);
    // …so past the first expiry it is still a duplicate, while the id no longer seen is new again.
    now += 30_000;
    expect(await s.claim(scope, ['listed', 'gone'])).toMatchObject({ claimed: ['gone'], duplicates: ['listed'] });
  });

  it('lets another caller take over a claim only after its lease, and the old owner cannot release it then', async () => {
    const scope = freshScope();
    let now = 1_800_000_000_000;
    const crashed = store({ now: () => now, leaseSeconds: 10 });
    const later = store({ client: newClient(), now: () => now, leaseSeconds: 10 });
    expect((await crashed.claim(scope, ['p'])).claimed).toEqual(['p']);
    now += 9_000;
    expect(await later.claim(scope, ['p'])).toEqual({ claimed: [], duplicates: [], inFlight: ['p'] });
    now += 2_000;
    expect((await later.claim(scope, ['p'])).claimed).toEqual(['p']);
    // The first owner wakes up and releases: the claim is no longer its own, so it stays.
    await crashed.release(scope, ['p']);
    expect((await store({ now: () => now }).claim(scope, ['p'])).inFlight).toEqual(['p']);
  });

  it('release lets a retry claim the ids again', async () => {
    const scope = freshScope();
    const s = store();
    const claimed = (await s.claim(scope, ids(0, 30))).claimed;
    expect((await store().claim(scope, ids(0, 30))).inFlight).toHaveLength(30);
    await s.release(scope, claimed);
    expect((await store().claim(scope, ids(0, 30))).claimed).toEqual(ids(0, 30));
  });

  it('handles batches over the 100-key and 25-item limits', async () => {
    const scope = freshScope();
    const s = store();
    const first = await s.claim(scope, ids(0, 260));
    expect(first.claimed).toHaveLength(260);
    await s.confirm(scope, first.claimed);
    const second = await s.claim(scope, ids(200, 330));
    expect(second.claimed).toEqual(ids(260, 330));
    expect(second.duplicates).toHaveLength(60);
  });
});

describe('publishOnce against the embedded DynamoDB', () => {
  it('accounts for every record: fresh + duplicates + in flight = input', async () => {
    const scope = freshScope();
    const done = store();
    await done.confirm(scope, ids(0, 10));
    await store().claim(scope, ids(10, 15)); // someone else is publishing these
    const items = [...ids(0, 20), 'item-3', 'item-17'].map((id) => ({ id }));
    const published: string[] = [];
    const out = await publishOnce({
      store: store(),
      scope,
      items,
      idOf: (i) => i.id,
      publish: async (fresh) => void published.push(...fresh.map((i) => i.id)),
    });
    expect(published).toEqual(ids(15, 20));
    expect(out.fresh.map((i) => i.id)).toEqual(ids(15, 20));
    expect(out.duplicates).toBe(12); // 10 done + 2 repeats
    expect(out.inFlight).toBe(5);
    expect(out.released).toBe(0);
    expect(out.fresh.length + out.duplicates + out.inFlight).toBe(items.length);
  });

  it('a failed publish releases its claims; the retry publishes them and a later run finds them done', async () => {
    const scope = freshScope();
    const items = ids(0, 40);
    await expect(
      publishOnce({ store: store(), scope, items, idOf: (i) => i, publish: () => Promise.reject(new Error('flush timed out')) }),
    ).rejects.toThrow('flush timed out');
    const retry = await publishOnce({ store: store(), scope, items, idOf: (i) => i, publish: async () => {} });
    expect(retry.fresh).toEqual(items);
    const again = await publishOnce({ store: store(), scope, items, idOf: (i) => i, publish: async () => {} });
    expect(again).toEqual({ fresh: [], duplicates: 40, inFlight: 0, released: 0 });
  });

  it('a publish that fails saying which items it did publish has those confirmed and only the others released, and counts every input', async () => {
    const scope = freshScope();
    await store().confirm(scope, ['done-1']);
    await store().claim(scope, ['held-1']); // someone else is publishing it
    const items = [...ids(0, 6), 'done-1', 'held-1', 'item-0'];
    const failure = Object.assign(new Error('flush timed out: 3 of 6 delivered'), { published: [true, false, true, false, true, false] });
    const told: PublishOutcome<string>[] = [];
    await expect(publishOnce({ store: store(), scope, items, idOf: (i) => i, publish: () => Promise.reject(failure), onOutcome: (o) => told.push(o) })).rejects.toBe(failure);
    // 3 confirmed, 3 released for the retry, the done one and the repeat duplicates, the held one in flight: 9 in, 9 counted.
    expect(told).toEqual([{ fresh: [items[0], items[2], items[4]], duplicates: 2, inFlight: 1, released: 3 }]);
    const [o] = told;
    expect((o?.fresh.length ?? 0) + (o?.duplicates ?? 0) + (o?.inFlight ?? 0) + (o?.released ?? 0)).toBe(items.length);
    const retry = await publishOnce({ store: store(), scope, items: ids(0, 6), idOf: (i) => i, publish: async () => {} });
    expect(retry).toEqual({ fresh: [items[1], items[3], items[5]], duplicates: 3, inFlight: 0, released: 0 });
  });

  it('a crash between publish and confirm means a duplicate after the lease, never a lost item', async () => {
    const scope = freshScope();
    let now = 1_800_000_000_000;
    const crashed = store({ now: () => now, leaseSeconds: 60 });
    await crashed.claim(scope, ['m']); // published, then the process died before confirm
    now += 61_000;
    const out = await publishOnce({ store: store({ now: () => now }), scope, items: ['m'], idOf: (i) => i, publish: async () => {} });
    expect(out.fresh).toEqual(['m']);
  });
});

describe('claims an invocation left behind, and its retries', () => {
  // A 300 s producer, started at T; Lambda retries a failed asynchronous event 1 min after the attempt ends.
  const T = 1_800_000_000_000;
  const TIMEOUT_MS = 300_000;

  it('claims of an attempt killed at its timeout have lapsed when Lambda retries it: the retry publishes them', async () => {
    const scope = freshScope();
    let now = T;
    const items = ids(0, 5);
    // Claimed, then killed (timeout, OOM) before publishing or releasing anything.
    await store({ now: () => now }).claim(scope, items, { origin: 'req-1', leaseMs: invocationLeaseMs(TIMEOUT_MS) });
    now = T + TIMEOUT_MS + 60_000;
    const published: string[] = [];
    const retry = await publishOnce({
      store: store({ client: newClient(), now: () => now }),
      scope,
      items,
      idOf: (i) => i,
      origin: 'req-1',
      leaseMs: invocationLeaseMs(TIMEOUT_MS),
      publish: async (fresh) => void published.push(...fresh),
    });
    expect(retry).toEqual({ fresh: items, duplicates: 0, inFlight: 0, released: 0 });
    expect(published).toEqual(items);
  });

  it('a retry that finds claims its earlier attempt left still live fails saying when they lapse; other runs count them in flight', async () => {
    const scope = freshScope();
    let now = T;
    // The first attempt failed 20 s in and could not release its claims (DynamoDB refused the deletes).
    await store({ now: () => now }).claim(scope, ids(0, 3), { origin: 'req-1', leaseMs: invocationLeaseMs(TIMEOUT_MS - 20_000) });
    now = T + 20_000 + 60_000;
    const published: string[] = [];
    const retry = publishOnce({
      store: store({ client: newClient(), now: () => now }),
      scope,
      items: ids(0, 5),
      idOf: (i) => i,
      origin: 'req-1',
      leaseMs: invocationLeaseMs(TIMEOUT_MS),
      publish: async (fresh) => void published.push(...fresh),
    });
    await expect(retry).rejects.toThrow(EarlierAttemptClaimsError);
    const error = (await retry.catch((e: unknown) => e)) as EarlierAttemptClaimsError;
    expect(error.ids).toEqual(ids(0, 3));
    expect(error.lapsesAt).toEqual(new Date(T + TIMEOUT_MS - 20_000 + 30_000));
    expect(error.message).toMatch(/^3 items are still claimed by an earlier attempt of this invocation, .*lapse at 2027-01-15T08:05:10\.000Z/);
    // The items no earlier attempt held went out, and every item is accounted for.
    expect(published).toEqual(ids(3, 5));
    expect(error.outcome).toEqual({ fresh: 2, duplicates: 0, inFlight: 3 });
    // Another invocation (the next schedule) cannot tell them from a run still publishing: in flight, no error.
    expect(await publishOnce({ store: store({ now: () => now }), scope, items: ids(0, 5), idOf: (i) => i, origin: 'req-2', publish: async () => {} })).toEqual({
      fresh: [],
      duplicates: 2,
      inFlight: 3,
      released: 0,
    });
    // Once they lapse, whichever run comes next publishes them (the next schedule, say).
    now = T + TIMEOUT_MS - 20_000 + 30_000 + 1;
    const later = await publishOnce({ store: store({ now: () => now }), scope, items: ids(0, 5), idOf: (i) => i, origin: 'req-3', publish: async (fresh) => void published.push(...fresh) });
    expect(later).toEqual({ fresh: ids(0, 3), duplicates: 2, inFlight: 0, released: 0 });
    expect(published).toEqual([...ids(3, 5), ...ids(0, 3)]);
  });
});

describe('the race: concurrent invocations with overlapping items', () => {
  it('publishes every id exactly once across two invocations (200 ids each, 50 % overlap, 4 rounds)', async () => {
    let contested = 0;
    for (let round = 0; round < 4; round++) {
      const scope = freshScope();
      const putsBefore = conditionalPuts;
      const publishedBy = new Map<string, string[]>();
      const invoke = async (name: string, items: string[], delayMs: number) => {
        await new Promise((r) => setTimeout(r, delayMs));
        const out = await publishOnce({
          store: new DedupStore({ client: newClient(), tableName: TABLE }),
          scope,
          items,
          idOf: (i) => i,
          publish: async (fresh) => {
            for (const id of fresh) publishedBy.set(id, [...(publishedBy.get(id) ?? []), name]);
            await new Promise((r) => setTimeout(r, 5));
          },
        });
        expect(out.fresh.length + out.duplicates + out.inFlight).toBe(items.length);
        return out;
      };
      // Different start offsets per round give different interleavings of reads and claims.
      await Promise.all([invoke('A', ids(0, 200), 0), invoke('B', ids(100, 300), round * 3)]);
      const twice = [...publishedBy].filter(([, by]) => by.length > 1);
      expect(twice).toEqual([]);
      expect(publishedBy.size).toBe(300);
      contested += conditionalPuts - putsBefore - 300;
    }
    // Both invocations read the overlap as free and raced for it with conditional puts.
    expect(contested).toBeGreaterThan(0);
  });

  it('four claimers of the same 100 ids: exactly one winner per id', async () => {
    const scope = freshScope();
    const results = await Promise.all(
      Array.from({ length: 4 }, () => new DedupStore({ client: newClient(), tableName: TABLE }).claim(scope, ids(0, 100))),
    );
    const wins = new Map<string, number>();
    for (const r of results) for (const id of r.claimed) wins.set(id, (wins.get(id) ?? 0) + 1);
    expect(wins.size).toBe(100);
    expect([...wins.values()].every((n) => n === 1)).toBe(true);
    for (const r of results) expect(r.claimed.length + r.duplicates.length + r.inFlight.length).toBe(100);
  });
});
