import type { LoadedSpec, ScheduledEventField } from '@laminar/spec';
import type { AsyncInvoker, AsyncOutcome } from './async.ts';
import type { InvokeResult, Invoker } from './invoker.ts';
import { parseSchedule, type Schedule, scheduleRuleName, scheduleTargetEvent } from './schedule.ts';

/** One schedule trigger of one function, as EventBridge would hold it as a rule. */
export interface ScheduleEntry {
  functionName: string;
  /** Position of the trigger in the spec (part of the rule name, as infra names it). */
  index: number;
  ruleName: string;
  expression: string;
  schedule: Schedule;
  input: Record<string, unknown> | undefined;
  /** Input keys the target fills from the firing's event (its id, its time). */
  inputFromEvent: Record<string, ScheduledEventField> | undefined;
}

/** Every schedule trigger, in spec order then trigger order. */
export function scheduleEntries(specs: LoadedSpec[]): ScheduleEntry[] {
  return specs.flatMap(({ spec }) =>
    spec.triggers.flatMap((t, index) =>
      t.kind === 'schedule'
        ? [
            {
              functionName: spec.name,
              index,
              ruleName: scheduleRuleName(spec.name, index),
              expression: t.expression,
              schedule: parseSchedule(t.expression),
              input: t.input,
              inputFromEvent: t.inputFromEvent,
            },
          ]
        : [],
    ),
  );
}

export interface ScheduledRun {
  entry: ScheduleEntry;
  /** The (possibly compressed) schedule time the event carries. */
  scheduledTime: Date;
  event: unknown;
  /** The (last) attempt's result. */
  result?: InvokeResult;
  /** With an async invoker: every attempt, the outcome and where its record went. */
  outcome?: AsyncOutcome;
  /** The invocation could not run (throttled, runner stopping…). */
  error?: Error;
}

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or early when the signal aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    // Node fires a timer of more than 2^31 - 1 ms after 1 ms: a longer wait is taken in steps.
    for (let left = Math.max(0, ms); !signal.aborted; ) {
      const step = Math.min(left, MAX_TIMER_MS);
      await sleepUpTo(step, signal);
      left -= step;
      if (left <= 0) return;
    }
  },
};

function sleepUpTo(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** setTimeout's limit (~24.8 days): longer waits are taken in pieces. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Missed firings counted one by one up to this many (a rate(1 minute) asleep for ~70 days); beyond, skipped at once. */
const MAX_SKIPPED_COUNTED = 100_000;

export interface SchedulerOptions {
  invoker: Pick<Invoker, 'invoke'>;
  /**
   * Lambda's async path (retries, destinations). When given, every firing goes through it, as
   * EventBridge invokes asynchronously, and a run is recorded once the event has settled.
   */
  asyncInvoker?: Pick<AsyncInvoker, 'submit'>;
  entries: ScheduleEntry[];
  region: string;
  accountId?: string;
  /** Schedule time runs this many times faster than real time (demos); 1 by default. */
  speed?: number;
  clock?: Clock;
  /** Called before each invocation and after it ends. */
  onFire?: (entry: ScheduleEntry, scheduledTime: Date) => void;
  onRun?: (run: ScheduledRun) => void;
  /**
   * Called when the scheduler woke up late by more than a period (the machine slept, the event
   * loop was blocked): `skipped` firings were missed and are not made up; `firing` is the one made.
   */
  onSkip?: (entry: ScheduleEntry, skipped: number, firing: Date) => void;
}

/**
 * Fires functions from their EventBridge schedules. EventBridge invokes its targets asynchronously
 * (InvocationType Event): with an async invoker each firing gets Lambda's retries and destinations;
 * without one it is a single Event attempt. Like EventBridge, a rule fires on time even when its
 * previous invocation is still running (Lambda then scales out or throttles).
 */
export class Scheduler {
  readonly runs: ScheduledRun[] = [];
  private readonly clock: Clock;
  private readonly speed: number;
  private readonly startReal: number;
  private readonly inFlight = new Set<Promise<ScheduledRun>>();

  constructor(private readonly options: SchedulerOptions) {
    this.clock = options.clock ?? realClock;
    this.speed = options.speed ?? 1;
    if (!(this.speed > 0)) throw new Error(`speed must be positive, got ${this.speed}`);
    this.startReal = this.clock.now();
  }

  /** Schedule time: real time since the scheduler started, compressed by `speed`. */
  now(): Date {
    return new Date(this.startReal + (this.clock.now() - this.startReal) * this.speed);
  }

  async fire(entry: ScheduleEntry, scheduledTime = this.now()): Promise<ScheduledRun> {
    const event = scheduleTargetEvent(
      entry.input,
      {
        ruleName: entry.ruleName,
        time: scheduledTime,
        region: this.options.region,
        ...(this.options.accountId ? { account: this.options.accountId } : {}),
      },
      entry.inputFromEvent,
    );
    this.options.onFire?.(entry, scheduledTime);
    const run: ScheduledRun = { entry, scheduledTime, event };
    const trigger = { kind: 'schedule' as const, ruleName: entry.ruleName, expression: entry.expression, scheduledTime: scheduledTime.toISOString() };
    try {
      if (this.options.asyncInvoker) {
        const outcome = await this.options.asyncInvoker.submit(entry.functionName, event, { trigger }).done;
        run.outcome = outcome;
        const last = outcome.attempts.at(-1);
        if (last) run.result = last;
        if (outcome.error) run.error = outcome.error;
      } else {
        run.result = await this.options.invoker.invoke(entry.functionName, event, { invocationType: 'Event', trigger });
      }
    } catch (err) {
      run.error = err as Error;
    }
    this.runs.push(run);
    this.options.onRun?.(run);
    return run;
  }

  /** Fires every entry once, one after the other, in order (`laminar dev --once`). */
  async fireAll(signal?: AbortSignal): Promise<ScheduledRun[]> {
    const out: ScheduledRun[] = [];
    for (const entry of this.options.entries) {
      if (signal?.aborted) break;
      out.push(await this.fire(entry));
    }
    return out;
  }

  /** The next fire time of each entry after `after` (null: the expression never fires again). */
  nextTimes(after: Date): (Date | null)[] {
    const anchor = new Date(this.startReal);
    return this.options.entries.map((e) => (e.schedule.kind === 'rate' ? e.schedule.next(after, anchor) : e.schedule.next(after)));
  }

  /**
   * Fires on schedule until the signal aborts; invocations run concurrently with the waiting.
   * Resolves when aborted, without waiting for invocations still running.
   */
  async run(signal: AbortSignal): Promise<void> {
    const next = this.nextTimes(this.now());
    while (!signal.aborted) {
      let soonest = -1;
      for (const [i, t] of next.entries()) {
        const best = soonest >= 0 ? next[soonest] : null;
        if (t && (!best || t < best)) soonest = i;
      }
      if (soonest < 0) {
        // Nothing fires again (e.g. a cron for a past year): idle until stopped.
        await this.clock.sleep(MAX_TIMER_MS, signal);
        continue;
      }
      const at = next[soonest] as Date;
      const waitMs = (at.getTime() - this.now().getTime()) / this.speed;
      if (waitMs > MAX_TIMER_MS) {
        await this.clock.sleep(MAX_TIMER_MS, signal);
        continue;
      }
      if (waitMs > 0) await this.clock.sleep(waitMs, signal);
      if (signal.aborted) break;
      const entry = this.options.entries[soonest] as ScheduleEntry;
      const entryAnchor = new Date(this.startReal);
      const after = (t: Date) => (entry.schedule.kind === 'rate' ? entry.schedule.next(t, entryAnchor) : entry.schedule.next(t));
      // EventBridge does not backfill: after a sleep of the laptop or a blocked event loop, the
      // firings missed meanwhile are not made up one after the other; the latest is made once.
      const now = this.now();
      let due = at;
      let following = after(at);
      let skipped = 0;
      while (following && following <= now && skipped < MAX_SKIPPED_COUNTED) {
        due = following;
        following = after(following);
        skipped++;
      }
      if (following && following <= now) following = after(now);
      if (skipped > 0) this.options.onSkip?.(entry, skipped, due);
      next[soonest] = following;
      const p = this.fire(entry, due);
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    }
  }

  /** Invocations fired by `run` that have not finished. */
  pending(): Promise<ScheduledRun>[] {
    return [...this.inFlight];
  }
}
