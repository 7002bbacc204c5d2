import { describe, expect, it } from 'vitest';
import { printScheduleSummary } from '../../src/commands.ts';
import type { ScheduledRun, ScheduleEntry } from '../../src/scheduler.ts';

const entry = (functionName: string, expression: string) => ({ functionName, expression, ruleName: `laminar-local-${functionName}-0` }) as ScheduleEntry;
const report = { durationMs: 12, billedMs: 12, memorySizeMb: 128, maxMemoryUsedMb: 60, cold: false };
/** One firing that returned `result`, or failed with `errorType`. */
const run = (e: ScheduleEntry, outcome: { result: unknown } | { errorType: string }): ScheduledRun => ({
  entry: e,
  scheduledTime: new Date('2026-11-30T10:00:00Z'),
  event: {},
  result: {
    requestId: 'r-1',
    functionName: e.functionName,
    invocationType: 'Event',
    ...('result' in outcome ? { result: outcome.result } : { error: { errorType: outcome.errorType, errorMessage: 'upstream is down', trace: [] } }),
    report,
    logs: [],
  },
});

const producer = entry('rss-producer', 'rate(15 minutes)');
const inventory = entry('store-inventory', 'cron(0 6 * * ? *)');

function summary(runs: ScheduledRun[], stopped: boolean): { ok: boolean; lines: string[] } {
  const lines: string[] = [];
  const ok = printScheduleSummary(runs, [producer, inventory], (l = '') => lines.push(l), stopped);
  return { ok, lines: lines.filter((l) => !l.startsWith('    ')) };
}

describe("laminar dev's schedule summary", () => {
  it('passes when every scheduled function fired and none failed', () => {
    expect(summary([run(producer, { result: { produced: 3 } }), run(inventory, { result: { produced: 1 } })], false)).toEqual({
      ok: true,
      lines: ['✔ rss-producer (rate(15 minutes)): 1 scheduled invocation, 0 failed', '✔ store-inventory (cron(0 6 * * ? *)): 1 scheduled invocation, 0 failed'],
    });
  });

  it('fails a failed invocation', () => {
    expect(summary([run(producer, { errorType: 'Error' }), run(inventory, { result: {} })], false)).toMatchObject({
      ok: false,
      lines: ['✘ rss-producer (rate(15 minutes)): 1 scheduled invocation, 1 failed', '✔ store-inventory (cron(0 6 * * ? *)): 1 scheduled invocation, 0 failed'],
    });
  });

  it('fails a scheduled function that never fired in a run nobody stopped, as its ✘ says', () => {
    expect(summary([run(producer, { result: {} })], false)).toEqual({
      ok: false,
      lines: ['✔ rss-producer (rate(15 minutes)): 1 scheduled invocation, 0 failed', '✘ store-inventory (cron(0 6 * * ? *)): 0 scheduled invocations, 0 failed'],
    });
  });

  it('neither passes nor fails one that a stop (Ctrl-C) came before: it was not checked', () => {
    expect(summary([run(producer, { result: {} })], true)).toEqual({
      ok: true,
      lines: ['✔ rss-producer (rate(15 minutes)): 1 scheduled invocation, 0 failed', '– store-inventory (cron(0 6 * * ? *)): not fired, stopped before its first firing'],
    });
    // What did fire is still checked.
    expect(summary([run(producer, { errorType: 'Error' })], true).ok).toBe(false);
  });
});
