import { BodyTooLargeError, readBoundedBody } from '@laminar/runtime';

/** HTTP validators remembered per feed for conditional GETs. */
export interface Validators {
  etag?: string | undefined;
  lastModified?: string | undefined;
}

export type FetchOutcome =
  | {
      url: string;
      status: 'ok';
      /** Where the body came from after redirects: what its relative links resolve against. */
      finalUrl: string;
      body: Uint8Array;
      contentType: string | undefined;
      validators: Validators;
    }
  | { url: string; status: 'not-modified' }
  | { url: string; status: 'failed'; reason: string }
  /** Not fetched, or cut short, because the invocation's time ran out: no fault of the feed's. */
  | { url: string; status: 'stopped'; reason: string };

export interface FetchOptions {
  /** Per feed, for the headers and the whole body (time the event loop was blocked excepted). */
  timeoutMs: number;
  /** Decoded bytes: a gzip bomb counts at its inflated size. */
  maxBytes: number;
  /** Aborts every fetch still running (the invocation's time is up). */
  signal?: AbortSignal | undefined;
  fetch?: typeof fetch;
  userAgent?: string;
  /** What the per-feed limit reads the time from and waits with (a seam: tests drive it by hand). */
  clock?: FeedClock | undefined;
}

export interface FeedClock {
  now(): number;
  setTimeout(tick: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: FeedClock = {
  now: () => performance.now(),
  setTimeout: (tick, ms) => setTimeout(tick, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

const ACCEPT =
  'application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1';
const USER_AGENT = 'laminar-rss-producer/1.0 (conditional GET; polls every 15 minutes)';

/** How often a feed's timer looks at the clock; at most this much of a blocked loop is counted. */
const TICK_MS = 100;

/**
 * A feed's time limit, counting only time the event loop was free to serve it. Another feed's
 * synchronous parse can hold the loop for seconds; a plain timer would then fire the moment it is
 * released and fail a healthy feed whose body sat unread in the socket. Here each tick counts at
 * most TICK_MS however late it fires, so a blocked loop costs a feed one tick, not its limit. The
 * invocation's own deadline (options.signal) is wall-clock and still stops everything.
 */
function feedTimeout(timeoutMs: number, clock: FeedClock): { signal: AbortSignal; stop: () => void } {
  const controller = new AbortController();
  let counted = 0;
  let last = clock.now();
  let timer: unknown;
  const tick = () => {
    const now = clock.now();
    counted += Math.min(now - last, TICK_MS);
    last = now;
    if (counted >= timeoutMs) controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, 'TimeoutError'));
    else timer = clock.setTimeout(tick, Math.min(TICK_MS, timeoutMs - counted));
  };
  timer = clock.setTimeout(tick, Math.min(TICK_MS, timeoutMs));
  return { signal: controller.signal, stop: () => clock.clearTimeout(timer) };
}

const STOPPED = "the invocation's time ran out";

function describeError(err: unknown, timeoutMs: number, timeout: AbortSignal): string {
  if (timeout.aborted) return `timed out after ${timeoutMs} ms`;
  if (err instanceof BodyTooLargeError) {
    return err.declaredBytes === undefined
      ? `body exceeds MAX_FEED_BYTES (${err.maxBytes} bytes)`
      : `body is ${err.declaredBytes} bytes, over MAX_FEED_BYTES (${err.maxBytes} bytes)`;
  }
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return `network error: ${e.message}${cause && cause !== e.message ? ` (${cause})` : ''}`;
}

/**
 * One feed: a conditional GET when validators are known, bounded in time and size. Never throws:
 * every failure becomes an outcome with a reason, so one bad feed cannot stop the others. The
 * time limit ends with the body: what the caller then does with it is no part of the fetch.
 */
export async function fetchFeed(url: string, known: Validators | undefined, options: FetchOptions): Promise<FetchOutcome> {
  if (options.signal?.aborted) return { url, status: 'stopped', reason: STOPPED };
  const timeout = feedTimeout(options.timeoutMs, options.clock ?? realClock);
  const signal = options.signal ? AbortSignal.any([timeout.signal, options.signal]) : timeout.signal;
  const headers: Record<string, string> = { accept: ACCEPT, 'user-agent': options.userAgent ?? USER_AGENT };
  if (known?.etag) headers['if-none-match'] = known.etag;
  if (known?.lastModified) headers['if-modified-since'] = known.lastModified;
  try {
    const res = await (options.fetch ?? fetch)(url, { headers, signal, redirect: 'follow' });
    if (res.status === 304) {
      await res.body?.cancel().catch(() => undefined);
      return { url, status: 'not-modified' };
    }
    const contentType = res.headers.get('content-type') ?? undefined;
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      return { url, status: 'failed', reason: `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}` };
    }
    // Refused early when the server says how big it is, else cut off as it streams (chunked
    // bodies, lying or compressed lengths): describeError says which.
    const body = await readBoundedBody(res, options.maxBytes);
    const validators = { etag: res.headers.get('etag') ?? undefined, lastModified: res.headers.get('last-modified') ?? undefined };
    // A hand-made Response (a stub) has no URL.
    return { url, status: 'ok', finalUrl: res.url || url, body, contentType, validators };
  } catch (err) {
    if (options.signal?.aborted) return { url, status: 'stopped', reason: STOPPED };
    return { url, status: 'failed', reason: describeError(err, options.timeoutMs, timeout.signal) };
  } finally {
    timeout.stop();
  }
}

/** The shared bounded-concurrency map (fetchFeed never throws: every feed gets its outcome). */
export { mapLimit } from '@laminar/runtime';
