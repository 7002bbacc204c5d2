/**
 * EventBridge schedule expressions, as specs declare them: `rate(N unit)` and 6-field
 * `cron(min hour dom month dow year)`, always in UTC. Pure text work, shared by the runner (which
 * fires them) and the cost estimate (which counts them); croner does the calendar arithmetic.
 */
export class ScheduleExpressionError extends Error {
  override name = 'ScheduleExpressionError';
}

export const RATE_UNIT_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/** `rate(N unit)` → its period in ms; null for anything else. EventBridge's singular/plural rule is enforced. */
export function ratePeriodMs(expression: string): number | null {
  const m = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (!m) return null;
  const value = Number(m[1]);
  const unit = m[2] as string;
  // EventBridge refuses rate(1 minutes) and rate(5 minute): failing here beats failing at deploy.
  if (value < 1) throw new ScheduleExpressionError(`${expression}: the value must be a positive integer`);
  const singular = unit.replace(/s$/, '') as keyof typeof RATE_UNIT_MS;
  if ((value === 1) !== (unit === singular)) {
    throw new ScheduleExpressionError(`${expression}: EventBridge wants "${value} ${value === 1 ? singular : `${singular}s`}"`);
  }
  return value * RATE_UNIT_MS[singular];
}

/** The fields of `cron(...)`; throws for anything that is neither a rate nor a cron. */
export function cronFields(expression: string): string | null {
  if (ratePeriodMs(expression) !== null) return null;
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (!cron) throw new ScheduleExpressionError(`"${expression}" is neither rate(N unit) nor cron(min hour day-of-month month day-of-week year)`);
  return cron[1] as string;
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

