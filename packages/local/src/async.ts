import { randomUUID } from 'node:crypto';
import type { FunctionSpec } from '@laminar/spec';
import {
  type InvocationTrigger,
  type InvokeResult,
  type Invoker,
  InvokerStoppedError,
  MAX_ASYNC_REQUEST_BYTES,
  RequestTooLargeError,
  ThrottledError,
  UnknownFunctionError,
} from './invoker.ts';
import { type Output, silentOutput } from './output.ts';
import { localDlqName, type LocalQueues, localQueueName } from './queues.ts';
import { type Clock, realClock } from './scheduler.ts';
import { describeDuration } from './report.ts';

/**
 * Lambda's asynchronous invocation (InvocationType Event), as the service runs it: the event goes
 * to the function's internal queue; a failed attempt (the handler threw, a timeout, OOM, an init
 * error) is retried up to `maxRetries` times, one minute after the first failure and two minutes
 * after the second; an event older than `maxEventAgeS` is dropped; a record of the last failure
 * (or of the success) goes to the configured destination.
 */

/** Lambda's waits before the second and the third attempt. */
export const RETRY_DELAYS_MS = [60_000, 120_000] as const;
/** Locally a minute lasts a second unless configured (LAMINAR_RETRY_DELAY_SCALE, --retry-delay-scale). */
export const DEFAULT_RETRY_DELAY_SCALE = 1 / 60;
/** Lambda's defaults when a function has no async configuration. */
export const DEFAULT_ASYNC = { maxRetries: 2, maxEventAgeS: 21_600 } as const;
/** Throttled events go back to the queue: from 1 s, doubling, at most 5 min (Lambda's time, scaled like the retries). */
const THROTTLE_BACKOFF_MS = { first: 1_000, max: 300_000 } as const;
/** The least a throttled event waits locally, whatever the scale. */
const THROTTLE_MIN_WAIT_MS = 50;

/** The wait after failed attempt `n` (1-based), in Lambda's time. */
export function retryDelayMs(failedAttempt: number): number {
  return RETRY_DELAYS_MS[Math.min(failedAttempt, RETRY_DELAYS_MS.length) - 1] as number;
}

export interface ResolvedAsyncConfig {
  maxRetries: number;
  maxEventAgeS: number;
  /** Real queue name of the on-failure destination, when configured. */
  onFailure?: string;
  /** Real queue name of the on-success destination, when configured. */
  onSuccess?: string;
}

export function asyncConfigOf(spec: Pick<FunctionSpec, 'name' | 'async'>, stage = 'local'): ResolvedAsyncConfig {
  const a = spec.async;
  return {
    maxRetries: a?.maxRetries ?? DEFAULT_ASYNC.maxRetries,
    maxEventAgeS: a?.maxEventAgeS ?? DEFAULT_ASYNC.maxEventAgeS,
    ...(a?.onFailure === 'dlq' ? { onFailure: localDlqName(spec.name, stage) } : {}),
    ...(a?.onSuccess ? { onSuccess: localQueueName(a.onSuccess.queue, stage) } : {}),
  };
}

/**
 * Lambda's conditions, and one of the local runner's own: Interrupted, an event the runner stopped
 * (Ctrl-C) while it was queued, running or waiting for a retry. Lambda would still hold it in its
 * queue; locally it would be lost, so it goes to the function's DLQ to be seen and replayed.
 */
export type DestinationCondition = 'Success' | 'RetriesExhausted' | 'EventAgeExceeded' | 'Interrupted';

/** The invocation record Lambda sends to a destination. */
export interface DestinationRecord {
  version: '1.0';
  timestamp: string;
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: DestinationCondition;
    approximateInvokeCount: number;
  };
  requestPayload: unknown;
  responseContext?: { statusCode: number; executedVersion: string; functionError?: string };
  responsePayload?: unknown;
}

export function destinationRecord(options: {
  condition: DestinationCondition;
  requestId: string;
  functionArn: string;
  approximateInvokeCount: number;
  requestPayload: unknown;
  /** The last attempt; absent when the event expired before any. */
  last?: Pick<InvokeResult, 'result' | 'error'>;
  timestamp?: Date;
}): DestinationRecord {
  const { last } = options;
  return {
    version: '1.0',
    timestamp: (options.timestamp ?? new Date()).toISOString(),
    requestContext: {
      requestId: options.requestId,
      // Destinations name the version that ran.
      functionArn: `${options.functionArn}:$LATEST`,
      condition: options.condition,
      approximateInvokeCount: options.approximateInvokeCount,
    },
    requestPayload: options.requestPayload,
    ...(last
      ? {
          // A function error still answers 200; the error is in X-Amz-Function-Error.
          responseContext: { statusCode: 200, executedVersion: '$LATEST', ...(last.error ? { functionError: 'Unhandled' } : {}) },
          responsePayload: last.error ?? last.result ?? null,
        }
      : {}),
  };
}

export type AsyncStatus = 'succeeded' | 'failed' | 'expired' | 'stopped' | 'not-invoked';

export interface AsyncOutcome {
  requestId: string;
  functionName: string;
  event: unknown;
  trigger?: InvocationTrigger;
  status: AsyncStatus;
  /** Every attempt, in order. */
  attempts: InvokeResult[];
  /** Where the record went (no destination configured: discarded, as Lambda does). */
  destination?: { queue: string; messageId: string; condition: DestinationCondition };
  /** Why the event could not be invoked at all (unknown function, runner stopping…). */
  error?: Error;
  /** The record could not be written to its destination (e.g. a queue file write failed). */
  deliveryError?: Error;
}

export interface AsyncSubmission {
  requestId: string;
  /** Resolves when the event is done with: success, retries exhausted, expired, or stopped. */
  done: Promise<AsyncOutcome>;
}

export interface AsyncInvokerOptions {
  invoker: Pick<Invoker, 'invoke'>;
  functions: Pick<FunctionSpec, 'name' | 'async'>[];
  queues: LocalQueues;
  region: string;
  accountId?: string;
  /** Local wait = Lambda's wait × this (default 1/60: one minute lasts a second). */
  retryDelayScale?: number;
  /** At most this many attempts of one function run at once (Lambda scales out; the invoker throttles beyond its limit). */
  maxConcurrency?: number;
  clock?: Clock;
  output?: Output;
}

export class AsyncInvoker {
  readonly outcomes: AsyncOutcome[] = [];
  private readonly configs = new Map<string, ResolvedAsyncConfig>();
  private readonly running = new Map<string, number>();
  private readonly waiting = new Map<string, (() => void)[]>();
  private readonly inFlight = new Set<Promise<AsyncOutcome>>();
  private readonly idleWaiters = new Set<() => void>();
  private readonly listeners = new Set<(outcome: AsyncOutcome) => void>();
  private readonly stopper = new AbortController();
  private readonly clock: Clock;
  private readonly output: Output;
  readonly retryDelayScale: number;

  constructor(private readonly options: AsyncInvokerOptions) {
    this.clock = options.clock ?? realClock;
    this.output = options.output ?? silentOutput;
    this.retryDelayScale = options.retryDelayScale ?? DEFAULT_RETRY_DELAY_SCALE;
    if (!(this.retryDelayScale >= 0)) throw new Error(`retryDelayScale must be ≥ 0, got ${this.retryDelayScale}`);
    for (const f of options.functions) {
      const config = asyncConfigOf(f);
      this.configs.set(f.name, config);
      if (config.onFailure) options.queues.declare(config.onFailure, 'dlq', f.name);
      // Listed (and `laminar queue list`-able) from the start, as the on-failure queue is.
      if (config.onSuccess) options.queues.declare(config.onSuccess, 'queue', f.name);
    }
  }

  config(functionName: string): ResolvedAsyncConfig | undefined {
    return this.configs.get(functionName);
  }

  /** Events not yet done with (running, waiting to retry, or queued). */
  get pending(): number {
    return this.inFlight.size;
  }

  /**
   * Accepts the event (Lambda answers 202) and works through it in the background. An event over
   * the asynchronous payload limit is refused here, at once, as Invoke refuses it (413): accepted,
   * it would fail later where nothing reports it.
   */
  submit(functionName: string, event: unknown, options: { trigger?: InvocationTrigger; requestId?: string } = {}): AsyncSubmission {
    const bytes = Buffer.byteLength(JSON.stringify(event === undefined ? null : event));
    if (bytes > MAX_ASYNC_REQUEST_BYTES) {
      throw new RequestTooLargeError(`Request must be smaller than ${MAX_ASYNC_REQUEST_BYTES} bytes for an asynchronous InvokeFunction operation (this one is ${bytes})`);
    }
    const requestId = options.requestId ?? randomUUID();
    const done = this.process(functionName, event, requestId, options.trigger);
    this.inFlight.add(done);
    // The caller may never await `done` (the S3 router does not): a rejection must not become an
    // unhandled one, which would crash the runner.
    void done
      .catch((err: unknown) => this.output.line(functionName, `async ${requestId.slice(0, 8)}: failed: ${describeError(err)}`))
      .finally(() => {
        this.inFlight.delete(done);
        if (this.inFlight.size === 0) for (const w of [...this.idleWaiters]) w();
      });
    return { requestId, done };
  }

  /** Resolves when no event is in flight (retries included). */
  idle(): Promise<void> {
    if (this.inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const w = () => {
        this.idleWaiters.delete(w);
        resolve();
      };
      this.idleWaiters.add(w);
    });
  }

  /** Calls `listener` with every event done with from now on; returns the unsubscribe. */
  onOutcome(listener: (outcome: AsyncOutcome) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Stops waiting: events queued or waiting for a retry end as "stopped" at once, an attempt under
   * way once it returns failed with retries left, or killed by the runner's stop; each goes to its
   * function's DLQ as Interrupted (see DestinationCondition). An attempt that returns a success, or
   * its last failure of its own, ends as usual.
   */
  stop(): void {
    this.stopper.abort();
    for (const list of this.waiting.values()) for (const w of list.splice(0)) w();
  }

  private functionArn(name: string): string {
    return `arn:aws:lambda:${this.options.region}:${this.options.accountId ?? '000000000000'}:function:${name}`;
  }

  private async acquire(name: string): Promise<void> {
    const limit = this.options.maxConcurrency ?? 10;
    while ((this.running.get(name) ?? 0) >= limit && !this.stopper.signal.aborted) {
      await new Promise<void>((resolve) => {
        const list = this.waiting.get(name) ?? [];
        list.push(resolve);
        this.waiting.set(name, list);
      });
    }
    this.running.set(name, (this.running.get(name) ?? 0) + 1);
  }

  private release(name: string): void {
    this.running.set(name, (this.running.get(name) ?? 1) - 1);
    this.waiting.get(name)?.shift()?.();
  }

  private async process(functionName: string, event: unknown, requestId: string, trigger: InvocationTrigger | undefined): Promise<AsyncOutcome> {
    // Let submit() return (and register the event) before any work starts.
    await Promise.resolve();
    const outcome: AsyncOutcome = { requestId, functionName, event, ...(trigger ? { trigger } : {}), status: 'stopped', attempts: [] };
    const config = this.configs.get(functionName);
    const say = (line: string) => this.output.line(functionName, `async ${requestId.slice(0, 8)}: ${line}`);
    if (!config) {
      outcome.status = 'not-invoked';
      outcome.error = new Error(`no async configuration for ${functionName} (not one of this runner's functions)`);
      return this.finish(outcome);
    }
    const signal = this.stopper.signal;
    const maxAgeMs = config.maxEventAgeS * 1000;
    // The event's age in Lambda's time: attempts as they ran, waits as long as Lambda's.
    let ageMs = 0;
    let throttles = 0;
    // The last failure of the runner's own (not the function's), said when the event expires of it.
    let serviceError: Error | undefined;
    while (!signal.aborted) {
      if (ageMs > maxAgeMs) {
        const cause = serviceError ? `, the runner unable to invoke it (${describeError(serviceError)})` : '';
        say(`event older than maxEventAgeS ${config.maxEventAgeS} s after ${outcome.attempts.length} attempt(s)${cause}: dropped (EventAgeExceeded)`);
        outcome.status = 'expired';
        if (serviceError) outcome.error = serviceError;
        this.deliver(outcome, config.onFailure, 'EventAgeExceeded');
        return this.finish(outcome);
      }
      const attempt = outcome.attempts.length + 1;
      // Waiting for a free environment is waiting in Lambda's queue: the event ages meanwhile.
      const queued = this.clock.now();
      await this.acquire(functionName);
      ageMs += this.clock.now() - queued;
      if (signal.aborted) {
        this.release(functionName);
        break;
      }
      if (ageMs > maxAgeMs) {
        this.release(functionName);
        continue;
      }
      const started = this.clock.now();
      let result: InvokeResult;
      try {
        result = await this.options.invoker.invoke(functionName, event, { invocationType: 'Event', requestId, attempt, ...(trigger ? { trigger } : {}) });
      } catch (err) {
        this.release(functionName);
        if (signal.aborted) {
          outcome.error = err as Error;
          return this.interrupted(outcome);
        }
        if (isNotInvocable(err)) {
          outcome.error = err as Error;
          say(`not invoked: ${describeError(err)}`);
          outcome.status = 'not-invoked';
          return this.finish(outcome);
        }
        // Lambda treats its own failures (here a task root rewritten by a rebuild, an environment
        // that died before taking the event, a spawn failure) as it treats throttles: the event
        // stays queued and ages, then expires to the on-failure destination. Dropping it lost it.
        // What throttles it (an environment busy with another invocation) runs in real time, so
        // the event ages by the time really waited — counted at Lambda's length, a scaled wait
        // aged it 1/scale times too fast and dropped events Lambda would have run. The floor
        // keeps a scale of 0 from spinning.
        const backoff = Math.min(THROTTLE_BACKOFF_MS.first * 2 ** throttles++, THROTTLE_BACKOFF_MS.max);
        const waitMs = Math.max(THROTTLE_MIN_WAIT_MS, backoff * this.retryDelayScale);
        if (err instanceof ThrottledError) {
          say(`throttled (${err.message}); back in the queue for ${describeDuration(waitMs)}`);
        } else {
          serviceError = err as Error;
          say(`could not invoke (${describeError(err)}); back in the queue for ${describeDuration(waitMs)}`);
        }
        await this.clock.sleep(waitMs, signal);
        ageMs += this.clock.now() - started;
        continue;
      }
      this.release(functionName);
      ageMs += this.clock.now() - started;
      // The runner invoked it after all: an expiry from now on is not the runner's doing.
      serviceError = undefined;
      outcome.attempts.push(result);
      // A success is one even when it returns after the stop (dev's grace after Ctrl-C): as
      // Lambda would, it is delivered, not kept as unfinished to be replayed and run twice.
      if (!result.error) {
        outcome.status = 'succeeded';
        if (attempt > 1) say(`attempt ${attempt} succeeded`);
        this.deliver(outcome, config.onSuccess, 'Success');
        return this.finish(outcome);
      }
      // Killed by the stop, even the last attempt did not exhaust its retries of its own failure:
      // Interrupted, as an earlier one is, to be replayed.
      if (result.interrupted) break;
      const why = `${result.error.errorType}: ${result.error.errorMessage}`;
      if (attempt > config.maxRetries) {
        say(`attempt ${attempt} of ${config.maxRetries + 1} failed (${why}): retries exhausted`);
        outcome.status = 'failed';
        this.deliver(outcome, config.onFailure, 'RetriesExhausted');
        return this.finish(outcome);
      }
      // A failure with retries left, once stopping, is kept as unfinished: the retry will not run.
      if (signal.aborted) break;
      const wait = retryDelayMs(attempt);
      const localWait = wait * this.retryDelayScale;
      say(
        `attempt ${attempt} of ${config.maxRetries + 1} failed (${why}); retry in ${describeDuration(localWait)} (${describeDuration(wait)} on Lambda)`,
      );
      ageMs += wait;
      await this.clock.sleep(localWait, signal);
    }
    return this.interrupted(outcome);
  }

  /** An event the stop cut short: kept in the function's DLQ (its on-failure one, else the local name). */
  private interrupted(outcome: AsyncOutcome): AsyncOutcome {
    outcome.status = 'stopped';
    const queue = this.configs.get(outcome.functionName)?.onFailure ?? localDlqName(outcome.functionName);
    this.deliver(outcome, queue, 'Interrupted');
    return this.finish(outcome);
  }

  /** Sends the record; a failure to write it is said and kept on the outcome, never thrown (the outcome must still be recorded). */
  private deliver(outcome: AsyncOutcome, queue: string | undefined, condition: DestinationCondition): void {
    try {
      this.send(outcome, queue, condition);
    } catch (err) {
      outcome.deliveryError = err as Error;
      this.output.line(outcome.functionName, `async ${outcome.requestId.slice(0, 8)}: ✘ ${condition} record not delivered to ${queue}: ${describeError(err)}`);
    }
  }

  private send(outcome: AsyncOutcome, queue: string | undefined, condition: DestinationCondition): void {
    const say = (line: string) => this.output.line(outcome.functionName, `async ${outcome.requestId.slice(0, 8)}: ${line}`);
    if (!queue) {
      if (condition !== 'Success') say('no on-failure destination: the event is discarded, as Lambda does');
      return;
    }
    const last = outcome.attempts.at(-1);
    const record = destinationRecord({
      condition,
      requestId: outcome.requestId,
      functionArn: this.functionArn(outcome.functionName),
      approximateInvokeCount: outcome.attempts.length,
      requestPayload: outcome.event,
      ...(last ? { last } : {}),
    });
    const target = this.options.queues.get(queue) ?? this.options.queues.declare(queue, condition === 'Success' ? 'queue' : 'dlq', outcome.functionName);
    // Lambda's record has no room for why it could not invoke the event: the local one keeps the
    // runner's last error beside it, for `laminar dlq list`, and the record keeps Lambda's shape.
    const attributes: Record<string, string> = { function: outcome.functionName, condition };
    if (condition === 'EventAgeExceeded' && outcome.error) attributes.runnerError = describeError(outcome.error);
    const message = target.send(record, attributes);
    outcome.destination = { queue, messageId: message.messageId, condition };
    const kind = condition === 'Success' ? 'on-success record' : condition === 'Interrupted' ? 'unfinished at stop, record' : 'on-failure record';
    say(`${kind} (${condition}) → ${queue} (message ${message.messageId})`);
  }

  private finish(outcome: AsyncOutcome): AsyncOutcome {
    this.outcomes.push(outcome);
    for (const l of this.listeners) {
      // One listener's bug must not keep the outcome from the others, nor crash the runner.
      try {
        l(outcome);
      } catch (err) {
        this.output.line(outcome.functionName, `async ${outcome.requestId.slice(0, 8)}: an outcome listener failed: ${describeError(err)}`);
      }
    }
    return outcome;
  }
}

/** Failures no wait can cure: the event is not invoked at all. */
function isNotInvocable(err: unknown): boolean {
  return err instanceof UnknownFunctionError || err instanceof InvokerStoppedError || err instanceof RequestTooLargeError;
}

function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
