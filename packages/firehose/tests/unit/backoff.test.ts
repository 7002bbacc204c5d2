import type { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { putRecords } from '../../src/put-records.ts';

type Verdict = string | undefined | Error;

/** A stub answering each call with a verdict per record (an Error fails the call as a whole). */
function stubClient(verdict: (index: number, call: number) => Verdict) {
  let calls = 0;
  const client = {
    send: async (command: PutRecordBatchCommand) => {
      calls++;
      const indexes = (command.input.Records ?? []).map((r) => Number.parseInt(Buffer.from(r.Data as Uint8Array).toString(), 10));
      const verdicts = indexes.map((i) => verdict(i, calls));
      const thrown = verdicts.find((v) => v instanceof Error);
      if (thrown) throw thrown;
      return {
        FailedPutCount: verdicts.filter(Boolean).length,
        RequestResponses: verdicts.map((v) => (v ? { ErrorCode: v as string, ErrorMessage: 'Slow down.' } : { RecordId: `id-${calls}` })),
      };
    },
  } as unknown as FirehoseClient;
  return { client, calls: () => calls };
}
const records = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from(String(i)));
/** Firehose's throttle of a whole call, as the SDK raises it: a 503 answer. */
const throttledCall = () => Object.assign(new Error('Slow down.'), { name: 'ServiceUnavailableException', $metadata: { httpStatusCode: 503 } });
/** A connection reset before any answer, as node raises it. */
const reset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

/** The waits asked of the `sleep` seam, none of them waited. */
function recordedSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('putRecords backoff', () => {
  it('waits a full-jitter delay before each round, within [0, min(maxDelayMs, baseDelayMs × 2^n)]', async () => {
    const bound = (n: number) => Math.min(1_000, 100 * 2 ** n);
    for (const draw of [0, 0.5, 0.999_999]) {
      vi.spyOn(Math, 'random').mockReturnValue(draw);
      const { waits, sleep } = recordedSleep();
      const { client } = stubClient(() => 'ServiceUnavailableException');
      const result = await putRecords(records(3), { client, deliveryStreamName: 's', maxThrottledAttempts: 8, baseDelayMs: 100, maxDelayMs: 1_000, sleep });
      expect(result.failed).toHaveLength(3);
      // The jitter's draw scales the round's bound: it doubles each round up to the cap.
      expect(waits).toEqual(Array.from({ length: 7 }, (_, k) => draw * bound(k + 1)));
    }
    vi.restoreAllMocks();
    const { waits, sleep } = recordedSleep();
    const { client } = stubClient(() => 'InternalFailure');
    await putRecords(records(3), { client, deliveryStreamName: 's', maxAttempts: 12, baseDelayMs: 100, maxDelayMs: 1_000, sleep });
    expect(waits).toHaveLength(11);
    waits.forEach((ms, k) => {
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThanOrEqual(bound(k + 1));
    });
  });

  it('the default backoff does wait (here ~99 ms), and caps at 5 s', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.99);
    const { client } = stubClient((_i, call) => (call === 1 ? 'ServiceUnavailableException' : undefined));
    const started = performance.now();
    const result = await putRecords(records(1), { client, deliveryStreamName: 's', baseDelayMs: 50 });
    expect(result.delivered).toBe(1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(95);

    const { waits, sleep } = recordedSleep();
    await putRecords(records(1), { client: stubClient(() => 'ServiceUnavailableException').client, deliveryStreamName: 's', maxThrottledAttempts: 10, sleep });
    expect(Math.max(...waits)).toBeCloseTo(0.99 * 5_000, 6);
  });

  it('gives a throttled record attempts of its own: it outlasts a throttle past maxAttempts, a record that faults does not', async () => {
    const { waits, sleep } = recordedSleep();
    // Record 0 is throttled on its first 9 attempts; record 1 fails as Firehose's InternalFailure every time.
    const { client } = stubClient((i, call) => (i === 1 ? 'InternalFailure' : call <= 9 ? 'ServiceUnavailableException' : undefined));
    const result = await putRecords(records(2), { client, deliveryStreamName: 's', maxAttempts: 4, maxThrottledAttempts: 20, sleep });
    expect(result.delivered).toBe(1);
    expect(result.failed).toEqual([{ index: 1, errorCode: 'InternalFailure', errorMessage: 'Slow down.', attempts: 4 }]);
    expect(waits).toHaveLength(9);

    // A whole call throttled (503) six times over: the seventh passes.
    const whole = stubClient((_i, call) => (call <= 6 ? throttledCall() : undefined));
    const out = await putRecords(records(600), { client: whole.client, deliveryStreamName: 's', maxThrottledAttempts: 10, sleep });
    expect(out).toMatchObject({ delivered: 600, failed: [] });
    // And one throttled as a whole on every call ends at its throttled attempts, not in a loop.
    // (Past 20 calls it fails otherwise, so that a loop ends in a failed expectation, not a hang.)
    const always = stubClient((_i, call) => (call > 20 ? new Error('runaway') : throttledCall()));
    const stuck = await putRecords(records(2), { client: always.client, deliveryStreamName: 's', maxAttempts: 2, maxThrottledAttempts: 3, sleep });
    expect(always.calls()).toBe(3);
    expect(stuck.failed).toEqual(records(2).map((_r, index) => ({ index, errorCode: 'ServiceUnavailableException', errorMessage: 'Slow down.', attempts: 3 })));

    // Without attempts of its own a throttled record has maxAttempts, as before.
    const capped = await putRecords(records(1), { client: stubClient(() => 'ServiceUnavailableException').client, deliveryStreamName: 's', maxAttempts: 3, sleep });
    expect(capped.failed).toEqual([expect.objectContaining({ errorCode: 'ServiceUnavailableException', attempts: 3 })]);
  });

  it('begins no backoff the time left would not outlast: the records keep their last reason', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.99);
    // A clock the waits move: 3 s to send in, calls taking no time.
    let now = 0;
    const left = () => 3_000 - now;
    const waits: { ms: number; left: number }[] = [];
    const sleep = async (ms: number) => {
      waits.push({ ms, left: left() });
      now += ms;
    };
    const { client, calls } = stubClient(() => 'ServiceUnavailableException');
    const result = await putRecords(records(5), { client, deliveryStreamName: 's', maxThrottledAttempts: 50, remainingMs: left, sleep });
    // Waits of 198, 396 and 792 ms leave 1,614 ms: the next (1,584 ms) would leave no second for its call.
    expect(waits.map((w) => Math.round(w.ms))).toEqual([198, 396, 792]);
    for (const w of waits) expect(w.ms + 1_000).toBeLessThan(w.left);
    expect(now).toBeLessThanOrEqual(3_000);
    expect(calls()).toBe(4);
    expect(result.failed).toEqual(records(5).map((_r, index) => ({ index, errorCode: 'ServiceUnavailableException', errorMessage: 'Slow down.', attempts: 4 })));

    // A smaller margin lets the 1,584 ms wait begin (30 ms left after it, 20 for the call).
    now = 0;
    waits.length = 0;
    await putRecords(records(5), { client, deliveryStreamName: 's', maxThrottledAttempts: 50, remainingMs: left, callMarginMs: 20, sleep });
    expect(waits.map((w) => Math.round(w.ms))).toEqual([198, 396, 792, 1_584]);

    // Records no call carried yet are NotSent, and say why; in doubt ones stay in doubt.
    const broken = stubClient((i) => (i >= 500 && i < 1_000 ? reset() : undefined));
    const stopped = await putRecords(records(1_200), { client: broken.client, deliveryStreamName: 's', remainingMs: () => 100, sleep: async () => expect.unreachable('no wait') });
    expect(stopped.delivered).toBe(500);
    expect(stopped.failed[0]).toMatchObject({ index: 500, errorCode: 'InDoubt', attempts: 1 });
    expect(stopped.failed[699]).toEqual({
      index: 1_199,
      errorCode: 'NotSent',
      errorMessage: expect.stringMatching(/^no time left to try again: a 1\d\d ms backoff and a 1000 ms call with 100 ms left$/),
      attempts: 0,
    });
  });

  it('leaves time for the call after a backoff: records only ever throttled fail with the throttle, not in doubt from a stop that cut their call', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.99);
    // Calls take 100 ms and the run has 850 ms: the second backoff (396 ms) would end 56 ms before the
    // deadline, which would cut the call begun then.
    let now = 0;
    const deadline = new AbortController();
    const left = () => 850 - now;
    const sleep = async (ms: number) => {
      now += ms;
    };
    const { client: throttling } = stubClient(() => 'ServiceUnavailableException');
    const client = {
      send: async (command: PutRecordBatchCommand) => {
        now += 100;
        if (left() <= 0) {
          deadline.abort(new Error('deadline'));
          throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
        }
        return throttling.send(command);
      },
    } as unknown as FirehoseClient;
    const result = await putRecords(records(3), { client, deliveryStreamName: 's', maxThrottledAttempts: 50, remainingMs: left, signal: deadline.signal, sleep });
    expect(deadline.signal.aborted).toBe(false);
    expect(result.failed).toEqual(records(3).map((_r, index) => ({ index, errorCode: 'ServiceUnavailableException', errorMessage: 'Slow down.', attempts: 1 })));
  });

  it('a stop during a wait cuts it short: throttled and in-doubt records keep their reason, the ones never sent take the stop’s', async () => {
    // Record 3 is throttled; the second call's connection is reset (500–999 in doubt), so the third (1,000–1,199) is never made.
    const { client, calls } = stubClient((i) => (i === 3 ? 'ServiceUnavailableException' : i >= 500 && i < 1_000 ? reset() : undefined));
    const stop = new AbortController();
    // The backoff's jitter is drawn as its wait begins: the stop comes on the next turn of the event
    // loop, while the real wait (no seam; 19.8 s here) is under way.
    vi.spyOn(Math, 'random').mockImplementation(() => {
      setImmediate(() => stop.abort(new Error('stopped before the function timeout; 900 ms left')));
      return 0.99;
    });
    let settled = false;
    const running = putRecords(records(1_200), { client, deliveryStreamName: 's', baseDelayMs: 10_000, maxDelayMs: 20_000, signal: stop.signal }).finally(() => {
      settled = true;
    });
    await new Promise((resolve) => stop.signal.addEventListener('abort', resolve, { once: true }));
    // Cut short by the stop itself, not by the wait running out: settled by the event loop's next
    // turn, 19.8 s before the wait would have ended.
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(true);
    expect(Math.random).toHaveBeenCalledTimes(1);
    const result = await running;
    expect(calls()).toBe(2);
    expect(result.delivered).toBe(499);
    expect(result.delivered + result.failed.length).toBe(1_200);
    expect(result.failed[0]).toEqual({ index: 3, errorCode: 'ServiceUnavailableException', errorMessage: 'Slow down.', attempts: 1 });
    const rest = result.failed.slice(1);
    expect(rest.filter((f) => f.errorCode === 'InDoubt').map((f) => f.index)).toEqual(Array.from({ length: 500 }, (_, k) => 500 + k));
    expect(rest.filter((f) => f.errorCode === 'NotSent').every((f) => f.index >= 1_000 && f.attempts === 0 && f.errorMessage === 'stopped before the function timeout; 900 ms left')).toBe(true);
    expect(rest).toHaveLength(700);
  });
});
