import { createRequire } from 'node:module';
import type { KafkaConsumer, Producer } from '@confluentinc/kafka-javascript';
import { type KafkaEmulator, startKafka } from '@laminar/emulators';
import { defineFunction, kafkaTriggersOf } from '@laminar/spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InvokeOptions, type InvokeResult, MAX_REQUEST_BYTES, RequestTooLargeError, ThrottledError, UnknownFunctionError } from '../../src/invoker.ts';
import { type KafkaBroker, type KafkaFailureRecord, KafkaEventSource, type KafkaEvent } from '../../src/kafka-source.ts';
import type { Output } from '../../src/output.ts';
import { LocalQueues } from '../../src/queues.ts';

const Kafka = createRequire(import.meta.url)('@confluentinc/kafka-javascript') as { Producer: typeof Producer; KafkaConsumer: typeof KafkaConsumer };
let kafka: KafkaEmulator;
let producer: Producer;

beforeAll(async () => {
  kafka = await startKafka();
  producer = new Kafka.Producer({ 'bootstrap.servers': kafka.bootstrapServers, 'linger.ms': 5 });
  await new Promise<void>((resolve, reject) => producer.connect({}, (err) => (err ? reject(err) : resolve())));
  producer.setPollInterval(10);
});
afterAll(async () => {
  await new Promise<void>((resolve) => producer?.disconnect(() => resolve()));
  await kafka?.stop();
});

async function produce(topic: string, values: string[], partition = 0, timestamp = Date.now()): Promise<void> {
  for (const v of values) producer.produce(topic, partition, Buffer.from(v), Buffer.from(`k-${v}`), timestamp, undefined, [{ source: 'test' }]);
  await new Promise<void>((resolve, reject) => producer.flush(10_000, (err) => (err ? reject(err) : resolve())));
}

/** A stand-in for the invoker: records every call, fails when told to. */
function fakeInvoker(fail: (event: KafkaEvent) => boolean) {
  const calls: { event: KafkaEvent; options: InvokeOptions | undefined }[] = [];
  return {
    calls,
    invoker: {
      invoke: async (functionName: string, event: unknown, options?: InvokeOptions): Promise<InvokeResult> => {
        calls.push({ event: event as KafkaEvent, options });
        const failed = fail(event as KafkaEvent);
        return {
          requestId: `r${calls.length}`,
          functionName,
          ...(failed ? { error: { errorType: 'Error', errorMessage: 'poison batch', trace: [] } } : { result: { ok: true } }),
        } as unknown as InvokeResult;
      },
    },
  };
}

function source(
  name: string,
  topics: string[],
  invoker: ReturnType<typeof fakeInvoker>['invoker'],
  queues: LocalQueues,
  batchSize = 10,
  extra: { createTopics?: boolean; output?: Output; msk?: boolean; broker?: KafkaBroker; onDemand?: boolean; timeScale?: number } = {},
) {
  const { msk, onDemand, ...options } = extra;
  const spec = defineFunction({
    name,
    memoryMb: 128,
    timeoutS: 10,
    triggers: [
      {
        kind: 'kafka',
        topics: ['xx'],
        cluster: msk ? { kind: 'msk' } : { kind: 'self-managed', auth: 'BASIC_AUTH', secret: 'kafka-creds' },
        batchSize,
        batchingWindowS: 1,
        ...(onDemand ? {} : { provisioned: { minPollers: 1, maxPollers: 1 }, maxRetries: 2 }),
      },
    ],
  });
  return new KafkaEventSource({
    functionName: name,
    trigger: kafkaTriggersOf(spec)[0] as never,
    topics,
    bootstrapServers: kafka.bootstrapServers,
    broker: 'embedded',
    invoker,
    queues,
    dlq: `${name}-dlq`,
    region: 'us-east-1',
    timeScale: 0.1,
    ...options,
  });
}

/** Well inside the test's own timeout, so a mapping that does not catch up says why. */
const IDLE_MS = 30_000;

const valuesOf = (e: KafkaEvent) => Object.values(e.records).flat().map((r) => Buffer.from(r.value as string, 'base64').toString());

describe('the local Kafka event source mapping', () => {
  it('delivers every record once in batches of the real event shape, topics created after it started included', async () => {
    const fake = fakeInvoker(() => false);
    const queues = new LocalQueues(undefined);
    const esm = source('archiver-a', ['t.a', 't.b'], fake.invoker, queues);
    await esm.start();
    try {
      await produce('t.a', Array.from({ length: 23 }, (_, i) => `a${i}`));
      await produce('t.b', ['b0', 'b1'], 2);
      await esm.idle({ timeoutMs: IDLE_MS });
      const delivered = fake.calls.flatMap((c) => valuesOf(c.event));
      expect(delivered.sort()).toEqual([...Array.from({ length: 23 }, (_, i) => `a${i}`), 'b0', 'b1'].sort());
      for (const c of fake.calls) expect(valuesOf(c.event).length).toBeLessThanOrEqual(10);
      const first = fake.calls[0]?.event as KafkaEvent;
      expect(first.eventSource).toBe('SelfManagedKafka');
      const [id, records] = Object.entries(first.records)[0] as [string, KafkaEvent['records'][string]];
      expect(id).toMatch(/^t\.[ab]-\d$/);
      expect(records[0]).toMatchObject({ timestampType: 'CREATE_TIME', headers: [{ source: [...Buffer.from('test')] }] });
      expect(Buffer.from(records[0]?.key as string, 'base64').toString()).toMatch(/^k-/);
      expect(fake.calls[0]?.options).toMatchObject({ invocationType: 'RequestResponse', trigger: { kind: 'kafka', groupId: 'laminar-local-archiver-a' } });
      expect(esm.stats).toMatchObject({ records: 25, dlqBatches: 0 });
    } finally {
      await esm.stop();
    }
  });

  it('invokes when the batching window ends while records keep arriving, not only once the batch is full', async () => {
    const invokedAt: number[] = [];
    const fake = fakeInvoker(() => {
      invokedAt.push(Date.now());
      return false;
    });
    const queues = new LocalQueues(undefined);
    // Window 1 s × 0.1 = 100 ms, batches of up to 1,000; a record every 5 ms for 1.5 s or more.
    const esm = source('archiver-window', ['t.window'], fake.invoker, queues, 1_000);
    await esm.start();
    const sent = Array.from({ length: 300 }, (_, i) => `w${i}`);
    try {
      // Assigned and caught up before the stream starts: no backlog taken in one fetch.
      await produce('t.window', ['w-first']);
      await expect.poll(() => fake.calls.length, { timeout: IDLE_MS }).toBe(1);
      const streamStartedAt = Date.now();
      for (const value of sent) {
        producer.produce('t.window', 0, Buffer.from(value), Buffer.from(`k-${value}`), Date.now());
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const streamEndedAt = Date.now();
      await new Promise<void>((resolve, reject) => producer.flush(10_000, (err) => (err ? reject(err) : resolve())));
      await esm.idle({ timeoutMs: IDLE_MS });
      expect(fake.calls.flatMap((c) => valuesOf(c.event)).sort()).toEqual(['w-first', ...sent].sort());
      // Not a timing floor: the embedded broker hands records over once per fetch (~100 ms here,
      // slower on a loaded machine), so windows close at 100–400 ms. A window timed from the last
      // record, or none, takes this steady stream in one batch once it stops.
      expect(invokedAt.some((t) => t > streamStartedAt && t < streamEndedAt)).toBe(true);
      expect(fake.calls.length).toBeGreaterThanOrEqual(1 + 3);
      for (const c of fake.calls) expect(valuesOf(c.event).length).toBeLessThan(sent.length / 2);
    } finally {
      await esm.stop();
    }
  });

  it('is assigned every partition of every topic it names, however many are new to the broker when it starts', async () => {
    // The embedded broker assigns only topics that exist when the subscription arrives, and the
    // client's first answer about a new topic can predate its creation: with six new topics, some
    // went unassigned (and their records undelivered) when that answer was trusted.
    const topics = Array.from({ length: 6 }, (_, i) => `t.new${i}`);
    const fake = fakeInvoker(() => false);
    const esm = source('archiver-new-topics', topics, fake.invoker, new LocalQueues(undefined), 50);
    await esm.start();
    try {
      for (const topic of topics) for (let p = 0; p < 4; p++) await produce(topic, [`${topic}/${p}`], p);
      await esm.idle({ timeoutMs: IDLE_MS, stallMs: 10_000 });
      const delivered = fake.calls.flatMap((c) => valuesOf(c.event));
      expect(delivered.sort()).toEqual(topics.flatMap((t) => [0, 1, 2, 3].map((p) => `${t}/${p}`)).sort());
    } finally {
      await esm.stop();
    }
  });

  it('subscribes again when a topic the broker did not have at its start is created, and delivers its records', async () => {
    const lines: string[] = [];
    const output: Output = { line: (_fn, line) => void lines.push(line) };
    const fake = fakeInvoker(() => false);
    const esm = source('archiver-later-topic', ['t.exists', 't.later'], fake.invoker, new LocalQueues(undefined), 10, { createTopics: false, output });
    await produce('t.exists', ['e0']);
    await esm.start();
    try {
      expect(lines.join('\n')).toContain('does not list t.later yet');
      // Once e0 is delivered the group has settled its assignment without t.later.
      await esm.idle({ timeoutMs: IDLE_MS, stallMs: 10_000 });
      await produce('t.later', ['l0', 'l1'], 1);
      await esm.idle({ timeoutMs: IDLE_MS, stallMs: 10_000 });
      expect(fake.calls.flatMap((c) => valuesOf(c.event)).sort()).toEqual(['e0', 'l0', 'l1']);
      expect(lines.join('\n')).toContain('t.later now listed by the broker: subscribed again');
    } finally {
      await esm.stop();
    }
  });

  it('reads a broker named as external with the classic group protocol', async () => {
    // What KAFKA_BOOTSTRAP_SERVERS gets (KIP-848 groups need Kafka 4.0+); the mock cluster serves
    // classic groups too, after a join round of ~3 s. The topic exists: none is created there.
    const fake = fakeInvoker(() => false);
    await produce('t.classic', ['x0', 'x1'], 3);
    const esm = source('archiver-classic', ['t.classic'], fake.invoker, new LocalQueues(undefined), 10, { broker: 'external' });
    await esm.start();
    try {
      await esm.idle({ timeoutMs: IDLE_MS, stallMs: 10_000 });
      expect(fake.calls.flatMap((c) => valuesOf(c.event))).toEqual(['x0', 'x1']);
    } finally {
      await esm.stop();
    }
  });

  it('retries a failing batch, then sends its coordinates to the DLQ and moves on; offsets are committed only when done', async () => {
    const fake = fakeInvoker((e) => valuesOf(e).includes('poison'));
    const queues = new LocalQueues(undefined);
    const esm = source('archiver-b', ['t.c'], fake.invoker, queues, 100);
    await esm.start();
    const sentAt = Date.now();
    try {
      // The batch's first record from a producer writing nanoseconds, past JS Date's range; queued
      // in the same tick as the others, so the three arrive as one batch.
      producer.produce('t.c', 0, Buffer.from('c0'), Buffer.from('k-c0'), 1_800_000_000_000_000_000);
      await produce('t.c', ['poison', 'c2'], 0, sentAt);
      await esm.idle({ timeoutMs: IDLE_MS });
      await produce('t.c', ['c3']);
      await esm.idle({ timeoutMs: IDLE_MS });
      const withPoison = fake.calls.filter((c) => valuesOf(c.event).includes('poison'));
      expect(withPoison).toHaveLength(3);
      const dlq = queues.get('archiver-b-dlq')?.messages() ?? [];
      expect(dlq).toHaveLength(1);
      const record = dlq[0]?.body as KafkaFailureRecord;
      expect(record.requestContext).toMatchObject({ condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 });
      expect(record.KafkaBatchInfo.recordsInfo['t.c-0']).toEqual({
        firstRecordOffset: '0',
        firstRecordTimestamp: '1800000000000000000',
        lastRecordOffset: '2',
        lastRecordTimestamp: new Date(sentAt).toISOString(),
      });
      expect(record.responsePayload).toMatchObject({ errorMessage: 'poison batch' });
      // The batch after the poison one went through once.
      expect(fake.calls.at(-1) && valuesOf((fake.calls.at(-1) as { event: KafkaEvent }).event)).toEqual(['c3']);
      expect(esm.stats).toMatchObject({ dlqBatches: 1, dlqRecords: 3, failedAttempts: 3 });
    } finally {
      await esm.stop();
    }
    // A new consumer of the same group starts after what was committed: nothing is redelivered.
    const again = fakeInvoker(() => false);
    const restarted = source('archiver-b', ['t.c'], again.invoker, new LocalQueues(undefined), 100);
    await restarted.start();
    try {
      await restarted.idle({ timeoutMs: IDLE_MS });
      expect(again.calls).toHaveLength(0);
    } finally {
      await restarted.stop();
    }
  });

  it('on demand, gives a failing batch the first attempt and up to 10 retries (AWS\'s documented cap with an on-failure destination), then the DLQ', async () => {
    const lines: string[] = [];
    const fake = fakeInvoker((e) => valuesOf(e).includes('poison'));
    const queues = new LocalQueues(undefined);
    // No waits between attempts: the count is what matters here.
    const esm = source('archiver-on-demand', ['t.od'], fake.invoker, queues, 100, { onDemand: true, timeScale: 0, output: { line: (_fn, line) => void lines.push(line) } });
    await esm.start();
    try {
      await produce('t.od', ['poison']);
      await esm.idle({ timeoutMs: IDLE_MS });
      expect(fake.calls).toHaveLength(11);
      const record = queues.get('archiver-on-demand-dlq')?.messages()[0]?.body as KafkaFailureRecord;
      expect(record.requestContext).toMatchObject({ condition: 'RetryAttemptsExhausted', approximateInvokeCount: 11 });
      expect(esm.stats).toMatchObject({ dlqBatches: 1, failedAttempts: 11 });
      expect(lines.join('\n')).toContain('attempt 10 of 11 failed');
      expect(lines.join('\n')).toMatch(/failed 11 times .*locally the first attempt and up to 10 retries/);
    } finally {
      await esm.stop();
    }
  });

  it('says why when it cannot catch up, and when its loop has ended on its own, instead of waiting forever', async () => {
    const queues = new LocalQueues(undefined);
    const stuck = source('archiver-c', ['t.d'], { invoke: () => new Promise<InvokeResult>(() => undefined) }, queues);
    await stuck.start();
    try {
      await produce('t.d', ['d0']);
      // Whether the group has joined and fetched by then depends on the machine's load: either way it says so.
      await expect(stuck.idle({ timeoutMs: 8_000 })).rejects.toThrow(
        /archiver-c .*did not catch up within 8000 ms: (a batch in flight|t\.d-0 committed nothing of 1); assigned .*; \d+ batches delivered so far/,
      );
    } finally {
      await stuck.stop();
    }
    const broken = source('archiver-d', ['t.e'], { invoke: () => Promise.reject(new UnknownFunctionError('archiver-d', [])) }, queues);
    await broken.start();
    try {
      await produce('t.e', ['e0']);
      await expect(broken.idle({ timeoutMs: IDLE_MS })).rejects.toThrow(/archiver-d .*stopped polling: .*archiver-d/);
    } finally {
      await broken.stop();
    }
    // A runner failure that never mends (a missing node binary, say) ends the mapping after ten in a row, saying why.
    let calls = 0;
    const failing = source('archiver-g', ['t.g'], {
      invoke: () => {
        calls++;
        return Promise.reject(new Error('spawn node ENOENT'));
      },
    }, queues);
    await failing.start();
    try {
      await produce('t.g', ['g0']);
      await expect(failing.idle({ timeoutMs: IDLE_MS })).rejects.toThrow(/archiver-g .*stopped polling: spawn node ENOENT/);
      expect(calls).toBe(10);
    } finally {
      await failing.stop();
    }
  });

  it('says it is stuck when it stays behind with nothing to consume: another member holding partitions and never polling', async () => {
    const queues = new LocalQueues(undefined);
    const fake = fakeInvoker(() => false);
    const esm = source('archiver-e', ['t.f'], fake.invoker, queues);
    await esm.start();
    // A member of the same group that takes its share of the partitions and never reads them.
    const hog = new Kafka.KafkaConsumer({ 'bootstrap.servers': kafka.bootstrapServers, 'group.id': esm.groupId, 'group.protocol': 'consumer', 'enable.auto.commit': false }, {});
    await new Promise<void>((resolve, reject) => hog.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve())));
    try {
      hog.subscribe(['t.f']);
      hog.setDefaultConsumeTimeout(100);
      // One poll to join; after that it holds whatever it is given.
      await expect
        .poll(async () => {
          await new Promise<void>((resolve) => hog.consume(1, () => resolve()));
          return hog.assignments().length;
        })
        .toBeGreaterThan(0);
      const held = hog.assignments().map((a) => a.partition);
      for (const partition of [0, 1, 2, 3]) await produce('t.f', [`f${partition}`], partition);
      // What it was given, it delivers; what the other member holds stays behind.
      await expect.poll(() => fake.calls.flatMap((c) => valuesOf(c.event)).length).toBe(4 - held.length);
      await expect(esm.idle({ stallMs: 2_000, timeoutMs: IDLE_MS })).rejects.toThrow(
        new RegExp(`^the event source mapping of archiver-e \\(group laminar-local-archiver-e\\) has consumed nothing for \\d+ ms while behind: .*t\\.f-${held[0]} committed nothing of 1.*; assigned (?!.*t\\.f-${held[0]})`),
      );
      const delivered = fake.calls.flatMap((c) => valuesOf(c.event));
      expect(delivered.sort()).toEqual([0, 1, 2, 3].filter((p) => !held.includes(p)).map((p) => `f${p}`));
    } finally {
      await new Promise<void>((resolve) => hog.disconnect(() => resolve()));
      await esm.stop();
    }
  });

  it('cuts batches below the 6 MB an invoke takes, sends a record no invoke can carry to the DLQ, and waits out throttles and the runner’s own failures', async () => {
    // A producer that may send records past librdkafka's default 1 MB, one record a request (the
    // embedded broker drops a record batch of several such records).
    const big = new Kafka.Producer({ 'bootstrap.servers': kafka.bootstrapServers, 'message.max.bytes': 10_000_000, 'batch.num.messages': 1 });
    await new Promise<void>((resolve, reject) => big.connect({}, (err) => (err ? reject(err) : resolve())));
    const sizes: number[] = [];
    let throttles = 0;
    let serviceErrors = 0;
    const fake = fakeInvoker(() => false);
    const invoke = fake.invoker.invoke;
    // The invoker's own refusals, as the runner's invoker makes them.
    fake.invoker.invoke = async (name, event, options) => {
      const bytes = Buffer.byteLength(JSON.stringify(event));
      if (bytes > MAX_REQUEST_BYTES) throw new RequestTooLargeError(`Request must be smaller than ${MAX_REQUEST_BYTES} bytes for the InvokeFunction operation`);
      if (throttles++ < 2) throw new ThrottledError('Rate Exceeded');
      // The runner's own failure (an environment that died before taking the batch): waited out too.
      if (serviceErrors++ < 2) throw new Error('spawn node ENOMEM');
      sizes.push(bytes);
      return invoke(name, event, options);
    };
    const queues = new LocalQueues(undefined);
    const esm = source('archiver-big', ['t.big'], fake.invoker, queues, 100, { msk: true });
    await esm.start();
    try {
      // The embedded broker keeps ~5 MB a partition (older records are dropped), so the batch's
      // 8.4 MB are spread over three partitions and the huge record has the fourth to itself.
      const records = [
        ...[0, 1, 2].flatMap((partition) => [0, 1, 2].map((i) => ({ partition, value: `${partition}-${i}`.padEnd(700_000, 'x') }))),
        { partition: 3, value: 'huge'.padEnd(5_000_000, 'y') },
        { partition: 0, value: 'after' },
      ];
      for (const { partition, value } of records) {
        big.produce('t.big', partition, Buffer.from(value), null, Date.now(), undefined, [{ enc: Buffer.from('é') }]);
        await new Promise<void>((resolve, reject) => big.flush(10_000, (err) => (err ? reject(err) : resolve())));
      }
      await esm.idle({ timeoutMs: IDLE_MS });

      // Every record reached the function, or the DLQ: nine big ones in batches under 6 MB, the huge one alone in the DLQ.
      const delivered = fake.calls.flatMap((c) => valuesOf(c.event)).map((v) => v.slice(0, 5));
      expect(delivered.sort()).toEqual(['0-0xx', '0-1xx', '0-2xx', '1-0xx', '1-1xx', '1-2xx', '2-0xx', '2-1xx', '2-2xx', 'after']);
      expect(fake.calls.length).toBeGreaterThanOrEqual(2);
      for (const size of sizes) expect(size).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
      const dlq = queues.get('archiver-big-dlq')?.messages() ?? [];
      expect(dlq).toHaveLength(1);
      const failure = dlq[0]?.body as KafkaFailureRecord;
      expect(failure.KafkaBatchInfo).toMatchObject({ batchSize: 1, recordsInfo: { 't.big-3': { firstRecordOffset: '0', lastRecordOffset: '0' } } });
      expect(failure.responsePayload).toMatchObject({ errorType: 'RequestTooLargeException' });
      // Neither the throttles nor the runner's own failures were attempts: only the huge record's refusal failed one.
      expect(esm.stats).toMatchObject({ records: 11, dlqBatches: 1, dlqRecords: 1, failedAttempts: 1 });

      // MSK's event shape; header bytes signed, as Lambda's Java pollers send them.
      const event = fake.calls[0]?.event as KafkaEvent;
      expect(event).toMatchObject({ eventSource: 'aws:kafka', eventSourceArn: expect.stringMatching(/^arn:aws:kafka:us-east-1:\d{12}:cluster\//) });
      expect(Object.values(event.records)[0]?.[0]?.headers).toEqual([{ enc: [-61, -87] }]);
    } finally {
      await esm.stop();
      await new Promise<void>((resolve) => big.disconnect(() => resolve()));
    }
  });
});
