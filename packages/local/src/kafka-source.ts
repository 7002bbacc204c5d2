import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConsumerGlobalConfig, ConsumerTopicConfig, KafkaConsumer, LibrdKafkaError, Message } from '@confluentinc/kafka-javascript';
import type { KafkaTrigger } from '@laminar/spec';
import { type InvokeResult, type Invoker, InvokerStoppedError, MAX_REQUEST_BYTES, RequestTooLargeError, ThrottledError, UnknownFunctionError } from './invoker.ts';
import { type Output, silentOutput } from './output.ts';
import type { LocalQueues } from './queues.ts';

/** One record as a Kafka event source mapping delivers it. */
export interface KafkaEventRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  timestampType: 'CREATE_TIME' | 'LOG_APPEND_TIME' | 'NO_TIMESTAMP_TYPE';
  key: string | null;
  value: string | null;
  headers: Record<string, number[]>[];
}

/**
 * The event Lambda builds for a Kafka mapping: records grouped by "topic-partition". A self-managed
 * cluster's says "SelfManagedKafka"; an MSK cluster's says "aws:kafka" and names the cluster.
 */
export interface KafkaEvent {
  eventSource: 'SelfManagedKafka' | 'aws:kafka';
  eventSourceArn?: string;
  bootstrapServers: string;
  records: Record<string, KafkaEventRecord[]>;
}

/** Where the event says it comes from: a self-managed cluster, or an MSK cluster by its ARN. */
export type KafkaEventOrigin = { kind: 'self-managed' } | { kind: 'msk'; clusterArn: string };

/** One record as the mapping puts it in the event. */
export function kafkaRecordOf(m: Message): KafkaEventRecord {
  const headers: Record<string, number[]>[] = [];
  for (const h of m.headers ?? []) {
    for (const [k, v] of Object.entries(h)) {
      // Lambda's pollers are Java: a header value arrives as a byte[] of signed bytes ("é" is [-61,-87]).
      const bytes = Buffer.from(v as Buffer | string);
      headers.push({ [k]: Array.from(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length)) });
    }
  }
  return {
    topic: m.topic,
    partition: m.partition,
    offset: m.offset,
    timestamp: m.timestamp ?? -1,
    // Kafka's -1 is "no timestamp", which the mapping types NO_TIMESTAMP_TYPE. Otherwise the
    // client does not say whether a timestamp is the producer's or the broker's (LOG_APPEND_TIME
    // topics are typed CREATE_TIME here).
    timestampType: (m.timestamp ?? -1) === -1 ? 'NO_TIMESTAMP_TYPE' : 'CREATE_TIME',
    key: m.key == null ? null : Buffer.from(m.key).toString('base64'),
    value: m.value == null ? null : m.value.toString('base64'),
    headers,
  };
}

/** The event for a batch of records, grouped by "topic-partition" in the order they came. */
export function kafkaEventOf(batch: readonly KafkaEventRecord[], bootstrapServers: string, origin: KafkaEventOrigin = { kind: 'self-managed' }): KafkaEvent {
  const records: Record<string, KafkaEventRecord[]> = {};
  for (const r of batch) {
    const id = `${r.topic}-${r.partition}`;
    const group = records[id] ?? [];
    records[id] = group;
    group.push(r);
  }
  return origin.kind === 'msk'
    ? { eventSource: 'aws:kafka', eventSourceArn: origin.clusterArn, bootstrapServers, records }
    : { eventSource: 'SelfManagedKafka', bootstrapServers, records };
}

/**
 * A record's bytes in the event's JSON, with the comma that joins it and a share of its group's
 * key (most batches hold few partitions): what a batch is cut by, below Lambda's 6 MB payload.
 */
export function kafkaRecordBytes(r: KafkaEventRecord): number {
  return Buffer.byteLength(JSON.stringify(r)) + 1;
}

/** Room kept in a batch's 6 MB for the event's own fields and its "topic-partition" keys. */
const EVENT_ENVELOPE_BYTES = 64 * 1024;

/** What the mapping sends to the on-failure destination: the batch's coordinates, not its records (as with SQS on AWS). */
export interface KafkaFailureRecord {
  version: '1.0';
  timestamp: string;
  requestContext: { requestId: string; functionArn: string; condition: 'RetryAttemptsExhausted'; approximateInvokeCount: number };
  responseContext: { statusCode: number; executedVersion: string; functionError: string };
  responsePayload: unknown;
  KafkaBatchInfo: {
    batchSize: number;
    bootstrapServers: string;
    payloadSize: number;
    recordsInfo: Record<string, { firstRecordOffset: string; firstRecordTimestamp: string; lastRecordOffset: string; lastRecordTimestamp: string }>;
  };
}

export interface KafkaSourceOptions {
  functionName: string;
  trigger: KafkaTrigger;
  /** Real topic names (the runner's names for the trigger's logical topics). */
  topics: string[];
  /** The consumer group (default `laminar-local-<function>`; the runner passes infra's `<group>.<topic>`). */
  groupId?: string;
  bootstrapServers: string;
  /** Which broker `bootstrapServers` names: the runner's embedded mock cluster or an external one (see kafkaConsumerConfig). */
  broker: KafkaBroker;
  invoker: Pick<Invoker, 'invoke'>;
  queues: LocalQueues;
  /** The function's DLQ (the mapping's on-failure destination). */
  dlq: string;
  region: string;
  /** Local batching window and retry waits = the configured ones × this (a minute lasts a second by default). */
  timeScale: number;
  /**
   * Whether the mapping's consumer asks the broker to create topics it does not have (default: with
   * the embedded broker only, which starts empty every run). Lambda's own mapping never creates topics.
   */
  createTopics?: boolean;
  output?: Output;
}

export interface KafkaSourceStats {
  batches: number;
  records: number;
  failedAttempts: number;
  /** Batches that went to the DLQ after their retries, and the records they held. */
  dlqBatches: number;
  dlqRecords: number;
  /** dlqRecords by topic: what `laminar dev`'s summary reconciles each topic's messages with. */
  dlqRecordsByTopic: Record<string, number>;
}

export type BatchOutcome = { batch: number; records: number; attempts: InvokeResult[]; status: 'succeeded' | 'dlq'; messageId?: string };

/** The runner's embedded mock cluster (`@laminar/emulators`), or a broker KAFKA_BOOTSTRAP_SERVERS names. */
export type KafkaBroker = 'embedded' | 'external';

/**
 * The mapping's consumer configuration. The group protocol depends on the broker: the embedded mock
 * cluster makes a classic member wait ~3 s to join, so it gets KIP-848's 'consumer'; an external
 * broker gets 'classic', because librdkafka's KIP-848 consumer needs Kafka 4.0 or later — against
 * Kafka 3.x or Redpanda it is never assigned a partition, the function is never invoked, and
 * settle() gives up after 45 s.
 */
export function kafkaConsumerConfig(
  options: Pick<KafkaSourceOptions, 'functionName' | 'bootstrapServers' | 'broker' | 'createTopics'> & {
    groupId: string;
    startingPosition: KafkaTrigger['startingPosition'];
  },
): { global: ConsumerGlobalConfig; topic: ConsumerTopicConfig } {
  const embedded = options.broker === 'embedded';
  return {
    global: {
      'bootstrap.servers': options.bootstrapServers,
      'group.id': options.groupId,
      'group.protocol': embedded ? 'consumer' : 'classic',
      'enable.auto.commit': false,
      'allow.auto.create.topics': options.createTopics ?? embedded,
      'client.id': `laminar-esm-${options.functionName}`,
      // A broker answers one connection's requests in order, so the watermark and metadata
      // requests idle() sends wait behind an empty fetch for up to this long (500 ms by default).
      'fetch.wait.max.ms': 100,
      // The mapping polls nothing while a batch is invoked and retried; past this limit (5 min by
      // default) librdkafka takes the consumer out of its group and the batch is delivered again
      // — kafka-archiver (120 s) failing three times would have been. Lambda's pollers hold a
      // batch for as long as its invocations take: librdkafka's maximum, a day.
      'max.poll.interval.ms': 86_400_000,
    },
    topic: { 'auto.offset.reset': options.startingPosition === 'LATEST' ? 'latest' : 'earliest' },
  };
}

/**
 * A record's Kafka timestamp (epoch milliseconds) as the DLQ record's ISO time. Kafka's timestamp
 * is any int64 — a producer writing nanoseconds sends ~1.8e18 — and past JS Date's ±8.64e15 ms
 * toISOString throws, which stopped the mapping with the batch neither committed nor in the DLQ:
 * such a timestamp is given as its number instead. No timestamp (-1) reads as the epoch.
 */
export function kafkaTimestampText(timestamp: number): string {
  const date = new Date(Math.max(0, timestamp));
  return Number.isFinite(date.getTime()) ? date.toISOString() : String(timestamp);
}

type KafkaModule = { KafkaConsumer: typeof KafkaConsumer };
const call = <T>(fn: (cb: (err: LibrdKafkaError | null | undefined, value: T) => void) => void) =>
  new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));

/**
 * Without provisioned pollers Lambda retries a failing batch until its records expire; locally
 * that would never end, so such a batch goes to the DLQ after this many retries (and says so): the
 * cap AWS documents for infinite retries with an on-failure destination, "a maximum of 10 retry
 * attempts" — the first attempt and up to 10 retries, 11 invocations.
 */
export const LOCAL_ON_DEMAND_RETRIES = 10;
/** How the runner's banner and the DLQ line word that cap. */
export const LOCAL_ON_DEMAND_CAP = `the first attempt and up to ${LOCAL_ON_DEMAND_RETRIES} retries`;

/** Lambda's poller keeps a batch's retries close together; locally the wait is scaled like the rest. */
const RETRY_WAIT_MS = 1_000;
/** The runner's own invoke failures in a row on one batch before the mapping gives up on it. */
const SERVICE_ERRORS_MAX = 10;
const POLL_MS = 100;
const COMMIT_ATTEMPTS = 5;
const DISCONNECT_WAIT_MS = 10_000;
/** One metadata request's timeout at start and when asking again, and how often topics the broker did not have are asked for again. */
const TOPIC_ASK_MS = 10_000;
const TOPIC_RECHECK_ASK_MS = 1_000;
const TOPIC_RECHECK_MS = 1_000;

/** In the client's JavaScript (lib/kafka-consumer.js) but not in its type declarations. */
interface CallbackCommit {
  commitCb(offsets: { topic: string; partition: number; offset: number }[], cb: (err: LibrdKafkaError | null) => void): void;
}

function safeAssignments(consumer: KafkaConsumer): { topic: string; partition: number }[] {
  try {
    return consumer.assignments();
  } catch {
    return [];
  }
}

/**
 * A topic's partitions as the broker lists them (none: it does not have the topic). Asked for that
 * topic alone (`allTopics: false`): the client's default asks for every topic and answers from that
 * (see #unlistedOf).
 */
async function partitionsOf(consumer: KafkaConsumer, topic: string, timeoutMs: number): Promise<{ id: number }[]> {
  const meta = await call<{ topics: { name: string; partitions: { id: number }[] }[] }>((cb) =>
    consumer.getMetadata({ topic, allTopics: false, timeout: timeoutMs }, cb as never),
  );
  return meta.topics.find((t) => t.name === topic)?.partitions ?? [];
}

/**
 * Lambda's Kafka event source mapping, locally: a consumer group reads the topics, batches are cut
 * at `batchSize` records or when `batchingWindowS` has passed since the batch's first record,
 * the function is invoked synchronously with the real event shape, and offsets are committed only
 * after it succeeds. A failing batch is retried `maxRetries` times, then its coordinates go to the
 * DLQ and the consumer moves past it — as a mapping with an on-failure destination does.
 */
export class KafkaEventSource {
  readonly stats: KafkaSourceStats = { batches: 0, records: 0, failedAttempts: 0, dlqBatches: 0, dlqRecords: 0, dlqRecordsByTopic: {} };
  readonly groupId: string;
  readonly functionName: string;
  /** Real topic names it consumes. */
  readonly topics: readonly string[];
  /** Every batch done with, in order (dev's summary adds up what the function returned). */
  readonly outcomes: BatchOutcome[] = [];
  #consumer: KafkaConsumer | undefined;
  readonly #options: KafkaSourceOptions;
  readonly #output: Output;
  readonly #stopper = new AbortController();
  /** Settles when stop() is called: an invocation in flight is not waited for (its batch, uncommitted, is delivered again to the group's next consumer). */
  readonly #stopped = new Promise<undefined>((resolve) => this.#stopper.signal.addEventListener('abort', () => resolve(undefined), { once: true }));
  #busy = false;
  #loop: Promise<void> | undefined;
  /** When records were last consumed or a batch last done with (idle()'s stall check). */
  #progressAt = 0;
  /** Why the polling loop ended on its own (idle() reports it instead of waiting forever). */
  #failure: Error | undefined;
  /** Topics the broker did not list when the consumer subscribed (see #subscribeAgainWhenListed). */
  #unlisted: string[] = [];
  #topicsCheckedAt = 0;
  readonly #listeners = new Set<(o: BatchOutcome) => void>();

  /** An MSK trigger's events name a cluster: locally a stand-in ARN in the runner's account. */
  readonly #origin: KafkaEventOrigin;

  constructor(options: KafkaSourceOptions) {
    this.#options = options;
    this.#origin =
      options.trigger.cluster.kind === 'msk'
        ? { kind: 'msk', clusterArn: `arn:aws:kafka:${options.region}:000000000000:cluster/laminar-local/00000000-0000-0000-0000-000000000000-1` }
        : { kind: 'self-managed' };
    this.#output = options.output ?? silentOutput;
    this.groupId = options.groupId ?? `laminar-local-${options.functionName}`;
    this.topics = options.topics;
    this.functionName = options.functionName;
  }

  async start(): Promise<void> {
    const Kafka = createRequire(import.meta.url)('@confluentinc/kafka-javascript') as KafkaModule;
    const config = kafkaConsumerConfig({ ...this.#options, groupId: this.groupId, startingPosition: this.#options.trigger.startingPosition });
    const consumer = new Kafka.KafkaConsumer(config.global, config.topic);
    await call((cb) => consumer.connect({ timeout: 10_000 }, cb as never));
    this.#unlisted = await this.#unlistedOf(consumer, this.#options.topics, TOPIC_ASK_MS);
    if (this.#unlisted.length > 0) {
      this.#say(`the broker does not list ${this.#unlisted.join(', ')} yet; the mapping subscribes again when it does`);
    }
    consumer.subscribe(this.#options.topics);
    consumer.setDefaultConsumeTimeout(POLL_MS);
    this.#consumer = consumer;
    this.#loop = this.#run().catch((err: unknown) => {
      if (this.#stopper.signal.aborted) return;
      this.#failure = new Error(`${this.#what} stopped polling: ${(err as Error).message}`, { cause: err });
      this.#say(`stopped polling: ${(err as Error).message}`);
    });
  }

  /**
   * The topics the broker does not have. The embedded broker (librdkafka's mock cluster) assigns a
   * KIP-848 member the partitions of the topics that exist when its subscription arrives, and
   * never again when one is created later, so start() asks for each topic before subscribing: the
   * ask creates it where the broker and `createTopics` allow. `allTopics: false` matters: the
   * client's default asks for every topic the broker has, answers from that, and leaves the named
   * topic's creation to a request of its own that can land after the subscription (a new topic then
   * stayed unassigned and its records undelivered).
   */
  async #unlistedOf(consumer: KafkaConsumer, topics: readonly string[], timeoutMs: number): Promise<string[]> {
    const unlisted: string[] = [];
    for (const topic of topics) {
      const partitions = this.#stopper.signal.aborted ? [] : await partitionsOf(consumer, topic, timeoutMs).catch(() => []);
      if (partitions.length === 0) unlisted.push(topic);
    }
    return unlisted;
  }

  /**
   * Topics the broker did not list at start (one without auto-creation, a topic not created yet):
   * the mock cluster would never assign them, so when one of them is listed the consumer subscribes
   * again, which makes the group recompute its assignment. Only between batches, so no record held
   * in a batch is fetched twice; and the positions reached are committed first, or a partition
   * with no commit yet would start over from `startingPosition` (LATEST: skipping what arrived
   * since). Each ask is short and the next waits a second, so a broker that does not answer slows
   * the polling little.
   */
  async #subscribeAgainWhenListed(consumer: KafkaConsumer): Promise<void> {
    if (this.#unlisted.length === 0 || Date.now() < this.#topicsCheckedAt + TOPIC_RECHECK_MS) return;
    const before = this.#unlisted;
    this.#unlisted = await this.#unlistedOf(consumer, before, TOPIC_RECHECK_ASK_MS);
    this.#topicsCheckedAt = Date.now();
    const listed = before.filter((t) => !this.#unlisted.includes(t));
    if (listed.length === 0 || this.#stopper.signal.aborted) return;
    const positions = (consumer.position(safeAssignments(consumer)) as { topic: string; partition: number; offset?: number }[])
      .filter((p): p is { topic: string; partition: number; offset: number } => typeof p.offset === 'number' && p.offset >= 0);
    if (positions.length > 0) await this.#commit(consumer, positions);
    consumer.unsubscribe();
    consumer.subscribe(this.#options.topics);
    this.#say(`${listed.join(', ')} now listed by the broker: subscribed again`);
  }

  /** How its errors name it. */
  get #what(): string {
    return `the event source mapping of ${this.functionName} (group ${this.groupId})`;
  }

  onBatch(listener: (o: BatchOutcome) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolves once no batch is in flight and the group has committed up to every partition's end:
   * everything produced so far has been delivered (or sent to the DLQ). Rejects when the polling
   * loop has ended on its own, when `timeoutMs` passes first, or when partitions lag with no batch
   * in flight and nothing has been consumed for `stallMs` — saying which partitions lag and what
   * the consumer is assigned, so a stuck mapping explains itself.
   */
  async idle(options: { timeoutMs?: number; stallMs?: number } = {}): Promise<void> {
    const consumer = this.#consumer;
    if (!consumer) return;
    const started = Date.now();
    const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : started + options.timeoutMs;
    let last = 'not checked yet';
    const stuck = (why: string) => {
      const assigned = safeAssignments(consumer).map((a) => `${a.topic}-${a.partition}`).join(', ') || 'nothing';
      return new Error(`${this.#what} ${why}: ${last}; assigned ${assigned}; ${this.stats.batches} batches delivered so far`);
    };
    for (;;) {
      if (this.#failure) throw this.#failure;
      if (this.#stopper.signal.aborted) return;
      if (!this.#busy) {
        try {
          const lagging = await this.#lagging(consumer);
          if (lagging.length === 0 && !this.#busy) return;
          last = lagging.map((l) => `${l.topic}-${l.partition} committed ${l.committed < 0 ? 'nothing' : l.committed} of ${l.high}`).join(', ') || 'a batch in flight';
        } catch (err) {
          // A broker slow to answer (a loaded machine) is asked again, until the deadline.
          last = `the broker did not answer: ${(err as Error).message}`;
        }
        const quietMs = Date.now() - Math.max(started, this.#progressAt);
        if (!this.#busy && options.stallMs !== undefined && quietMs >= options.stallMs) throw stuck(`has consumed nothing for ${quietMs} ms while behind`);
      } else {
        last = 'a batch in flight';
      }
      if (Date.now() >= deadline) throw stuck(`did not catch up within ${options.timeoutMs} ms`);
      await sleep(POLL_MS);
    }
  }

  async stop(): Promise<void> {
    this.#stopper.abort();
    await this.#loop;
    const consumer = this.#consumer;
    this.#consumer = undefined;
    if (!consumer) return;
    // librdkafka's close waits for the group to be left; a broker gone or stuck must not hang the runner's exit.
    const closed = new Promise<boolean>((resolve) => consumer.disconnect(() => resolve(true)));
    const gaveUp = sleep(DISCONNECT_WAIT_MS, false, { ref: false });
    if (!(await Promise.race([closed, gaveUp]))) this.#say(`the consumer did not close within ${DISCONNECT_WAIT_MS} ms; left behind`);
  }

  /** Partitions whose committed offset (the group's, on the broker, not this instance's memory) is short of their end. */
  async #lagging(consumer: KafkaConsumer): Promise<{ topic: string; partition: number; high: number; committed: number }[]> {
    const ends: { topic: string; partition: number; high: number }[] = [];
    for (const topic of this.#options.topics) {
      for (const { id } of await partitionsOf(consumer, topic, 5_000)) {
        const w = await call<{ highOffset: number }>((cb) => consumer.queryWatermarkOffsets(topic, id, 5_000, cb as never));
        if (w.highOffset > 0) ends.push({ topic, partition: id, high: w.highOffset });
      }
    }
    if (ends.length === 0) return [];
    const committed = await call<{ topic: string; partition: number; offset?: number }[]>((cb) =>
      consumer.committed(ends.map(({ topic, partition }) => ({ topic, partition })), 5_000, cb as never),
    );
    return ends
      .map((e) => ({ ...e, committed: committed.find((c) => c.topic === e.topic && c.partition === e.partition)?.offset ?? -1 }))
      .filter((e) => e.committed < e.high);
  }

  async #run(): Promise<void> {
    const { trigger } = this.#options;
    const consumer = this.#consumer as KafkaConsumer;
    const windowMs = trigger.batchingWindowS * 1000 * this.#options.timeScale;
    const signal = this.#stopper.signal;
    let batch: KafkaEventRecord[] = [];
    let batchBytes = 0;
    let firstAt = 0;
    while (!signal.aborted) {
      if (batch.length === 0) await this.#subscribeAgainWhenListed(consumer);
      const room = trigger.batchSize - batch.length;
      let got: Message[];
      try {
        got = await call<Message[]>((cb) => consumer.consume(room, cb as never));
      } catch (err) {
        // Transient (a topic not created yet, a broker restarting): the poller keeps polling.
        if (signal.aborted) return;
        this.#warnOnce(`poll: ${(err as Error).message}`);
        await sleep(POLL_MS * 5, undefined, { signal });
        continue;
      }
      if (signal.aborted) return;
      if (got.length > 0) {
        this.#progressAt = Date.now();
        this.#busy = true;
      }
      for (const m of got) {
        // Converted once, here: the batch holds records in the event's shape, sized as they go.
        const record = kafkaRecordOf(m);
        const bytes = kafkaRecordBytes(record);
        // Lambda cuts a batch short of batchSize when the next record would take the event past
        // the 6 MB a synchronous invoke takes; the record opens the next batch.
        if (batch.length > 0 && batchBytes + bytes > MAX_REQUEST_BYTES - EVENT_ENVELOPE_BYTES) {
          await this.#deliver(batch);
          if (signal.aborted) return;
          this.#progressAt = Date.now();
          batch = [];
          batchBytes = 0;
        }
        if (batch.length === 0) firstAt = Date.now();
        batch.push(record);
        batchBytes += bytes;
      }
      const full = batch.length >= trigger.batchSize;
      const windowOver = batch.length > 0 && Date.now() - firstAt >= windowMs;
      if (full || windowOver) {
        await this.#deliver(batch);
        this.#progressAt = Date.now();
        batch = [];
        batchBytes = 0;
      }
      this.#busy = batch.length > 0;
    }
  }

  async #deliver(messages: KafkaEventRecord[]): Promise<void> {
    const { trigger, functionName } = this.#options;
    const consumer = this.#consumer as KafkaConsumer;
    const event = kafkaEventOf(messages, this.#options.bootstrapServers, this.#origin);
    const n = ++this.stats.batches;
    this.stats.records += messages.length;
    const attempts: InvokeResult[] = [];
    let outcome: BatchOutcome | undefined;
    const maxAttempts = 1 + (trigger.provisioned ? (trigger.maxRetries ?? 0) : LOCAL_ON_DEMAND_RETRIES);
    let serviceErrors = 0;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (this.#stopper.signal.aborted) return;
      let result: InvokeResult | undefined;
      try {
        result = await Promise.race([
          this.#options.invoker.invoke(functionName, event, {
            invocationType: 'RequestResponse',
            trigger: { kind: 'kafka', groupId: this.groupId, batch: n, records: messages.length, topics: Object.keys(event.records) },
          }),
          this.#stopped,
        ]);
      } catch (err) {
        // A function the runner does not know, or a runner stopping: nothing to wait for.
        if (err instanceof UnknownFunctionError || err instanceof InvokerStoppedError) throw err;
        if (!(err instanceof RequestTooLargeError)) {
          // Lambda's pollers wait out a throttle, and a failure of the service itself (here an
          // environment that died before taking the batch, a spawn failure, a task root being
          // rebuilt): neither is one of the batch's attempts. Thrown, it ended the mapping for the
          // rest of the session. One that keeps failing (a runner bug, a missing node binary) ends
          // it after SERVICE_ERRORS_MAX in a row, saying why, rather than waiting in silence.
          if (!(err instanceof ThrottledError) && ++serviceErrors >= SERVICE_ERRORS_MAX) throw err;
          const why = err instanceof ThrottledError ? `throttled (${err.message})` : `could not be invoked (${(err as Error).name}: ${(err as Error).message})`;
          this.#warnOnce(`batch ${n} ${why}; waiting`);
          attempt--;
          await sleep(RETRY_WAIT_MS * this.#options.timeScale, undefined, { signal: this.#stopper.signal }).catch(() => undefined);
          continue;
        }
        // One record alone past 6 MB: no invoke can carry it, so no retry can help. Its
        // coordinates go to the DLQ (the batches are cut so that only a lone record gets here).
        this.stats.failedAttempts++;
        outcome = this.#toDlq(n, event, messages, attempts, `${err.name}: ${err.message}`, { errorType: err.name, errorMessage: err.message });
        break;
      }
      if (!result) return;
      attempts.push(result);
      if (!result.error) {
        outcome = { batch: n, records: messages.length, attempts, status: 'succeeded' };
        break;
      }
      this.stats.failedAttempts++;
      const why = `${result.error.errorType}: ${result.error.errorMessage}`;
      if (attempt < maxAttempts) {
        this.#say(`batch ${n} (${messages.length} records) attempt ${attempt} of ${maxAttempts} failed (${why}); retrying`);
        await sleep(RETRY_WAIT_MS * attempt * this.#options.timeScale, undefined, { signal: this.#stopper.signal });
      } else {
        const note = trigger.provisioned
          ? ''
          : ` (on demand, Lambda would keep retrying until the records expire, or give it ${LOCAL_ON_DEMAND_CAP} if it caps it as it does provisioned mappings with a destination; locally ${LOCAL_ON_DEMAND_CAP})`;
        outcome = this.#toDlq(n, event, messages, attempts, `failed ${attempt} times (${why})`, result.error, note);
      }
    }
    if (!outcome) return;
    // Commit the next offset of every partition in the batch, only now that it is done with.
    const next = new Map<string, { topic: string; partition: number; offset: number }>();
    for (const m of messages) {
      const key = `${m.topic}\u0000${m.partition}`;
      const offset = Math.max(next.get(key)?.offset ?? 0, m.offset + 1);
      next.set(key, { topic: m.topic, partition: m.partition, offset });
    }
    await this.#commit(consumer, [...next.values()]);
    this.outcomes.push(outcome);
    for (const l of this.#listeners) l(outcome);
  }

  /** Sends a batch's coordinates to the function's DLQ, as the mapping's on-failure destination does. */
  #toDlq(n: number, event: KafkaEvent, messages: KafkaEventRecord[], attempts: InvokeResult[], what: string, error: unknown, note = ''): BatchOutcome {
    const { functionName } = this.#options;
    const record = this.#failureRecord(event, messages, attempts, error);
    const message = (this.#options.queues.get(this.#options.dlq) ?? this.#options.queues.declare(this.#options.dlq, 'dlq', functionName)).send(record, {
      function: functionName,
      condition: 'RetryAttemptsExhausted',
    });
    this.stats.dlqBatches++;
    this.stats.dlqRecords += messages.length;
    for (const m of messages) this.stats.dlqRecordsByTopic[m.topic] = (this.stats.dlqRecordsByTopic[m.topic] ?? 0) + 1;
    this.#say(`batch ${n} (${messages.length} records) ${what}: its coordinates → ${this.#options.dlq} (message ${message.messageId}); moving past it${note}`);
    return { batch: n, records: messages.length, attempts, status: 'dlq', messageId: message.messageId };
  }

  /**
   * Commits through the callback API (commitSync blocks Node's thread for the round trip) and
   * retries a failed commit a few times (a coordinator moving, a member rejoining); past that the
   * loop ends and idle() says why, rather than waiting forever for offsets that will not move.
   */
  async #commit(consumer: KafkaConsumer, offsets: { topic: string; partition: number; offset: number }[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await call<void>((cb) => (consumer as unknown as CallbackCommit).commitCb(offsets, cb as never));
        return;
      } catch (err) {
        if (attempt >= COMMIT_ATTEMPTS || this.#stopper.signal.aborted) {
          throw new Error(`committing ${offsets.map((o) => `${o.topic}-${o.partition}@${o.offset}`).join(', ')} failed ${attempt} times: ${(err as Error).message}`, { cause: err });
        }
        this.#warnOnce(`commit failed (${(err as Error).message}); retrying`);
        await sleep(POLL_MS * 2 ** attempt, undefined, { signal: this.#stopper.signal });
      }
    }
  }

  #failureRecord(event: KafkaEvent, messages: KafkaEventRecord[], attempts: InvokeResult[], error: unknown): KafkaFailureRecord {
    const last = attempts.at(-1);
    const recordsInfo: KafkaFailureRecord['KafkaBatchInfo']['recordsInfo'] = {};
    for (const [id, records] of Object.entries(event.records)) {
      const first = records[0] as KafkaEventRecord;
      const lastRecord = records.at(-1) as KafkaEventRecord;
      recordsInfo[id] = {
        firstRecordOffset: String(first.offset),
        firstRecordTimestamp: kafkaTimestampText(first.timestamp),
        lastRecordOffset: String(lastRecord.offset),
        lastRecordTimestamp: kafkaTimestampText(lastRecord.timestamp),
      };
    }
    return {
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: {
        requestId: last?.requestId ?? randomUUID(),
        functionArn: `arn:aws:lambda:${this.#options.region}:000000000000:function:${this.#options.functionName}`,
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: attempts.length,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: error ?? null,
      KafkaBatchInfo: {
        batchSize: messages.length,
        bootstrapServers: this.#options.bootstrapServers,
        payloadSize: Buffer.byteLength(JSON.stringify(event)),
        recordsInfo,
      },
    };
  }

  readonly #warned = new Set<string>();
  #warnOnce(line: string): void {
    if (this.#warned.has(line)) return;
    this.#warned.add(line);
    this.#say(line);
  }

  #say(line: string): void {
    this.#output.line(this.#options.functionName, `kafka ${this.groupId}: ${line}`);
  }
}
