import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpFixtures, startHttpFixtures, startSilentEndpoint } from '../../src/index.ts';

let http: HttpFixtures;
beforeAll(async () => {
  http = await startHttpFixtures({
    '/feed.xml': { body: '<rss/>', headers: { 'content-type': 'application/rss+xml' }, etag: '"v1"' },
    '/limited': [{ status: 429, headers: { 'retry-after': '1' } }, { body: 'ok' }],
    '/dynamic': (_req, url) => ({ body: `offset=${url.searchParams.get('offset')}` }),
    '/both': { body: '<rss>v2</rss>', etag: '"v2"', lastModified: 'Wed, 25 Nov 2026 12:00:00 GMT' },
  });
});
afterAll(() => http?.stop());

describe('HTTP fixtures', () => {
  it('serves bodies, honours conditional GET, plays sequences and records requests', async () => {
    const first = await fetch(`${http.url}/feed.xml`);
    expect(first.status).toBe(200);
    expect(await first.text()).toBe('<rss/>');
    const again = await fetch(`${http.url}/feed.xml`, { headers: { 'if-none-match': '"v1"' } });
    expect(again.status).toBe(304);
    expect((await fetch(`${http.url}/limited`)).status).toBe(429);
    expect((await fetch(`${http.url}/limited`)).status).toBe(200);
    expect(await (await fetch(`${http.url}/dynamic?offset=20`)).text()).toBe('offset=20');
    expect((await fetch(`${http.url}/missing`)).status).toBe(404);
    expect(http.requests.map((r) => r.url)).toContain('/dynamic?offset=20');
  });

  it('lets If-None-Match decide alone when sent: a changed ETag is answered in full whatever If-Modified-Since says', async () => {
    const since = 'Wed, 25 Nov 2026 12:00:00 GMT';
    expect((await fetch(`${http.url}/both`, { headers: { 'if-none-match': '"v1"', 'if-modified-since': since } })).status).toBe(200);
    expect((await fetch(`${http.url}/both`, { headers: { 'if-none-match': '"v2"', 'if-modified-since': since } })).status).toBe(304);
    expect((await fetch(`${http.url}/both`, { headers: { 'if-modified-since': since } })).status).toBe(304);
  });
});

describe('startSilentEndpoint', () => {
  it('takes a request and never answers, until stopped', async () => {
    const silent = await startSilentEndpoint();
    try {
      const err = await fetch(`${silent.url}/anything`, { signal: AbortSignal.timeout(1_000) }).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'TimeoutError' });
      expect(silent.requests.count).toBeGreaterThanOrEqual(1);
      expect(silent.connections.count).toBe(1);
    } finally {
      await silent.stop();
    }
    await expect(fetch(`${silent.url}/anything`)).rejects.toThrow();
  });
});
