import { DeadlineExceededError } from '@laminar/runtime';
import { describe, expect, it } from 'vitest';
import { backoffMs, createJsonClient, DEFAULT_RETRY, HttpRequestError, parseRetryAfter } from '../../src/http.ts';

const NOW = Date.parse('2026-11-25T21:00:00Z');

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter('2', NOW)).toBe(2000);
    expect(parseRetryAfter(' 120 ', NOW)).toBe(120_000);
    expect(parseRetryAfter('1.5', NOW)).toBe(1500);
  });

  it('reads the three HTTP-date forms, all as GMT', () => {
    expect(parseRetryAfter('Wed, 25 Nov 2026 21:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Wednesday, 25-Nov-26 21:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Wed Nov 25 21:00:30 2026', NOW)).toBe(30_000);
  });

  it('treats a date in the past as "now"', () => {
    expect(parseRetryAfter('Wed, 25 Nov 2026 20:59:00 GMT', NOW)).toBe(0);
  });

  it('ignores what it cannot read, so the caller backs off on its own', () => {
    for (const v of [undefined, null, '', 'soon', '-5', '1e3', 'Wed, 25 Nov 2026 21:00:30', 'Wed, 99 Foo 2026 21:00:30 GMT']) {
      expect(parseRetryAfter(v, NOW), String(v)).toBeUndefined();
    }
  });
});

describe('backoffMs', () => {
  it('doubles per attempt up to the cap, with jitter in the upper half', () => {
    const policy = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, policy, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, policy, () => 1))).toEqual([100, 200, 400, 800, 1000]);
  });
});

/** A fetch that answers from a list, recording the calls. */
function scripted(responses: (() => Response | Promise<Response>)[]) {
  const calls: { url: string; init: RequestInit | undefined }[] = [];
  const fake = (async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), init });
    const next = responses[Math.min(calls.length - 1, responses.length - 1)];
    return (next as () => Response)();
  }) as typeof fetch;
  return { fetch: fake, calls };
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) => () =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

describe('createJsonClient (stubbed fetch)', () => {
  it('sends JSON bodies with the right headers', async () => {
    const s = scripted([json({ ok: true })]);
    const client = createJsonClient({ timeoutMs: 1000, fetch: s.fetch });
    await expect(client.json('http://x/midpoints', { method: 'POST', body: [{ token_id: '1' }] })).resolves.toEqual({ ok: true });
    const init = s.calls[0]?.init;
    expect(init?.method).toBe('POST');
    expect(init?.body).toBe('[{"token_id":"1"}]');
    expect(init?.headers).toMatchObject({ accept: 'application/json', 'content-type': 'application/json' });
  });

  it('fails at once when Retry-After asks for more than the allowed maximum', async () => {
    const s = scripted([json({ error: 'slow down' }, 429, { 'retry-after': '3600' })]);
    const client = createJsonClient({ timeoutMs: 1000, fetch: s.fetch });
    await expect(client.json('http://x/markets')).rejects.toMatchObject({
      name: 'HttpRequestError',
      kind: 'rate-limited',
      status: 429,
      message: expect.stringMatching(/HTTP 429.*Retry-After asks for 3600 s, more than the 20 s/),
    });
    expect(s.calls).toHaveLength(1);
    // Refused at once (one call, no retry) rather than waiting the hour Retry-After asks for.
  });

  it('does not wait for a Retry-After the invocation has no time for', async () => {
    const s = scripted([json({}, 429, { 'retry-after': '5' })]);
    const client = createJsonClient({ timeoutMs: 1000, fetch: s.fetch, remainingMs: () => 3000 });
    await expect(client.json('http://x/markets')).rejects.toMatchObject({
      kind: 'rate-limited',
      message: expect.stringMatching(/no retry: waiting 5000 ms would leave no time/),
    });
    expect(s.calls).toHaveLength(1);
  });

  it("keeps the failure's kind when its retry would not fit in the time left: that request is lost, not the invocation", async () => {
    const s = scripted([json({}, 503)]);
    const slept: number[] = [];
    const client = createJsonClient({
      timeoutMs: 1000,
      fetch: s.fetch,
      remainingMs: () => 3000,
      retry: { baseDelayMs: 4000, maxDelayMs: 4000 },
      random: () => 1,
      sleep: async (ms) => {
        slept.push(ms);
      },
    });
    await expect(client.json('http://x/midpoints')).rejects.toMatchObject({
      kind: 'status',
      status: 503,
      attempts: 1,
      message: expect.stringMatching(/no retry: waiting 4000 ms would leave no time in this invocation \(attempt 1\)$/),
    });
    expect(s.calls).toHaveLength(1);
    expect(slept).toEqual([]);
  });

  it('makes no attempt when the invocation is out of time, and says the deadline stopped it', async () => {
    const s = scripted([json([])]);
    const error = await createJsonClient({ timeoutMs: 1000, fetch: s.fetch, remainingMs: () => 100 }).json('http://x/a').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(error).toMatchObject({ message: 'GET http://x/a not attempted: only 100 ms of the invocation left' });
    expect(s.calls).toHaveLength(0);
  });

  it('says the deadline, not the server, stopped a request whose timeout was cut to the time left', async () => {
    // A server that never answers; the attempt's 1 s is cut to the 300 ms the invocation has left.
    const hanging = (async (_url: string | URL | Request, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason), { once: true }))) as typeof fetch;
    const error = await createJsonClient({ timeoutMs: 1000, fetch: hanging, remainingMs: () => 300 }).json('http://x/a').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(error).toMatchObject({ message: "GET http://x/a stopped: the invocation's time ran out (300 ms were left for it)" });
    // Its own timeout, with time to spare, is the server's: retried, then reported as a timeout.
    const slow = await createJsonClient({ timeoutMs: 100, fetch: hanging, remainingMs: () => 60_000, retry: { maxAttempts: 1 } })
      .json('http://x/a')
      .catch((e: unknown) => e);
    expect(slow).toBeInstanceOf(HttpRequestError);
    expect(slow).toMatchObject({ kind: 'timeout' });
  });

  it('does not retry other 4xx answers', async () => {
    const s = scripted([json({ error: 'Invalid payload' }, 400)]);
    const client = createJsonClient({ timeoutMs: 1000, fetch: s.fetch });
    await expect(client.json('http://x/midpoints')).rejects.toMatchObject({
      kind: 'status',
      status: 400,
      attempts: 1,
      message: 'GET http://x/midpoints answered HTTP 400: {"error":"Invalid payload"}',
    });
    expect(s.calls).toHaveLength(1);
  });

  it('retries network errors with backoff, then gives up with the cause', async () => {
    const s = scripted([
      () => {
        throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } });
      },
    ]);
    const waits: number[] = [];
    const client = createJsonClient({
      timeoutMs: 1000,
      fetch: s.fetch,
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
      onRetry: ({ waitMs }) => waits.push(waitMs),
    });
    const err = await client.json('http://x/a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpRequestError);
    expect(err).toMatchObject({ kind: 'network', attempts: 3, message: 'GET http://x/a failed: fetch failed (ECONNRESET) (gave up after 3 attempts)' });
    expect(s.calls).toHaveLength(3);
    expect(waits).toHaveLength(2);
  });

  it('stops waiting between retries when the outer signal aborts, with its reason', async () => {
    const s = scripted([json({}, 503)]);
    const stop = new AbortController();
    // Aborted once the 10 s wait has begun (onRetry comes just before it), not after some time.
    const onRetry = () => queueMicrotask(() => stop.abort(new Error('deadline reached')));
    const client = createJsonClient({ timeoutMs: 1000, fetch: s.fetch, signal: stop.signal, retry: { baseDelayMs: 10_000, maxDelayMs: 10_000 }, onRetry });
    await expect(client.json('http://x/a')).rejects.toThrow('deadline reached');
  });
});
