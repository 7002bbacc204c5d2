import { describe, expect, it } from 'vitest';
import { parseDurations, percentile, pickDuration, summarize } from '../../src/durations.ts';
import { billedMs, firehoseBilledBytes, gbSeconds } from '../../src/estimate.ts';
import { money, quantity } from '../../src/format.ts';
import { FIREHOSE_RECORD_ROUNDING_BYTES } from '../../src/prices.ts';

describe('Lambda billing', () => {
  it('rounds each invocation up to the next millisecond, at least 1 ms', () => {
    expect(billedMs(100.2, 0, 0)).toBe(101);
    expect(billedMs(100, 0, 0)).toBe(100);
    expect(billedMs(0.2, 0, 0)).toBe(1);
  });

  it('bills INIT with the handler on cold starts, rounded as one duration', () => {
    expect(billedMs(100.2, 250.5, 1)).toBe(351);
    // Half cold: half at 101, half at 351.
    expect(billedMs(100.2, 250.5, 0.5)).toBe(226);
  });

  it('GB-seconds use 1,024 MB per GB', () => {
    expect(gbSeconds(1000, 101, 1024)).toBeCloseTo(101, 10);
    expect(gbSeconds(1000, 101, 128)).toBeCloseTo(12.625, 10);
    expect(gbSeconds(720, 1000, 512)).toBe(360);
  });
});

describe('Firehose', () => {
  it('bills every record as whole 5 KB blocks', () => {
    expect(FIREHOSE_RECORD_ROUNDING_BYTES).toBe(5120);
    expect(firehoseBilledBytes(1, 350)).toBe(5120);
    expect(firehoseBilledBytes(1, 5120)).toBe(5120);
    expect(firehoseBilledBytes(1, 5121)).toBe(10_240);
    // 1,000 records of 350 B: 350 KB of data, 5,000 KB billed.
    expect(firehoseBilledBytes(1000, 350)).toBe(5_120_000);
  });
});

describe('measured durations', () => {
  it('summarizes REPORT records: mean, nearest-rank percentiles, INIT and cold share', () => {
    const reports = [10, 20, 30, 40, 1000].map((d, i) => ({ durationMs: d, ...(i === 0 ? { initDurationMs: 300, cold: true } : { cold: false }) }));
    // Billed: the cold one's INIT with its duration, each rounded up (310, 20, 30, 40, 1000).
    expect(summarize(reports)).toEqual({ avgMs: 220, avgBilledMs: 280, p50Ms: 30, p95Ms: 1000, initMs: 300, coldStartShare: 0.2, count: 5, source: '5 REPORT records' });
    // Each invocation is billed whole milliseconds: 1.5 ms bills 2, so the mean of 1.5 and 2.5 bills 2.5, not 2.
    const fractional = summarize([1.5, 2.5, 1.5, 2.5].map((durationMs) => ({ durationMs, cold: false })));
    expect(fractional).toMatchObject({ avgMs: 2, avgBilledMs: 2.5 });
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
  });

  it('accepts summaries and report arrays in one file; falls back to what is there', () => {
    const d = parseDurations({ a: { p50Ms: 12, p95Ms: 40 }, b: [{ durationMs: 5, billedMs: 5, memorySizeMb: 128, maxMemoryUsedMb: 60, cold: false }] });
    expect(pickDuration(d.a!, 'avg')).toEqual({ ms: 12, statistic: 'p50' });
    expect(pickDuration(d.a!, 'p95')).toEqual({ ms: 40, statistic: 'p95' });
    expect(pickDuration(d.b!, 'avg')).toEqual({ ms: 5, statistic: 'avg' });
    expect(() => parseDurations({ a: { p50: 12 } })).toThrow(/^durations:\n {2}- a/);
  });
});

describe('formatting', () => {
  it('money shows cents, or four decimals below a cent', () => {
    expect(money(0)).toBe('$0.00');
    expect(money(133.2)).toBe('$133.20');
    expect(money(0.0048)).toBe('$0.0048');
    expect(money(0.00001)).toBe('<$0.0001');
    expect(money(-0.5)).toBe('-$0.50');
    expect(quantity(8640)).toBe('8,640');
    expect(quantity(0.01234)).toBe('0.0123');
  });
});
