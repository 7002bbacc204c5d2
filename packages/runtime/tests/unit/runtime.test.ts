import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  ClientError,
  ConfigError,
  Deadline,
  DeadlineExceededError,
  defineHandler,
  envInt,
  InputValidationError,
  loadConfig,
  parseInput,
} from '../../src/index.ts';
import { lambdaContext } from '../../src/testing.ts';

const context = (remainingMs = 30_000) => lambdaContext('demo', { remainingMs, requestId: 'req-1' });

const schema = z.object({ TABLE: z.string().min(1), LIMIT: envInt(1, 10).default(5) });

/** Everything written to `streams` from now on (their writes swallowed), in order. */
function captureWrites(...streams: NodeJS.WriteStream[]): string[] {
  const out: string[] = [];
  for (const stream of streams) {
    vi.spyOn(stream, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
  }
  return out;
}

/** The JSON lines among what was captured. */
const jsonLines = <T>(out: string[]): T[] =>
  out
    .join('')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as T);

describe('loadConfig', () => {
  it('names every missing or invalid variable', () => {
    expect(() => loadConfig(schema, { LIMIT: '99' })).toThrow(ConfigError);
    try {
      loadConfig(schema, { LIMIT: '99' });
    } catch (e) {
      expect((e as Error).message).toMatch(/TABLE: missing/);
      expect((e as Error).message).toMatch(/LIMIT: invalid/);
    }
    expect(loadConfig(schema, { TABLE: 't' })).toEqual({ TABLE: 't', LIMIT: 5 });
  });

  it('reads a whole number only as decimal digits: no hex, exponent, padding or fraction passes as another number', () => {
    expect(loadConfig(schema, { TABLE: 't', LIMIT: '7' }).LIMIT).toBe(7);
    for (const typo of ['0x10', '0b11', '1e1', ' 7 ', '8.0', '', '7 # comment']) {
      expect(() => loadConfig(schema, { TABLE: 't', LIMIT: typo }), typo).toThrow(/LIMIT: invalid|LIMIT: expected a whole number/);
    }
  });
});

describe('parseInput', () => {
  it('throws a client error listing every field', () => {
    const s = z.object({ a: z.string(), b: z.number().min(1) });
    expect(() => parseInput(s, { b: 0 })).toThrow(InputValidationError);
    expect(() => parseInput(s, { b: 0 })).toThrow(/a: .*; b: /);
  });
});

describe('Deadline', () => {
  it('stops when the remaining time falls under the reserve', () => {
    let left = 5_000;
    const d = new Deadline({ getRemainingTimeInMillis: () => left }, 1_000);
    expect(() => d.check('listing')).not.toThrow();
    left = 900;
    expect(() => d.check('listing')).toThrow(DeadlineExceededError);
  });

  it('aborts its signal with a DeadlineExceededError when the reserve is reached, and not after dispose', async () => {
    vi.useFakeTimers();
    try {
      let left = 5_000;
      const d = new Deadline({ getRemainingTimeInMillis: () => left }, 1_000);
      const { signal } = d;
      expect(d.signal).toBe(signal);
      left = 1_001;
      await vi.advanceTimersByTimeAsync(3_999);
      expect(signal.aborted).toBe(false);
      left = 1_000;
      await vi.advanceTimersByTimeAsync(1);
      expect(signal.aborted).toBe(true);
      expect(signal.reason).toBeInstanceOf(DeadlineExceededError);
      expect((signal.reason as Error).message).toBe('stopped before the function timeout; 1000 ms left');

      const disposed = new Deadline({ getRemainingTimeInMillis: () => 5_000 }, 1_000);
      const early = disposed.signal;
      disposed.dispose();
      await vi.advanceTimersByTimeAsync(10_000);
      expect(early.aborted).toBe(false);
      // First read after the invocation ended: a signal, and no timer left running.
      const late = new Deadline({ getRemainingTimeInMillis: () => 5_000 }, 1_000);
      late.dispose();
      expect(late.signal.aborted).toBe(false);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('defineHandler', () => {
  const env = { ...process.env };
  afterEach(() => {
    process.env = { ...env };
    vi.restoreAllMocks();
  });

  it('fails the cold start on bad config', () => {
    process.env = {};
    expect(() => defineHandler({ config: schema, init: () => ({}), handle: async () => 1 })).toThrow(/TABLE: missing/);
  });

  it('runs init once per environment, logs JSON with the request id, rethrows errors', async () => {
    process.env = { TABLE: 't', POWERTOOLS_METRICS_NAMESPACE: 'Test', POWERTOOLS_SERVICE_NAME: 'demo' };
    const out = captureWrites(process.stdout, process.stderr);
    const init = vi.fn(() => ({ client: 'c' }));
    const handler = defineHandler({
      config: schema,
      init,
      handle: async (event: { fail?: 'client' | 'server' }, { deps, config, metrics }) => {
        metrics.addMetric('Things', 'Count', 1);
        if (event.fail === 'client') throw new ClientError('bad thing');
        if (event.fail === 'server') throw new Error('boom');
        return `${deps.client}:${config.TABLE}:${config.LIMIT}`;
      },
    });
    expect(await handler({}, context())).toBe('c:t:5');
    await expect(handler({ fail: 'client' }, context())).rejects.toThrow(ClientError);
    await expect(handler({ fail: 'server' }, context())).rejects.toThrow('boom');
    expect(init).toHaveBeenCalledTimes(1);
    const lines = jsonLines<Record<string, unknown>>(out);
    const logs = lines.filter((l) => 'level' in l);
    expect(logs.find((l) => l.level === 'WARN')).toMatchObject({ message: 'bad thing', function_request_id: 'req-1' });
    expect(logs.find((l) => l.level === 'ERROR')).toMatchObject({ message: 'invocation failed' });
    const emf = lines.filter((l) => '_aws' in l);
    expect(emf.some((l) => l.Things === 1)).toBe(true);
    // No stage set (tests, the local runner): the service alone.
    expect(emf.find((l) => l.Things === 1)).not.toHaveProperty('stage');
  });

  it('throws the deadline, not the AbortError of a request it cut short', async () => {
    process.env = { TABLE: 't', POWERTOOLS_METRICS_NAMESPACE: 'Test', POWERTOOLS_SERVICE_NAME: 'demo', POWERTOOLS_LOG_LEVEL: 'CRITICAL' };
    const stop = new DeadlineExceededError('stopping: 900 ms left');
    const handler = defineHandler({
      config: schema,
      init: () => ({}),
      handle: async (event: { cause?: 'deadline' | 'other' }) => {
        // As the SDK rejects a request whose abortSignal fired: its own error, the reason as cause.
        const aborted = new Error('Request aborted', { cause: event.cause === 'deadline' ? stop : new Error('a timeout of its own') });
        aborted.name = 'AbortError';
        throw aborted;
      },
    });
    await expect(handler({ cause: 'deadline' }, context())).rejects.toBe(stop);
    // An abort the deadline did not cause stays what it is.
    await expect(handler({ cause: 'other' }, context())).rejects.toMatchObject({ name: 'AbortError', message: 'Request aborted' });
  });

  it('ends the deadline signal\'s timer with the invocation, returned or thrown', async () => {
    process.env = { TABLE: 't', POWERTOOLS_METRICS_NAMESPACE: 'Test', POWERTOOLS_SERVICE_NAME: 'demo', POWERTOOLS_LOG_LEVEL: 'CRITICAL' };
    const signals: AbortSignal[] = [];
    const handler = defineHandler({
      config: schema,
      init: () => ({}),
      handle: async (event: { fail?: boolean }, { deadline }) => {
        signals.push(deadline.signal);
        if (event.fail) throw new Error('boom');
        return 'ok';
      },
    });
    vi.useFakeTimers();
    try {
      expect(await handler({}, context(3_000))).toBe('ok');
      await expect(handler({ fail: true }, context(3_000))).rejects.toThrow('boom');
      expect(signals).toHaveLength(2);
      // Each signal's timer was due 2 s in (3 s left, 1 s kept back): cleared when its invocation ended.
      await vi.advanceTimersByTimeAsync(10_000);
      expect(signals.map((s) => s.aborted)).toEqual([false, false]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('an invocation that records no metric writes no EMF document and no warning, on stdout or stderr', async () => {
    process.env = { TABLE: 't', POWERTOOLS_METRICS_NAMESPACE: 'Test', POWERTOOLS_SERVICE_NAME: 'demo', POWERTOOLS_LOG_LEVEL: 'WARN' };
    const out = captureWrites(process.stdout, process.stderr);
    const handler = defineHandler({
      config: schema,
      init: () => ({}),
      handle: async (event: { count?: boolean }, { metrics }) => {
        if (event.count) metrics.addMetric('Things', 'Count', 1);
        return 'ok';
      },
    });
    await handler({ count: true }, context());
    const afterFirst = out.length;
    expect(out.join('')).toContain('"Things":1');
    await handler({}, context());
    await handler({}, context());
    expect(out.slice(afterFirst)).toEqual([]);
  });

  it("leaves an invocation's dimensions and metadata behind when it published no metric: the next one's metrics carry none of them", async () => {
    process.env = { TABLE: 't', POWERTOOLS_METRICS_NAMESPACE: 'Test', POWERTOOLS_SERVICE_NAME: 'demo', POWERTOOLS_LOG_LEVEL: 'CRITICAL' };
    const out = captureWrites(process.stdout);
    const handler = defineHandler({
      config: schema,
      init: () => ({}),
      handle: async (event: { fail?: boolean }, { metrics }) => {
        if (event.fail) {
          metrics.addDimension('feed', 'A');
          metrics.addMetadata('request', 'first');
          throw new Error('failed before counting');
        }
        metrics.addMetric('Things', 'Count', 1);
        return 'ok';
      },
    });
    await expect(handler({ fail: true }, context())).rejects.toThrow('failed before counting');
    await handler({}, context());
    const things = jsonLines<Record<string, unknown> & { _aws?: { CloudWatchMetrics: { Dimensions: string[][] }[] } }>(out).find((l) => l.Things === 1);
    expect(things).toBeDefined();
    expect(things).not.toHaveProperty('feed');
    expect(things).not.toHaveProperty('request');
    expect(things?._aws?.CloudWatchMetrics[0]?.Dimensions[0]).not.toContain('feed');
  });

  it('keeps the outcome of work done when its metrics cannot be published: the error is logged, the result returned, and nothing carries over', async () => {
    process.env = { TABLE: 't', POWERTOOLS_METRICS_NAMESPACE: 'Test', POWERTOOLS_SERVICE_NAME: 'demo', POWERTOOLS_LOG_LEVEL: 'ERROR' };
    const out = captureWrites(process.stdout, process.stderr);
    let done = 0;
    const handler = defineHandler({
      config: schema,
      init: () => ({}),
      handle: async (event: { collide?: boolean }, { metrics }) => {
        done++;
        // Powertools refuses, at publishing, a metric named like a metadata key.
        if (event.collide) metrics.addMetadata('Written', 'yes');
        metrics.addMetric('Written', 'Count', 1);
        return 'written';
      },
    });
    // Thrown, it would replace the result, and Lambda's retries would do the work again.
    await expect(handler({ collide: true }, context())).resolves.toBe('written');
    expect(done).toBe(1);
    const logged = jsonLines<Record<string, unknown>>(out).find((l) => l.message === 'metrics not published');
    expect(logged).toMatchObject({ level: 'ERROR', error: expect.objectContaining({ message: expect.stringMatching(/Written/) }) });
    out.length = 0;
    await expect(handler({}, context())).resolves.toBe('written');
    const next = jsonLines<Record<string, unknown>>(out).find((l) => l.Written === 1);
    expect(next).toBeDefined();
    expect(next).not.toHaveProperty('Written', 'yes');
  });

  it('puts LAMINAR_STAGE on every metric, the cold start too, as the stage dimension', async () => {
    process.env = { TABLE: 't', POWERTOOLS_METRICS_NAMESPACE: 'Test', POWERTOOLS_SERVICE_NAME: 'demo', LAMINAR_STAGE: 'prod', AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand' };
    const out = captureWrites(process.stdout);
    const handler = defineHandler({
      config: schema,
      init: () => ({}),
      handle: async (_event: unknown, { metrics }) => {
        metrics.addMetric('Things', 'Count', 1);
        return 'ok';
      },
    });
    await handler({}, context());
    const emf = jsonLines<{ _aws?: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] }; stage?: string }>(out).filter((l) => l._aws);
    expect(emf.flatMap((l) => l._aws?.CloudWatchMetrics[0]?.Metrics.map((m) => m.Name)).sort()).toEqual(['ColdStart', 'Things']);
    for (const l of emf) {
      expect(l.stage).toBe('prod');
      expect(l._aws?.CloudWatchMetrics[0]?.Dimensions[0]).toContain('stage');
    }
  });
});
