import { randomUUID } from 'node:crypto';
import {
  applyScheduleTargetInput,
  cronFields,
  ratePeriodMs,
  type ScheduledEventField,
  ScheduleExpressionError,
  scheduleRuleName as ruleNameOf,
  scheduleTargetInput,
  translateCron,
} from '@laminar/spec';
import { Cron } from 'croner';

/**
 * EventBridge schedule expressions: `rate(N unit)` and 6-field `cron(min hour dom month dow year)`,
 * always in UTC.
 */
export type Schedule =
  | { kind: 'rate'; expression: string; periodMs: number; next(after: Date, anchor: Date): Date }
  | { kind: 'cron'; expression: string; /** croner's pattern, for messages. */ pattern: string; next(after: Date): Date | null };

export { ScheduleExpressionError, translateCron };

export function parseSchedule(expression: string): Schedule {
  const periodMs = ratePeriodMs(expression);
  if (periodMs !== null) return rateSchedule(expression, periodMs);
  return parseCron(expression, cronFields(expression) as string);
}

function rateSchedule(expression: string, periodMs: number): Schedule {
  return {
    kind: 'rate',
    expression,
    periodMs,
    // A rate rule fires every period counted from when the rule was created (here: the anchor).
    next(after, anchor) {
      const elapsed = after.getTime() - anchor.getTime();
      const k = elapsed < 0 ? 1 : Math.floor(elapsed / periodMs) + 1;
      return new Date(anchor.getTime() + k * periodMs);
    },
  };
}

function parseCron(expression: string, fields: string): Schedule {
  const pattern = translateCron(fields);
  let cron: Cron;
  try {
    cron = new Cron(pattern, { timezone: 'Etc/UTC', alternativeWeekdays: true, mode: '7-part', paused: true });
  } catch (err) {
    throw new ScheduleExpressionError(`${expression}: ${(err as Error).message} (as croner pattern "${pattern}")`);
  }
  return {
    kind: 'cron',
    expression,
    pattern,
    next: (after) => cron.nextRun(after),
  };
}

/** The next `count` fire times after `after` (rate schedules count from `anchor`, default `after`). */
export function nextFireTimes(schedule: Schedule, after: Date, count: number, anchor = after): Date[] {
  const out: Date[] = [];
  let t = after;
  for (let i = 0; i < count; i++) {
    const next = schedule.kind === 'rate' ? schedule.next(t, anchor) : schedule.next(t);
    if (!next) break;
    out.push(next);
    t = next;
  }
  return out;
}

export interface ScheduledEvent {
  version: '0';
  id: string;
  'detail-type': 'Scheduled Event';
  source: 'aws.events';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, never>;
}

/** The rule name infra gives a function's n-th schedule, here for stage "local". */
export function scheduleRuleName(functionName: string, index: number, stage = 'local'): string {
  return ruleNameOf(stage, functionName, index);
}

/** EventBridge's "Scheduled Event", key for key in AWS's order; `time` has no milliseconds. */
export function scheduledEvent(options: { ruleName: string; time: Date; region: string; account?: string; id?: string }): ScheduledEvent {
  const account = options.account ?? '000000000000';
  return {
    version: '0',
    id: options.id ?? randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account,
    time: options.time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: options.region,
    resources: [`arn:aws:events:${options.region}:${account}:rule/${options.ruleName}`],
    detail: {},
  };
}

/**
 * What the target receives, from the description infra deploys: the scheduled event; the
 * trigger's constant input (an EventBridge target's Input); or, with `inputFromEvent`, that input
 * with the firing's id and time put in by the target's input transformer.
 */
export function scheduleTargetEvent(
  input: Record<string, unknown> | undefined,
  options: Parameters<typeof scheduledEvent>[0],
  inputFromEvent?: Record<string, ScheduledEventField>,
): unknown {
  const event = scheduledEvent(options) as unknown as Record<string, unknown>;
  return applyScheduleTargetInput(scheduleTargetInput({ input, inputFromEvent }), event);
}
