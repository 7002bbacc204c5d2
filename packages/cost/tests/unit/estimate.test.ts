import { defineFunction, defineQueue, type FunctionSpecInput } from '@laminar/spec';
import { describe, expect, it } from 'vitest';
import { type AssumptionsInput, parseAssumptions } from '../../src/assumptions.ts';
import { type Estimate, estimate } from '../../src/estimate.ts';
import { parseDurations } from '../../src/durations.ts';
import { formatMarkdown, formatText } from '../../src/format.ts';
import { PRICES } from '../../src/prices.ts';

const fn = (input: Partial<FunctionSpecInput> & Pick<FunctionSpecInput, 'name' | 'triggers'>) => defineFunction({ memoryMb: 512, timeoutS: 60, ...input });
const assume = (a: Partial<AssumptionsInput> = {}) =>
  parseAssumptions({ defaults: { durationMs: 1000, initMs: 0, coldStartShare: 0, logBytesPerInvocation: 0 }, ...a });
const usEast = PRICES['us-east-1'];
const item = (e: Estimate, fnName: string, name: string) => {
  const f = e.functions.find((x) => x.name === fnName);
  return [...(f?.lambda ?? []), ...(f?.other ?? [])].find((i) => i.item === name);
};

const pattern = { kind: 's3', bucket: 'lake', prefix: 'in/', suffix: '.json' } as const;
const tiny = {
  functions: [
    fn({ name: 'tick', architecture: 'arm64', memoryMb: 512, triggers: [{ kind: 'schedule', expression: 'rate(1 hour)' }] }),
    fn({
      name: 'ingest',
      architecture: 'x86_64',
      memoryMb: 1024,
      triggers: [pattern],
      tables: [{ name: 'seen', kind: 'dedup' }],
      permissions: [{ actions: ['dynamodb:PutItem'], resource: { table: 'seen' } }],
    }),
  ],
  queues: [defineQueue({ name: 'arrivals', subscribe: [pattern] })],
  assumptions: assume({
    functions: { ingest: { durationMs: 200, dynamodb: { writeUnits: 1 }, s3: { get: 1 } } },
    s3Events: { 'lake/in/*.json': { objectsPerDay: 100 } },
    storage: { bucketsGb: { lake: 10 }, tablesGb: {} },
  }),
  prices: usEast,
};

describe('a tiny pipeline, by hand', () => {
  it('adds up to the hand-computed total', () => {
    const e = estimate(tiny);
    // tick: rate(1 hour) = 720 invocations; 720 × 1 s × 0.5 GB = 360 GB-s on arm64.
    const tick = e.functions.find((f) => f.name === 'tick')!;
    expect(tick.invocations).toBe(720);
    expect(tick.gbSeconds).toBe(360);
    expect(tick.lambdaCost).toBeCloseTo(720 * 0.2e-6 + 360 * 0.0000133334, 12);
    // ingest: 100 objects/day × 30 = 3,000; 3,000 × 0.2 s × 1 GB = 600 GB-s on x86_64, 3,000 WRU, 3,000 GETs.
    const ingest = e.functions.find((f) => f.name === 'ingest')!;
    expect(ingest.invocations).toBe(3000);
    expect(ingest.gbSeconds).toBeCloseTo(600, 10);
    // …the three alarms infra gives every function (errors, throttles, p95 duration), $0.10 each,
    // its one custom metric (ColdStart: it declares no metrics), $0.30, and a trace per invocation.
    expect(ingest.total).toBeCloseTo(0.0006 + 600 * 0.0000166667 + 0.001875 + 0.0012 + 0.3 + 0.3 + 3000 * 5e-6, 12);
    // tick's schedule adds the two alarms on its undelivered firings (while any wait, and on each new
    // one) and its rule's alarm on firings EventBridge could not queue either.
    expect(item(e, 'tick', 'metric, undelivered-schedule and delivery-stream alarms')).toMatchObject({ quantity: 3 });
    expect(item(e, 'tick', 'metric, undelivered-schedule and delivery-stream alarms')?.cost).toBeCloseTo(0.3, 12);
    expect(item(e, 'tick', 'traces recorded')).toMatchObject({ quantity: 720 });
    // Shared: 10 GB in S3, the queue's 3,000 messages × (send + receive + delete).
    expect(e.shared.find((i) => i.item === 'storage lake')?.cost).toBeCloseTo(0.23, 12);
    expect(e.shared.find((i) => i.item === 'queue arrivals')).toMatchObject({ quantity: 9000, cost: 0.0036 });
    // Per stage: the dashboard ($3; 6 metrics a function), the alarm topic's KMS key ($1 + two
    // yearly rotations at $1) and the S3 rule's three alarms on undelivered events.
    expect(e.shared.find((i) => i.item === 'dashboard (12 metrics)')?.cost).toBe(3);
    expect(e.shared.find((i) => i.item === 'alarm topic key')?.cost).toBe(3);
    expect(e.shared.find((i) => i.item === 'S3 rules: undelivered-event alarms')).toMatchObject({ quantity: 3 });
    expect(e.shared.find((i) => i.item === 'S3 rules: undelivered-event alarms')?.cost).toBeCloseTo(0.3, 12);
    // And the declared queue's alarm on its oldest message's age.
    expect(e.shared.find((i) => i.item === 'declared queues: oldest-message-age alarms')).toMatchObject({ quantity: 1, cost: 0.1 });
    const tickTotal = 0.004944024 + 0.3 + 0.3 + 0.3 + 720 * 5e-6;
    const ingestTotal = 0.01367502 + 0.3 + 0.3 + 3000 * 5e-6;
    expect(e.totals.total).toBeCloseTo(tickTotal + ingestTotal + 0.23 + 0.0036 + 3 + 3 + 0.3 + 0.1, 12);
    expect(e.warnings).toEqual([]);
  });

  it('takes the always-free allowances off only when asked', () => {
    const e = estimate({ ...tiny, freeTier: true });
    // Lambda, SQS, CloudWatch's 10 alarms (of 13 here), 3 dashboards (of up to 50 metrics) and 10 custom
    // metrics (2 here), and X-Ray's 100,000 traces are free.
    expect(e.totals.freeTier).toBeCloseTo(-(3720 * 0.2e-6 + 360 * 0.0000133334 + 600 * 0.0000166667 + 0.0036 + 1 + 3 + 0.6 + 3720 * 5e-6), 12);
    // Left: S3 storage, DynamoDB writes, S3 GETs and the KMS key, which have no always-free
    // allowance, and the three alarms past the tenth.
    expect(e.totals.total).toBeCloseTo(0.23 + 0.001875 + 0.0012 + 3 + 0.3, 12);
    expect(estimate(tiny).freeTierCredits).toEqual([]);
  });

  it('region matters: eu-west-1 prices DynamoDB writes higher', () => {
    const eu = estimate({ ...tiny, prices: PRICES['eu-west-1'] });
    expect(item(eu, 'ingest', 'write request units')?.cost).toBeCloseTo((3000 / 1e6) * 0.7068, 12);
  });
});

describe('volumes', () => {
  it('producers give their topics volume; a Kafka mapping invokes per burst and batch, and provisioned pollers cost by the hour', () => {
    const e = estimate({
      functions: [
        fn({ name: 'producer', env: { TOPIC: { ref: { topic: 'items' } } }, triggers: [{ kind: 'schedule', expression: 'rate(15 minutes)' }] }),
        fn({
          name: 'archiver',
          triggers: [{ kind: 'kafka', topics: ['items'], cluster: { kind: 'msk' }, batchSize: 5, provisioned: { minPollers: 2, maxPollers: 4 }, maxRetries: 1 }],
        }),
      ],
      assumptions: assume({ functions: { producer: { messagesPerInvocation: 10 } } }),
      prices: usEast,
    });
    const archiver = e.functions.find((f) => f.name === 'archiver')!;
    // 2,880 runs × 10 messages, in bursts of 10 → 2 batches of 5 each.
    expect(archiver.invocations).toBe(5760);
    expect(item(e, 'archiver', 'Kafka ESM provisioned pollers (min 2 × 1 mapping, one per topic)')).toMatchObject({ quantity: 1440 });
    expect(item(e, 'archiver', 'Kafka ESM provisioned pollers (min 2 × 1 mapping, one per topic)')?.cost).toBeCloseTo(1440 * 0.185, 10);
    // Infra alarms on a consumer's OffsetLag, on its going without invocations and on batches its
    // mappings could not hand to their on-failure destination.
    expect(item(e, 'archiver', 'Kafka offset lag, idle and destination-failure alarms')).toMatchObject({ quantity: 3 });
    expect(item(e, 'archiver', 'Kafka offset lag, idle and destination-failure alarms')?.cost).toBeCloseTo(0.3, 12);
    // Two topics are two mappings, each with its minimum pollers.
    const two = estimate({
      functions: [fn({ name: 'archiver', triggers: [{ kind: 'kafka', topics: ['orders', 'refunds'], cluster: { kind: 'msk' }, provisioned: { minPollers: 1, maxPollers: 2 }, maxRetries: 2 }] })],
      assumptions: assume(),
      prices: usEast,
    });
    expect(item(two, 'archiver', 'Kafka ESM provisioned pollers (min 1 × 2 mappings, one per topic)')).toMatchObject({ quantity: 1440 });
    expect(e.assumptions).toContain('Kafka items: 28,800 messages/month — 10 per producer run × 2,880 runs');
  });

  it('Firehose ingestion rounds every record to 5 KB; objects follow the buffer', () => {
    const e = estimate({
      functions: [
        fn({
          name: 'sim',
          triggers: [{ kind: 'schedule', expression: 'rate(1 hour)' }],
          env: { STREAM: { ref: { deliveryStream: 'events' } } },
          deliveryStreams: [{ name: 'events', bucket: 'lake', prefix: 'events/', errorOutputPrefix: 'errors/!{firehose:error-output-type}/' }],
        }),
      ],
      assumptions: assume({ functions: { sim: { firehose: { recordsPerInvocation: 1000, recordBytes: 350 } } }, storage: { bucketsGb: { lake: 0 }, tablesGb: {} } }),
      prices: usEast,
    });
    const ingest = item(e, 'sim', 'ingestion events')!;
    expect(ingest.quantity).toBeCloseTo((720 * 1000 * 5120) / 1024 ** 3, 12);
    expect(ingest.cost).toBeCloseTo(ingest.quantity * 0.029, 12);
    expect(item(e, 'sim', 'PUT by Firehose events')?.quantity).toBe(720);
  });

  it('an invoke trigger without a volume, or a pattern without one, is 0 with a warning', () => {
    const e = estimate({ functions: [fn({ name: 'manual', triggers: [{ kind: 'invoke' }, pattern] })], assumptions: assume(), prices: usEast });
    expect(e.functions[0]?.invocations).toBe(0);
    expect(e.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/manual: no invocationsPerDay/), expect.stringMatching(/no s3Events assumption for lake\/in\/\*\.json/)]));
  });

  it('counts a function\'s async successes as messages of the queue that is its on-success destination', () => {
    const results = defineQueue({ name: 'results', subscribe: [] });
    const sender = fn({ name: 'sender', triggers: [{ kind: 'invoke' }], async: { maxRetries: 2, maxEventAgeS: 3600, onFailure: 'dlq', onSuccess: { queue: 'results' } } });
    const e = estimate({ functions: [sender], queues: [results], assumptions: assume({ functions: { sender: { invocationsPerDay: 20 } } }), prices: usEast });
    // 20/day × 30 = 600 successes at most, each sent, received and deleted.
    expect(e.shared.find((i) => i.item === 'queue results')).toMatchObject({ quantity: 1800, note: expect.stringMatching(/^600 messages \(sender: every invocation's success, at most\)/) });
  });

  it('refuses assumptions about functions, patterns or queues that do not exist', () => {
    const functions = [fn({ name: 'real', triggers: [pattern] })];
    expect(() => estimate({ functions, assumptions: assume({ functions: { typo: {} } }), prices: usEast })).toThrow(/function "typo"/);
    expect(() => estimate({ functions, assumptions: assume({ s3Events: { 'lake/in/*.csv': { objectsPerDay: 1 } } }), prices: usEast })).toThrow(/lake\/in\/\*\.csv/);
    expect(() => estimate({ functions, assumptions: assume({ queues: { nope: { consumerRequestsPerMessage: 1 } } }), prices: usEast })).toThrow(/queue "nope"/);
  });
});

describe('ephemeral storage', () => {
  it('bills /tmp above the free 512 MB per GB-second of billed duration, as part of the function’s Lambda cost', () => {
    const spill = (ephemeralStorageMb?: number) =>
      fn({ name: 'spill', memoryMb: 1024, ...(ephemeralStorageMb ? { ephemeralStorageMb } : {}), triggers: [{ kind: 'invoke' }] });
    // 100/day × 30 = 3,000 invocations of 2 s, a tenth of them cold with 500 ms INIT: 2,050 billed ms on average.
    const a = assume({ functions: { spill: { invocationsPerDay: 100, durationMs: 2000, initMs: 500, coldStartShare: 0.1 } } });
    const e = estimate({ functions: [spill(10240)], assumptions: a, prices: usEast });
    const f = e.functions[0]!;
    // 3,000 × 2.05 s × (10,240 − 512) / 1,024 GB = 58,373.4375 GB-s.
    const gbs = 3000 * 2.05 * (9728 / 1024);
    expect(item(e, 'spill', 'ephemeral storage')).toMatchObject({ service: 'Lambda', quantity: expect.closeTo(gbs, 9), unit: 'GB-s' });
    expect(item(e, 'spill', 'ephemeral storage')?.cost).toBeCloseTo(gbs * 0.0000000309, 15);
    expect(f.lambda.map((i) => i.item)).toEqual(['requests', 'duration (arm64)', 'ephemeral storage']);
    expect(f.lambdaCost).toBeCloseTo(3000 * 0.2e-6 + 3000 * 2.05 * 0.0000133334 + gbs * 0.0000000309, 15);
    // Memory GB-seconds are unchanged by /tmp.
    expect(f.gbSeconds).toBeCloseTo(3000 * 2.05, 9);
    // eu-west-1 lists its own price.
    const eu = estimate({ functions: [spill(10240)], assumptions: a, prices: PRICES['eu-west-1'] });
    expect(item(eu, 'spill', 'ephemeral storage')?.cost).toBeCloseTo(gbs * 0.000000034, 15);
    // 512 MB, set or by default, costs nothing and adds no line.
    for (const free of [spill(512), spill()]) expect(item(estimate({ functions: [free], assumptions: a, prices: usEast }), 'spill', 'ephemeral storage')).toBeUndefined();
  });
});

describe('durations', () => {
  it('a measurement wins over the assumption, and says so', () => {
    const e = estimate({ ...tiny, durations: { ingest: { avgMs: 50.4, p95Ms: 120, initMs: 300, coldStartShare: 0.1, source: 'local runner' } } });
    const ingest = e.functions.find((f) => f.name === 'ingest')!;
    expect(ingest.duration).toEqual({ ms: 50.4, source: 'measured', statistic: 'avg', p95Ms: 120, initMs: 300, coldStartShare: 0.1 });
    expect(ingest.billedMsPerInvocation).toBeCloseTo(0.9 * 51 + 0.1 * 351, 10);
    expect(e.functions.find((f) => f.name === 'tick')?.duration.source).toBe('default');
    expect(e.assumptions.some((a) => a.startsWith('ingest: 50.4 ms measured (avg, local runner)'))).toBe(true);
    const p95 = estimate({ ...tiny, durations: { ingest: { avgMs: 50.4, p95Ms: 120 } }, durationStatistic: 'p95' });
    expect(p95.functions.find((f) => f.name === 'ingest')?.duration.ms).toBe(120);
  });

  it('bills the mean of each measured invocation rounded up, not the mean rounded up', () => {
    const reports = [1.5, 2.5, 1.5, 2.5].map((durationMs) => ({ durationMs, cold: false }));
    const e = estimate({ ...tiny, durations: parseDurations({ ingest: reports }) });
    expect(e.functions.find((f) => f.name === 'ingest')?.billedMsPerInvocation).toBe(2.5);
  });
});

describe('reports', () => {
  it('text and markdown list every function, the totals and the assumptions', () => {
    const e = estimate(tiny);
    for (const out of [formatText(e), formatMarkdown(e)]) {
      expect(out).toContain('tick');
      expect(out).toContain('ingest');
      expect(out).toContain('$8.17');
      expect(out).toContain('lake/in/*.json: 100 objects/day');
    }
    expect(formatMarkdown(e)).toMatch(/^<!-- Generated by `pnpm cost --markdown --out docs\/cost.md`/);
    expect(formatMarkdown(e)).toContain('| function | arch | memory MB | invocations/month |');
  });
});
