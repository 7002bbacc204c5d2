import { type FirehoseEmulator, startFirehose } from '@laminar/emulators';
import { lambdaContext } from '@laminar/runtime/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DeliveryIncompleteError, RunResult } from '../../src/handler.ts';

/**
 * putRecords' backoff waits (node:timers/promises' setTimeout: nothing else here uses it). Real
 * unless a test turns `virtual` on: then each wait is recorded and moves the faked clock (Date and
 * setTimeout, vi.useFakeTimers) by its length at once, firing the deadline's timer if it falls
 * due; calls take no time on that clock. What the run decides then depends on its waits, not on
 * how fast the machine makes its calls.
 */
const backoff = vi.hoisted(() => ({ virtual: false, waits: [] as number[] }));
vi.mock('node:timers/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:timers/promises')>();
  const setTimeout = async <T>(ms?: number, value?: T, options?: { signal?: AbortSignal }): Promise<T | undefined> => {
    if (!backoff.virtual) return real.setTimeout(ms, value, options);
    options?.signal?.throwIfAborted();
    backoff.waits.push(ms ?? 0);
    vi.advanceTimersByTime(ms ?? 0);
    // Stopped during the wait (the deadline's timer fell due in it): cut short, as the real one is.
    options?.signal?.throwIfAborted();
    return value;
  };
  return { ...real, default: { ...real, setTimeout }, setTimeout };
});

const STREAM = 'inventory-failures';
const at = '2026-11-26T09:15:00.000Z';
let firehose: FirehoseEmulator;

beforeAll(async () => {
  firehose = await startFirehose({
    streams: [{ name: STREAM, bucket: 'lake', prefix: 'inventory/', errorOutputPrefix: 'errors/', bufferingSizeMb: 64, bufferingIntervalS: 900 }],
    deliver: async () => {},
  });
  Object.assign(process.env, {
    AWS_REGION: firehose.region,
    AWS_ENDPOINT_URL_FIREHOSE: firehose.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    DELIVERY_STREAM: STREAM,
    POWERTOOLS_SERVICE_NAME: 'store-inventory',
    POWERTOOLS_METRICS_NAMESPACE: 'Test',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  });
});
afterAll(() => firehose?.stop());
afterEach(() => {
  firehose.injectFailures(undefined);
  vi.restoreAllMocks();
  vi.useRealTimers();
  Object.assign(backoff, { virtual: false, waits: [] });
});

/** Invokes the handler with `remainingMs` left; resolves to its result or its error, and the lines it logged. */
async function invoke(event: object, remainingMs = 60_000) {
  const { handler } = await import('../../src/handler.ts');
  const lines: string[] = [];
  const capture = (chunk: unknown) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  try {
    const outcome = await handler(event, lambdaContext('store-inventory', { remainingMs })).then(
      (result) => ({ result: result as RunResult, error: undefined }),
      (error: unknown) => ({ result: undefined, error: error as DeliveryIncompleteError }),
    );
    return { ...outcome, lines };
  } finally {
    vi.mocked(process.stdout.write).mockRestore();
    vi.mocked(process.stderr.write).mockRestore();
  }
}

/** Firehose throttles each record (ServiceUnavailableException) on its first `times` attempts, or on all of them. */
function throttle(times = Number.POSITIVE_INFINITY) {
  const seen = new Map<string, number>();
  firehose.injectFailures((_stream, record) => {
    const text = record.toString();
    const n = (seen.get(text) ?? 0) + 1;
    seen.set(text, n);
    return n <= times ? { code: 'ServiceUnavailableException', message: 'Slow down.' } : undefined;
  });
}

describe('a run Firehose refuses for good', () => {
  it('stops after the first chunk with records refused on every attempt: the retry resends everything, so later chunks would arrive twice', async () => {
    firehose.injectFailures((_stream, record) => (record.toString().includes('"store_id":"S0001"') ? { code: 'InternalFailure', message: 'broken' } : undefined));
    const before = firehose.stats()[STREAM]?.accepted ?? 0;
    const { error } = await invoke({ stores: 10, recordsPerStore: 1_000, seed: 9, at });
    expect(error?.name).toBe('DeliveryIncompleteError');
    // One chunk of 5,000 generated and sent; the other 5,000 never generated.
    expect(error?.result).toMatchObject({ generated: 5_000 });
    expect((error?.result.delivered ?? 0) + (error?.result.failed ?? 0)).toBe(5_000);
    expect(error?.result.failed).toBeGreaterThan(0);
    expect((firehose.stats()[STREAM]?.accepted ?? 0) - before).toBe(error?.result.delivered);
    expect(error?.message).toMatch(/the run was stopped before the other 5000 of the 10000 requested were generated: a chunk had (\d+) records not delivered \(InternalFailure ×\1: [^)]+\): the retry sends every record again/);
  });

  it('does not call itself stopped when the chunk with refused records was the last one', async () => {
    firehose.injectFailures((_stream, record) => (record.toString().includes('"store_id":"S0001"') ? { code: 'InternalFailure', message: 'broken' } : undefined));
    const { error } = await invoke({ stores: 10, recordsPerStore: 500, seed: 9, at });
    expect(error?.result).toMatchObject({ generated: 5_000, failed: 500, delivered: 4_500 });
    expect(error?.message).toMatch(/^500 of 5000 records were not delivered/);
    expect(error?.message).not.toMatch(/stopped/);
  });
});

describe('a run Firehose throttles', () => {
  it('waits out a throttle longer than MAX_ATTEMPTS’ worth of backoff, and delivers every record', async () => {
    // Short draws of the jitter keep the six backoffs to about a second.
    vi.spyOn(Math, 'random').mockReturnValue(0.1);
    throttle(6);
    const { result, error } = await invoke({ stores: 2, recordsPerStore: 10, seed: 3, at });
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ generated: 20, delivered: 20, failed: 0, calls: 7 });
  });

  it('stops backing off when the wait would outlast the time left, the records failed with Firehose’s reason rather than cut by the deadline', async () => {
    // Draws near the top: waits of 198, 396, 792 and 1,584 ms (2,970 ms), on a clock only the waits
    // move; the next, 3,168 ms, would end past the 5 s the run has before its deadline (6 s left,
    // 1 s of it kept for cleanup), with 2,030 ms left.
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    backoff.virtual = true;
    vi.spyOn(Math, 'random').mockReturnValue(0.99);
    throttle();
    const { error } = await invoke({ stores: 1, recordsPerStore: 10, seed: 4, at }, 6_000);
    expect(error?.name).toBe('DeliveryIncompleteError');
    // No "the run was stopped": the deadline never came, the fifth wait was not begun.
    expect(error?.message).toBe(`10 of 10 records were not delivered to ${STREAM} (ServiceUnavailableException ×10); delivered: 0`);
    expect(backoff.waits.map(Math.round)).toEqual([198, 396, 792, 1_584]);
    expect(error?.result.calls).toBe(5);
    expect(error?.failures.every((f) => f.errorCode === 'ServiceUnavailableException' && f.attempts === 5)).toBe(true);
  });
});

describe('a run with many records refused', () => {
  it('logs its failure in a line of a few KB that names the counts, 5,000 failed records or not; the error keeps every one for its caller', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.1);
    firehose.injectFailures(() => ({ code: 'InternalFailure', message: 'broken' }));
    const { error, lines } = await invoke({ stores: 10, recordsPerStore: 1_000, seed: 5, at });
    expect(error?.name).toBe('DeliveryIncompleteError');
    // The first chunk's 5,000, all refused: the run stops there (the retry resends everything).
    expect(error?.failures).toHaveLength(5_000);
    expect(error?.failures[4_999]).toMatchObject({ errorCode: 'InternalFailure', errorMessage: 'broken', attempts: 4 });

    const line = lines.find((l) => l.includes('"invocation failed"'));
    if (!line) throw new Error(`no "invocation failed" line among ${lines.length}`);
    expect(line.length).toBeLessThan(20_000);
    const logged = JSON.parse(line) as { error: Record<string, unknown> };
    expect(logged.error).toMatchObject({
      name: 'DeliveryIncompleteError',
      message: expect.stringMatching(new RegExp(`^5000 of 5000 records were not delivered to ${STREAM} \\(InternalFailure ×5000\\); delivered: 0; the run was stopped before the other 5000 of the 10000 requested were generated: `)),
      failuresByCode: { InternalFailure: 5_000 },
      firstFailedRecordIds: error?.failures.slice(0, 5).map((f) => f.recordId),
      result: { generated: 5_000, delivered: 0, failed: 5_000 },
    });
    expect(logged.error.failures).toBeUndefined();
    // As Lambda's own runtime logs a thrown error: its enumerable properties, whatever they hold.
    expect(JSON.stringify({ ...error }).length).toBeLessThan(20_000);
  });
});
