import { describe, expect, it } from 'vitest';
import {
  nextFireTimes,
  parseSchedule,
  ScheduleExpressionError,
  scheduledEvent,
  scheduleRuleName,
  scheduleTargetEvent,
  translateCron,
} from '../../src/schedule.ts';

const at = (iso: string) => new Date(iso);
const iso = (dates: Date[]) => dates.map((d) => d.toISOString().replace('.000Z', 'Z'));
const fires = (expression: string, after: string, count = 3) => iso(nextFireTimes(parseSchedule(expression), at(after), count));
const weekday = (d: string) => ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'][new Date(d).getUTCDay()];

describe('rate expressions', () => {
  it('fire every period counted from the anchor (when the rule was created)', () => {
    const s = parseSchedule('rate(15 minutes)');
    expect(s).toMatchObject({ kind: 'rate', periodMs: 900_000 });
    expect(iso(nextFireTimes(s, at('2026-01-30T10:07:00Z'), 3, at('2026-01-30T10:00:00Z')))).toEqual([
      '2026-01-30T10:15:00Z',
      '2026-01-30T10:30:00Z',
      '2026-01-30T10:45:00Z',
    ]);
    // Exactly on a fire time: the next one.
    expect(iso(nextFireTimes(s, at('2026-01-30T10:15:00Z'), 1, at('2026-01-30T10:00:00Z')))).toEqual(['2026-01-30T10:30:00Z']);
    expect(parseSchedule('rate(1 minute)')).toMatchObject({ periodMs: 60_000 });
    expect(parseSchedule('rate(2 hours)')).toMatchObject({ periodMs: 7_200_000 });
    expect(parseSchedule('rate(1 day)')).toMatchObject({ periodMs: 86_400_000 });
    expect(fires('rate(7 days)', '2026-01-01T00:00:00Z', 2)).toEqual(['2026-01-08T00:00:00Z', '2026-01-15T00:00:00Z']);
  });

  it('refuse what EventBridge refuses: singular/plural mismatch, zero', () => {
    expect(() => parseSchedule('rate(1 minutes)')).toThrow(/wants "1 minute"/);
    expect(() => parseSchedule('rate(5 minute)')).toThrow(/wants "5 minutes"/);
    expect(() => parseSchedule('rate(0 minutes)')).toThrow(ScheduleExpressionError);
    expect(() => parseSchedule('rate(5 seconds)')).toThrow(/neither rate/);
    expect(() => parseSchedule('every 5 minutes')).toThrow(/neither rate/);
  });
});

describe('cron expressions (EventBridge dialect, UTC)', () => {
  it('cron(0 12 ? * MON-FRI *): noon on weekdays', () => {
    const times = fires('cron(0 12 ? * MON-FRI *)', '2026-01-30T10:07:00Z', 5);
    expect(times).toEqual([
      '2026-01-30T12:00:00Z',
      '2026-02-02T12:00:00Z',
      '2026-02-03T12:00:00Z',
      '2026-02-04T12:00:00Z',
      '2026-02-05T12:00:00Z',
    ]);
    expect(times.map(weekday)).toEqual(['FRI', 'MON', 'TUE', 'WED', 'THU']);
    // The same days by number: EventBridge counts 1-7 from Sunday.
    expect(fires('cron(0 12 ? * 2-6 *)', '2026-01-30T10:07:00Z', 5)).toEqual(times);
  });

  it('cron(0/15 * * * ? *): every 15 minutes from minute 0', () => {
    expect(fires('cron(0/15 * * * ? *)', '2026-01-30T10:07:00Z', 4)).toEqual([
      '2026-01-30T10:15:00Z',
      '2026-01-30T10:30:00Z',
      '2026-01-30T10:45:00Z',
      '2026-01-30T11:00:00Z',
    ]);
    expect(fires('cron(0/15 * * * ? *)', '2026-01-30T10:15:00Z', 1)).toEqual(['2026-01-30T10:30:00Z']);
    expect(fires('cron(5/20 * * * ? *)', '2026-01-30T10:07:00Z', 3)).toEqual([
      '2026-01-30T10:25:00Z',
      '2026-01-30T10:45:00Z',
      '2026-01-30T11:05:00Z',
    ]);
  });

  it('cron(0 18 L * ? *): 18:00 on the last day of each month, leap years included', () => {
    expect(fires('cron(0 18 L * ? *)', '2026-01-30T10:07:00Z', 3)).toEqual([
      '2026-01-31T18:00:00Z',
      '2026-02-28T18:00:00Z',
      '2026-03-31T18:00:00Z',
    ]);
    expect(fires('cron(0 18 L * ? *)', '2028-02-01T00:00:00Z', 1)).toEqual(['2028-02-29T18:00:00Z']);
  });

  it('day-of-week L, #, numbers and names', () => {
    // 6L: the last Friday of the month.
    expect(fires('cron(0 10 ? * 6L *)', '2026-01-30T10:07:00Z', 2)).toEqual(['2026-02-27T10:00:00Z', '2026-03-27T10:00:00Z']);
    // 2#1: the first Monday.
    expect(fires('cron(0 10 ? * 2#1 *)', '2026-01-30T10:07:00Z', 3)).toEqual([
      '2026-02-02T10:00:00Z',
      '2026-03-02T10:00:00Z',
      '2026-04-06T10:00:00Z',
    ]);
    expect(fires('cron(0 10 ? * MON#1 *)', '2026-01-30T10:07:00Z', 1)).toEqual(['2026-02-02T10:00:00Z']);
    // L alone: the last day of the week, Saturday.
    expect(fires('cron(0 10 ? * L *)', '2026-01-30T10:07:00Z', 1).map(weekday)).toEqual(['SAT']);
    expect(fires('cron(0 10 ? * 1 *)', '2026-01-30T10:07:00Z', 1).map(weekday)).toEqual(['SUN']);
    expect(fires('cron(0 10 ? * 7 *)', '2026-01-30T10:07:00Z', 1).map(weekday)).toEqual(['SAT']);
    expect(fires('cron(0 10 ? * sun,wed *)', '2026-01-30T10:07:00Z', 2).map(weekday)).toEqual(['SUN', 'WED']);
  });

  it('W: the weekday nearest to a day, within the month', () => {
    // 2026-02-15 is a Sunday (→ Monday 16th); 2026-08-15 a Saturday (→ Friday 14th).
    expect(fires('cron(0 9 15W * ? *)', '2026-02-01T00:00:00Z', 1)).toEqual(['2026-02-16T09:00:00Z']);
    expect(fires('cron(0 9 15W * ? *)', '2026-08-01T00:00:00Z', 1)).toEqual(['2026-08-14T09:00:00Z']);
    expect(fires('cron(0 9 15W * ? *)', '2026-04-01T00:00:00Z', 1)).toEqual(['2026-04-15T09:00:00Z']);
  });

  it('months by name, lists, years; a schedule whose years are over never fires', () => {
    expect(fires('cron(0 8 1 JAN,JUL ? 2027)', '2026-01-30T00:00:00Z', 3)).toEqual(['2027-01-01T08:00:00Z', '2027-07-01T08:00:00Z']);
    expect(fires('cron(30 9 * * ? 2020)', '2026-01-30T00:00:00Z', 1)).toEqual([]);
    expect(fires('cron(0 0 1 */3 ? *)', '2026-01-30T00:00:00Z', 3)).toEqual([
      '2026-04-01T00:00:00Z',
      '2026-07-01T00:00:00Z',
      '2026-10-01T00:00:00Z',
    ]);
    expect(fires('cron(15 10,14 * * ? *)', '2026-01-30T10:07:00Z', 3)).toEqual([
      '2026-01-30T10:15:00Z',
      '2026-01-30T14:15:00Z',
      '2026-01-31T10:15:00Z',
    ]);
  });

  it('translates to a numeric croner pattern with seconds and year', () => {
    expect(translateCron('0/15 * * * ? *')).toBe('0 0-59/15 * * * * *');
    expect(translateCron('0 12 ? * MON-FRI *')).toBe('0 0 12 * * 2-6 *');
    expect(translateCron('0 10 ? DEC 6L 2026-2030')).toBe('0 0 10 * 12 6#L 2026-2030');
    expect(translateCron('0 18 L * ? *')).toBe('0 0 18 L * * *');
  });

  it('refuses what EventBridge refuses, naming the field', () => {
    const bad: [string, RegExp][] = [
      ['cron(0 12 * * ?)', /has 5 fields; EventBridge wants 6/],
      ['cron(0 12 * * * *)', /exactly one of day-of-month and day-of-week must be "\?"/],
      ['cron(0 12 ? * ? *)', /exactly one of day-of-month and day-of-week/],
      ['cron(? 12 * * ? *)', /only allowed in day-of-month and day-of-week/],
      ['cron(0 12 ? * 0 *)', /day-of-week "0" is outside 1-7/],
      ['cron(0 12 ? * 8 *)', /day-of-week "8" is outside 1-7/],
      ['cron(0 12 1 13 ? *)', /month "13" is outside 1-12/],
      ['cron(0 24 * * ? *)', /hours "24" is outside 0-23/],
      ['cron(0 12 * * ? 1969)', /year "1969" is outside 1970-2199/],
      ['cron(0 L * * ? *)', /hours "L" uses L, W or #/],
      ['cron(0 12 ? * 2#6 *)', /1st to 5th/],
      ['cron(0 12 ? * FRI-MON *)', /runs backwards/],
      ['cron(0 12 * FOO ? *)', /month "FOO" is not a number or JAN-DEC/],
      ['cron(0/0 12 * * ? *)', /positive step/],
    ];
    for (const [expression, message] of bad) {
      expect(() => parseSchedule(expression), expression).toThrow(ScheduleExpressionError);
      expect(() => parseSchedule(expression), expression).toThrow(message);
    }
  });
});

describe('scheduled event', () => {
  it('has EventBridge\'s shape, keys in AWS\'s order, time without milliseconds', () => {
    const event = scheduledEvent({
      ruleName: scheduleRuleName('rss-producer', 0),
      time: at('2026-01-30T10:15:00.123Z'),
      region: 'eu-west-1',
      id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
    });
    expect(event).toEqual({
      version: '0',
      id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '000000000000',
      time: '2026-01-30T10:15:00Z',
      region: 'eu-west-1',
      resources: ['arn:aws:events:eu-west-1:000000000000:rule/laminar-local-rss-producer-schedule-0'],
      detail: {},
    });
    expect(Object.keys(event)).toEqual(['version', 'id', 'detail-type', 'source', 'account', 'time', 'region', 'resources', 'detail']);
    expect(scheduledEvent({ ruleName: 'r', time: new Date(), region: 'us-east-1' }).id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('is replaced by the trigger\'s constant input, as an EventBridge target with Input', () => {
    const options = { ruleName: 'r', time: new Date(), region: 'us-east-1' };
    expect(scheduleTargetEvent({ feeds: ['a'] }, options)).toEqual({ feeds: ['a'] });
    expect(scheduleTargetEvent(undefined, options)).toMatchObject({ 'detail-type': 'Scheduled Event' });
  });

  it('with inputFromEvent, is the constant input plus the firing\'s id and time, as the target\'s input transformer makes it', () => {
    const options = { ruleName: 'r', time: at('2026-01-30T10:15:00.123Z'), region: 'us-east-1', id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa' };
    const event = scheduleTargetEvent({ stores: 10, recordsPerStore: 50 }, options, { runId: 'id', at: 'time' });
    // The time as the scheduled event has it (no milliseconds), keys in the template's order.
    expect(event).toEqual({ stores: 10, recordsPerStore: 50, runId: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa', at: '2026-01-30T10:15:00Z' });
    expect(Object.keys(event as object)).toEqual(['stores', 'recordsPerStore', 'runId', 'at']);
    expect(scheduleTargetEvent(undefined, options, { firing: 'id' })).toEqual({ firing: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa' });
    // Each firing is its own event, with its own id.
    const { id: _, ...unnamed } = options;
    const ids = [1, 2].map(() => (scheduleTargetEvent({ stores: 1 }, unnamed, { runId: 'id' }) as { runId: string }).runId);
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[0]).not.toBe(ids[1]);
  });
});
