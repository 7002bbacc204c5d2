import { describe, expect, it } from 'vitest';
import { fetchFeed, mapLimit } from '../../src/fetch.ts';

/** A stream that hands out `chunks` chunks of `size` bytes on demand and records how far it was read. */
function source(chunks: number, size: number) {
  const seen = { pulled: 0, cancelled: false as boolean | string };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (seen.pulled === chunks) return controller.close();
      seen.pulled++;
      controller.enqueue(new Uint8Array(size).fill(60));
    },
    cancel(reason) {
      seen.cancelled = String(reason);
    },
  }, { highWaterMark: 0 });
  return { stream, seen };
}

const options = { timeoutMs: 1_000, maxBytes: 1_000 };

describe('fetchFeed with a stubbed fetch', () => {
  it('sends the remembered validators and reads a 304 as not modified', async () => {
    let sent: Headers | undefined;
    const fetchStub = (async (_url: string, init: RequestInit) => {
      sent = new Headers(init.headers);
      return new Response(null, { status: 304 });
    }) as typeof fetch;
    const out = await fetchFeed('https://x.example/f', { etag: '"v1"', lastModified: 'Wed, 25 Nov 2026 10:00:00 GMT' }, { ...options, fetch: fetchStub });
    expect(out.status).toBe('not-modified');
    expect(sent?.get('if-none-match')).toBe('"v1"');
    expect(sent?.get('if-modified-since')).toBe('Wed, 25 Nov 2026 10:00:00 GMT');
    expect(sent?.get('user-agent')).toMatch(/^laminar-rss-producer/);
  });

  it('sends no conditional headers without validators, and returns the new ones', async () => {
    let sent: Headers | undefined;
    const fetchStub = (async (_url: string, init: RequestInit) => {
      sent = new Headers(init.headers);
      return new Response('<rss/>', { headers: { etag: 'W/"v2"', 'last-modified': 'Thu, 26 Nov 2026 10:00:00 GMT', 'content-type': 'text/xml' } });
    }) as typeof fetch;
    const out = await fetchFeed('https://x.example/f', undefined, { ...options, fetch: fetchStub });
    expect(sent?.has('if-none-match')).toBe(false);
    expect(out).toMatchObject({ status: 'ok', contentType: 'text/xml', validators: { etag: 'W/"v2"', lastModified: 'Thu, 26 Nov 2026 10:00:00 GMT' } });
  });

  it('refuses a declared Content-Length over the limit without reading the body', async () => {
    const { stream, seen } = source(100, 100);
    const fetchStub = (async () => new Response(stream, { headers: { 'content-length': '10000' } })) as unknown as typeof fetch;
    const out = await fetchFeed('https://x.example/f', undefined, { ...options, fetch: fetchStub });
    expect(out).toMatchObject({ status: 'failed', reason: 'body is 10000 bytes, over MAX_FEED_BYTES (1000 bytes)' });
    expect(seen.pulled).toBeLessThanOrEqual(1);
  });

  it('turns HTTP errors and thrown errors into reasons', async () => {
    const notFound = (async () => new Response('nope', { status: 404, statusText: 'Not Found' })) as unknown as typeof fetch;
    expect(await fetchFeed('https://x.example/f', undefined, { ...options, fetch: notFound })).toMatchObject({ status: 'failed', reason: 'HTTP 404 Not Found' });
    const refused = (async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    }) as unknown as typeof fetch;
    expect(await fetchFeed('https://x.example/f', undefined, { ...options, fetch: refused })).toMatchObject({
      status: 'failed',
      reason: 'network error: fetch failed (ECONNREFUSED)',
    });
  });

  it('does not start once the run is out of time', async () => {
    const fetchStub = (async () => {
      throw new Error('must not be called');
    }) as unknown as typeof fetch;
    const out = await fetchFeed('https://x.example/f', undefined, { ...options, signal: AbortSignal.abort(), fetch: fetchStub });
    expect(out).toMatchObject({ status: 'stopped', reason: "the invocation's time ran out" });
  });
});

describe('bounded concurrency', () => {
  it('never runs more than the limit at once and keeps the input order', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 1, 1], 3, async (ms, i) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, ms));
      running--;
      return i;
    });
    expect(out).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(peak).toBe(3);
  });
});
