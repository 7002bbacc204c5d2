import { defineFunction, type FunctionSpecInput } from '@laminar/spec';
import { describe, expect, it } from 'vitest';
import { AsyncInvoker, asyncConfigOf, destinationRecord, RETRY_DELAYS_MS, retryDelayMs } from '../../src/async.ts';
import { runLines } from '../../src/commands.ts';
import { type InvokeOptions, type InvokeResult, MAX_ASYNC_REQUEST_BYTES, RequestTooLargeError, ThrottledError, UnknownFunctionError } from '../../src/invoker.ts';
import { describeDestinationMessage } from '../../src/queue-commands.ts';
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

/** killed: the runner's stop killed the environment under the attempt (Invoker.stop). */
type Step = 'ok' | 'fail' | 'throttle' | 'killed';

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
      if (step === 'killed') {
        return { ...base, error: { errorType: 'Runtime.ExitError', errorMessage: 'RequestId: r Error: Runtime exited with error: signal: killed', trace: [] }, interrupted: true };
      }
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
    // Both destinations exist (and are listed) before anything is sent to them.
    expect([queues.get('laminar-local-worker-dlq')?.kind, queues.get('laminar-local-done')?.kind]).toEqual(['dlq', 'queue']);
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

  it('stop() keeps an event still queued behind the concurrency limit, never attempted; the one under way ends as it returns', async () => {
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
    // The one under way returned a success after the stop: a success, as on Lambda.
    expect((await first.done).status).toBe('succeeded');
    const bodies = (queues.get('laminar-local-worker-dlq')?.messages() ?? []).map((m) => m.body as { requestContext: { condition: string; approximateInvokeCount: number }; requestPayload: unknown });
    expect(bodies.map((b) => [b.requestPayload, b.requestContext.condition, b.requestContext.approximateInvokeCount])).toEqual([[{ n: 2 }, 'Interrupted', 0]]);
  });

  /** One attempt held until `release(step)`: what it returns is decided after the test stops the invoker. */
  function gated(async: FunctionSpecInput['async']) {
    const clock = fakeClock();
    const queues = new LocalQueues(undefined);
    let started: () => void = () => {};
    const running = new Promise<void>((r) => {
      started = r;
    });
    const steps: Step[] = [];
    let release: (step: Step) => void = () => {};
    const base = scripted(clock, steps);
    const asyncInvoker = new AsyncInvoker({
      invoker: {
        invoke: async (...args: Parameters<typeof base.invoke>) => {
          started();
          steps.push(await new Promise<Step>((r) => {
            release = r;
          }));
          return base.invoke(...args);
        },
      },
      functions: [spec({ async })],
      queues,
      region: 'us-east-1',
      clock,
    });
    return { queues, asyncInvoker, running, release: (step: Step) => release(step), calls: base.calls };
  }

  it('an attempt that succeeds after stop() (dev\'s grace after Ctrl-C) is a success: delivered, not kept to run again', async () => {
    const { queues, asyncInvoker, running, release } = gated({ maxRetries: 2, maxEventAgeS: 3600, onFailure: 'dlq', onSuccess: { queue: 'done' } });
    const { done } = asyncInvoker.submit('worker', event);
    await running;
    asyncInvoker.stop();
    release('ok');
    const outcome = await done;
    expect(outcome.status).toBe('succeeded');
    expect(outcome.destination).toMatchObject({ queue: 'laminar-local-done', condition: 'Success' });
    expect(queues.get('laminar-local-worker-dlq')?.depth).toBe(0);
    expect(queues.get('laminar-local-done')?.depth).toBe(1);
  });

  it('an attempt that fails after stop(): Interrupted with retries left, RetriesExhausted when it was the last', async () => {
    const left = gated({ maxRetries: 2, maxEventAgeS: 3600, onFailure: 'dlq' });
    const withRetries = left.asyncInvoker.submit('worker', event);
    await left.running;
    left.asyncInvoker.stop();
    left.release('fail');
    expect((await withRetries.done).status).toBe('stopped');
    expect(left.queues.get('laminar-local-worker-dlq')?.messages()[0]?.body).toMatchObject({ requestContext: { condition: 'Interrupted' } });

    const last = gated({ maxRetries: 0, maxEventAgeS: 3600, onFailure: 'dlq' });
    const lastAttempt = last.asyncInvoker.submit('worker', event);
    await last.running;
    last.asyncInvoker.stop();
    last.release('fail');
    expect((await lastAttempt.done).status).toBe('failed');
    expect(last.queues.get('laminar-local-worker-dlq')?.messages()[0]?.body).toMatchObject({ requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 1 } });
  });

  it('an attempt the stop killed is Interrupted, the last one too: it was cut short, it did not exhaust its retries', async () => {
    for (const maxRetries of [2, 0]) {
      const { queues, asyncInvoker, running, release } = gated({ maxRetries, maxEventAgeS: 3600, onFailure: 'dlq' });
      const { done } = asyncInvoker.submit('worker', event);
      await running;
      asyncInvoker.stop();
      release('killed');
      const outcome = await done;
      expect(outcome.status, `maxRetries ${maxRetries}`).toBe('stopped');
      expect(outcome.destination, `maxRetries ${maxRetries}`).toMatchObject({ queue: 'laminar-local-worker-dlq', condition: 'Interrupted' });
      expect(queues.get('laminar-local-worker-dlq')?.messages().map((m) => m.body)).toMatchObject([
        { requestContext: { condition: 'Interrupted', approximateInvokeCount: 1 }, requestPayload: event, responsePayload: { errorType: 'Runtime.ExitError' } },
      ]);
    }
  });

  /** An invoker that throws `error` (the runner's own failure, not the function's) `times` times, then runs `steps`. */
  function throwing(times: number, error: () => Error, async: FunctionSpecInput['async'], steps: Step[] = ['ok']) {
    const clock = fakeClock();
    const base = scripted(clock, steps);
    const queues = new LocalQueues(undefined);
    const lines: string[] = [];
    let thrown = 0;
    const asyncInvoker = new AsyncInvoker({
      invoker: {
        invoke: async (...args: Parameters<typeof base.invoke>) => {
          if (thrown < times) {
            thrown++;
            throw error();
          }
          return base.invoke(...args);
        },
      },
      functions: [spec({ async })],
      queues,
      region: 'us-east-1',
      clock,
      output: { line: (_fn, text) => void lines.push(text) },
    });
    return { queues, asyncInvoker, lines, thrown: () => thrown };
  }

  it('an invoker failure of the runner\'s own (task root mid-rebuild, dead environment) is retried like a throttle, not dropped', async () => {
    const { asyncInvoker, lines, queues } = throwing(2, () => new Error('ENOENT: no such file or directory, open \'.laminar/worker.zip\''), { maxRetries: 0, maxEventAgeS: 3600, onFailure: 'dlq' });
    const outcome = await asyncInvoker.submit('worker', event).done;
    expect(outcome.status).toBe('succeeded');
    // Not attempts of the function: maxRetries 0 still allowed the one that ran.
    expect(outcome.attempts).toHaveLength(1);
    expect(outcome.error).toBeUndefined();
    expect(queues.get('laminar-local-worker-dlq')?.depth).toBe(0);
    expect(lines.filter((l) => l.includes('could not invoke (Error: ENOENT'))).toHaveLength(2);
  });

  it('an invoker that keeps failing ages the event out to the on-failure destination (EventAgeExceeded)', async () => {
    const { asyncInvoker, queues, thrown } = throwing(Number.POSITIVE_INFINITY, () => new Error('spawn ENOMEM'), { maxRetries: 2, maxEventAgeS: 60, onFailure: 'dlq' });
    const outcome = await asyncInvoker.submit('worker', event).done;
    expect(outcome.status).toBe('expired');
    expect(outcome.error?.message).toBe('spawn ENOMEM');
    expect(thrown()).toBeGreaterThan(2);
    const [m] = queues.get('laminar-local-worker-dlq')?.messages() ?? [];
    expect(m?.body).toMatchObject({ requestContext: { condition: 'EventAgeExceeded', approximateInvokeCount: 0 }, requestPayload: event });
  });

  it('an event the runner could not invoke until it aged out is said EventAgeExceeded with the runner\'s last error, not "not invoked"', async () => {
    const { asyncInvoker, queues, lines } = throwing(Number.POSITIVE_INFINITY, () => new Error('spawn ENOMEM'), { maxRetries: 2, maxEventAgeS: 60, onFailure: 'dlq' });
    const specs = [{ spec: spec({ triggers: [{ kind: 'schedule', expression: 'rate(5 minutes)' }] }), dir: '', zipPath: '', hashPath: '' }];
    const unused = { invoke: async (): Promise<InvokeResult> => Promise.reject(new Error('the async invoker runs every firing')) };
    const scheduler = new Scheduler({ invoker: unused, asyncInvoker, entries: scheduleEntries(specs), region: 'us-east-1' });
    const [run] = await scheduler.fireAll();
    if (!run) throw new Error('no run');
    expect(run.outcome?.status).toBe('expired');
    expect(lines.filter((l) => l.includes('dropped'))).toEqual([
      `async ${run.outcome?.requestId.slice(0, 8)}: event older than maxEventAgeS 60 s after 0 attempt(s), the runner unable to invoke it (Error: spawn ENOMEM): dropped (EventAgeExceeded)`,
    ]);
    expect(runLines(run)).toEqual(['✘ EventAgeExceeded (the runner could not invoke it: Error: spawn ENOMEM) → laminar-local-worker-dlq']);
    // The record keeps Lambda's shape; the runner's error goes beside it, for `laminar dlq list`.
    const [m] = queues.get('laminar-local-worker-dlq')?.messages() ?? [];
    if (!m) throw new Error('no record');
    expect(m.attributes).toEqual({ function: 'worker', condition: 'EventAgeExceeded', runnerError: 'Error: spawn ENOMEM' });
    expect(describeDestinationMessage(m)).toContain('    expired: older than maxEventAgeS while the runner could not invoke it (Error: spawn ENOMEM)');
  });

  it('an event that ran after the runner\'s failures, then aged out waiting for its retry, expired of its own failure', async () => {
    const { asyncInvoker, queues } = throwing(1, () => new Error('spawn ENOMEM'), { maxRetries: 2, maxEventAgeS: 60, onFailure: 'dlq' }, ['fail']);
    const outcome = await asyncInvoker.submit('worker', event).done;
    expect(outcome.status).toBe('expired');
    expect(outcome.attempts).toHaveLength(1);
    expect(outcome.error).toBeUndefined();
    const [m] = queues.get('laminar-local-worker-dlq')?.messages() ?? [];
    if (!m) throw new Error('no record');
    expect(m.attributes).toEqual({ function: 'worker', condition: 'EventAgeExceeded' });
    expect(describeDestinationMessage(m)).toContain('    error:   CsvError: bad bytes (attempt 1)');
  });

  it('an unknown function is not invoked, and not retried', async () => {
    const { asyncInvoker, thrown } = throwing(Number.POSITIVE_INFINITY, () => new UnknownFunctionError('worker', []), { maxRetries: 2, maxEventAgeS: 60, onFailure: 'dlq' });
    const outcome = await asyncInvoker.submit('worker', event).done;
    expect(outcome.status).toBe('not-invoked');
    expect(thrown()).toBe(1);
  });

  it('an outcome listener that throws does not crash the runner; the outcome is still recorded and others still hear of it', async () => {
    const lines: string[] = [];
    const clock = fakeClock();
    const asyncInvoker = new AsyncInvoker({
      invoker: scripted(clock, ['ok']),
      functions: [spec({ async: { maxRetries: 0, maxEventAgeS: 3600 } })],
      queues: new LocalQueues(undefined),
      region: 'us-east-1',
      clock,
      output: { line: (_fn, text) => void lines.push(text) },
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const heard: string[] = [];
      asyncInvoker.onOutcome(() => {
        throw new Error('listener bug');
      });
      asyncInvoker.onOutcome((o) => void heard.push(o.status));
      // Not awaited, as the S3 router leaves its submissions.
      asyncInvoker.submit('worker', event);
      await asyncInvoker.idle();
      await new Promise((r) => setTimeout(r, 10));
      expect(asyncInvoker.outcomes.map((o) => o.status)).toEqual(['succeeded']);
      expect(heard).toEqual(['succeeded']);
      expect(lines.some((l) => l.includes('listener failed: Error: listener bug'))).toBe(true);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a record that cannot be written is said and kept on the outcome, which is still recorded', async () => {
    const lines: string[] = [];
    const clock = fakeClock();
    const queues = new LocalQueues(undefined);
    const asyncInvoker = new AsyncInvoker({
      invoker: scripted(clock, ['fail']),
      functions: [spec({ async: { maxRetries: 0, maxEventAgeS: 3600, onFailure: 'dlq' } })],
      queues,
      region: 'us-east-1',
      clock,
      output: { line: (_fn, text) => void lines.push(text) },
    });
    const dlq = queues.get('laminar-local-worker-dlq');
    if (!dlq) throw new Error('no DLQ declared');
    dlq.send = () => {
      throw new Error('ENOSPC: no space left on device');
    };
    const outcome = await asyncInvoker.submit('worker', event).done;
    expect(outcome.status).toBe('failed');
    expect(outcome.deliveryError?.message).toMatch(/ENOSPC/);
    expect(asyncInvoker.outcomes).toHaveLength(1);
    expect(lines.some((l) => l.includes('RetriesExhausted record not delivered to laminar-local-worker-dlq: Error: ENOSPC'))).toBe(true);
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
