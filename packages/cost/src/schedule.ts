import { cronFields, ratePeriodMs, ScheduleExpressionError as ScheduleError, translateCron } from '@laminar/spec';
import { Cron } from 'croner';

/**
 * How often an EventBridge schedule fires in a month. The estimate's month is 30 days (720 hours):
 * every per-month figure in this package uses it.
 */
export const MONTH_DAYS = 30;
const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/** Schedule expressions are parsed by @laminar/spec, as the runner parses them. */
export { ratePeriodMs, ScheduleExpressionError as ScheduleError, translateCron } from '@laminar/spec';

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
  const fields = cronFields(expression) as string;
  const from = Date.UTC(referenceYear, 0, 1);
  const to = Date.UTC(referenceYear + 1, 0, 1);
  const fires = countCronFires(fields, new Date(from), new Date(to));
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
