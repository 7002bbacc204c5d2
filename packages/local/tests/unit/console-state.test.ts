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
    expect(kept?.result).toMatchObject({ truncated: expect.stringMatching(/^the result is 300011 bytes of JSON/), head: expect.stringMatching(/^\{"blob":"xxx/) });
    // A line too long to keep whole is cut, saying so.
    state.record(record(3, { logs: [{ stream: 'stdout', text: 'y'.repeat(40_000), time: 0 }] }));
    expect(state.invocation('req-3#1')?.logs[0]?.text).toMatch(/^y{16384}… \(23616 more characters not kept by the console\)$/);
    // Small ones are kept as they are.
    state.record(record(2));
    expect(state.invocation('req-2#1')).toMatchObject({ logs: [{ text: 'line of 2' }], result: { n: 2 } });
  });

  it('measures a result in bytes, and cuts a long error as it cuts a result, keeping its shape', () => {
    const state = new ConsoleState(['f'], new LocalQueues(undefined));
    // 150,011 characters, 300,011 bytes: over the limit only when counted in bytes.
    state.record(record(1, { result: { blob: 'é'.repeat(150_000) } }));
    expect(state.invocation('req-1#1')?.result).toMatchObject({ truncated: expect.stringMatching(/^the result is 300011 bytes of JSON/) });
    const trace = Array.from({ length: 5_000 }, (_, i) => `    at frame${i} (file.js:1:1)`);
    state.record(record(2, { result: undefined, error: { errorType: 'Error', errorMessage: 'm'.repeat(300_000), trace } }));
    const error = state.invocation('req-2#1')?.result as { errorType: string; errorMessage: string; trace: string[] };
    expect(error.errorType).toBe('Error');
    expect(error.errorMessage).toMatch(/^m{4096}… \(the error is \d+ bytes of JSON; the console keeps the first 4,096 characters of its message and of its trace\)$/);
    expect(error.trace.join('').length).toBeLessThan(4_096 + 200);
    expect(state.invocations()[1]?.error).toMatch(/^Error: m{4096}… /);
    expect(state.retainedBytes).toBeLessThan(300_000);
  });

  it('keeps all invocations within a byte budget: the oldest lose their log lines first, then themselves', () => {
    const state = new ConsoleState(['f'], new LocalQueues(undefined), { maxRetainedBytes: 150_000 });
    // 20,000 characters but 40,000 bytes each: five are 200 KB, over the budget only in bytes.
    const logs = Array.from({ length: 10 }, (_, i) => ({ stream: 'stdout' as const, text: 'é'.repeat(2_000), time: i }));
    for (let n = 1; n <= 5; n++) state.record(record(n, { logs }));
    expect(state.retainedBytes).toBeLessThanOrEqual(150_000);
    expect(state.invocations().map((v) => [v.requestId, v.logLines])).toEqual([
      ['req-1', 1],
      ['req-2', 1],
      ['req-3', 10],
      ['req-4', 10],
      ['req-5', 10],
    ]);
    expect(state.invocation('req-1#1')?.logs[0]?.text).toBe('… 10 log lines dropped: the console keeps 146 KB of invocations in all, the newest first');
    expect(state.invocation('req-1#1')?.result).toEqual({ n: 1 });
    // Results alone over the budget: the oldest invocations go whole, the newest stays.
    for (let n = 6; n <= 9; n++) state.record(record(n, { logs: [], result: { blob: 'r'.repeat(60_000) } }));
    expect(state.retainedBytes).toBeLessThanOrEqual(150_000);
    expect(state.invocations().map((v) => v.requestId)).toEqual(['req-8', 'req-9']);
    const alone = new ConsoleState(['f'], new LocalQueues(undefined), { maxRetainedBytes: 1_000 });
    alone.record(record(10, { logs }));
    expect(alone.invocation('req-10#1')?.logs).toHaveLength(10);
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

  it('tells listeners about an object change, numbered with the other events', () => {
    const state = new ConsoleState(['f'], new LocalQueues(undefined));
    const events: unknown[] = [];
    state.subscribe((e) => events.push(e));
    state.record(record(1));
    state.objectChanged({ bucket: 'lake', key: 'out/x.txt', change: 'created' });
    expect(events.at(-1)).toEqual({ type: 's3', id: 3, data: { bucket: 'lake', key: 'out/x.txt', change: 'created' } });
    expect(state.seq).toBe(3);
  });
});
