import { describe, expect, it } from 'vitest';
import { ConsoleState } from '../../src/console/state.ts';
import type { InvocationRecord } from '../../src/invoker.ts';
import { LocalQueues } from '../../src/queues.ts';

const record = (n: number, over: Partial<InvocationRecord> = {}): InvocationRecord => ({
  requestId: `req-${n}`,
  functionName: 'f',
  invocationType: 'RequestResponse',
  result: { n },
  report: { durationMs: n, billedMs: n, memorySizeMb: 128, maxMemoryUsedMb: 60, cold: n === 0 },
  logs: [{ stream: 'stdout', text: `line of ${n}`, time: 0 }],
  startedAt: '2026-11-27T00:00:00.000Z',
  finishedAt: '2026-11-27T00:00:01.000Z',
  ...over,
});

describe('the console state', () => {
  it('keeps an invocation\'s last 1,000 log lines and a large result\'s head only, saying so', () => {
    const state = new ConsoleState(['f'], new LocalQueues(undefined));
    const logs = Array.from({ length: 1_500 }, (_, i) => ({ stream: 'stdout' as const, text: `line ${i}`, time: i }));
    state.record(record(1, { logs, result: { blob: 'x'.repeat(300_000) } }));
    const kept = state.invocation('req-1#1');
    expect(kept?.logs).toHaveLength(1_001);
    expect(kept?.logs[0]?.text).toBe('… 500 earlier log lines not kept by the console');
    expect(kept?.logs.at(-1)?.text).toBe('line 1499');
    expect(kept?.result).toMatchObject({ truncated: expect.stringMatching(/^the result is 300011 characters of JSON/), head: expect.stringMatching(/^\{"blob":"xxx/) });
    // A line too long to keep whole is cut, saying so.
    state.record(record(3, { logs: [{ stream: 'stdout', text: 'y'.repeat(40_000), time: 0 }] }));
    expect(state.invocation('req-3#1')?.logs[0]?.text).toMatch(/^y{16384}… \(23616 more characters not kept by the console\)$/);
    // Small ones are kept as they are.
    state.record(record(2));
    expect(state.invocation('req-2#1')).toMatchObject({ logs: [{ text: 'line of 2' }], result: { n: 2 } });
  });

  it('takes percentiles over each function\'s latest 10,000 durations', () => {
    const state = new ConsoleState(['f'], new LocalQueues(undefined), { maxInvocations: 10 });
    // 10,000 slow invocations, then 10,000 fast ones: only the fast ones count at the end.
    for (let i = 0; i < 10_000; i++) state.record(record(1_000 + i));
    expect(state.stats()[0]?.p50Ms).toBeGreaterThanOrEqual(5_000);
    for (let i = 0; i < 10_000; i++) state.record(record(i % 100));
    expect(state.stats()[0]).toMatchObject({ invocations: 20_000 });
    expect(state.stats()[0]?.p95Ms).toBeLessThan(100);
  });
});
