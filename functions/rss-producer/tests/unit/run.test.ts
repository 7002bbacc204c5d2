import { readFileSync } from 'node:fs';
import { FlushTimeoutError, type OutgoingMessage } from '@laminar/kafka';
import { DeadlineExceededError } from '@laminar/runtime';
import { describe, expect, it, vi } from 'vitest';
import { type FetchedCounts, fetchStart, type ProducedCounts, type PublishOnce, type RunDeps, runOnce } from '../../src/run.ts';
import { expectAccounted, fakeProducer, memoryDedup, memoryRejects, memoryState, quiet } from '../support/fakes.ts';

const HOST = 'http://feeds.test';
const feed = (name: string) => readFileSync(new URL(`../../fixtures/http/feeds/${name}`, import.meta.url));
const FEEDS = ['world.xml', 'tech-atom.xml', 'science-rdf.xml'].map((n) => `${HOST}/feeds/${n}`);

/** Serves the fixtures with ETags; /broken answers 500. */
const fakeFetch = (async (url: string, init: RequestInit) => {
  const name = new URL(url).pathname.split('/').pop() as string;
  if (name === 'broken') return new Response('oops', { status: 500, statusText: 'Internal Server Error' });
  const etag = `"${name}-v1"`;
  if (new Headers(init.headers).get('if-none-match') === etag) return new Response(null, { status: 304 });
  return new Response(feed(name), { headers: { 'content-type': 'application/rss+xml', etag } });
}) as typeof fetch;

const options = { topic: 'rss-items', timeoutMs: 1_000, maxBytes: 1_000_000, concurrency: 2 };

function deps(over: Partial<RunDeps> = {}): RunDeps {
  return {
    feedState: memoryState().store,
    publishOnce: memoryDedup(),
    producer: async () => fakeProducer().producer,
    deadline: { remainingMs: () => 60_000 },
    log: quiet,
    fetch: fakeFetch,
    now: () => new Date('2026-11-25T21:00:00Z'),
    ...over,
  };
}

/** The 'entries rejected' lines by feed: feeds are fetched side by side, so their order is not fixed. */
function rejectionsLogged(infos: [string, unknown][]): Record<string, unknown> {
  const byFeed: Record<string, unknown> = {};
  for (const [message, fields] of infos) {
    if (message !== 'entries rejected') continue;
    const { url, ...rest } = fields as { url: string };
    expect(byFeed, `${url} logged twice`).not.toHaveProperty([url]);
    byFeed[url] = rest;
  }
  return byFeed;
}

describe('runOnce', () => {
  it('starts fetching at another feed from run to run, and reports in the configured order', async () => {
    const feeds = [...FEEDS, `${HOST}/feeds/broken`];
    const runAt = async (minute: number) => {
      const fetchedOrder: string[] = [];
      const recording = (async (url: string, init: RequestInit) => {
        fetchedOrder.push(url);
        return fakeFetch(url, init);
      }) as typeof fetch;
      const at = new Date(Date.UTC(2026, 10, 25, 21, minute));
      const result = await runOnce({ ...options, concurrency: 1, feedUrls: feeds }, deps({ fetch: recording, now: () => at }));
      expect(result.feeds.map((f) => f.url)).toEqual(feeds);
      const start = fetchStart(at, feeds.length);
      expect(fetchedOrder).toEqual([...feeds.slice(start), ...feeds.slice(0, start)]);
      return start;
    };
    // Runs every 15 minutes over four feeds: a start that only counted minutes would stay put.
    const starts = new Set<number>();
    for (const minute of [0, 15, 30, 45, 60, 75, 90, 105]) starts.add(await runAt(minute));
    expect(starts.size).toBeGreaterThan(1);
  });

  it('counts feeds the invocation\'s time did not reach as stopped, in one line, not as failed feeds', async () => {
    // /hang/… never answers: the run's fetching time (3 s left, a third kept for producing) ends
    // them, well before their own 10 s; all four start at once, so the others are answered by then.
    const hanging = (async (url: string, init: RequestInit) => {
      if (!url.includes('/hang/')) return fakeFetch(url, init);
      return new Promise<Response>((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason), { once: true }));
    }) as typeof fetch;
    const warnings: [string, unknown][] = [];
    const log = { info: () => undefined, warn: (m: string, a: unknown) => warnings.push([m, a]) } as unknown as RunDeps['log'];
    const feeds = [FEEDS[0] as string, `${HOST}/hang/a.xml`, `${HOST}/feeds/broken`, `${HOST}/hang/b.xml`];
    const result = await runOnce({ ...options, timeoutMs: 10_000, concurrency: 4, feedUrls: feeds }, deps({ fetch: hanging, log, deadline: { remainingMs: () => 3_000 } }));
    expect(result.feeds.map((f) => [f.url, f.status])).toEqual([
      [feeds[0], 'ok'],
      [feeds[1], 'stopped'],
      [feeds[2], 'failed'],
      [feeds[3], 'stopped'],
    ]);
    expect(result.totals).toMatchObject({ feeds: 4, failedFeeds: 1, stoppedFeeds: 2, new: 14, produced: 14 });
    expect(warnings.filter(([m]) => m === 'feed failed')).toEqual([['feed failed', { url: feeds[2], reason: 'HTTP 500 Internal Server Error' }]]);
    expect(warnings.filter(([m]) => m.startsWith('feeds not read'))).toEqual([
      ["feeds not read: the invocation's time ran out; later runs read them", { count: 2, urls: [feeds[1], feeds[3]] }],
    ]);
  });

  it('accounts for every entry per feed, produces each unique item once, and survives a failing feed', async () => {
    const { producer, sent, timeouts } = fakeProducer();
    const warnings: unknown[] = [];
    const infos: [string, unknown][] = [];
    const log = { info: (m: string, a: unknown) => infos.push([m, a]), warn: (m: string, a: unknown) => warnings.push([m, a]) } as unknown as RunDeps['log'];
    const result = await runOnce({ ...options, feedUrls: [...FEEDS, `${HOST}/feeds/broken`] }, deps({ producer: async () => producer, log }));

    expect(result.feeds).toEqual([
      { url: FEEDS[0], status: 'ok', format: 'rss', fetched: 16, new: 14, duplicate: 1, rejected: 1 },
      { url: FEEDS[1], status: 'ok', format: 'atom', fetched: 12, new: 10, duplicate: 1, rejected: 1 },
      // Its climate story links world.xml's page with a #main fragment: a different id, so new here.
      { url: FEEDS[2], status: 'ok', format: 'rdf', fetched: 11, new: 11, duplicate: 0, rejected: 0 },
      { url: `${HOST}/feeds/broken`, status: 'failed', reason: 'HTTP 500 Internal Server Error', fetched: 0, new: 0, duplicate: 0, rejected: 0 },
    ]);
    expect(result.totals).toEqual({ feeds: 4, fetched: 39, new: 35, duplicate: 2, inFlight: 0, rejected: 2, released: 0, failedFeeds: 1, stoppedFeeds: 0, produced: 35 });
    expectAccounted(result);
    expect(warnings).toEqual([['feed failed', { url: `${HOST}/feeds/broken`, reason: 'HTTP 500 Internal Server Error' }]]);
    // The log is where a rejected entry's reason goes (the report only counts them): each feed's
    // one rejected entry is the fixture's item with neither title nor link.
    expect(rejectionsLogged(infos)).toEqual({
      [FEEDS[0] as string]: { rejected: 1, reasons: { 'no title and no link': 1 }, sample: [{ entry: 11, reason: 'no title and no link' }] },
      [FEEDS[1] as string]: {
        rejected: 1,
        reasons: { 'no title and no link': 1 },
        sample: [{ entry: 11, guid: 'tag:tech.example.org,2026:draft-17', reason: 'no title and no link' }],
      },
    });

    // One send (one flush) for the run, given the time the invocation has left; keyed by item id;
    // the envelope carries the item.
    expect(sent).toHaveLength(1);
    expect(timeouts).toEqual([60_000]);
    const messages = sent[0] as OutgoingMessage[];
    expect(new Set(messages.map((m) => m.key)).size).toBe(35);
    const first = messages[0] as OutgoingMessage;
    const body = JSON.parse(String(first.value));
    expect(first).toMatchObject({ topic: 'rss-items', key: body.id, headers: { type: 'rss.item', source: FEEDS[0], id: body.id } });
    expect(body).toMatchObject({ schemaVersion: 1, type: 'rss.item', source: FEEDS[0], observedAt: '2026-11-25T21:00:00.000Z' });
    expect(body.payload).toMatchObject({ id: first.key, feedUrl: FEEDS[0], title: expect.stringContaining('Ceasefire') });
  });

  it('produces the other entries and feeds past a hostile entry (deep markup, an endless link)', async () => {
    const item = (title: string, link: string, summary = '') =>
      `<item><title>${title}</title><link>${link}</link><description><![CDATA[${summary}]]></description></item>`;
    const hostile = `<?xml version="1.0"?><rss version="2.0"><channel><title>H</title><link>${HOST}/</link>${[
      item('deep', `${HOST}/deep`, `${'<span>'.repeat(5000)}text`),
      item('long', `${HOST}/${'x'.repeat(10_000)}`),
      item('fine', `${HOST}/fine`),
    ].join('')}</channel></rss>`;
    const fetchWithHostile = (async (url: string, init: RequestInit) =>
      url.endsWith('/hostile.xml') ? new Response(hostile, { headers: { 'content-type': 'application/rss+xml' } }) : fakeFetch(url, init)) as typeof fetch;
    const { producer, sent } = fakeProducer();
    const infos: [string, unknown][] = [];
    const log = { info: (m: string, a: unknown) => infos.push([m, a]), warn: () => undefined } as unknown as RunDeps['log'];
    const result = await runOnce(
      { ...options, feedUrls: [`${HOST}/feeds/hostile.xml`, FEEDS[0] as string] },
      deps({ producer: async () => producer, fetch: fetchWithHostile, log }),
    );
    expect(result.feeds[0]).toMatchObject({ status: 'ok', fetched: 3, new: 2, rejected: 1 });
    expect(rejectionsLogged(infos)).toEqual({
      [`${HOST}/feeds/hostile.xml`]: {
        rejected: 1,
        reasons: { 'link longer than 8,192 characters': 1 },
        sample: [{ entry: 2, reason: 'link longer than 8,192 characters' }],
      },
      [FEEDS[0] as string]: { rejected: 1, reasons: { 'no title and no link': 1 }, sample: [{ entry: 11, reason: 'no title and no link' }] },
    });
    expect(result.feeds[1]).toMatchObject({ status: 'ok', new: 14 });
    expectAccounted(result);
    expect(sent.flat()).toHaveLength(16);
  });

  it('keeps each rejected entry once, as read and with its reason, beside producing the others', async () => {
    const rejects = memoryRejects();
    const state = memoryState();
    const d = deps({ keepRejected: rejects.keep, feedState: state.store });
    const result = await runOnce({ ...options, feedUrls: FEEDS }, d);
    expect(result.rejects).toEqual({ kept: 2, keptNow: 2, notKept: 0 });
    expectAccounted(result);
    expect(rejects.calls).toHaveLength(1);
    const byFeed = new Map([...rejects.kept.values()].map((r) => [r.source, r]));
    expect(byFeed.get(FEEDS[1] as string)).toEqual({
      source: FEEDS[1],
      reasons: ['no title and no link'],
      record: expect.objectContaining({ guid: 'tag:tech.example.org,2026:draft-17', summary: expect.any(String) }),
    });
    expect(byFeed.get(FEEDS[0] as string)?.record).toMatchObject({ title: undefined, link: undefined });

    // Read again (validators gone): the same entries are the same records, kept already.
    const again = await runOnce({ ...options, feedUrls: FEEDS }, { ...d, feedState: memoryState().store });
    expect(again.rejects).toEqual({ kept: 2, keptNow: 0, notKept: 0 });
    expect(rejects.kept.size).toBe(2);
  });

  it('keeps the same rejected entries as the same records however the feed is served: another redirect target, a malformed part that moved down', async () => {
    const item = (n: number) => `<item><title>Story ${n}</title><link>https://news.example/${n}</link></item>`;
    const doc = (extra: string) =>
      `<?xml version="1.0"?>\n<rss version="2.0"><channel><title>R</title><link>https://news.example/</link>\n${extra}<item><description>no title, no link</description></item>\n<item><title>unclosed</title><link>https://news.example/u</link>\n<item><title>Two</title><link>https://news.example/2</link></item>\n<item><title>Three</title><link>https://news.example/3</link></item>\n</channel></rss>`;
    const serve = (body: string, servedFrom: string) =>
      (async () => Object.defineProperty(new Response(body, { headers: { 'content-type': 'application/rss+xml' } }), 'url', { value: servedFrom })) as unknown as typeof fetch;
    const rejects = memoryRejects();
    const url = `${HOST}/feeds/moving.xml`;
    const first = await runOnce({ ...options, feedUrls: [url] }, deps({ keepRejected: rejects.keep, fetch: serve(doc(''), 'https://cdn-1.example/feed.xml?sig=a') }));
    expect(first.feeds[0]).toMatchObject({ status: 'ok', rejected: 3 });
    // The entry without title and link, and the two the unclosed <item> hid, as one record with their count.
    expect(first.rejects).toEqual({ kept: 3, keptNow: 3, notKept: 0 });
    const unread = [...rejects.kept.values()].find((r) => r.count !== undefined);
    expect(unread).toMatchObject({ count: 2, reasons: [expect.stringMatching(/^malformed XML at line 7:1: /)], record: { excerpt: expect.stringContaining('<title>unclosed</title>') } });
    // Served from elsewhere, with a new story on top: the malformed part is a line further down.
    const second = await runOnce({ ...options, feedUrls: [url] }, deps({ keepRejected: rejects.keep, fetch: serve(doc(`${item(1)}\n`), 'https://cdn-2.example/feed.xml?sig=b') }));
    expect(second.feeds[0]).toMatchObject({ status: 'ok', rejected: 3 });
    expect(second.rejects).toEqual({ kept: 3, keptNow: 0, notKept: 0 });
    expect(rejects.kept.size).toBe(2);
  });

  it("reads a feed whose rejected entries were not kept whole again next run (its validators are not saved), and the run's other work is done", async () => {
    const rejects = memoryRejects(new Set([FEEDS[0] as string]));
    const state = memoryState();
    const { producer, sent } = fakeProducer();
    const warnings: [string, unknown][] = [];
    const log = { info: () => undefined, warn: (m: string, a: unknown) => warnings.push([m, a]) } as unknown as RunDeps['log'];
    const d = deps({ keepRejected: rejects.keep, feedState: state.store, producer: async () => producer, log });
    const result = await runOnce({ ...options, feedUrls: FEEDS }, d);
    expect(result.rejects).toEqual({ kept: 1, keptNow: 1, notKept: 1, error: 'AccessDenied: not allowed' });
    expectAccounted(result);
    expect(sent.flat()).toHaveLength(35);
    expect([...state.map.keys()].sort()).toEqual([FEEDS[1], FEEDS[2]].sort());
    expect(warnings).toContainEqual(['rejected entries not kept: their feeds are read whole again next run', { notKept: 1, feeds: [FEEDS[0]], error: 'AccessDenied: not allowed' }]);

    // The next run reads that feed again (the others answer 304) and keeps its entry once S3 takes it.
    const fixed = memoryRejects();
    const next = await runOnce({ ...options, feedUrls: FEEDS }, { ...d, keepRejected: fixed.keep });
    expect(next.feeds.map((f) => f.status)).toEqual(['ok', 'not-modified', 'not-modified']);
    expect(next.rejects).toEqual({ kept: 1, keptNow: 1, notKept: 0 });
    expect([...state.map.keys()].sort()).toEqual([...FEEDS].sort());
  });

  it('counts every rejected entry not kept when keeping throws, and still produces', async () => {
    const { producer, sent } = fakeProducer();
    const result = await runOnce(
      { ...options, feedUrls: FEEDS },
      deps({ producer: async () => producer, keepRejected: async () => Promise.reject(new Error('socket hang up')) }),
    );
    expect(result.rejects).toEqual({ kept: 0, keptNow: 0, notKept: 2, error: 'socket hang up' });
    expectAccounted(result);
    expect(sent.flat()).toHaveLength(35);
  });

  it('second run: nothing new, nothing sent; unchanged feeds answer 304', async () => {
    const state = memoryState();
    const dedup = memoryDedup();
    const { producer, sent } = fakeProducer();
    const d = deps({ feedState: state.store, publishOnce: dedup, producer: async () => producer });
    await runOnce({ ...options, feedUrls: FEEDS }, d);
    expect(state.saves).toHaveLength(1);
    expect([...state.map.keys()]).toEqual(FEEDS);

    const again = await runOnce({ ...options, feedUrls: FEEDS }, d);
    expect(again.feeds.map((f) => f.status)).toEqual(['not-modified', 'not-modified', 'not-modified']);
    expect(again.totals).toMatchObject({ fetched: 0, new: 0, produced: 0 });
    expect(sent).toHaveLength(1);
    expect(state.saves).toHaveLength(1); // validators unchanged: nothing written

    // Without validators (say they expired) the same items are fetched and all are duplicates.
    const refetch = await runOnce({ ...options, feedUrls: FEEDS }, { ...d, feedState: memoryState().store });
    expect(refetch.totals).toEqual({ feeds: 3, fetched: 39, new: 0, duplicate: 37, inFlight: 0, rejected: 2, released: 0, failedFeeds: 0, stoppedFeeds: 0, produced: 0 });
    expectAccounted(refetch);
    expect(sent).toHaveLength(1);
  });

  it('names the first ten rejected entries of a feed in its log line, by place and guid (cut at 200 characters)', async () => {
    const entries = Array.from({ length: 12 }, (_, i) => `<item><guid isPermaLink="false">${'g'.repeat(300)}-${i}</guid><description>no title, no link</description></item>`);
    const body = `<?xml version="1.0"?><rss version="2.0"><channel><title>R</title><link>${HOST}/</link>${entries.join('')}</channel></rss>`;
    const fetchRejects = (async () => new Response(body, { headers: { 'content-type': 'application/rss+xml' } })) as typeof fetch;
    const infos: [string, unknown][] = [];
    const log = { info: (m: string, a: unknown) => infos.push([m, a]), warn: () => undefined } as unknown as RunDeps['log'];
    const result = await runOnce({ ...options, feedUrls: [`${HOST}/feeds/rejects.xml`] }, deps({ fetch: fetchRejects, log }));
    expect(result.totals).toMatchObject({ fetched: 12, rejected: 12, new: 0 });
    const logged = rejectionsLogged(infos)[`${HOST}/feeds/rejects.xml`] as { rejected: number; sample: { entry: number; guid: string; reason: string }[] };
    expect(logged.rejected).toBe(12);
    expect(logged.sample.map((r) => r.entry)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(logged.sample[0]).toEqual({ entry: 1, guid: `${'g'.repeat(200)}…`, reason: 'no title and no link' });
  });

  it('gives the send the time left once the producer is ready, not what was left while it was still connecting', async () => {
    const { producer, timeouts } = fakeProducer();
    let remaining = 60_000;
    let connected!: () => void;
    const connecting = new Promise<void>((resolve) => {
      connected = resolve;
    });
    const dedup = memoryDedup();
    // The producer becomes ready only once publishing has begun, 19 s later by the invocation's clock.
    const publishOnce: PublishOnce = (a) =>
      dedup({
        ...a,
        publish: (batch) => {
          const publishing = a.publish(batch);
          remaining = 41_000;
          connected();
          return publishing;
        },
      });
    const result = await runOnce(
      { ...options, feedUrls: FEEDS },
      deps({ publishOnce, producer: () => connecting.then(() => producer), deadline: { remainingMs: () => remaining } }),
    );
    expect(result.totals.produced).toBe(35);
    expect(timeouts).toEqual([41_000]);
  });

  it('a failed flush fails the run and saves no validators, so the retry fetches everything again', async () => {
    const state = memoryState();
    const { producer } = fakeProducer(new FlushTimeoutError(3, 35, 500));
    const done = new Set<string>();
    const fetched: unknown[] = [];
    await expect(
      runOnce(
        { ...options, feedUrls: [...FEEDS, `${HOST}/feeds/broken`] },
        deps({ feedState: state.store, publishOnce: memoryDedup(done), producer: async () => producer, onFetched: (c) => fetched.push(c) }),
      ),
    ).rejects.toBeInstanceOf(FlushTimeoutError);
    expect(state.saves).toEqual([]);
    expect(done.size).toBe(0);
    // What the feeds gave is reported before producing, so a failed run still has its counts.
    expect(fetched).toEqual([{ feeds: 4, fetched: 39, rejected: 2, failedFeeds: 1, stoppedFeeds: 0 }]);
  });

  it('a flush that delivered some items still reports them produced and new, the rest released, and the retry counts only the rest', async () => {
    const done = new Set<string>();
    const counts: ProducedCounts[] = [];
    const fetched: FetchedCounts[] = [];
    const warnings: [string, unknown][] = [];
    const log = { info: () => undefined, warn: (m: string, a: unknown) => warnings.push([m, a]) } as unknown as RunDeps['log'];
    const published = Array.from({ length: 35 }, (_, i) => i < 30);
    const failing = deps({
      publishOnce: memoryDedup(done),
      producer: async () => fakeProducer(new FlushTimeoutError(30, 35, 500, published)).producer,
      onFetched: (c) => fetched.push(c),
      onProduced: (c) => counts.push(c),
      log,
    });
    await expect(runOnce({ ...options, feedUrls: FEEDS }, failing)).rejects.toBeInstanceOf(FlushTimeoutError);
    // The 30 delivered are done: the retry finds them duplicates, so only this run can count them.
    // The other 5 were released for the retry: counted as such, so a failed run's counts add up too.
    expect(counts).toEqual([{ new: 30, duplicate: 2, inFlight: 0, released: 5, produced: 30, refreshFailed: 0 }]);
    const [f] = fetched;
    const [c] = counts;
    expect(f?.fetched).toBe(39);
    expect(f?.fetched).toBe((c?.new ?? 0) + (c?.duplicate ?? 0) + (c?.inFlight ?? 0) + (f?.rejected ?? 0) + (c?.released ?? 0));
    // The failed run returns no result: its log line has the counts, and they add up.
    expect(warnings).toEqual([[expect.stringMatching(/^items released for a retry/), { ...f, ...c }]]);
    expect(done.size).toBe(30);

    counts.length = 0;
    const retry = await runOnce({ ...options, feedUrls: FEEDS }, deps({ publishOnce: memoryDedup(done), onProduced: (c) => counts.push(c) }));
    expect(counts).toEqual([{ new: 5, duplicate: 32, inFlight: 0, released: 0, produced: 5, refreshFailed: 0 }]);
    expect(retry.totals).toMatchObject({ new: 5, duplicate: 32, released: 0, produced: 5 });
    expectAccounted(retry);
  });

  it('reports what it produced before an error that comes after producing, and warns of refused dedup refreshes', async () => {
    const counts: unknown[] = [];
    const warnings: [string, unknown][] = [];
    const log = { info: () => undefined, warn: (m: string, a: unknown) => warnings.push([m, a]) } as unknown as RunDeps['log'];
    const late = new Error('EarlierAttemptClaimsError, say');
    const publishOnce: PublishOnce = async (a) => {
      await memoryDedup()({ ...a, onOutcome: () => undefined });
      a.onOutcome({ fresh: a.items.slice(0, 35), duplicates: 0, inFlight: 0, released: 0, refreshFailed: 4, refreshError: new Error('AccessDeniedException') });
      throw late;
    };
    await expect(runOnce({ ...options, feedUrls: FEEDS }, deps({ publishOnce, log, onProduced: (c) => counts.push(c) }))).rejects.toBe(late);
    expect(counts).toEqual([{ new: 35, duplicate: 2, inFlight: 0, released: 0, produced: 35, refreshFailed: 4 }]);
    expect(warnings).toEqual([[expect.stringMatching(/^dedup expiry refresh failed/), { items: 4, error: expect.stringContaining('AccessDeniedException') }]]);
  });

  it('stops before producing when no time is left', async () => {
    let left = 60_000;
    const d = deps({ deadline: { remainingMs: () => left } });
    const publishOnce: PublishOnce = async (a) => {
      left = 0;
      return memoryDedup()(a);
    };
    await expect(runOnce({ ...options, feedUrls: FEEDS }, { ...d, publishOnce })).rejects.toBeInstanceOf(DeadlineExceededError);
  });

  it('items a concurrent invocation holds are counted in flight, and their feed keeps its old validators', async () => {
    const state = memoryState();
    const firstRun = new Set<string>();
    await runOnce({ ...options, feedUrls: [FEEDS[2] as string] }, deps({ publishOnce: memoryDedup(firstRun) }));
    const held = new Set([[...firstRun][0] as string]);
    const result = await runOnce({ ...options, feedUrls: FEEDS }, deps({ feedState: state.store, publishOnce: memoryDedup(new Set(), held) }));
    expect(result.totals).toMatchObject({ new: 34, inFlight: 1 });
    expectAccounted(result);
    expect([...state.map.keys()]).toEqual([FEEDS[0], FEEDS[1]]);
  });

  it('a feed listing an item whose dedup expiry refresh failed keeps its old validators: read whole next run, it tries again', async () => {
    const done = new Set<string>();
    await runOnce({ ...options, feedUrls: [FEEDS[2] as string] }, deps({ publishOnce: memoryDedup(done) }));
    const science = [...done][0] as string;
    await runOnce({ ...options, feedUrls: FEEDS }, deps({ publishOnce: memoryDedup(done) }));
    /** The table refused to renew the expiry of `ids` (a store that does not name them: `unnamed`). */
    const refusing = (ids: string[] | 'unnamed'): PublishOnce => async (a) => {
      const refused = { refreshFailed: 1, refreshError: new Error('ThrottlingException'), ...(ids === 'unnamed' ? {} : { refreshFailedIds: ids }) };
      const out = await memoryDedup(done)({ ...a, onOutcome: (o) => a.onOutcome({ ...o, ...refused }) });
      return { ...out, ...refused };
    };
    // Validators lapsed (none known): every feed is read whole and would save them.
    const state = memoryState();
    const result = await runOnce({ ...options, feedUrls: FEEDS }, deps({ feedState: state.store, publishOnce: refusing([science]) }));
    expect(result.totals).toMatchObject({ new: 0, duplicate: 37 });
    // A 304 to science-rdf.xml would hide its item until the record lapsed, and it would be produced again.
    expect([...state.map.keys()]).toEqual([FEEDS[0], FEEDS[1]]);
    // Refused records the store does not name could be any seen item's: no feed listing one saves them.
    const unnamed = memoryState();
    await runOnce({ ...options, feedUrls: FEEDS }, deps({ feedState: unnamed.store, publishOnce: refusing('unnamed') }));
    expect(unnamed.saves).toEqual([]);
  });

  it('a feed that only repeats an item a concurrent invocation holds keeps its old validators too: if the holder fails, either feed may be the one still listing it', async () => {
    // "New chip" is listed in world.xml and again in tech-atom.xml (the repeat): hold its id.
    const { producer, sent } = fakeProducer();
    await runOnce({ ...options, feedUrls: [FEEDS[0] as string] }, deps({ producer: async () => producer }));
    const chip = sent.flat().find((m) => String(JSON.parse(String(m.value)).payload.title).startsWith('New chip'));
    expect(chip).toBeDefined();
    const state = memoryState();
    const result = await runOnce({ ...options, feedUrls: FEEDS }, deps({ feedState: state.store, publishOnce: memoryDedup(new Set(), new Set([String(chip?.key)])) }));
    expect(result.totals.inFlight).toBe(1);
    expect([...state.map.keys()]).toEqual([FEEDS[2]]);
  });

  it('a comment alone on its post keeps its own id, so the next one on that post is produced too', async () => {
    const comments = (...ids: [post: string, n: number][]) =>
      `<?xml version="1.0"?><rss version="2.0"><channel><title>Comments</title><link>${HOST}/</link>${ids
        .map(([post, n]) => `<item><title>On ${post}</title><link>${HOST}/${post}/#comment-${n}</link><guid isPermaLink="false">${HOST}/${post}/#comment-${n}</guid></item>`)
        .join('')}</channel></rss>`;
    let body = comments(['a', 101], ['b', 102]);
    const fetch = (async () => new Response(body, { headers: { 'content-type': 'application/rss+xml' } })) as typeof globalThis.fetch;
    const { producer, sent } = fakeProducer();
    const d = deps({ fetch, producer: async () => producer });
    const url = `${HOST}/comments/feed/`;
    await runOnce({ ...options, feedUrls: [url] }, d);
    body = comments(['a', 205], ['c', 204]);
    const second = await runOnce({ ...options, feedUrls: [url] }, d);
    expect(second.totals).toMatchObject({ new: 2, duplicate: 0 });
    const links = sent.flat().map((m) => JSON.parse(String(m.value)).payload.link);
    expect(links).toEqual(['a/#comment-101', 'b/#comment-102', 'a/#comment-205', 'c/#comment-204'].map((p) => `${HOST}/${p}`));
  });

  it('a run with nothing to send returns once the producer is connected (or failed), not with the connect under way: Lambda would freeze it midway', async () => {
    let connected = false;
    const { producer } = fakeProducer();
    const slowConnect = () => new Promise<typeof producer>((resolve) => setTimeout(() => {
      connected = true;
      resolve(producer);
    }, 200));
    const result = await runOnce({ ...options, feedUrls: [] }, deps({ producer: slowConnect }));
    expect(result.totals.produced).toBe(0);
    expect(connected).toBe(true);
    // Bounded by the time left: a connect that never ends is waited for that long and no longer, on
    // a faked clock (the wait's timer), so how fast the machine runs does not enter into it.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const never = () => new Promise<typeof producer>(() => {});
      let returned = false;
      const running = runOnce({ ...options, feedUrls: [] }, deps({ producer: never, deadline: { remainingMs: () => 300 } })).then(() => {
        returned = true;
      });
      await vi.advanceTimersByTimeAsync(299);
      expect(returned).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(returned).toBe(true);
      await running;
    } finally {
      vi.useRealTimers();
    }
  });

  it('a producer that cannot be created does not fail a run with nothing to send', async () => {
    const d = deps({ producer: async () => Promise.reject(new Error('no broker')) });
    const first = await runOnce({ ...options, feedUrls: [] }, d);
    expect(first.totals.produced).toBe(0);
    await expect(runOnce({ ...options, feedUrls: FEEDS }, d)).rejects.toThrow('no broker');
  });
});
