import { Cron } from 'croner';

/**
 * How often an EventBridge schedule fires in a month. The estimate's month is 30 days (720 hours):
 * every per-month figure in this package uses it.
 */
export const MONTH_DAYS = 30;
const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

export class ScheduleError extends Error {
  override name = 'ScheduleError';
}

const UNIT_MS = { minute: MINUTE_MS, hour: 3_600_000, day: DAY_MS } as const;

/** `rate(N unit)` → its period in ms; null for anything else. EventBridge's singular/plural rule is enforced. */
export function ratePeriodMs(expression: string): number | null {
  const m = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (!m) return null;
  const value = Number(m[1]);
  const unit = m[2] as string;
  const singular = unit.replace(/s$/, '') as keyof typeof UNIT_MS;
  if (value < 1) throw new ScheduleError(`${expression}: the value must be a positive integer`);
  if ((value === 1) !== (unit === singular)) throw new ScheduleError(`${expression}: EventBridge wants "${value} ${value === 1 ? singular : `${singular}s`}"`);
  return value * UNIT_MS[singular];
}

export interface MonthlyFires {
  perMonth: number;
  /** How the number came about, for the assumptions list. */
  method: string;
}

/**
 * Fires per 30-day month. A rate is exact (rate(5 minutes) → 8,640). A cron depends on the
 * calendar (Mondays, month ends, a year field), so its fires are counted over a whole reference
 * year and scaled to 30 days: a "last day of the month" cron gives 12 × 30/365 ≈ 0.99, not the 0 or 1
 * that some particular 30-day window would.
 */
export function firesPerMonth(expression: string, referenceYear: number): MonthlyFires {
  const period = ratePeriodMs(expression);
  if (period !== null) return { perMonth: (MONTH_DAYS * DAY_MS) / period, method: `every ${period / MINUTE_MS} min` };
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (!cron) throw new ScheduleError(`"${expression}" is neither rate(N unit) nor cron(min hour day-of-month month day-of-week year)`);
  const from = Date.UTC(referenceYear, 0, 1);
  const to = Date.UTC(referenceYear + 1, 0, 1);
  const fires = countCronFires(cron[1] as string, new Date(from), new Date(to));
  const days = (to - from) / DAY_MS;
  return { perMonth: (fires * MONTH_DAYS) / days, method: `${fires.toLocaleString('en-US')} fires in ${referenceYear} × ${MONTH_DAYS}/${days}` };
}

/**
 * Fires of an EventBridge cron (UTC) in [from, to). Counting fire by fire is far too slow for a
 * per-minute cron over a year (~1 min with croner), so the two halves are counted apart: croner
 * finds the matching days (day of month, month, day of week, year, with L, W and #), and each such
 * day fires once per matching minute × matching hour — in UTC every day has all of them.
 */
export function countCronFires(fields: string, from: Date, to: Date): number {
  const translated = translateCron(fields).split(' ');
  const [, minutes, hours, dom, month, dow, year] = translated as [string, string, string, string, string, string, string];
  const perDay = expandPlain(minutes, 0, 59).size * expandPlain(hours, 0, 23).size;
  const days = makeCron(['0', '0', '0', dom, month, dow, year].join(' '), fields);
  // Whole days from the day of `from` to the day after `to` (when `to` is not midnight)…
  const fromDay = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
  const toDay = Math.ceil(to.getTime() / DAY_MS) * DAY_MS;
  let count = 0;
  for (let day = days.nextRun(new Date(fromDay - 1)); day && day.getTime() < toDay; day = days.nextRun(day)) count += perDay;
  // …less the fires before `from` and from `to` on, fire by fire (at most two partial days).
  const whole = makeCron(translated.join(' '), fields);
  const between = (start: number, end: number) => {
    let n = 0;
    for (let t = whole.nextRun(new Date(start - 1)); t && t.getTime() < end; t = whole.nextRun(t)) n++;
    return n;
  };
  if (from.getTime() > fromDay) count -= between(fromDay, from.getTime());
  if (toDay > to.getTime()) count -= between(to.getTime(), toDay);
  return count;
}

function makeCron(pattern: string, fields: string): Cron {
  try {
    return new Cron(pattern, { timezone: 'Etc/UTC', alternativeWeekdays: true, mode: '7-part', paused: true });
  } catch (err) {
    throw new ScheduleError(`cron(${fields}): ${(err as Error).message} (as croner pattern "${pattern}")`);
  }
}

/** Values of a translated minutes/hours field: `*`, `a`, `a-b`, `a-b/s`, comma lists. */
function expandPlain(field: string, min: number, max: number): Set<number> {
  const out = new Set<number>();
  for (const item of field.split(',')) {
    const [range = '', stepText] = item.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    const [lo, hi] = range === '*' ? [min, max] : range.includes('-') ? range.split('-').map(Number) : [Number(range), Number(range)];
    for (let v = lo as number; v <= (hi as number); v += step) out.add(v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// EventBridge cron → croner pattern. The same translation as @laminar/local's schedule.ts (which
// the local runner fires schedules with); that module is not exported from its package, so it is
// repeated here until it moves to @laminar/spec.
// ---------------------------------------------------------------------------------------------

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
 * EventBridge's 6-field cron → croner's 7-part pattern (seconds first): `?` in exactly one day
 * field, `5/15` as "from 5 every 15", `6L` for the last Friday, `L` alone in day-of-week for
 * Saturday, names to numbers.
 */
export function translateCron(fields: string): string {
  const parts = fields.trim().split(/\s+/);
  if (parts.length !== 6) {
    throw new ScheduleError(`cron(${fields}) has ${parts.length} fields; EventBridge wants 6: minutes hours day-of-month month day-of-week year`);
  }
  const dom = parts[DOM] as string;
  const dow = parts[DOW] as string;
  if ((dom === '?') === (dow === '?')) {
    throw new ScheduleError(`cron(${fields}): exactly one of day-of-month and day-of-week must be "?" (EventBridge cannot combine them)`);
  }
  const out = parts.map((part, i) => {
    const field = FIELDS[i] as Field;
    if (part === '?') {
      if (i !== DOM && i !== DOW) throw new ScheduleError(`cron(${fields}): "?" is only allowed in day-of-month and day-of-week`);
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
    throw new ScheduleError(`cron(${whole}): ${field.name} "${item}" ${why}`);
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
