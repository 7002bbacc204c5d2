import { afterEach, describe, expect, it, vi } from 'vitest';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DEDUP_ACTIONS, DedupStore, EarlierAttemptClaimsError, LatestValueStore, type PublishOutcome, publishOnce } from '../../src/index.ts';
import { type Answer, stubClient, wireItem } from './stub-client.ts';

const NOW = 1_700_000_000_000;
const NOW_S = NOW / 1000;
const TABLE = 'dedup-table';
const ids = (n: number, prefix = 'id') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const ok: Answer = { body: {} };
// biome-ignore lint/suspicious/noExplicitAny: wire-format JSON
const keysOf = (input: any): string[] => input.RequestItems[TABLE].Keys.map((k: { pk: { S: string } }) => k.pk.S);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('DedupStore.claim', () => {
  it('reads 100 keys per BatchGetItem, all at once, and claims each new id with a conditional put', async () => {
    let inFlightGets = 0;
    let maxInFlightGets = 0;
    const { client, calls } = stubClient(async (op) => {
      if (op === 'BatchGetItem') {
        maxInFlightGets = Math.max(maxInFlightGets, ++inFlightGets);
        await new Promise((r) => setTimeout(r, 5));
        inFlightGets--;
        return { body: { Responses: { [TABLE]: [] } } };
      }
      return ok;
    });
    const store = new DedupStore({ client, tableName: TABLE, now: () => NOW, concurrency: 4 });
    const result = await store.claim('feed', ids(250));

    const gets = calls.filter((c) => c.op === 'BatchGetItem');
    expect(gets.map((c) => keysOf(c.input).length)).toEqual([100, 100, 50]);
    expect(maxInFlightGets).toBe(3);
    const get = gets[0]?.input.RequestItems[TABLE];
    expect(get.ConsistentRead).toBe(true);
    expect(get.ProjectionExpression).toBe('#pk, #st, #lease, #exp, #owner, #origin');
    expect(keysOf(gets[0]?.input)[0]).toBe('feed#id0');

    const puts = calls.filter((c) => c.op === 'PutItem');
    expect(puts).toHaveLength(250);
    expect(puts[0]?.input.Item).toMatchObject({
      pk: { S: 'feed#id0' },
      status: { S: 'pending' },
      leaseUntil: { N: String(NOW + 900_000) },
      expiresAt: { N: String(NOW_S + 7 * 86400) },
    });
    expect(puts[0]?.input.ConditionExpression).toBe('attribute_not_exists(#pk) OR (#st = :pending AND #lease < :now) OR #exp < :nowSeconds');
    expect(result).toEqual({ claimed: ids(250), duplicates: [], inFlight: [] });
  });

  it('keeps at most `concurrency` conditional puts in flight', async () => {
    let inFlight = 0;
    let max = 0;
    const { client } = stubClient(async (op) => {
      if (op !== 'PutItem') return { body: { Responses: {} } };
      max = Math.max(max, ++inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
      return ok;
    });
    await new DedupStore({ client, tableName: TABLE, concurrency: 5 }).claim('s', ids(40));
    expect(max).toBe(5);
  });

  it('retries UnprocessedKeys until every key was read, keeping projection and consistency', async () => {
    let round = 0;
    const { client, calls } = stubClient((op, input) => {
      if (op !== 'BatchGetItem') return ok;
      const keys = input.RequestItems[TABLE].Keys;
      round++;
      // Answer half the keys, leave the rest unprocessed, twice; then everything.
      const answered = round <= 2 ? keys.slice(0, Math.ceil(keys.length / 2)) : keys;
      const rest = round <= 2 ? keys.slice(answered.length) : [];
      return {
        body: {
          Responses: { [TABLE]: answered.map((k: { pk: { S: string } }) => wireItem(k.pk.S, 'done', NOW_S + 60)) },
          UnprocessedKeys: rest.length ? { [TABLE]: { Keys: rest } } : {},
        },
      };
    });
    const store = new DedupStore({ client, tableName: TABLE, now: () => NOW });
    const result = await store.claim('s', ids(8));
    const gets = calls.filter((c) => c.op === 'BatchGetItem');
    expect(gets.map((c) => keysOf(c.input).length)).toEqual([8, 4, 2]);
    expect(gets[2]?.input.RequestItems[TABLE]).toMatchObject({ ConsistentRead: true, ProjectionExpression: '#pk, #st, #lease, #exp, #owner, #origin' });
    expect(result.duplicates.sort()).toEqual(ids(8).sort());
    expect(calls.some((c) => c.op === 'PutItem')).toBe(false);
  });

  it('gives up with an error when keys stay unprocessed', async () => {
    // Full-jitter backoff sleeps random × cap: zero keeps the test fast.
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const { client } = stubClient((_op, input) => ({
      body: { Responses: { [TABLE]: [] }, UnprocessedKeys: { [TABLE]: { Keys: input.RequestItems[TABLE].Keys } } },
    }));
    await expect(new DedupStore({ client, tableName: TABLE }).claim('s', ['a'])).rejects.toThrow(/unprocessed/);
  });

  it('classifies what it reads: done → duplicate, live lease → in flight, expired lease or TTL → claimable', async () => {
    const stored = [
      wireItem('s#done', 'done', NOW_S + 10),
      wireItem('s#done-expired', 'done', NOW_S - 1),
      wireItem('s#held', 'pending', NOW_S + 999, NOW + 1),
      wireItem('s#lease-over', 'pending', NOW_S + 999, NOW - 1),
      wireItem('s#held-expired', 'pending', NOW_S - 1, NOW + 1),
    ];
    const { client, calls } = stubClient((op) => (op === 'BatchGetItem' ? { body: { Responses: { [TABLE]: stored } } } : ok));
    const store = new DedupStore({ client, tableName: TABLE, now: () => NOW });
    const result = await store.claim('s', ['new', 'done', 'done-expired', 'held', 'lease-over', 'held-expired', 'new', 'done']);
    expect(result).toEqual({
      claimed: ['new', 'done-expired', 'lease-over', 'held-expired'],
      duplicates: ['new', 'done', 'done'],
      inFlight: ['held'],
      // 'done' lapses in 10 s, far past half the week's TTL: its expiry is put a week ahead, once.
      refreshed: 1,
    });
    expect(calls.filter((c) => c.op === 'PutItem')).toHaveLength(4);
    expect(calls.filter((c) => c.op === 'UpdateItem').map((c) => c.input.Key.pk.S)).toEqual(['s#done']);
  });

  it('classifies lost conditional puts from the returned item, else by one re-read', async () => {
    let gets = 0;
    const { client, calls } = stubClient((op, input) => {
      if (op === 'BatchGetItem') {
        gets++;
        // First read: nothing exists. Re-read (only the ids whose put failed without an item).
        if (gets === 1) return { body: { Responses: { [TABLE]: [] } } };
        return { body: { Responses: { [TABLE]: [wireItem('s#raced-done', 'done', NOW_S + 60)] } } };
      }
      const pk = input.Item.pk.S;
      if (pk === 's#winner-says-done') return { error: 'ConditionalCheckFailedException', body: { Item: wireItem(pk, 'done', NOW_S + 60) } };
      if (pk === 's#winner-says-held') {
        return { error: 'ConditionalCheckFailedException', body: { Item: wireItem(pk, 'pending', NOW_S + 60, NOW + 5) } };
      }
      if (pk === 's#raced-done' || pk === 's#raced-gone') return { error: 'ConditionalCheckFailedException' };
      return ok;
    });
    const store = new DedupStore({ client, tableName: TABLE, now: () => NOW });
    const result = await store.claim('s', ['mine', 'winner-says-done', 'winner-says-held', 'raced-done', 'raced-gone']);
    expect(result.claimed).toEqual(['mine']);
    expect(result.duplicates.sort()).toEqual(['raced-done', 'winner-says-done']);
    // Released again by its winner before our re-read: still not ours to publish.
    expect(result.inFlight.sort()).toEqual(['raced-gone', 'winner-says-held']);
    const reread = calls.filter((c) => c.op === 'BatchGetItem')[1];
    expect(keysOf(reread?.input).sort()).toEqual(['s#raced-done', 's#raced-gone']);
  });

  it('takes as won a claim its own retried put meets (the first was applied, its answer lost)', async () => {
    // The SDK retries a put whose answer was a 5xx; the put had been applied, so the retry fails
    // the condition against our own pending claim. With the item returned, and without (a re-read).
    let gets = 0;
    const owners = new Map<string, string>();
    const { client } = stubClient((op, input) => {
      if (op === 'BatchGetItem') {
        gets++;
        if (gets === 1) return { body: { Responses: { [TABLE]: [] } } };
        const pk = 's#no-item';
        return { body: { Responses: { [TABLE]: [{ pk: { S: pk }, status: { S: 'pending' }, owner: { S: owners.get(pk) }, leaseUntil: { N: String(NOW + 60_000) } }] } } };
      }
      const pk = input.Item.pk.S as string;
      owners.set(pk, input.Item.owner.S);
      const mine = { ...input.Item };
      if (pk === 's#with-item') return { error: 'ConditionalCheckFailedException', body: { Item: mine } };
      if (pk === 's#no-item') return { error: 'ConditionalCheckFailedException' };
      return ok;
    });
    const store = new DedupStore({ client, tableName: TABLE, now: () => NOW });
    const result = await store.claim('s', ['fresh', 'with-item', 'no-item']);
    expect(result.claimed).toEqual(['fresh', 'with-item', 'no-item']);
    expect(result.inFlight).toEqual([]);
  });

  it('hands back its claims when a put fails for another reason, then throws', async () => {
    const { client, calls } = stubClient((op, input) => {
      if (op === 'BatchGetItem') return { body: { Responses: {} } };
      if (op === 'PutItem' && input.Item.pk.S === 's#b') return { error: 'InternalServerError' };
      return ok;
    });
    const store = new DedupStore({ client, tableName: TABLE, concurrency: 1 });
    await expect(store.claim('s', ['a', 'b', 'c'])).rejects.toThrow();
    const deletes = calls.filter((c) => c.op === 'DeleteItem');
    expect(deletes.map((c) => c.input.Key.pk.S)).toEqual(['s#a']);
    expect(calls.filter((c) => c.op === 'PutItem').map((c) => c.input.Item.pk.S)).toEqual(['s#a', 's#b']);
  });

  it('hands back its claims when the re-read of the ids it lost fails, then throws', async () => {
    let gets = 0;
    const { client, calls } = stubClient((op, input) => {
      if (op === 'BatchGetItem') return ++gets === 1 ? { body: { Responses: {} } } : { error: 'InternalServerError' };
      if (op === 'PutItem' && input.Item.pk.S === 's#raced') return { error: 'ConditionalCheckFailedException' };
      return ok;
    });
    const store = new DedupStore({ client, tableName: TABLE, concurrency: 1 });
    await expect(store.claim('s', ['a', 'raced', 'b'])).rejects.toThrow();
    expect(calls.filter((c) => c.op === 'DeleteItem').map((c) => c.input.Key.pk.S).sort()).toEqual(['s#a', 's#b']);
  });

  it('confirms every chunk even when one is throttled past its attempts, and tries longer than a claim does', async () => {
    let throttled = 0;
    const { client, calls } = stubClient((op, input) => {
      if (op !== 'BatchWriteItem') return ok;
      const puts = input.RequestItems[TABLE] as { PutRequest: { Item: { pk: { S: string } } } }[];
      // The chunk holding 's#a0' comes back unprocessed every time; 's#b*' after 10 tries.
      if (puts.some((p) => p.PutRequest.Item.pk.S === 's#a0')) return { body: { UnprocessedItems: { [TABLE]: puts } } };
      if (puts.some((p) => p.PutRequest.Item.pk.S.startsWith('s#b')) && ++throttled <= 10) return { body: { UnprocessedItems: { [TABLE]: puts } } };
      return { body: { UnprocessedItems: {} } };
    });
    const store = new DedupStore({ client, tableName: TABLE, concurrency: 1 });
    const ids = [...Array.from({ length: 25 }, (_, i) => `a${i}`), ...Array.from({ length: 5 }, (_, i) => `b${i}`)];
    // The backoff between attempts (~8 s in all here) on a fake clock: only setTimeout, which is
    // all the backoff uses, so the SDK's own clock and the stub's streams run as they are.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let settled = false;
      const confirming = store.confirm('s', ids);
      void confirming.catch(() => undefined).finally(() => (settled = true));
      // Between two backoffs the next request is still on its way (no timer pending yet): each
      // round lets it finish before firing whatever timer it left.
      while (!settled) await vi.runAllTimersAsync();
      await expect(confirming).rejects.toThrow(/25 items still unprocessed after 14 attempts/);
    } finally {
      vi.useRealTimers();
    }
    const writes = calls.filter((c) => c.op === 'BatchWriteItem');
    // The first chunk's 14 attempts, then the second chunk's 10 refusals and its success.
    expect(writes).toHaveLength(14 + 11);
  });

  it("refuses scopes containing '#' and keys over DynamoDB's 2048 bytes", async () => {
    const { client, calls } = stubClient(() => ok);
    const store = new DedupStore({ client, tableName: TABLE });
    await expect(store.claim('a#b', ['c'])).rejects.toThrow(RangeError);
    await expect(store.claim('s', ['x'.repeat(2048)])).rejects.toThrow(RangeError);
    expect(calls).toHaveLength(0);
  });

  it("leaves another document client's settings on the shared client alone, and copes with them", async () => {
    const stored = [wireItem('s#done', 'done', NOW_S + 10), wireItem('s#held', 'pending', NOW_S + 999, NOW + 1)];
    const { client } = stubClient((op) => (op === 'BatchGetItem' ? { body: { Responses: { [TABLE]: stored } } } : ok));
    const translateConfig = { marshallOptions: { removeUndefinedValues: true }, unmarshallOptions: { wrapNumbers: true } };
    DynamoDBDocumentClient.from(client, translateConfig);
    const store = new DedupStore({ client, tableName: TABLE, now: () => NOW });
    expect((client.config as { translateConfig?: unknown }).translateConfig).toBe(translateConfig);
    expect(await store.claim('s', ['done', 'held', 'new'])).toEqual({ claimed: ['new'], duplicates: ['done'], inFlight: ['held'], refreshed: 1 });
  });

  it('counts and hands back a refresh the table refuses (a role without UpdateItem), but not a lost race', async () => {
    const stored = [wireItem('s#denied', 'done', NOW_S + 10), wireItem('s#raced', 'done', NOW_S + 10), wireItem('s#denied-too', 'done', NOW_S + 10)];
    const { client } = stubClient((op, input) => {
      if (op === 'BatchGetItem') return { body: { Responses: { [TABLE]: stored } } };
      if (op === 'UpdateItem') return input.Key.pk.S === 's#raced' ? { error: 'ConditionalCheckFailedException' } : { error: 'AccessDeniedException' };
      return ok;
    });
    const result = await new DedupStore({ client, tableName: TABLE, now: () => NOW }).claim('s', ['denied', 'raced', 'denied-too', 'new']);
    expect(result).toMatchObject({ claimed: ['new'], duplicates: ['denied', 'raced', 'denied-too'], inFlight: [], refreshFailed: 2 });
    // Named, so a caller can tell which of its sources list them (an RSS feed keeps its old validators).
    expect(result.refreshFailedIds?.toSorted()).toEqual(['denied', 'denied-too']);
    expect(result.refreshed).toBeUndefined();
    expect((result.refreshError as Error).name).toBe('AccessDeniedException');
  });

  it('keeps the refresh counts when an earlier attempt of its origin holds some ids', async () => {
    const stored = [
      wireItem('s#done', 'done', NOW_S + 10),
      { ...wireItem('s#held', 'pending', NOW_S + 999, NOW + 5), origin: { S: 'req-1' } },
    ];
    const { client } = stubClient((op) => (op === 'BatchGetItem' ? { body: { Responses: { [TABLE]: stored } } } : ok));
    const result = await new DedupStore({ client, tableName: TABLE, now: () => NOW }).claim('s', ['done', 'held', 'new'], { origin: 'req-1' });
    expect(result).toEqual({ claimed: ['new'], duplicates: ['done'], inFlight: ['held'], heldByEarlierAttempt: { ids: ['held'], lapsesAt: NOW + 5 }, refreshed: 1 });
  });

  it('calls nothing on its table but DEDUP_ACTIONS, the actions a spec grants it', async () => {
    // Every path that reaches DynamoDB: read, claim, refresh, confirm, release.
    const stored = [wireItem('s#done', 'done', NOW_S + 10)];
    const { client, calls } = stubClient((op) => (op === 'BatchGetItem' ? { body: { Responses: { [TABLE]: stored } } } : op === 'BatchWriteItem' ? { body: {} } : ok));
    const store = new DedupStore({ client, tableName: TABLE, now: () => NOW });
    await store.claim('s', ['done', 'a', 'b']);
    await store.confirm('s', ['a']);
    await store.release('s', ['b']);
    const used = [...new Set(calls.map((c) => `dynamodb:${c.op}`))].sort();
    expect(used).toEqual(['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    expect([...DEDUP_ACTIONS].sort()).toEqual(used);
  });

  it('LatestValueStore, reading and recording in the same table, calls nothing outside DEDUP_ACTIONS', async () => {
    const { client, calls } = stubClient(() => ({ body: { Responses: { [TABLE]: [] } } }));
    const latest = new LatestValueStore({ client, tableName: TABLE, now: () => NOW });
    await latest.read('s', ['a']);
    expect(await latest.advance('s', [{ key: 'a', value: 'A' }])).toEqual({ numbers: new Map([['a', 1]]), failed: [] });
    expect(await latest.renew('s', [{ key: 'a', seen: { value: 'A', seq: 1, expiresAt: 0 } }])).toEqual({ renewed: 1, failed: 0 });
    const used = [...new Set(calls.map((c) => `dynamodb:${c.op}`))].sort();
    expect(used).toEqual(['dynamodb:BatchGetItem', 'dynamodb:UpdateItem']);
    for (const action of used) expect(DEDUP_ACTIONS).toContain(action);
  });

  it('LatestValueStore.advance lists a lost race as refused when reading the winner fails too', async () => {
    const { client } = stubClient((op) => (op === 'UpdateItem' ? { error: 'ConditionalCheckFailedException' } : { error: 'ProvisionedThroughputExceededException' }));
    const out = await new LatestValueStore({ client, tableName: TABLE, now: () => NOW }).advance('s', [{ key: 'a', value: 'A' }]);
    expect(out).toMatchObject({ numbers: new Map(), failed: ['a'] });
    expect(String(out.error)).toMatch(/ProvisionedThroughputExceeded/);
  });

  it('makes no calls for an empty batch', async () => {
    const { client, calls } = stubClient(() => ok);
    expect(await new DedupStore({ client, tableName: TABLE }).claim('s', [])).toEqual({ claimed: [], duplicates: [], inFlight: [] });
    expect(calls).toHaveLength(0);
  });
});

describe('DedupStore.confirm', () => {
  it('writes done items 25 per BatchWriteItem, each key once, and retries UnprocessedItems', async () => {
    let first = true;
    const { client, calls } = stubClient((_op, input) => {
      const requests = input.RequestItems[TABLE];
      if (first && requests.length === 25) {
        first = false;
        return { body: { UnprocessedItems: { [TABLE]: requests.slice(20) } } };
      }
      return { body: { UnprocessedItems: {} } };
    });
    const store = new DedupStore({ client, tableName: TABLE, now: () => NOW, ttlSeconds: 3600 });
    await store.confirm('s', [...ids(60), 'id0', 'id1']);
    const writes = calls.filter((c) => c.op === 'BatchWriteItem').map((c) => c.input.RequestItems[TABLE]);
    expect(writes.map((w) => w.length).sort((a, b) => a - b)).toEqual([5, 10, 25, 25]);
    const all = writes.flat().map((w: { PutRequest: { Item: { pk: { S: string } } } }) => w.PutRequest.Item.pk.S);
    expect(new Set(all).size).toBe(60);
    expect(writes[0][0].PutRequest.Item).toEqual({ pk: { S: 's#id0' }, status: { S: 'done' }, expiresAt: { N: String(NOW_S + 3600) } });
  });
});

describe('DedupStore.release', () => {
  it('deletes only its own pending claims, conditionally, and ignores claims taken over since', async () => {
    const { client, calls } = stubClient((op, input) => {
      if (op === 'BatchGetItem') return { body: { Responses: {} } };
      if (op === 'DeleteItem' && input.Key.pk.S === 's#b') return { error: 'ConditionalCheckFailedException' };
      return ok;
    });
    const store = new DedupStore({ client, tableName: TABLE });
    await store.claim('s', ['a', 'b']);
    const owner = calls.find((c) => c.op === 'PutItem')?.input.Item.owner.S;
    await store.release('s', ['a', 'b', 'never-claimed']);
    const deletes = calls.filter((c) => c.op === 'DeleteItem');
    expect(deletes.map((c) => c.input.Key.pk.S).sort()).toEqual(['s#a', 's#b']);
    expect(deletes[0]?.input.ConditionExpression).toBe('#st = :pending AND #owner = :owner');
    expect(deletes[0]?.input.ExpressionAttributeValues[':owner']).toEqual({ S: owner });
    // Released claims are forgotten: a second release sends nothing.
    await store.release('s', ['a', 'b']);
    expect(calls.filter((c) => c.op === 'DeleteItem')).toHaveLength(2);
  });
});

describe('DedupStore.release after a failed delete', () => {
  it('still releases every other claim, then reports the failure', async () => {
    const { client, calls } = stubClient((op, input) => {
      if (op === 'BatchGetItem') return { body: { Responses: {} } };
      if (op === 'DeleteItem' && input.Key.pk.S === 's#a') return { error: 'ValidationException' };
      return ok;
    });
    const store = new DedupStore({ client, tableName: TABLE, concurrency: 1 });
    const ids = Array.from({ length: 5 }, (_, i) => (i === 0 ? 'a' : `x${i}`));
    await store.claim('s', ids);
    await expect(store.release('s', ids)).rejects.toThrow();
    expect(calls.filter((c) => c.op === 'DeleteItem').map((c) => c.input.Key.pk.S).sort()).toEqual(ids.map((id) => `s#${id}`).sort());
  });
});

describe('publishOnce', () => {
  const everythingNew = () =>
    stubClient((op) => (op === 'BatchGetItem' ? { body: { Responses: {} } } : op === 'BatchWriteItem' ? { body: {} } : ok));

  it('publishes each claimed item once, then confirms; accounts for every input', async () => {
    const { client, calls } = everythingNew();
    const store = new DedupStore({ client, tableName: TABLE });
    const published: string[][] = [];
    const items = [{ id: 'a' }, { id: 'b' }, { id: 'a' }];
    const out = await publishOnce({ store, scope: 's', items, idOf: (i) => i.id, publish: async (f) => void published.push(f.map((i) => i.id)) });
    expect(published).toEqual([['a', 'b']]);
    expect(out.fresh).toEqual([items[0], items[1]]);
    expect(out.duplicates + out.inFlight + out.fresh.length).toBe(items.length);
    expect(out.released).toBe(0);
    expect(calls.map((c) => c.op)).toEqual(['BatchGetItem', 'PutItem', 'PutItem', 'BatchWriteItem']);
  });

  it('releases its claims and rethrows when publish fails', async () => {
    const { client, calls } = everythingNew();
    const store = new DedupStore({ client, tableName: TABLE });
    const boom = new Error('broker down');
    await expect(
      publishOnce({ store, scope: 's', items: ['a', 'b'], idOf: (i) => i, publish: () => Promise.reject(boom) }),
    ).rejects.toBe(boom);
    expect(calls.filter((c) => c.op === 'DeleteItem')).toHaveLength(2);
    expect(calls.some((c) => c.op === 'BatchWriteItem')).toBe(false);
  });

  it('does not call publish when nothing is fresh', async () => {
    const { client } = stubClient(() => ({ body: { Responses: { [TABLE]: [wireItem('s#a', 'done', Date.now() / 1000 + 60)] } } }));
    let called = false;
    const out = await publishOnce({
      store: new DedupStore({ client, tableName: TABLE }),
      scope: 's',
      items: ['a'],
      idOf: (i) => i,
      publish: async () => {
        called = true;
      },
    });
    expect(called).toBe(false);
    expect(out).toEqual({ fresh: [], duplicates: 1, inFlight: 0, released: 0, refreshed: 1 });
  });

  it('reports a refresh the table refused in its outcome, and still publishes', async () => {
    const { client } = stubClient((op) =>
      op === 'BatchGetItem'
        ? { body: { Responses: { [TABLE]: [wireItem('s#seen', 'done', NOW_S + 10)] } } }
        : op === 'UpdateItem'
          ? { error: 'AccessDeniedException' }
          : op === 'BatchWriteItem'
            ? { body: {} }
            : ok,
    );
    const told: PublishOutcome<string>[] = [];
    const out = await publishOnce({
      store: new DedupStore({ client, tableName: TABLE, now: () => NOW }),
      scope: 's',
      items: ['seen', 'new'],
      idOf: (i) => i,
      publish: async () => undefined,
      onOutcome: (o) => told.push(o),
    });
    expect(out).toMatchObject({ fresh: ['new'], duplicates: 1, inFlight: 0, released: 0, refreshFailed: 1, refreshFailedIds: ['seen'] });
    expect((out.refreshError as Error).name).toBe('AccessDeniedException');
    expect(told).toEqual([out]);
  });

  it('tells onOutcome what a failed publish delivered (confirmed), before rethrowing', async () => {
    const { client, calls } = stubClient((op) =>
      op === 'BatchGetItem' ? { body: { Responses: { [TABLE]: [wireItem('s#seen', 'done', Date.now() / 1000 + 8 * 86400)] } } } : op === 'BatchWriteItem' ? { body: {} } : ok,
    );
    const told: PublishOutcome<string>[] = [];
    const flush = Object.assign(new Error('flush timed out'), { published: [true, false, true] });
    await expect(
      publishOnce({
        store: new DedupStore({ client, tableName: TABLE }),
        scope: 's',
        items: ['a', 'b', 'seen', 'c'],
        idOf: (i) => i,
        publish: () => Promise.reject(flush),
        onOutcome: (o) => told.push(o),
      }),
    ).rejects.toBe(flush);
    // a and c were delivered and confirmed: this run's new items. b was released: the retry's,
    // and counted as such, so the failed publish's outcome adds up to its input too.
    expect(told).toEqual([{ fresh: ['a', 'c'], duplicates: 1, inFlight: 0, released: 1 }]);
    const [o] = told;
    expect((o?.fresh.length ?? 0) + (o?.duplicates ?? 0) + (o?.inFlight ?? 0) + (o?.released ?? 0)).toBe(4);
    expect(calls.filter((c) => c.op === 'DeleteItem').map((c) => c.input.Key.pk.S)).toEqual(['s#b']);
    // Without per-item flags nothing is known delivered: everything is released, nothing counted new.
    told.length = 0;
    await expect(
      publishOnce({ store: new DedupStore({ client, tableName: TABLE }), scope: 's', items: ['d'], idOf: (i) => i, publish: () => Promise.reject(new Error('down')), onOutcome: (o) => told.push(o) }),
    ).rejects.toThrow('down');
    expect(told).toEqual([{ fresh: [], duplicates: 0, inFlight: 0, released: 1 }]);
  });

  it('tells onOutcome what it published before failing with EarlierAttemptClaimsError', async () => {
    const held = { ...wireItem('s#held', 'pending', NOW_S + 999, NOW + 5), origin: { S: 'req-1' } };
    const { client } = stubClient((op) => (op === 'BatchGetItem' ? { body: { Responses: { [TABLE]: [held] } } } : op === 'BatchWriteItem' ? { body: {} } : ok));
    const told: PublishOutcome<string>[] = [];
    await expect(
      publishOnce({
        store: new DedupStore({ client, tableName: TABLE, now: () => NOW }),
        scope: 's',
        items: ['held', 'a', 'b'],
        idOf: (i) => i,
        origin: 'req-1',
        publish: async () => undefined,
        onOutcome: (o) => told.push(o),
      }),
    ).rejects.toBeInstanceOf(EarlierAttemptClaimsError);
    expect(told).toEqual([{ fresh: ['a', 'b'], duplicates: 0, inFlight: 1, released: 0 }]);
  });
});
