import { Cron } from 'croner';
import { describe, expect, it, vi } from 'vitest';
import { countCronFires, firesPerMonth, MONTH_DAYS, ratePeriodMs, ScheduleError, translateCron } from '../../src/schedule.ts';

const utc = (s: string) => new Date(`${s}Z`);

describe('rate expressions', () => {
  it('count exactly per 30-day month', () => {
    expect(firesPerMonth('rate(5 minutes)', 2026).perMonth).toBe(8_640);
    expect(firesPerMonth('rate(15 minutes)', 2026).perMonth).toBe(2_880);
    expect(firesPerMonth('rate(1 hour)', 2026).perMonth).toBe(720);
    expect(firesPerMonth('rate(1 day)', 2026).perMonth).toBe(30);
    expect(firesPerMonth('rate(7 days)', 2026).perMonth).toBeCloseTo(30 / 7, 10);
  });

  it('refuse what EventBridge refuses', () => {
    expect(() => ratePeriodMs('rate(1 minutes)')).toThrow(ScheduleError);
    expect(() => ratePeriodMs('rate(5 minute)')).toThrow(/wants "5 minutes"/);
    expect(() => ratePeriodMs('rate(0 minutes)')).toThrow(/positive/);
    expect(() => firesPerMonth('every 5 minutes', 2026)).toThrow(/neither rate/);
  });
});

describe('cron expressions', () => {
  it('every 5 minutes is 8,640 in 30 days, like the rate', () => {
    expect(countCronFires('0/5 * * * ? *', utc('2026-01-01T00:00:00'), utc('2026-01-31T00:00:00'))).toBe(8_640);
    expect(firesPerMonth('cron(0/5 * * * ? *)', 2026).perMonth).toBeCloseTo(8_640, 9);
  });

  it('weekdays at 09:00 follow the calendar: 261 in 2026, 21.45 per 30 days', () => {
    const f = firesPerMonth('cron(0 9 ? * MON-FRI *)', 2026);
    expect(f.perMonth).toBeCloseTo((261 * MONTH_DAYS) / 365, 9);
    expect(f.method).toBe('261 fires in 2026 × 30/365');
  });

  it('month ends, nth weekdays and a year field', () => {
    expect(countCronFires('0 0 L * ? *', utc('2026-01-01T00:00:00'), utc('2027-01-01T00:00:00'))).toBe(12);
    // The first Monday of each month, twice a day.
    expect(countCronFires('30 6,18 ? * 2#1 *', utc('2026-01-01T00:00:00'), utc('2027-01-01T00:00:00'))).toBe(24);
    // Only in 2027: nothing in the 2026 reference year.
    expect(firesPerMonth('cron(0 12 * * ? 2027)', 2026).perMonth).toBe(0);
    // 2028 is a leap year: 366 days, 366 fires, still 30 per 30 days.
    expect(firesPerMonth('cron(0 12 * * ? *)', 2028).perMonth).toBeCloseTo(30, 9);
  });

  it('counts a per-minute cron over a year day by day, not fire by fire', () => {
    // The steps croner is asked for show the algorithm's shape without timing it: one per
    // matching day (365, and the one that ends the walk), where fire by fire took 525,601.
    const steps = vi.spyOn(Cron.prototype, 'nextRun');
    try {
      expect(countCronFires('* * * * ? *', utc('2026-01-01T00:00:00'), utc('2027-01-01T00:00:00'))).toBe(525_600);
      expect(steps).toHaveBeenCalledTimes(366);
    } finally {
      steps.mockRestore();
    }
  });

  it('agrees with croner fire by fire, partial days at both ends included', () => {
    const from = utc('2026-02-26T07:13:00');
    const to = utc('2026-04-02T15:41:30');
    for (const fields of ['0/5 * * * ? *', '15,45 8-17 ? * MON-FRI *', '0 0 L * ? *', '10 3 ? * 6L *', '0 12 15W * ? *', '*/20 */6 1-10 FEB,MAR ? *']) {
      const cron = new Cron(translateCron(fields), { timezone: 'Etc/UTC', mode: '7-part', paused: true, alternativeWeekdays: true });
      let brute = 0;
      for (let t = cron.nextRun(new Date(from.getTime() - 1)); t && t < to; t = cron.nextRun(t)) brute++;
      expect(countCronFires(fields, from, to), fields).toBe(brute);
    }
  });

  it('reports EventBridge syntax errors', () => {
    expect(() => firesPerMonth('cron(0 12 * * * *)', 2026)).toThrow(/exactly one of day-of-month and day-of-week/);
    expect(() => firesPerMonth('cron(0 12 * *)', 2026)).toThrow(/has 4 fields/);
    expect(() => firesPerMonth('cron(0 25 * * ? *)', 2026)).toThrow(/outside 0-23/);
  });
});
