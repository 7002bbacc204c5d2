import { type HttpFixtures, startHttpFixtures } from '@laminar/emulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listActiveMarkets } from '../../src/gamma.ts';
import { createJsonClient } from '../../src/http.ts';
import { fetchMidpoints } from '../../src/prices.ts';
import { gammaRecord, midpointsFor, tokenIdOf } from '../support/records.ts';

let server: HttpFixtures;
beforeAll(async () => {
  server = await startHttpFixtures();
});
afterAll(() => server?.stop());

const http = createJsonClient({ timeoutMs: 2000, retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20, maxRetryAfterMs: 5_000 } });
const json = (body: unknown) => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const universe = Array.from({ length: 250 }, (_, i) => gammaRecord({ id: String(800_000 + i), question: `Market ${i}?` }));

/** Serves `records` the way Gamma does: limit/offset over an ordered listing. */
function gammaListing(records: () => unknown[]) {
  return (_req: unknown, url: URL) => {
    const limit = Number(url.searchParams.get('limit') ?? 20);
    const offset = Number(url.searchParams.get('offset') ?? 0);
    return json(records().slice(offset, offset + limit));
  };
}
const requested = (prefix: string) =>
  server.requests.filter((r) => r.url.startsWith(prefix)).map((r) => Object.fromEntries(new URL(r.url, 'http://x').searchParams));

describe('listActiveMarkets (Gamma /markets, real HTTP)', () => {
  it('follows offset pages until a short page, asking for active, open markets by 24 h volume', async () => {
    server.route('/g1/markets', gammaListing(() => universe));
    const listing = await listActiveMarkets({ baseUrl: `${server.url}/g1`, http, maxMarkets: 1000, pageSize: 100 });
    expect(listing).toMatchObject({ fetched: 250, rejected: [], repeated: 0, pages: 3 });
    expect(listing.markets.map((m) => m.id)).toEqual(universe.map((r) => r.id));
    expect(requested('/g1/markets')).toEqual([0, 100, 200].map((offset) => ({
      active: 'true',
      closed: 'false',
      order: 'volume24hr',
      ascending: 'false',
      limit: '100',
      offset: String(offset),
    })));
  });

  it('asks one more page when the last one was exactly full, and stops at an empty one', async () => {
    server.route('/g2/markets', gammaListing(() => universe.slice(0, 200)));
    const listing = await listActiveMarkets({ baseUrl: `${server.url}/g2`, http, maxMarkets: 1000, pageSize: 100 });
    expect(listing).toMatchObject({ fetched: 200, pages: 3 });
  });

  it('stops at MAX_MARKETS, asking the last page only for what is left', async () => {
    server.route('/g3/markets', gammaListing(() => universe));
    const listing = await listActiveMarkets({ baseUrl: `${server.url}/g3`, http, maxMarkets: 130, pageSize: 100 });
    expect(listing).toMatchObject({ fetched: 130, pages: 2 });
    expect(requested('/g3/markets').map((q) => [q.limit, q.offset])).toEqual([
      ['100', '0'],
      ['30', '100'],
    ]);
  });

  /** Serves `first` as Gamma's ranking for the first page, then with a newcomer on top (offsets shift by one). */
  function shiftAfterFirstPage(path: string, first: unknown[], newcomerId: string) {
    let served = 0;
    const shifted = [gammaRecord({ id: newcomerId, question: 'Newcomer?' }), ...first];
    server.route(path, (_req, url) => {
      served++;
      const listing = served === 1 ? first : shifted;
      const offset = Number(url.searchParams.get('offset'));
      return json(listing.slice(offset, offset + Number(url.searchParams.get('limit'))));
    });
  }

  it('counts a market that moved across a page boundary once, and rejects bad records without stopping', async () => {
    // Between page 1 and page 2 a new market enters the top of the ranking: the last market of
    // page 1 is served again at the start of page 2.
    const broken = { ...universe[5], clobTokenIds: 'not json' };
    shiftAfterFirstPage('/g4/markets', [...universe.slice(0, 5), broken, ...universe.slice(6, 10)], '900000');
    const listing = await listActiveMarkets({ baseUrl: `${server.url}/g4`, http, maxMarkets: 100, pageSize: 5 });
    expect(listing.fetched).toBe(listing.markets.length + listing.rejected.length + listing.repeated);
    expect(listing).toMatchObject({ fetched: 11, repeated: 1, pages: 3 });
    expect(listing.rejected).toEqual([
      { marketId: universe[5]?.id, reason: 'clobTokenIds: not a JSON-encoded array: "not json"', reasons: ['clobTokenIds: not a JSON-encoded array: "not json"'], fields: ['clobTokenIds'], record: broken },
    ]);
  });

  it('counts a rejected market served again on the next page as a repeat, not a second rejection', async () => {
    // The bad record is the last of page 1; a newcomer pushes it to the start of page 2.
    const broken = { ...universe[4], clobTokenIds: 'not json' };
    shiftAfterFirstPage('/g5/markets', [...universe.slice(0, 4), broken, ...universe.slice(5, 10)], '900001');
    const listing = await listActiveMarkets({ baseUrl: `${server.url}/g5`, http, maxMarkets: 100, pageSize: 5 });
    expect(listing.rejected).toEqual([
      { marketId: universe[4]?.id, reason: 'clobTokenIds: not a JSON-encoded array: "not json"', reasons: ['clobTokenIds: not a JSON-encoded array: "not json"'], fields: ['clobTokenIds'], record: broken },
    ]);
    expect(listing).toMatchObject({ fetched: 11, repeated: 1, pages: 3 });
    expect(listing.fetched).toBe(listing.markets.length + listing.rejected.length + listing.repeated);
  });

  it('rides out a 429 with Retry-After in the middle of the listing', async () => {
    let calls = 0;
    server.route('/g5/markets', (req, url) => {
      calls++;
      if (calls === 2) return { status: 429, headers: { 'retry-after': '0' }, body: '{"error":"rate limited"}' };
      return gammaListing(() => universe.slice(0, 15))(req, url);
    });
    const listing = await listActiveMarkets({ baseUrl: `${server.url}/g5`, http, maxMarkets: 100, pageSize: 10 });
    expect(listing).toMatchObject({ fetched: 15, pages: 2 });
    expect(calls).toBe(3);
  });

  it('fails clearly when the listing is not an array', async () => {
    server.route('/g6/markets', json({ data: [], next_cursor: 'LTE=' }));
    await expect(listActiveMarkets({ baseUrl: `${server.url}/g6`, http, maxMarkets: 10 })).rejects.toThrow(
      `Gamma ${server.url}/g6/markets?active=true&closed=false&order=volume24hr&ascending=false&limit=10&offset=0 answered object instead of an array of markets`,
    );
  });

  it('fails when Gamma keeps answering 500', async () => {
    server.route('/g7/markets', { status: 500, body: 'upstream error' });
    await expect(listActiveMarkets({ baseUrl: `${server.url}/g7`, http, maxMarkets: 10 })).rejects.toMatchObject({
      name: 'HttpRequestError',
      attempts: 3,
      status: 500,
    });
  });
});

describe('fetchMidpoints (CLOB POST /midpoints, real HTTP)', () => {
  const records = universe.slice(0, 30);
  const prices = midpointsFor(records, (_t, p) => String(Number(p) + 0.01));

  /** Answers for the requested tokens it knows, as the CLOB does (unknown ones are left out). */
  function clob(known: Record<string, string>) {
    const bodies: { token_id: string }[][] = [];
    const route = async (req: import('node:http').IncomingMessage) => {
      let raw = '';
      for await (const chunk of req) raw += chunk;
      const body = JSON.parse(raw) as { token_id: string }[];
      bodies.push(body);
      return json(Object.fromEntries(body.flatMap(({ token_id }) => (token_id in known ? [[token_id, known[token_id]]] : []))));
    };
    return { route, bodies };
  }

  it('batches token ids into POST bodies and reads the midpoints back', async () => {
    const c = clob(prices);
    server.route('/c1/midpoints', c.route);
    const tokens = records.flatMap((r) => JSON.parse(r.clobTokenIds as string) as string[]);
    const result = await fetchMidpoints(tokens, { baseUrl: `${server.url}/c1`, http, batchSize: 25, concurrency: 2 });
    expect(result).toMatchObject({ requests: 3, failedBatches: 0 });
    expect(result.prices.size).toBe(60);
    expect(result.prices.get(tokenIdOf(`${records[0]?.id}:Yes`))).toBeCloseTo(0.51);
    // Two batches at a time: the server may finish reading either first.
    const batches = [tokens.slice(0, 25), tokens.slice(25, 50), tokens.slice(50)].map((batch) => batch.map((token_id) => ({ token_id })));
    expect(c.bodies).toHaveLength(3);
    expect(c.bodies).toEqual(expect.arrayContaining(batches));
    const post = server.requests.find((r) => r.url === '/c1/midpoints');
    expect(post).toMatchObject({ method: 'POST', headers: { 'content-type': 'application/json' } });
  });

  it('leaves out tokens the CLOB does not price or prices out of range', async () => {
    const [a, b, c] = [tokenIdOf('x:1'), tokenIdOf('x:2'), tokenIdOf('x:3')];
    server.route('/c2/midpoints', json({ [a]: '0.42', [b]: '1.7', unrelated: '0.5' }));
    const result = await fetchMidpoints([a, b, c], { baseUrl: `${server.url}/c2`, http });
    expect([...result.prices]).toEqual([[a, 0.42]]);
  });

  it('gives up on a batch that keeps failing and says so, keeping the others', async () => {
    const c = clob(prices);
    let calls = 0;
    server.route('/c3/midpoints', async (req) => {
      calls++;
      // The first batch's three attempts fail; the second batch succeeds.
      if (calls <= 3) return { status: 503, body: 'busy' };
      return c.route(req);
    });
    const errors: string[] = [];
    const tokens = records.slice(0, 10).flatMap((r) => JSON.parse(r.clobTokenIds as string) as string[]);
    const result = await fetchMidpoints(tokens, {
      baseUrl: `${server.url}/c3`,
      http,
      batchSize: 10,
      concurrency: 1,
      onBatchError: (e, batch) => errors.push(`${batch.length}: ${e.message}`),
    });
    expect(result).toMatchObject({ requests: 2, failedBatches: 1 });
    expect(result.prices.size).toBe(10);
    expect(errors).toEqual([`10: POST ${server.url}/c3/midpoints answered HTTP 503: busy (gave up after 3 attempts)`]);
  });

  it('treats an answer of the wrong shape as a failed batch', async () => {
    server.route('/c4/midpoints', json([{ token_id: '1', mid: '0.5' }]));
    const result = await fetchMidpoints(['1'], { baseUrl: `${server.url}/c4`, http });
    expect(result).toMatchObject({ failedBatches: 1 });
    expect(result.prices.size).toBe(0);
  });
});
