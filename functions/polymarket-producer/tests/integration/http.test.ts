import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type HttpFixtures, startHttpFixtures } from '@laminar/emulators';
import { DeadlineExceededError } from '@laminar/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJsonClient, DEFAULT_MAX_BODY_BYTES, HttpRequestError } from '../../src/http.ts';

let server: HttpFixtures;
beforeAll(async () => {
  server = await startHttpFixtures();
});
afterAll(() => server?.stop());

const ok = (body: unknown) => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
/** Requests for exactly this path (query aside): "/slow" is not "/slow-deadline". */
const hits = (path: string) => server.requests.filter((r) => new URL(r.url, 'http://fixtures').pathname === path).length;
/** Small waits so the suite stays fast; the logic is the same at any scale. */
const fast = { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 40, maxRetryAfterMs: 5_000 };

/** Records the waits the client asks for and returns at once: what is checked is the wait asked, not the clock. */
function recordedSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

describe('createJsonClient against a real HTTP server', () => {
  it('waits as long as Retry-After (seconds) says after a 429, then succeeds', async () => {
    server.route('/ra-seconds', [{ status: 429, headers: { 'retry-after': '1' }, body: 'Too Many Requests' }, ok({ page: 1 })]);
    const { waits, sleep } = recordedSleep();
    const client = createJsonClient({ timeoutMs: 2000, retry: fast, sleep });
    await expect(client.json(`${server.url}/ra-seconds`)).resolves.toEqual({ page: 1 });
    expect(waits).toEqual([1000]);
    expect(hits('/ra-seconds')).toBe(2);
  });

  it('honours Retry-After given as an HTTP date', async () => {
    const now = Date.parse('2026-11-25T21:00:00Z');
    server.route('/ra-date', [{ status: 429, headers: { 'retry-after': new Date(now + 3000).toUTCString() } }, ok([])]);
    const { waits, sleep } = recordedSleep();
    const client = createJsonClient({ timeoutMs: 2000, retry: fast, now: () => now, sleep });
    await expect(client.json(`${server.url}/ra-date`)).resolves.toEqual([]);
    expect(waits).toEqual([3000]);
    expect(hits('/ra-date')).toBe(2);
  });

  it('backs off on a 429 without Retry-After', async () => {
    server.route('/ra-none', [{ status: 429 }, { status: 429 }, ok('fine')]);
    const { waits, sleep } = recordedSleep();
    const client = createJsonClient({ timeoutMs: 2000, retry: fast, sleep, random: () => 1 });
    await expect(client.json(`${server.url}/ra-none`)).resolves.toBe('fine');
    expect(hits('/ra-none')).toBe(3);
    expect(waits).toEqual([20, 40]);
  });

  it('retries 5xx a bounded number of times, then fails naming the status and the attempts', async () => {
    server.route('/always-500', { status: 500, body: '<html><body>Internal Server Error</body></html>' });
    const client = createJsonClient({ timeoutMs: 2000, retry: fast });
    const err = await client.json(`${server.url}/always-500`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpRequestError);
    expect(err).toMatchObject({
      kind: 'status',
      status: 500,
      attempts: 3,
      message: `GET ${server.url}/always-500 answered HTTP 500: <html><body>Internal Server Error</body></html> (gave up after 3 attempts)`,
    });
    expect(hits('/always-500')).toBe(3);
  });

  it('recovers when the server does within the attempts', async () => {
    server.route('/flaky', [{ status: 502 }, { status: 503 }, ok({ fine: true })]);
    const client = createJsonClient({ timeoutMs: 2000, retry: fast });
    await expect(client.json(`${server.url}/flaky`)).resolves.toEqual({ fine: true });
    expect(hits('/flaky')).toBe(3);
  });

  it('times out a slow response, retries it, and reports the timeout', async () => {
    server.route('/slow', { delayMs: 5000, ...ok({}) });
    // 1 s, not less: the server shares this process, and an attempt cut before the request reached
    // it (a loaded machine's pause) would not count as a hit.
    const client = createJsonClient({ timeoutMs: 1000, retry: { ...fast, maxAttempts: 2 } });
    await expect(client.json(`${server.url}/slow`)).rejects.toMatchObject({
      kind: 'timeout',
      attempts: 2,
      message: `GET ${server.url}/slow timed out after 1000 ms (gave up after 2 attempts)`,
    });
    // Two 1 s attempts (the message says so), not two 5 s waits for the slow server.
    expect(hits('/slow')).toBe(2);
  });

  it('times out a body that trickles in, not only slow headers', async () => {
    server.route('/trickle', { ...ok({ padding: 'x'.repeat(200) }), chunkBytes: 10, delayMs: 100 });
    const client = createJsonClient({ timeoutMs: 300, retry: { ...fast, maxAttempts: 1 } });
    await expect(client.json(`${server.url}/trickle`)).rejects.toMatchObject({ kind: 'timeout' });
  });

  it('shortens an attempt to the time the invocation has left: cut there, it is the deadline, not the server', async () => {
    server.route('/slow-deadline', { delayMs: 10_000, ...ok({}) });
    const { waits, sleep } = recordedSleep();
    const client = createJsonClient({ timeoutMs: 10_000, retry: fast, remainingMs: () => 1000, sleep });
    const err = await client.json(`${server.url}/slow-deadline`).catch((e: unknown) => e);
    // Cut at the invocation's time left, not the client's 10 s (the error says the attempt's own
    // timer fired, set to the 1000 ms left), and no retry: one request, no wait.
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err).toMatchObject({ message: expect.stringContaining("stopped: the invocation's time ran out (1000 ms were left for it)") });
    expect(hits('/slow-deadline')).toBe(1);
    expect(waits).toEqual([]);
  });

  it('does not retry past the invocation\'s time: the request is lost with its own kind, for a caller with a fallback', async () => {
    server.route('/slow-no-retry', { delayMs: 10_000, ...ok({}) });
    // Its own 1 s timeout, with 5 s left; then (that second spent) too little for a retry's wait.
    const told = [5000, 100];
    const remainingMs = () => told.shift() ?? 0;
    const { waits, sleep } = recordedSleep();
    const client = createJsonClient({ timeoutMs: 1000, retry: fast, remainingMs, sleep });
    const err = await client.json(`${server.url}/slow-no-retry`).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'timeout', attempts: 1, message: expect.stringContaining('timed out after 1000 ms; no retry') });
    expect(waits).toEqual([]);
  });

  it('reports a body that is not JSON clearly, without retrying', async () => {
    server.route('/not-json', { status: 200, headers: { 'content-type': 'text/html' }, body: '<!DOCTYPE html><html>Just a moment...</html>' });
    const client = createJsonClient({ timeoutMs: 2000, retry: fast });
    await expect(client.json(`${server.url}/not-json`)).rejects.toMatchObject({
      kind: 'invalid-json',
      message: expect.stringMatching(/answered HTTP 200 with a body that is not JSON \(44 bytes, starting "<!DOCTYPE html><html>Just a moment\.\.\.<\/html>"\)/),
    });
    expect(hits('/not-json')).toBe(1);
  });

  it('reports a refused connection as a network error after its retries', async () => {
    const gone = await startHttpFixtures();
    const url = `${gone.url}/x`;
    await gone.stop();
    const client = createJsonClient({ timeoutMs: 1000, retry: fast });
    await expect(client.json(url)).rejects.toMatchObject({ kind: 'network', attempts: 3, message: expect.stringMatching(/ECONNREFUSED/) });
  });
});

describe('createJsonClient against a server sending an oversized body', () => {
  // A plain node:http server: the body is streamed chunk by chunk, as long as the client reads,
  // and the server sees when the client hangs up.
  const CHUNK = Buffer.alloc(64 * 1024, 0x20);
  let endless: Server;
  let url: string;
  const written = { bytes: 0, closed: false };
  beforeAll(async () => {
    endless = createServer((req, res) => {
      if (req.url === '/declared') {
        // Says its size up front: refused before any of the body is read.
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(DEFAULT_MAX_BODY_BYTES + 1) });
        res.write('[');
        return;
      }
      // Chunked, no length: '[' then blanks without end (valid JSON so far), until the client leaves.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[');
      res.on('close', () => {
        written.closed = true;
      });
      const pump = () => {
        while (!res.destroyed && written.bytes < 20 * DEFAULT_MAX_BODY_BYTES) {
          written.bytes += CHUNK.length;
          if (!res.write(CHUNK)) return void res.once('drain', pump);
        }
      };
      pump();
    });
    await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(endless.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => endless?.close(() => resolve())));

  it('stops reading past 10 MB and fails with kind too-large, without retrying', async () => {
    const client = createJsonClient({ timeoutMs: 20_000, retry: fast });
    const err = await client.json(`${url}/endless`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpRequestError);
    expect(err).toMatchObject({ kind: 'too-large', attempts: 1, message: expect.stringContaining(`exceeds the ${DEFAULT_MAX_BODY_BYTES} bytes`) });
    // The connection was cut: the server stopped well before the 200 MB it would send.
    await expect.poll(() => written.closed).toBe(true);
    expect(written.bytes).toBeLessThan(2 * DEFAULT_MAX_BODY_BYTES);
  });

  it('refuses a body whose Content-Length is over the limit before reading it', async () => {
    const client = createJsonClient({ timeoutMs: 5_000, retry: fast });
    await expect(client.json(`${url}/declared`)).rejects.toMatchObject({ kind: 'too-large', attempts: 1, message: expect.stringContaining(`${DEFAULT_MAX_BODY_BYTES + 1} bytes`) });
  });

  it('reads a body just under a smaller limit, and refuses one just over it', async () => {
    server.route('/sized', ok('x'.repeat(998)));
    await expect(createJsonClient({ timeoutMs: 2000, maxBodyBytes: 1_000 }).json(`${server.url}/sized`)).resolves.toHaveLength(998);
    await expect(createJsonClient({ timeoutMs: 2000, maxBodyBytes: 999 }).json(`${server.url}/sized`)).rejects.toMatchObject({ kind: 'too-large' });
  });
});
