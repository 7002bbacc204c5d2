import { randomUUID } from 'node:crypto';
import { Cron } from 'croner';

/**
 * EventBridge schedule expressions: `rate(N unit)` and 6-field `cron(min hour dom month dow year)`,
 * always in UTC.
 */
export type Schedule =
  | { kind: 'rate'; expression: string; periodMs: number; next(after: Date, anchor: Date): Date }
  | { kind: 'cron'; expression: string; /** croner's pattern, for messages. */ pattern: string; next(after: Date): Date | null };

export class ScheduleExpressionError extends Error {
  override name = 'ScheduleExpressionError';
}

const UNIT_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

export function parseSchedule(expression: string): Schedule {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) return parseRate(expression, Number(rate[1]), rate[2] as string);
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron) return parseCron(expression, cron[1] as string);
  throw new ScheduleExpressionError(`"${expression}" is neither rate(N unit) nor cron(min hour day-of-month month day-of-week year)`);
}

function parseRate(expression: string, value: number, unit: string): Schedule {
  // EventBridge refuses rate(1 minutes) and rate(5 minute): failing here beats failing at deploy.
  if (value < 1) throw new ScheduleExpressionError(`${expression}: the value must be a positive integer`);
  const singular = unit.replace(/s$/, '') as keyof typeof UNIT_MS;
  if ((value === 1) !== (unit === singular)) {
    throw new ScheduleExpressionError(`${expression}: EventBridge wants "${value} ${value === 1 ? singular : `${singular}s`}"`);
  }
  const periodMs = value * UNIT_MS[singular];
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

interface Field {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] as const;
/** EventBridge numbers days 1-7 from Sunday. */
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;

const FIELDS: readonly Field[] = [
  { name: 'minutes', min: 0, max: 59 },
  { name: 'hours', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day-of-week', min: 1, max: 7, names: DAYS },
  { name: 'year', min: 1970, max: 2199 },
];
const DOM = 2;
const DOW = 4;

/**
 * Croner does the calendar work (L, W, #, month lengths, leap years); this translation exists
 * because EventBridge's dialect differs from the Vixie/OCPS syntax croner reads: no seconds field,
 * `?` required in exactly one day field, `5/15` meaning "from 5 every 15" (croner wants a range),
 * `6L` for the last Friday (croner: `6#L`), `L` alone in day-of-week for Saturday, and names and
 * ranges EventBridge checks more strictly. Everything reaches croner as plain numbers.
 */
export function translateCron(fields: string): string {
  const parts = fields.trim().split(/\s+/);
  if (parts.length !== 6) {
    throw new ScheduleExpressionError(
      `cron(${fields}) has ${parts.length} fields; EventBridge wants 6: minutes hours day-of-month month day-of-week year`,
    );
  }
  const dom = parts[DOM] as string;
  const dow = parts[DOW] as string;
  if ((dom === '?') === (dow === '?')) {
    throw new ScheduleExpressionError(
      `cron(${fields}): exactly one of day-of-month and day-of-week must be "?" (EventBridge cannot combine them)`,
    );
  }
  const out = parts.map((part, i) => {
    const field = FIELDS[i] as Field;
    if (part === '?') {
      if (i !== DOM && i !== DOW) throw new ScheduleExpressionError(`cron(${fields}): "?" is only allowed in day-of-month and day-of-week`);
      return '*';
    }
    return part
      .split(',')
      .map((item) => translateItem(item, i, field, fields))
      .join(',');
  });
  return ['0', ...out].join(' ');
}

function translateItem(item: string, index: number, field: Field, whole: string): string {
  const fail = (why: string): never => {
    throw new ScheduleExpressionError(`cron(${whole}): ${field.name} "${item}" ${why}`);
  };
  const value = (text: string): number => {
    const upper = text.toUpperCase();
    const named = field.names?.indexOf(upper as never) ?? -1;
    const n = named >= 0 ? named + 1 : /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (Number.isNaN(n)) {
      if (/[LW#]/.test(text)) fail(`uses L, W or # where ${field.name} does not allow them`);
      fail(`is not a number${field.names ? ` or ${field.names[0]}-${field.names[field.names.length - 1]}` : ''}`);
    }
    if (n < field.min || n > field.max) fail(`is outside ${field.min}-${field.max}`);
    return n;
  };
  if (item === '') fail('is empty');
  if (item === '*') return '*';

  if (index === DOM) {
    if (item === 'L' || item === 'LW') return item;
    const w = /^(\d+)W$/.exec(item);
    if (w) return `${value(w[1] as string)}W`;
  }
  if (index === DOW) {
    if (item === 'L') return String(field.max);
    const last = /^(\w+)L$/.exec(item);
    if (last) return `${value(last[1] as string)}#L`;
    const nth = /^(\w+)#(\d)$/.exec(item);
    if (nth) {
      const n = Number(nth[2]);
      if (n < 1 || n > 5) fail('must name the 1st to 5th weekday of the month');
      return `${value(nth[1] as string)}#${n}`;
    }
  }
  const [base, stepText, ...more] = item.split('/');
  if (more.length) fail('has more than one "/"');
  let step: number | undefined;
  if (stepText !== undefined) {
    if (!/^\d+$/.test(stepText) || Number(stepText) < 1) fail('needs a positive step after "/"');
    step = Number(stepText);
  }
  let range: string;
  if (base === '*') range = `${field.min}-${field.max}`;
  else if (base?.includes('-')) {
    const [lo, hi, ...rest] = base.split('-');
    if (rest.length || lo === undefined || hi === undefined) fail('is not a range');
    const a = value(lo as string);
    const b = value(hi as string);
    if (a > b) fail(`runs backwards (${a} > ${b})`);
    range = `${a}-${b}`;
  } else {
    const a = value(base as string);
    // "5/15" is "from 5, every 15": croner needs the end of the range spelled out.
    range = step === undefined ? String(a) : `${a}-${field.max}`;
  }
  if (step === undefined) return range;
  return `${range}/${step}`;
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

/** The rule name infra gives a function's n-th schedule (`resourceName(stage, …)`), here for stage "local". */
export function scheduleRuleName(functionName: string, index: number, stage = 'local'): string {
  return `laminar-${stage}-${functionName}-schedule-${index}`;
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

/** What the target receives: the trigger's constant input when given (as an EventBridge target's Input), else the scheduled event. */
export function scheduleTargetEvent(
  input: Record<string, unknown> | undefined,
  options: Parameters<typeof scheduledEvent>[0],
): unknown {
  return input ?? scheduledEvent(options);
}
