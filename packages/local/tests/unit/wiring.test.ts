import { defineFunction, type FunctionSpecInput } from '@laminar/spec';
import { describe, expect, it } from 'vitest';
import { contentTypeFor, localEnvOverrides, usesFixtures } from '../../src/fixtures.ts';
import type { InvokeOptions, InvokeResult } from '../../src/invoker.ts';
import { lambdaPaths } from '../../src/layers.ts';
import { needsOf } from '../../src/runner.ts';
import { type Clock, type ScheduleEntry, Scheduler, scheduleEntries } from '../../src/scheduler.ts';
import { resolveDynamoTarget, resolveKafkaTarget } from '../../src/services.ts';
import { itemLines, numericFields, sumFields } from '../../src/summary.ts';

const spec = (input: Partial<FunctionSpecInput> = {}) =>
  defineFunction({ name: 'producer', memoryMb: 128, timeoutS: 10, triggers: [{ kind: 'invoke' }], ...input });

describe('{fixtures} substitution', () => {
  const producer = spec({
    env: { FEED_URLS: 'https://example.com/a.xml', API: 'https://api.example.com', KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' },
    local: {
      env: {
        FEED_URLS: '{fixtures}/feeds/a.xml,{fixtures}/feeds/b.xml',
        API: '{fixtures}/gamma',
        KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT',
      },
    },
  });

  it('replaces every occurrence with the function\'s base URL', () => {
    expect(localEnvOverrides(producer, 'http://127.0.0.1:4000/producer/')).toEqual({
      FEED_URLS: 'http://127.0.0.1:4000/producer/feeds/a.xml,http://127.0.0.1:4000/producer/feeds/b.xml',
      API: 'http://127.0.0.1:4000/producer/gamma',
      KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT',
    });
    expect(usesFixtures(producer)).toBe(true);
    expect(usesFixtures(spec())).toBe(false);
  });

  it('live: drops the overrides that name the fixture server, keeps the others', () => {
    expect(localEnvOverrides(producer, undefined)).toEqual({ KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT' });
  });

  it('serves content types by extension', () => {
    expect(contentTypeFor('feeds/world.xml')).toBe('application/xml');
    expect(contentTypeFor('gamma/markets.JSON')).toBe('application/json');
    expect(contentTypeFor('gamma/markets')).toBe('application/octet-stream');
  });
});

describe('NODE_PATH and LD_LIBRARY_PATH', () => {
  it('follow Lambda\'s order, with the layers folder as /opt and the task root as /var/task', () => {
    expect(lambdaPaths({ taskRoot: '/t', optDir: '/o', runtime: 'nodejs20.x' })).toEqual({
      NODE_PATH: '/o/nodejs/node20/node_modules:/o/nodejs/node_modules:/t',
      LD_LIBRARY_PATH: '/t:/t/lib:/o/lib',
    });
    expect(lambdaPaths({ taskRoot: '/t', optDir: '/o', runtime: 'nodejs22.x' }).NODE_PATH).toBe(
      '/o/nodejs/node22/node_modules:/o/nodejs/node_modules:/t',
    );
  });

  it('without layers there is no /opt', () => {
    expect(lambdaPaths({ taskRoot: '/t', optDir: undefined, runtime: 'nodejs20.x' })).toEqual({ NODE_PATH: '/t', LD_LIBRARY_PATH: '/t:/t/lib' });
  });
});

describe('what the runner starts', () => {
  it('only the services the chosen specs need', () => {
    const producer = spec({
      env: { SEEN_TABLE: { ref: { table: 'seen' } }, TOPIC: { ref: { topic: 'items' } } },
      tables: [{ name: 'seen', kind: 'dedup' }],
    });
    const broker = spec({ name: 'broker-only', env: { KAFKA_SERVERS: { ref: { setting: 'kafkaBootstrapServers' } } } });
    const plain = spec({ name: 'plain', permissions: [{ actions: ['s3:GetObject'], resource: { bucket: 'docs', prefix: '*' } }] });
    const loaded = (s: typeof producer) => ({ spec: s, dir: `/nowhere/${s.name}`, zipPath: '', hashPath: '' });
    expect(needsOf([loaded(producer)], false)).toEqual({ buckets: [], tables: { seen: 'dedup' }, topics: ['items'], kafka: true, fixtureSites: [], deliveryStreams: [] });
    expect(needsOf([loaded(broker)], false)).toMatchObject({ kafka: true, topics: [] });
    expect(needsOf([loaded(plain)], false)).toEqual({ buckets: ['docs'], tables: {}, topics: [], kafka: false, fixtureSites: [], deliveryStreams: [] });
    const consumer = spec({
      name: 'consumer',
      triggers: [{ kind: 'kafka', topics: ['items'], cluster: { kind: 'self-managed', auth: 'BASIC_AUTH', secret: 'creds' } }],
    });
    expect(needsOf([loaded(consumer)], false)).toMatchObject({ kafka: true, topics: ['items'] });
    const stream = { name: 'events', bucket: 'lake', prefix: 'events/', errorOutputPrefix: 'errors/!{firehose:error-output-type}/' };
    const sender = spec({ name: 'sender', deliveryStreams: [stream], env: { STREAM: { ref: { deliveryStream: 'events' } } } });
    expect(needsOf([loaded(sender)], false)).toMatchObject({ buckets: ['lake'], deliveryStreams: [{ name: 'events', buffering: { sizeMb: 64, intervalS: 300 } }] });
    const fetching = spec({ name: 'fetching', env: { FEED_URL: 'https://x' }, local: { env: { FEED_URL: '{fixtures}/u' } } });
    expect(needsOf([loaded(fetching)], false).fixtureSites).toEqual([{ functionName: 'fetching', dir: '/nowhere/fetching/fixtures/http' }]);
    expect(needsOf([loaded(fetching)], true).fixtureSites).toEqual([]);
  });

  it('takes endpoints from the environment: DynamoDB, Kafka', () => {
    expect(resolveDynamoTarget(undefined, {})).toEqual({ kind: 'embedded' });
    expect(resolveDynamoTarget(undefined, { AWS_ENDPOINT_URL_DYNAMODB: 'http://d:8000/' })).toEqual({
      kind: 'external',
      endpoint: 'http://d:8000',
      source: 'AWS_ENDPOINT_URL_DYNAMODB',
    });
    expect(resolveDynamoTarget(undefined, { LAMINAR_DYNAMODB_ENDPOINT: 'aws', AWS_ENDPOINT_URL_DYNAMODB: 'http://d' })).toMatchObject({
      endpoint: undefined,
      source: 'LAMINAR_DYNAMODB_ENDPOINT',
    });
    expect(() => resolveDynamoTarget(undefined, { AWS_ENDPOINT_URL_DYNAMODB: 'd:8000' })).toThrow(/must be http|not a URL/);
    expect(resolveKafkaTarget(undefined, {})).toEqual({ kind: 'embedded' });
    expect(resolveKafkaTarget(undefined, { KAFKA_BOOTSTRAP_SERVERS: 'b1:9092,b2:9092' })).toEqual({
      kind: 'external',
      bootstrapServers: 'b1:9092,b2:9092',
      source: 'KAFKA_BOOTSTRAP_SERVERS',
    });
    expect(() => resolveKafkaTarget(undefined, { KAFKA_BOOTSTRAP_SERVERS: 'http://b1' })).toThrow(/HOST:PORT/);
  });
});

describe('run summaries', () => {
  const rss = {
    feeds: [
      { url: 'http://f/world.xml', fetched: 10, new: 4, duplicate: 6, failed: 0 },
      { url: 'http://f/bad.xml', status: 'failed', fetched: 0, new: 0, duplicate: 0, failed: 1, error: 'malformed XML' },
    ],
    totals: { fetched: 10, new: 4, duplicate: 6, inFlight: 0, rejected: 0, failedFeeds: 1, produced: 4 },
  };

  it('reads numeric fields at the top level and in totals', () => {
    expect(numericFields(rss)).toEqual([
      ['fetched', 10],
      ['new', 4],
      ['duplicate', 6],
      ['inFlight', 0],
      ['rejected', 0],
      ['failedFeeds', 1],
      ['produced', 4],
    ]);
    expect(numericFields({ ticks: 9, produced: 3, markets: { fetched: 5 }, totals: { produced: 1, bytes: 7 } })).toEqual([
      ['ticks', 9],
      ['produced', 3],
      ['markets.fetched', 5],
      ['totals.produced', 1],
      ['bytes', 7],
    ]);
    expect(numericFields('ok')).toEqual([]);
  });

  it('prints one line per feed and adds runs up', () => {
    expect(itemLines(rss)).toEqual([
      'feeds http://f/world.xml: fetched 10, new 4, duplicate 6, failed 0',
      'feeds http://f/bad.xml: fetched 0, new 0, duplicate 0, failed 1 (failed: malformed XML)',
    ]);
    expect(itemLines({ rejections: [{ marketId: '512', reason: 'outcomePrices missing' }, { reason: 'no id' }] })).toEqual([
      'rejections 512: outcomePrices missing',
      'rejections #2: no id',
    ]);
    expect(sumFields([{ new: 2, produced: 2 }, { new: 0, produced: 0, ticks: 5 }])).toEqual([
      ['new', 2],
      ['produced', 2],
      ['ticks', 5],
    ]);
  });
});

describe('Scheduler', () => {
  /** A clock that jumps to each timer's end at once. */
  function fakeClock(start: number): Clock & { t: number } {
    const clock = {
      t: start,
      now: () => clock.t,
      sleep: async (ms: number, signal: AbortSignal) => {
        if (!signal.aborted) clock.t += ms;
      },
    };
    return clock;
  }

  function recorder(stopAfter: number, controller: AbortController) {
    const calls: { name: string; event: unknown; options: InvokeOptions | undefined }[] = [];
    return {
      calls,
      invoke: async (name: string, event: unknown, options?: InvokeOptions) => {
        calls.push({ name, event, options });
        if (calls.length >= stopAfter) controller.abort();
        return { requestId: `r${calls.length}`, functionName: name, invocationType: 'Event', result: { n: calls.length } } as InvokeResult;
      },
    };
  }

  const loaded = (input: Partial<FunctionSpecInput> & { name: string }) => ({ spec: spec(input), dir: '', zipPath: '', hashPath: '' });
  const specs = [
    loaded({ name: 'fast', triggers: [{ kind: 'schedule', expression: 'rate(5 minutes)' }] }),
    loaded({ name: 'plain' }),
    loaded({ name: 'quarter', triggers: [{ kind: 'schedule', expression: 'cron(0/15 * * * ? *)', input: { mode: 'full' } }] }),
  ];

  it('lists schedule triggers as rules named like infra names them', () => {
    expect(scheduleEntries(specs).map((e) => [e.functionName, e.ruleName, e.expression])).toEqual([
      ['fast', 'laminar-local-fast-schedule-0', 'rate(5 minutes)'],
      ['quarter', 'laminar-local-quarter-schedule-0', 'cron(0/15 * * * ? *)'],
    ]);
  });

  it('fires once each in order, then on schedule, with compressed time; async Event, scheduled-event payload', async () => {
    const controller = new AbortController();
    const invoker = recorder(7, controller);
    const clock = fakeClock(Date.parse('2026-01-30T10:07:00Z'));
    const scheduler = new Scheduler({ invoker, entries: scheduleEntries(specs), region: 'us-east-1', clock, speed: 60 });
    await scheduler.fireAll();
    await scheduler.run(controller.signal);
    await Promise.all(scheduler.pending());
    const seen = invoker.calls.map((c) => [c.name, c.options?.trigger?.kind === 'schedule' ? c.options.trigger.scheduledTime : undefined]);
    expect(seen).toEqual([
      ['fast', '2026-01-30T10:07:00.000Z'],
      ['quarter', '2026-01-30T10:07:00.000Z'],
      ['fast', '2026-01-30T10:12:00.000Z'],
      ['quarter', '2026-01-30T10:15:00.000Z'],
      ['fast', '2026-01-30T10:17:00.000Z'],
      ['fast', '2026-01-30T10:22:00.000Z'],
      ['fast', '2026-01-30T10:27:00.000Z'],
    ]);
    // 20 schedule-minutes at ×60 took 20 real seconds.
    expect(clock.t - Date.parse('2026-01-30T10:07:00Z')).toBe(20_000);
    expect(invoker.calls[0]?.options?.invocationType).toBe('Event');
    expect(invoker.calls[2]?.event).toMatchObject({
      'detail-type': 'Scheduled Event',
      time: '2026-01-30T10:12:00Z',
      resources: ['arn:aws:events:us-east-1:000000000000:rule/laminar-local-fast-schedule-0'],
    });
    expect(invoker.calls[1]?.event).toEqual({ mode: 'full' });
    expect(scheduler.runs).toHaveLength(7);
  });

  it('does not backfill firings missed while the machine slept: fires once for the stretch, says how many it skipped', async () => {
    const controller = new AbortController();
    const invoker = recorder(Number.POSITIVE_INFINITY, controller);
    const start = Date.parse('2026-01-30T10:00:00Z');
    const waits: number[] = [];
    const clock: Clock & { t: number } = {
      t: start,
      now: () => clock.t,
      sleep: async (ms) => {
        waits.push(ms);
        // The first wait (to 10:01) ends an hour late, as after a laptop's sleep; the next one is
        // where the test stops.
        if (waits.length === 1) clock.t += ms + 3_600_000;
        else controller.abort();
      },
    };
    const skips: [string, number, string][] = [];
    const scheduler = new Scheduler({
      invoker,
      entries: scheduleEntries([loaded({ name: 'minutely', triggers: [{ kind: 'schedule', expression: 'rate(1 minute)' }] })]),
      region: 'us-east-1',
      clock,
      onSkip: (entry, skipped, time) => void skips.push([entry.functionName, skipped, time.toISOString()]),
    });
    await scheduler.run(controller.signal);
    await Promise.all(scheduler.pending());
    // 10:01 to 11:01 were due: the latest is fired, the 60 before it are not made up.
    expect(invoker.calls.map((c) => (c.options?.trigger?.kind === 'schedule' ? c.options.trigger.scheduledTime : undefined))).toEqual(['2026-01-30T11:01:00.000Z']);
    expect(skips).toEqual([['minutely', 60, '2026-01-30T11:01:00.000Z']]);
    // Back on schedule: the next firing is a minute after the wake-up.
    expect(waits).toEqual([60_000, 60_000]);
  });

  it('a firing with inputFromEvent delivers its input with the firing\'s id and time; each firing its own id', async () => {
    const invoker = recorder(Number.POSITIVE_INFINITY, new AbortController());
    const entries = scheduleEntries([
      loaded({ name: 'inventory', triggers: [{ kind: 'schedule', expression: 'rate(1 hour)', input: { stores: 10 }, inputFromEvent: { runId: 'id', at: 'time' } }] }),
    ]);
    expect(entries[0]?.inputFromEvent).toEqual({ runId: 'id', at: 'time' });
    const scheduler = new Scheduler({ invoker, entries, region: 'us-east-1' });
    const entry = entries[0] as ScheduleEntry;
    const first = await scheduler.fire(entry, new Date('2026-01-30T10:00:00.250Z'));
    const second = await scheduler.fire(entry);
    expect(first.event).toEqual({ stores: 10, runId: expect.stringMatching(/^[0-9a-f-]{36}$/), at: '2026-01-30T10:00:00Z' });
    expect(invoker.calls[0]?.event).toBe(first.event);
    expect((second.event as { runId: string }).runId).not.toBe((first.event as { runId: string }).runId);
  });

  it('records an invocation that could not run instead of stopping', async () => {
    const scheduler = new Scheduler({
      invoker: {
        invoke: async () => {
          throw Object.assign(new Error('Rate Exceeded'), { name: 'TooManyRequestsException' });
        },
      },
      entries: scheduleEntries(specs),
      region: 'us-east-1',
    });
    const runs = await scheduler.fireAll();
    expect(runs.map((r) => r.error?.name)).toEqual(['TooManyRequestsException', 'TooManyRequestsException']);
  });
});
