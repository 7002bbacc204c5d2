import { describe, expect, it } from 'vitest';
import {
  billedDurationMs,
  bytesToMb,
  describeDuration,
  formatEnd,
  formatInitReport,
  formatReport,
  formatStart,
  timeoutMessage,
} from '../../src/report.ts';

const id = '3604209a-e9a3-11e6-939a-754dd98c7be3';

describe('REPORT line', () => {
  it('formats a cold start like CloudWatch, tab-separated, with Init Duration', () => {
    const line = formatReport(id, {
      durationMs: 12.344,
      billedMs: billedDurationMs(12.344, 123.451),
      memorySizeMb: 256,
      maxMemoryUsedMb: 80,
      initDurationMs: 123.451,
      cold: true,
    });
    expect(line).toBe(
      `REPORT RequestId: ${id}\tDuration: 12.34 ms\tBilled Duration: 136 ms\tMemory Size: 256 MB\tMax Memory Used: 80 MB\tInit Duration: 123.45 ms`,
    );
  });

  it('has no Init Duration on a warm invocation', () => {
    const line = formatReport(id, { durationMs: 1.5, billedMs: 2, memorySizeMb: 128, maxMemoryUsedMb: 60, cold: false });
    expect(line).toBe(`REPORT RequestId: ${id}\tDuration: 1.50 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB`);
    expect(line).not.toContain('Init Duration');
  });

  it('adds Status for platform failures, and the error type for errors', () => {
    const base = { durationMs: 1000, billedMs: 1000, memorySizeMb: 128, maxMemoryUsedMb: 128, cold: false };
    expect(formatReport(id, { ...base, status: 'timeout' })).toMatch(/\tStatus: timeout$/);
    expect(formatReport(id, { ...base, status: 'error', errorType: 'Runtime.OutOfMemory' })).toMatch(
      /\tStatus: error\tError Type: Runtime\.OutOfMemory$/,
    );
  });

  it('bills whole milliseconds, rounding up, init included', () => {
    expect(billedDurationMs(12.01)).toBe(13);
    expect(billedDurationMs(12)).toBe(12);
    expect(billedDurationMs(0.2)).toBe(1);
    expect(billedDurationMs(10.5, 100.2)).toBe(111);
  });

  it('rounds memory up to whole MB', () => {
    expect(bytesToMb(80 * 1024 * 1024)).toBe(80);
    expect(bytesToMb(80 * 1024 * 1024 + 1)).toBe(81);
  });

  it('formats START, END, INIT_REPORT and the timeout message', () => {
    expect(formatStart(id)).toBe(`START RequestId: ${id} Version: $LATEST`);
    expect(formatEnd(id)).toBe(`END RequestId: ${id}`);
    expect(formatInitReport(10.123, 'error', 'Runtime.ImportModuleError')).toBe(
      'INIT_REPORT Init Duration: 10.12 ms\tPhase: init\tStatus: error\tError Type: Runtime.ImportModuleError',
    );
    expect(timeoutMessage(1000)).toBe('Task timed out after 1.00 seconds');
    expect(timeoutMessage(300_000)).toBe('Task timed out after 300.00 seconds');
  });

  it('describes a wait in the unit that reads best', () => {
    expect([0.4, 66.666, 999.4, 1000, 60_000, 119_999, 120_000, 5_400_000, 7_200_000].map(describeDuration)).toEqual([
      '0 ms',
      '67 ms',
      '999 ms',
      '1.0 s',
      '60.0 s',
      '120.0 s',
      '2.0 min',
      '90.0 min',
      '2.0 h',
    ]);
  });
});
