import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import { gzipSync } from 'node:zlib';
import { type HttpFixtures, startHttpFixtures } from '@laminar/emulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeedClock } from '../../src/fetch.ts';
import { type FeedReport, runOnce } from '../../src/run.ts';
import { expectAccounted, fakeProducer, memoryDedup, memoryState, quiet } from '../support/fakes.ts';

const feed = (name: string) => readFileSync(new URL(`../../fixtures/http/feeds/${name}`, import.meta.url));
const world = feed('world.xml');
// Generous, so a loaded machine never makes a good feed time out; the slow routes stay far beyond it.
const TIMEOUT_MS = 3_000;
const MAX_BYTES = 256 * 1024;

let http: HttpFixtures;
let closedPort: number;
/** Chunked, no Content-Length (the fixtures server always declares one): only counting can stop it. */
let endless: Server;
let endlessUrl: string;
/** Settles when the server sees the client leave: the body was abandoned, not read to the end of time. */
let endlessClosed: Promise<void>;
/** Answers only when the test says, and never at all for /never: when a feed's time is up is the test's to decide. */
let gated: Server;
let gatedUrl: string;
let releaseHealthy: () => void;
const healthyReleased = new Promise<void>((r) => {
  releaseHealthy = r;
});

beforeAll(async () => {
  http = await startHttpFixtures({
    '/good/world.xml': { body: world, headers: { 'content-type': 'application/rss+xml; charset=utf-8' }, etag: '"world-1"' },
    '/good/tech.atom': {
      body: feed('tech-atom.xml'),
      headers: { 'content-type': 'application/atom+xml' },
      lastModified: 'Wed, 25 Nov 2026 18:00:00 GMT',
    },
    '/good/as-text-plain': { body: feed('science-rdf.xml'), headers: { 'content-type': 'text/plain' } },
    '/good/moved': { status: 301, headers: { location: '/good/as-text-plain' } },
    '/bad/500': { status: 500, body: 'Internal Server Error' },
    '/bad/slow-headers': { delayMs: 12_000, body: world, headers: { 'content-type': 'application/rss+xml' } },
    '/bad/slower-headers': { delayMs: 20_000, body: world, headers: { 'content-type': 'application/rss+xml' } },
    '/bad/slow-body': { body: world, chunkBytes: 256, delayMs: 500, headers: { 'content-type': 'application/rss+xml' } },
    // Three items, the first never closed: the lenient parser reads one and says nothing of the others.
    '/bad/unclosed-item': {
      body:
        '<?xml version="1.0"?>\n<rss version="2.0"><channel><title>Unclosed</title>\n' +
        '<item><title>Kept</title><link>https://unclosed.example/1</link>\n' +
        '<item><title>Lost</title><link>https://unclosed.example/2</link></item>\n' +
        '<item><title>Lost too</title><link>https://unclosed.example/3</link></item>\n</channel></rss>',
      headers: { 'content-type': 'application/rss+xml' },
    },
    // UTF-8, declared so, behind a server default that says Latin-1.
    '/good/utf8-said-latin1': {
      body: Buffer.from('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>C</title><item><title>Café “crème”</title><link>https://cafe.example/1</link></item></channel></rss>'),
      headers: { 'content-type': 'text/xml; charset=ISO-8859-1' },
    },
    '/bad/malformed': {
      body: '<?xml version="1.0"?><rss version="2.0"><channel><title>Broken</title><item><title>One</link></item></channel></rss>',
      headers: { 'content-type': 'application/rss+xml' },
    },
    '/bad/html': {
      body: '<!DOCTYPE html><html><head><title>Example News</title></head><body><h1>Subscribe to our feeds</h1></body></html>',
      headers: { 'content-type': 'text/html; charset=utf-8' },
    },
    '/bad/declared-huge': { body: Buffer.alloc(MAX_BYTES + 1, 0x20), headers: { 'content-type': 'application/rss+xml' } },
    // 20 MB of spaces compress to ~20 KB: the limit counts inflated bytes.
    '/bad/gzip-bomb': {
      body: gzipSync(Buffer.concat([world.subarray(0, 200), Buffer.alloc(20 * 1024 * 1024, 0x20)])),
      headers: { 'content-type': 'application/rss+xml', 'content-encoding': 'gzip' },
    },
    '/bad/empty': { body: '', headers: { 'content-type': 'application/rss+xml' } },
    // Redirected to a page whose links are relative to where it now lives.
    '/moved/rss': { status: 301, headers: { location: '/news/world/rss.xml' } },
    '/news/world/rss.xml': {
      body:
        '<?xml version="1.0"?><rss version="2.0"><channel><title>W</title><link>/news/world/</link>' +
        '<item><title>Story</title><link>story-1.html</link></item></channel></rss>',
      headers: { 'content-type': 'application/rss+xml' },
    },
    '/busy/big.xml': { body: world, headers: { 'content-type': 'application/rss+xml' } },
  });
  // 64 KB chunks, as fast as the client reads them, for ever: the limit must end it, and the
  // server must see the client leave — or this test never ends.
  let closed: () => void;
  endlessClosed = new Promise((r) => {
    closed = r;
  });
  endless = createHttpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/rss+xml' });
    res.write(world.subarray(0, 200));
    const more = () => {
      if (res.destroyed) return;
      if (res.write(Buffer.alloc(64 * 1024, 0x20))) setImmediate(more);
      else res.once('drain', more);
    };
    more();
    res.on('close', () => closed());
  });
  await new Promise<void>((r) => endless.listen(0, '127.0.0.1', r));
  endlessUrl = `http://127.0.0.1:${(endless.address() as { port: number }).port}/bad/gigantic`;
  gated = createHttpServer((req, res) => {
    if (req.url !== '/gated/healthy.xml') return; // /never: no answer, ever
    healthyReleased.then(() => res.writeHead(200, { 'content-type': 'application/atom+xml' }).end(feed('tech-atom.xml')));
  });
  await new Promise<void>((r) => gated.listen(0, '127.0.0.1', r));
  gatedUrl = `http://127.0.0.1:${(gated.address() as { port: number }).port}`;
  // A port nobody listens on: connection refused.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  closedPort = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
});

afterAll(async () => {
  await http?.stop();
  for (const server of [endless, gated]) {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
  }
});

const GOOD = ['/good/world.xml', '/good/tech.atom', '/good/moved'];
/** Read, but not all of it: its lost entries are counted as rejected. */
const PARTIAL = ['/bad/unclosed-item'];
const BAD = [
  '/bad/500',
  '/bad/slow-headers',
  '/bad/slow-body',
  '/bad/slower-headers',
  '/bad/malformed',
  '/bad/html',
  '/bad/declared-huge',
  '/bad/gzip-bomb',
  '/bad/empty',
  '/missing',
];

describe('hostile feeds over real HTTP', { shuffle: false }, () => {
  // Two runs of one producer: the second finds the first's validators and dedup records.
  const state = memoryState();
  const dedup = memoryDedup();
  const { producer, sent } = fakeProducer();
  const run = () =>
    runOnce(
      {
        feedUrls: [
          ...[...BAD.slice(0, 6), ...GOOD, ...PARTIAL, ...BAD.slice(6)].map((p) => http.url + p),
          endlessUrl,
          `http://127.0.0.1:${closedPort}/feed`,
        ],
        topic: 'rss-items',
        timeoutMs: TIMEOUT_MS,
        maxBytes: MAX_BYTES,
        concurrency: 8,
      },
      { feedState: state.store, publishOnce: dedup, producer: async () => producer, deadline: { remainingMs: () => 60_000 }, log: quiet },
    );

  it('fails each bad feed with its reason and produces everything the good ones gave', async () => {
    const result = await run();
    const byPath = new Map(result.feeds.map((f) => [f.url === endlessUrl ? 'endless' : f.url.replace(http.url, '').replace(`http://127.0.0.1:${closedPort}`, 'closed:'), f]));
    const reason = (p: string) => (byPath.get(p) as FeedReport).reason;

    expect(reason('/bad/500')).toBe('HTTP 500 Internal Server Error');
    expect(reason('/bad/slow-headers')).toBe(`timed out after ${TIMEOUT_MS} ms`);
    expect(reason('/bad/slow-body')).toBe(`timed out after ${TIMEOUT_MS} ms`);
    expect(reason('/bad/slower-headers')).toBe(`timed out after ${TIMEOUT_MS} ms`);
    expect(reason('/bad/malformed')).toMatch(/^malformed XML: /);
    expect(reason('/bad/html')).toBe('not a feed: got an HTML page (content-type text/html; charset=utf-8)');
    expect(reason('endless')).toBe(`body exceeds MAX_FEED_BYTES (${MAX_BYTES} bytes)`);
    expect(reason('/bad/declared-huge')).toBe(`body is ${MAX_BYTES + 1} bytes, over MAX_FEED_BYTES (${MAX_BYTES} bytes)`);
    expect(reason('/bad/gzip-bomb')).toBe(`body exceeds MAX_FEED_BYTES (${MAX_BYTES} bytes)`);
    expect(reason('/bad/empty')).toBe('not a feed: the body is empty (content-type application/rss+xml)');
    expect(reason('/missing')).toBe('HTTP 404 Not Found');
    expect(reason('closed:/feed')).toMatch(/^network error: .*ECONNREFUSED/);

    expect(GOOD.map((p) => byPath.get(p)?.status)).toEqual(['ok', 'ok', 'ok']);
    // Served as text/plain behind a redirect, still RSS 1.0.
    expect(byPath.get('/good/moved')).toMatchObject({ format: 'rdf', fetched: 11 });
    // Three items in the document: the one read is produced, the two the broken markup hid are
    // rejected, and the reason says where.
    expect(byPath.get('/bad/unclosed-item')).toMatchObject({ status: 'ok', fetched: 3, new: 1, rejected: 2 });
    expect(result.totals).toMatchObject({ failedFeeds: BAD.length + 2, new: 36, produced: 36 });
    expectAccounted(result);
    expect(sent.flat()).toHaveLength(36);

    // The endless body was abandoned at the limit: the server sees the connection close (were it
    // read on, this would wait for ever and the test time out).
    await endlessClosed;
  });

  it('second run: conditional GETs answer 304 (ETag and Last-Modified), nothing new is produced', async () => {
    http.requests.length = 0;
    const result = await run();
    const status = (p: string) => result.feeds.find((f) => f.url === http.url + p)?.status;
    expect(status('/good/world.xml')).toBe('not-modified');
    expect(status('/good/tech.atom')).toBe('not-modified');
    // No validators on that one: fetched again in full, every item a duplicate.
    expect(result.feeds.find((f) => f.url === `${http.url}/good/moved`)).toMatchObject({ status: 'ok', fetched: 11, new: 0, duplicate: 11 });
    expect(result.feeds.find((f) => f.url === `${http.url}/bad/unclosed-item`)).toMatchObject({ fetched: 3, duplicate: 1, rejected: 2 });
    expect(http.requests.find((r) => r.url === '/good/world.xml')?.headers['if-none-match']).toBe('"world-1"');
    expect(http.requests.find((r) => r.url === '/good/tech.atom')?.headers['if-modified-since']).toBe('Wed, 25 Nov 2026 18:00:00 GMT');
    expect(result.totals).toMatchObject({ new: 0, produced: 0 });
    expectAccounted(result);
    expect(sent).toHaveLength(1);
  });
});

/**
 * A clock for the feeds' time limits that moves only when told: `advance` is the event loop coming
 * back after `ms`, every timer then due firing once, late, as real ones do after a blocked loop.
 */
function manualClock() {
  let now = 0;
  let ids = 0;
  const timers = new Map<number, { at: number; tick: () => void }>();
  const clock: FeedClock = {
    now: () => now,
    setTimeout: (tick, ms) => {
      timers.set(++ids, { at: now + ms, tick });
      return ids;
    },
    clearTimeout: (id) => timers.delete(id as number),
  };
  const advance = (ms: number) => {
    now += ms;
    for (const [id, t] of [...timers]) {
      if (t.at > now) continue;
      timers.delete(id);
      t.tick();
    }
  };
  return { clock, advance, pending: () => timers.size };
}

describe('good feeds among trouble', () => {
  const run = (urls: string[], timeoutMs: number, more: { fetch?: typeof globalThis.fetch; clock?: FeedClock; log?: typeof quiet } = {}) => {
    const { producer, sent } = fakeProducer();
    const deps = { feedState: memoryState().store, publishOnce: memoryDedup(), producer: async () => producer, deadline: { remainingMs: () => 60_000 }, log: quiet };
    const result = runOnce({ feedUrls: urls, topic: 'rss-items', timeoutMs, maxBytes: MAX_BYTES, concurrency: 8 }, { ...deps, ...more });
    return { result, sent };
  };

  it('resolves relative links against the URL the feed was served from after redirects, and keeps its configured URL', async () => {
    const { result, sent } = run([`${http.url}/moved/rss`], TIMEOUT_MS);
    expect((await result).feeds).toMatchObject([{ url: `${http.url}/moved/rss`, status: 'ok', new: 1 }]);
    const payload = JSON.parse(String(sent.flat()[0]?.value)).payload;
    expect(payload).toMatchObject({ link: `${http.url}/news/world/story-1.html`, feedUrl: `${http.url}/moved/rss` });
  });

  it('reads a UTF-8 feed as UTF-8 behind a server default of ISO-8859-1, and warns', async () => {
    const warnings: unknown[] = [];
    const log = { ...quiet, warn: (message: string, attributes: unknown) => warnings.push([message, attributes]) } as typeof quiet;
    const { result, sent } = run([`${http.url}/good/utf8-said-latin1`], TIMEOUT_MS, { log });
    expect((await result).feeds).toMatchObject([{ status: 'ok', new: 1 }]);
    expect(JSON.parse(String(sent.flat()[0]?.value)).payload.title).toBe('Café “crème”');
    expect(warnings).toEqual([['feed charset', { url: `${http.url}/good/utf8-said-latin1`, message: expect.stringMatching(/^Content-Type says windows-1252, but the body is valid UTF-8/) }]]);
  });

  it("does not fail a healthy feed for the time the event loop spent on another feed's parse", async () => {
    const limitMs = 1_500;
    const { clock, advance, pending } = manualClock();
    // Stands in for a large feed's synchronous parse holding the loop for twice the limit: every
    // feed's timer comes back that late at once. A plain timer would fail them all right there.
    const busyFetch = (async (url: string, init: RequestInit) => {
      const res = await fetch(url, init);
      if (url.endsWith('/busy/big.xml')) {
        advance(2 * limitMs);
        // The healthy feed answers only after the loop was held, so its timer lived through it.
        releaseHealthy();
      }
      return res;
    }) as typeof fetch;
    const { result } = run([`${http.url}/busy/big.xml`, `${gatedUrl}/gated/healthy.xml`, `${gatedUrl}/never`], limitMs, { fetch: busyFetch, clock });
    // Once the two good feeds are in, only the silent one's timer is left: let its time run out, a
    // tick at a time, as a free loop would. Nothing else moves the clock.
    let settled = false;
    void result.finally(() => {
      settled = true;
    });
    while (!settled) {
      if (pending() === 1) advance(100);
      await new Promise((r) => setImmediate(r));
    }
    const feeds = (await result).feeds;
    expect(feeds.map((f) => [f.url.replace(http.url, '').replace(gatedUrl, ''), f.status, f.reason])).toEqual([
      ['/busy/big.xml', 'ok', undefined],
      ['/gated/healthy.xml', 'ok', undefined],
      // A feed that really is slow still times out.
      ['/never', 'failed', `timed out after ${limitMs} ms`],
    ]);
  });
});
