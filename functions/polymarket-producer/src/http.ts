import { BodyTooLargeError, DeadlineExceededError, readBoundedBody } from '@laminar/runtime';

/**
 * A small JSON-over-HTTP client for public APIs that rate-limit: per-attempt timeout, bounded
 * retries with exponential backoff and jitter on 5xx / 408 / network errors / timeouts, HTTP 429
 * (and 503) honouring Retry-After, and nothing — no attempt, no wait — past the invocation's time.
 *
 * Hand-written rather than taken from a library: the workspace has no HTTP retry dependency, and
 * the usual small ones do not fit what matters here — p-retry knows nothing of Retry-After, and
 * ky caps Retry-After with a fixed maximum only, while every wait here must also fit in the time
 * this Lambda invocation has left. Built on Node's fetch, so the rest is ~100 lines.
 */

/**
 * Why a request failed. The invocation's own time is not among them: a request it leaves no time
 * for, or cuts short, throws DeadlineExceededError — the caller must stop. A request that failed
 * and whose retry would not fit in the time left keeps the kind of its failure: that request is
 * lost, not the invocation, and a caller with a fallback uses it.
 */
export type HttpFailureKind = 'status' | 'timeout' | 'network' | 'invalid-json' | 'too-large' | 'rate-limited';

export class HttpRequestError extends Error {
  override name = 'HttpRequestError';
  constructor(
    message: string,
    readonly kind: HttpFailureKind,
    readonly url: string,
    readonly attempts: number,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  maxAttempts: number;
  /** Backoff before retry n is drawn from [d/2, d] with d = min(maxDelayMs, baseDelayMs · 2^(n-1)). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A server asking for a longer wait than this fails the request at once instead. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 250, maxDelayMs: 4_000, maxRetryAfterMs: 20_000 };

export interface HttpClientOptions {
  /** Per attempt, for the headers and the whole body. */
  timeoutMs: number;
  /**
   * Largest body read, decoded bytes (default 10 MB: a Gamma page of 100 markets is ~0.5 MB).
   * Past it the request fails with kind 'too-large', not retried, the connection cut: memory
   * stays bounded whatever a server (or something in between) sends.
   */
  maxBodyBytes?: number;
  retry?: Partial<RetryPolicy>;
  /** Time the invocation still has for work; attempts and waits never go past it. */
  remainingMs?: () => number;
  /** Aborts whatever is in flight (e.g. the invocation is out of time). */
  signal?: AbortSignal;
  userAgent?: string;
  fetch?: typeof fetch;
  random?: () => number;
  now?: () => number;
  /** Waits between attempts; rejects with the signal's reason when it aborts (a seam for tests). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Told about every retry before its wait, e.g. to log it. */
  onRetry?: (info: { url: string; attempt: number; waitMs: number; reason: string }) => void;
}

export interface JsonRequest {
  method?: 'GET' | 'POST';
  /** Serialized as JSON. */
  body?: unknown;
}

export interface JsonClient {
  json(url: string, request?: JsonRequest): Promise<unknown>;
}

const USER_AGENT = 'laminar-polymarket-producer/1.0';
/** No attempt starts with less time than this left: it could not finish anyway. */
const MIN_ATTEMPT_MS = 250;
const BODY_SNIPPET = 200;
export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * Retry-After as milliseconds to wait: delta-seconds ("120") or an HTTP-date (IMF-fixdate,
 * RFC 850 or asctime, all GMT). A date in the past means 0. Anything else is undefined, and the
 * caller falls back to its own backoff.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number = Date.now()): number | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  // asctime ("Sun Nov  6 08:49:37 1994") carries no zone but means GMT; Date.parse would read it
  // in the machine's local time.
  const asctime = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/.test(v);
  if (!asctime && !/ GMT$/i.test(v)) return undefined;
  const at = Date.parse(asctime ? `${v} GMT` : v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** Exponential backoff with "equal jitter": never an immediate retry into the same outage, never in lockstep. */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }
    function aborted() {
      clearTimeout(timer);
      reject(signal?.reason);
    }
    signal?.addEventListener('abort', aborted, { once: true });
  });
}

type Attempt =
  | { ok: true; value: unknown }
  | { ok: false; retry: boolean; error: HttpRequestError; retryAfterMs?: number | undefined };

export function createJsonClient(options: HttpClientOptions): JsonClient {
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const doFetch = options.fetch ?? fetch;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const wait = options.sleep ?? sleep;
  const remaining = options.remainingMs ?? (() => Number.POSITIVE_INFINITY);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  async function attempt(url: string, request: JsonRequest, n: number, timeoutMs: number): Promise<Attempt> {
    const method = request.method ?? 'GET';
    const what = `${method} ${url}`;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': options.userAgent ?? USER_AGENT };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const res = await doFetch(url, {
        method,
        headers,
        signal,
        ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
      });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      // The body is read under the same timeout: a server that stalls mid-body is a timeout too.
      text = new TextDecoder().decode(await readBoundedBody(res, maxBodyBytes));
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason ?? err;
      // Not retried: the same request gets the same body next time.
      if (err instanceof BodyTooLargeError) {
        return { ok: false, retry: false, error: new HttpRequestError(`${what} failed: ${err.message}`, 'too-large', url, n, undefined, { cause: err }) };
      }
      if (timeout.aborted) {
        // Its timeout was cut to the invocation's time, which has run out: it fired at the instant
        // the deadline's own stop was due, and may have come first. Not the server's slowness.
        if (timeoutMs < options.timeoutMs) {
          throw new DeadlineExceededError(`${what} stopped: the invocation's time ran out (${timeoutMs} ms were left for it)`, { cause: err });
        }
        return { ok: false, retry: true, error: new HttpRequestError(`${what} timed out after ${timeoutMs} ms`, 'timeout', url, n) };
      }
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const cause = e.cause?.code ?? e.cause?.message;
      const message = `${what} failed: ${e.message}${cause && cause !== e.message ? ` (${cause})` : ''}`;
      return { ok: false, retry: true, error: new HttpRequestError(message, 'network', url, n, undefined, { cause: err }) };
    }

    if (status < 200 || status > 299) {
      const snippet = text.slice(0, BODY_SNIPPET).replace(/\s+/g, ' ').trim();
      const message = `${what} answered HTTP ${status}${snippet ? `: ${snippet}` : ''}`;
      const rateLimited = status === 429;
      const retry = rateLimited || status === 408 || status >= 500;
      const error = new HttpRequestError(message, rateLimited ? 'rate-limited' : 'status', url, n, status);
      const retryAfterMs = rateLimited || status === 503 ? parseRetryAfter(retryAfter, now()) : undefined;
      return { ok: false, retry, error, retryAfterMs };
    }
    try {
      return { ok: true, value: JSON.parse(text) as unknown };
    } catch (err) {
      // Not retried: a body that is not JSON (an HTML error page behind a 200, a changed API)
      // comes back the same way next time.
      const start = text.slice(0, 60).replace(/\s+/g, ' ').trim();
      const message = `${what} answered HTTP ${status} with a body that is not JSON (${text.length} bytes, starting "${start}"): ${(err as Error).message}`;
      return { ok: false, retry: false, error: new HttpRequestError(message, 'invalid-json', url, n, status, { cause: err }) };
    }
  }

  return {
    async json(url, request = {}) {
      for (let n = 1; ; n++) {
        const left = remaining();
        if (left < MIN_ATTEMPT_MS) {
          throw new DeadlineExceededError(`${request.method ?? 'GET'} ${url} not attempted: only ${Math.max(0, Math.round(left))} ms of the invocation left`);
        }
        const result = await attempt(url, request, n, Math.min(options.timeoutMs, left));
        if (result.ok) return result.value;
        const { error } = result;
        if (!result.retry) throw error;
        if (result.retryAfterMs !== undefined && result.retryAfterMs > policy.maxRetryAfterMs) {
          throw new HttpRequestError(
            `${error.message}; Retry-After asks for ${Math.ceil(result.retryAfterMs / 1000)} s, more than the ${Math.round(policy.maxRetryAfterMs / 1000)} s this function waits`,
            error.kind, url, n, error.status, { cause: error },
          );
        }
        if (n >= policy.maxAttempts) {
          throw new HttpRequestError(`${error.message} (gave up after ${n} attempts)`, error.kind, url, n, error.status, { cause: error });
        }
        const waitMs = result.retryAfterMs ?? backoffMs(n, policy, random);
        if (remaining() - waitMs < MIN_ATTEMPT_MS) {
          throw new HttpRequestError(
            `${error.message}; no retry: waiting ${waitMs} ms would leave no time in this invocation (attempt ${n})`,
            error.kind, url, n, error.status, { cause: error },
          );
        }
        options.onRetry?.({ url, attempt: n, waitMs, reason: error.message });
        await wait(waitMs, options.signal);
      }
    },
  };
}
