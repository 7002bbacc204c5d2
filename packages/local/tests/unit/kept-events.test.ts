import { describe, expect, it } from 'vitest';
import type { AsyncOutcome } from '../../src/async.ts';
import { reportKeptEvents } from '../../src/commands.ts';

const outcome = (status: AsyncOutcome['status'], attempts: number, queue?: string): AsyncOutcome =>
  ({
    requestId: `r-${status}`,
    functionName: 'csv-validator',
    event: {},
    status,
    attempts: Array.from({ length: attempts }, () => ({})),
    ...(queue ? { destination: { queue, messageId: 'm-1', condition: 'OnFailure' } } : {}),
  }) as unknown as AsyncOutcome;

describe('reportKeptEvents (laminar dev --keep, after Ctrl-C)', () => {
  it('says nothing and passes when no event came in while the runner was kept running', () => {
    const lines: string[] = [];
    expect(reportKeptEvents([], (l = '') => lines.push(l))).toBe(true);
    expect(reportKeptEvents([outcome('stopped', 1)], (l = '') => lines.push(l))).toBe(true);
    expect(lines).toEqual([]);
  });

  it('counts the events handled meanwhile and fails the exit code on any that did not succeed, naming where each went', () => {
    const lines: string[] = [];
    const ok = reportKeptEvents(
      [outcome('succeeded', 1), outcome('failed', 3, 'laminar-local-csv-validator-dlq'), outcome('expired', 0), outcome('stopped', 1)],
      (l = '') => lines.push(l),
    );
    expect(ok).toBe(false);
    expect(lines).toEqual([
      '✘ while running: 3 async events, 1 succeeded, 2 not',
      '    csv-validator failed after 3 attempts → laminar-local-csv-validator-dlq',
      '    csv-validator expired no on-failure destination: discarded, as Lambda does',
    ]);
  });

  it('names a record its destination could not take as such, not as discarded', () => {
    const lines: string[] = [];
    const failed = { ...outcome('failed', 3), deliveryError: new Error('EACCES: permission denied') } as AsyncOutcome;
    expect(reportKeptEvents([failed], (l = '') => lines.push(l))).toBe(false);
    expect(lines[1]).toBe('    csv-validator failed after 3 attempts its record could not be written to its destination: EACCES: permission denied');
  });

  it('passes when every event succeeded', () => {
    const lines: string[] = [];
    expect(reportKeptEvents([outcome('succeeded', 1), outcome('succeeded', 2)], (l = '') => lines.push(l))).toBe(true);
    expect(lines).toEqual(['✔ while running: 2 async events, 2 succeeded']);
  });
});
