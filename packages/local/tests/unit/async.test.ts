import { defineFunction, type FunctionSpecInput } from '@laminar/spec';
import { describe, expect, it } from 'vitest';
import { AsyncInvoker, asyncConfigOf, destinationRecord, RETRY_DELAYS_MS, retryDelayMs } from '../../src/async.ts';
import { type InvokeOptions, type InvokeResult, MAX_ASYNC_REQUEST_BYTES, RequestTooLargeError, ThrottledError } from '../../src/invoker.ts';
import { LocalQueues } from '../../src/queues.ts';
import { type Clock, Scheduler, scheduleEntries } from '../../src/scheduler.ts';

const spec = (input: Partial<FunctionSpecInput> = {}) =>
  defineFunction({ name: 'worker', memoryMb: 128, timeoutS: 10, triggers: [{ kind: 'invoke' }], ...input });

/** Jumps to each timer's end at once, recording the waits; each invocation takes 10 ms. */
function fakeClock(): Clock & { t: number; sleeps: number[] } {
  const clock = {
    t: 0,
    sleeps: [] as number[],
    now: () => clock.t,
    sleep: async (ms: number, signal: AbortSignal) => {
      clock.sleeps.push(ms);
      if (!signal.aborted) clock.t += ms;
    },
  };
  return clock;
}

type Step = 'ok' | 'fail' | 'throttle';

function scripted(clock: { t: number }, steps: Step[]) {
  const calls: { event: unknown; options: InvokeOptions | undefined }[] = [];
  return {
    calls,
    invoke: async (functionName: string, event: unknown, options?: InvokeOptions): Promise<InvokeResult> => {
      const step = steps[calls.length] ?? steps.at(-1);
      calls.push({ event, options });
      if (step === 'throttle') throw new ThrottledError('Rate Exceeded');
      clock.t += 10;
      const base = {
        requestId: options?.requestId ?? 'r',
        functionName,
        invocationType: 'Event' as const,
        report: { durationMs: 10, billedMs: 10, memorySizeMb: 128, maxMemoryUsedMb: 50, cold: false },
        logs: [],
      };
      return step === 'ok'
        ? { ...base, result: { done: calls.length } }
        : { ...base, error: { errorType: 'CsvError', errorMessage: `bad bytes (attempt ${calls.length})`, trace: ['CsvError: bad bytes', '    at parse'] } };
    },
  };
}

function setup(steps: Step[], input: Partial<FunctionSpecInput>, retryDelayScale?: number) {
  const clock = fakeClock();
  const invoker = scripted(clock, steps);
  const queues = new LocalQueues(undefined);
  const asyncInvoker = new AsyncInvoker({
    invoker,
    functions: [spec(input)],
    queues,
    region: 'eu-west-1',
    accountId: '123456789012',
    clock,
    ...(retryDelayScale !== undefined ? { retryDelayScale } : {}),
  });
  return { clock, invoker, queues, asyncInvoker };
}

/**
 * One environment (maxConcurrency 1) whose attempts each run `before` first, then succeed: a second
 * event waits behind the first for as long as `before` takes.
 */
function oneEnvironment(before: (clock: { t: number }) => Promise<void>, async: FunctionSpecInput['async']) {
  const clock = fakeClock();
  const base = scripted(clock, ['ok']);
  const queues = new LocalQueues(undefined);
  const asyncInvoker = new AsyncInvoker({
    invoker: {
      invoke: async (...args: Parameters<typeof base.invoke>) => {
        await before(clock);
        return base.invoke(...args);
      },
    },
    functions: [spec({ async })],
    queues,
    region: 'us-east-1',
    maxConcurrency: 1,
    clock,
  });
  return { queues, asyncInvoker };
}

const event = { 'detail-type': 'Object Created', detail: { object: { key: 'bronze/poison.csv' } } };

describe('async retries', () => {
  it('Lambda waits 1 then 2 minutes; locally a minute lasts a second by default', () => {
    expect(RETRY_DELAYS_MS).toEqual([60_000, 120_000]);
    expect([retryDelayMs(1), retryDelayMs(2)]).toEqual([60_000, 120_000]);
  });

  it('retries a failing event maxRetries times with scaled waits, then sends the original event and the error to the DLQ', async () => {
    const { clock, invoker, queues, asyncInvoker } = setup(['fail'], { async: { maxRetries: 2, maxEventAgeS: 3600, onFailure: 'dlq' } });
    const { requestId, done } = asyncInvoker.submit('worker', event);
    expect(asyncInvoker.pending).toBe(1);
    const outcome = await done;
    expect(outcome.status).toBe('failed');
    expect(invoker.calls).toHaveLength(3);
    expect(clock.sleeps).toEqual([1_000, 2_000]);
    // One request id across the retries, as Lambda keeps it; the attempt is numbered.
    expect(invoker.calls.map((c) => [c.options?.requestId, c.options?.attempt, c.options?.invocationType])).toEqual([
      [requestId, 1, 'Event'],
      [requestId, 2, 'Event'],
      [requestId, 3, 'Event'],
    ]);
    const dlq = queues.get('laminar-local-worker-dlq');
    expect(dlq?.kind).toBe('dlq');
    const [message] = dlq?.messages() ?? [];
    expect(outcome.destination).toEqual({ queue: 'laminar-local-worker-dlq', messageId: message?.messageId, condition: 'RetriesExhausted' });
    expect(message?.body).toEqual({
      version: '1.0',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      requestContext: {
        requestId,
        functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:worker:$LATEST',
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
      },
      requestPayload: event,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: 'CsvError', errorMessage: 'bad bytes (attempt 3)', trace: ['CsvError: bad bytes', '    at parse'] },
    });
    await asyncInvoker.idle();
    expect(asyncInvoker.pending).toBe(0);
  });

  it('waits as long as Lambda with scale 1, and not at all with scale 0', async () => {
    const real = setup(['fail'], { async: { maxRetries: 2, maxEventAgeS: 3600 } }, 1);
    await real.asyncInvoker.submit('worker', event).done;
    expect(real.clock.sleeps).toEqual([60_000, 120_000]);
    const none = setup(['fail'], { async: { maxRetries: 1, maxEventAgeS: 3600 } }, 0);
    await none.asyncInvoker.submit('worker', event).done;
    expect(none.clock.sleeps).toEqual([0]);
    expect(none.invoker.calls).toHaveLength(2);
  });

  it('stops at the first success and sends an on-success record when configured', async () => {
    const { invoker, queues, asyncInvoker } = setup(['fail', 'ok'], {
      async: { maxRetries: 2, maxEventAgeS: 3600, onFailure: 'dlq', onSuccess: { queue: 'done' } },
    });
    const outcome = await asyncInvoker.submit('worker', event).done;
    expect(outcome.status).toBe('succeeded');
    expect(invoker.calls).toHaveLength(2);
    expect(queues.get('laminar-local-worker-dlq')?.depth).toBe(0);
    const [m] = queues.get('laminar-local-done')?.messages() ?? [];
    expect(m?.body).toMatchObject({
      requestContext: { condition: 'Success', approximateInvokeCount: 2 },
      requestPayload: event,
      responseContext: { statusCode: 200, executedVersion: '$LATEST' },
      responsePayload: { done: 2 },
    });
    expect((m?.body as { responseContext?: object } | undefined)?.responseContext).not.toHaveProperty('functionError');
  });

  it('maxRetries 0: one attempt only', async () => {
    const { invoker, asyncInvoker } = setup(['fail'], { async: { maxRetries: 0, maxEventAgeS: 3600, onFailure: 'dlq' } });
    expect((await asyncInvoker.submit('worker', event).done).status).toBe('failed');
    expect(invoker.calls).toHaveLength(1);
  });

  it('drops an event older than maxEventAgeS to the failure destination (EventAgeExceeded)', async () => {
    // After the first failure the event waits 60 s: with 10 ms of running it is over a 60 s limit.
    const { invoker, queues, asyncInvoker } = setup(['fail'], { async: { maxRetries: 2, maxEventAgeS: 60, onFailure: 'dlq' } });
    const outcome = await asyncInvoker.submit('worker', event).done;
    expect(outcome.status).toBe('expired');
    expect(invoker.calls).toHaveLength(1);
    const [m] = queues.get('laminar-local-worker-dlq')?.messages() ?? [];
    expect(m?.body).toMatchObject({ requestContext: { condition: 'EventAgeExceeded', approximateInvokeCount: 1 }, requestPayload: event });
  });

  it('ages an event while it waits for a free environment, and drops it when too old', async () => {
    // Each attempt takes 70 s: the event behind the first waits that long for the one environment.
    const { queues, asyncInvoker } = oneEnvironment(
      async (clock) => {
        await new Promise((r) => setTimeout(r, 5));
        clock.t += 70_000;
      },
      { maxRetries: 2, maxEventAgeS: 60, onFailure: 'dlq' },
    );
    const first = asyncInvoker.submit('worker', { n: 1 });
    const second = asyncInvoker.submit('worker', { n: 2 });
    expect((await first.done).status).toBe('succeeded');
    const late = await second.done;
    expect(late.status).toBe('expired');
    expect(late.attempts).toHaveLength(0);
    const [message] = queues.get('laminar-local-worker-dlq')?.messages() ?? [];
    expect(message?.body).toMatchObject({ requestContext: { condition: 'EventAgeExceeded', approximateInvokeCount: 0 }, requestPayload: { n: 2 } });
  });

  it('without an async configuration: Lambda\'s defaults (2 retries), and a failed event is discarded', async () => {
    expect(asyncConfigOf(spec())).toEqual({ maxRetries: 2, maxEventAgeS: 21_600 });
    const { invoker, queues, asyncInvoker } = setup(['fail'], {});
    const outcome = await asyncInvoker.submit('worker', event).done;
    expect(invoker.calls).toHaveLength(3);
    expect(outcome.destination).toBeUndefined();
    expect(queues.all()).toEqual([]);
  });

  it('a throttle is no attempt: the event goes back to the queue and is tried again', async () => {
    const { invoker, clock, asyncInvoker } = setup(['throttle', 'throttle', 'ok'], { async: { maxRetries: 0, maxEventAgeS: 3600 } });
    const outcome = await asyncInvoker.submit('worker', event).done;
    expect(outcome.status).toBe('succeeded');
    expect(outcome.attempts).toHaveLength(1);
    expect(invoker.calls).toHaveLength(3);
    // 1 s then 2 s of backoff scaled like the retries (17 and 33 ms), but never under 50 ms.
    expect(clock.sleeps).toEqual([50, 50]);
  });

  it('says how long a throttled event waits in whole milliseconds', async () => {
    const clock = fakeClock();
    const lines: string[] = [];
    const asyncInvoker = new AsyncInvoker({
      invoker: scripted(clock, ['throttle', 'throttle', 'throttle', 'ok']),
      functions: [spec({ async: { maxRetries: 0, maxEventAgeS: 3600 } })],
      queues: new LocalQueues(undefined),
      region: 'eu-west-1',
      clock,
      retryDelayScale: 1 / 60,
      output: { line: (_fn, text) => void lines.push(text) },
    });
    expect((await asyncInvoker.submit('worker', event).done).status).toBe('succeeded');
    // Lambda's 1 s, 2 s and 4 s at a sixtieth, the first two raised to the 50 ms floor.
    expect(lines.filter((l) => l.includes('back in the queue')).map((l) => l.replace(/.*back in the queue for /, ''))).toEqual(['50 ms', '50 ms', '67 ms']);
  });

  it('a throttled event ages by the time it really waited, so a scaled run drops no event Lambda would run', async () => {
    // Ten throttles: at Lambda's backoff (1 s, 2 s, 4 s…) the event would be 17 min old, past its
    // 60 s; the environment that throttles it runs in real time, here 10 × 50 ms.
    const { invoker, clock, asyncInvoker } = setup([...Array<Step>(10).fill('throttle'), 'ok'], { async: { maxRetries: 0, maxEventAgeS: 60 } }, 0);
    const outcome = await asyncInvoker.submit('worker', event).done;
    expect(outcome.status).toBe('succeeded');
    expect(invoker.calls).toHaveLength(11);
    expect(clock.sleeps).toEqual(Array(10).fill(50));
  });

  it('refuses an event over the asynchronous payload limit at once, as Invoke answers 413', () => {
    const { asyncInvoker, invoker } = setup(['ok'], { async: { maxRetries: 0, maxEventAgeS: 60 } });
    expect(() => asyncInvoker.submit('worker', { data: 'x'.repeat(MAX_ASYNC_REQUEST_BYTES) })).toThrow(RequestTooLargeError);
    expect(() => asyncInvoker.submit('worker', { data: 'x'.repeat(MAX_ASYNC_REQUEST_BYTES) })).toThrow(/smaller than 1048576 bytes for an asynchronous InvokeFunction/);
    expect(asyncInvoker.pending).toBe(0);
    expect(invoker.calls).toHaveLength(0);
  });

  it.each([
    ['with an on-failure DLQ', { maxRetries: 2, maxEventAgeS: 3600, onFailure: 'dlq' as const }],
    ['without one', { maxRetries: 2, maxEventAgeS: 3600 }],
  ])('stop() ends an event waiting for a retry and keeps it in the DLQ as Interrupted (%s)', async (_, async) => {
    const clock = fakeClock();
    const invoker = scripted(clock, ['fail']);
    const queues = new LocalQueues(undefined);
    let waiting: () => void = () => {};
    const asleep = new Promise<void>((r) => {
      waiting = r;
    });
    const asyncInvoker = new AsyncInvoker({
      invoker,
      functions: [spec({ async })],
      queues,
      region: 'us-east-1',
      // A retry wait that only the stop ends.
      clock: { now: clock.now, sleep: (_ms, signal) => new Promise((r) => { waiting(); signal.addEventListener('abort', () => r()); }) },
    });
    const { requestId, done } = asyncInvoker.submit('worker', event);
    await asleep;
    asyncInvoker.stop();
    const outcome = await done;
    expect(outcome.status).toBe('stopped');
    expect(outcome.attempts).toHaveLength(1);
    // Lambda would still hold the event; locally it is kept where `laminar dlq list` shows it and
    // `laminar dlq replay` sends it again.
    const [message] = queues.get('laminar-local-worker-dlq')?.messages() ?? [];
    expect(message?.body).toMatchObject({
      requestContext: { requestId, condition: 'Interrupted', approximateInvokeCount: 1 },
      requestPayload: event,
      responsePayload: { errorType: 'CsvError' },
    });
    expect(outcome.destination).toMatchObject({ queue: 'laminar-local-worker-dlq', condition: 'Interrupted' });
  });

  it('stop() keeps an event still queued behind the concurrency limit, never attempted', async () => {
    let release: () => void = () => {};
    const busy = new Promise<void>((r) => {
      release = r;
    });
    const { queues, asyncInvoker } = oneEnvironment(() => busy, { maxRetries: 2, maxEventAgeS: 3600 });
    const first = asyncInvoker.submit('worker', { n: 1 });
    const second = asyncInvoker.submit('worker', { n: 2 });
    await new Promise((r) => setTimeout(r, 10));
    asyncInvoker.stop();
    release();
    expect((await second.done).status).toBe('stopped');
    expect((await first.done).status).toBe('stopped');
    const bodies = (queues.get('laminar-local-worker-dlq')?.messages() ?? []).map((m) => m.body as { requestContext: { condition: string; approximateInvokeCount: number }; requestPayload: unknown });
    // The queued one at once, the one under way once its attempt returned (a stop cuts it short).
    expect(bodies.map((b) => [b.requestPayload, b.requestContext.condition, b.requestContext.approximateInvokeCount])).toEqual([
      [{ n: 2 }, 'Interrupted', 0],
      [{ n: 1 }, 'Interrupted', 1],
    ]);
  });
});

describe('schedules through the async path', () => {
  it('a scheduled firing that fails is retried like any async event; the run records every attempt', async () => {
    const { invoker, clock, asyncInvoker } = setup(['fail', 'ok'], {
      triggers: [{ kind: 'schedule', expression: 'rate(5 minutes)' }],
      async: { maxRetries: 2, maxEventAgeS: 3600, onFailure: 'dlq' },
    });
    const specs = [{ spec: spec({ triggers: [{ kind: 'schedule', expression: 'rate(5 minutes)' }] }), dir: '', zipPath: '', hashPath: '' }];
    const scheduler = new Scheduler({ invoker, asyncInvoker, entries: scheduleEntries(specs), region: 'us-east-1', clock });
    const [run] = await scheduler.fireAll();
    expect(run?.outcome?.status).toBe('succeeded');
    expect(run?.outcome?.attempts.map((a) => a.error?.errorType ?? 'ok')).toEqual(['CsvError', 'ok']);
    expect(run?.result?.result).toEqual({ done: 2 });
    expect(invoker.calls[1]?.options?.trigger).toMatchObject({ kind: 'schedule', ruleName: 'laminar-local-worker-schedule-0' });
  });
});

describe('destination records', () => {
  it('have Lambda\'s shape; an event that expired before any attempt carries no response', () => {
    expect(
      destinationRecord({
        condition: 'EventAgeExceeded',
        requestId: 'req-1',
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:f',
        approximateInvokeCount: 0,
        requestPayload: { a: 1 },
        timestamp: new Date('2026-01-30T10:00:00Z'),
      }),
    ).toEqual({
      version: '1.0',
      timestamp: '2026-01-30T10:00:00.000Z',
      requestContext: {
        requestId: 'req-1',
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST',
        condition: 'EventAgeExceeded',
        approximateInvokeCount: 0,
      },
      requestPayload: { a: 1 },
    });
  });
});
