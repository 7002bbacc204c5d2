import { createRequire } from 'node:module';
import type { DeliveryReport, LibrdKafkaError, MessageHeader, Producer } from '@confluentinc/kafka-javascript';
import { producerConfig, type ResolvedKafkaConfig, resolveKafkaConfig } from './config.ts';
import type { KafkaEnv } from './env.ts';
import { DeliveryError, FlushTimeoutError } from './errors.ts';

export interface OutgoingMessage {
  topic: string;
  /** Chosen by the caller so one entity always lands on one partition. */
  key: string;
  value: string | Buffer;
  headers?: Record<string, string>;
}

/**
 * The messages of one send, in order: an array, or anything that makes its i-th message when
 * asked (`lazyMessages`). A send asks for each message once, as it enqueues it, so a large send
 * never holds all its encoded messages at once: what waits is bounded by librdkafka's queue
 * (producerConfig), not by the send's size.
 */
export interface MessageSource {
  readonly length: number;
  at(index: number): OutgoingMessage | undefined;
}

/** `items` as a send's messages, each made only when the send (or `deliveredBefore`) asks for it. */
export function lazyMessages<T>(items: readonly T[], toMessage: (item: T) => OutgoingMessage): MessageSource {
  return {
    length: items.length,
    at: (index) => (index >= 0 && index < items.length ? toMessage(items[index] as T) : undefined),
  };
}

/** Every message of a source, made now (for tests and small sends; a send itself asks one at a time). */
export function messagesOf(source: MessageSource): OutgoingMessage[] {
  return Array.from({ length: source.length }, (_, index) => {
    const m = source.at(index);
    if (m === undefined) throw new TypeError(`the message source has no message ${index} of ${source.length}`);
    return m;
  });
}

export interface SendResult {
  /** Messages acknowledged by the brokers (acks=all). */
  delivered: number;
  /** Value bytes delivered (before compression). */
  bytes: number;
  /** Time from the start of the flush until the last delivery report. */
  flushMs: number;
}

export interface KafkaProducer {
  /**
   * Enqueues every message, then flushes once. Resolves only when every message was acknowledged
   * within `timeoutMs` (counted from the call); otherwise rejects with FlushTimeoutError or
   * DeliveryError, and the shared producer is reset.
   */
  send(messages: MessageSource, options: { timeoutMs: number }): Promise<SendResult>;
  close(): Promise<void>;
}

type KafkaModule = { Producer: typeof Producer };

/** The part of librdkafka's Producer this package uses (a seam for unit tests). */
export interface ProducerClient {
  produce(
    topic: string,
    partition: null,
    value: Buffer,
    key: string,
    timestamp: null,
    /** The message's index in its send: its delivery report carries it back. */
    opaque: number,
    headers: MessageHeader[] | undefined,
  ): unknown;
  flush(timeoutMs: number, cb: (err: LibrdKafkaError | null | undefined) => void): unknown;
  poll(): unknown;
  disconnect(flushTimeoutMs: number, cb: () => void): unknown;
  on(event: 'delivery-report', listener: (err: LibrdKafkaError | null | undefined, report: DeliveryReport) => void): unknown;
  on(event: 'event.error', listener: (err: LibrdKafkaError) => void): unknown;
}

/**
 * librdkafka's messages for errors a producer does not recover from: fatal, a refused login. (Not
 * its SSL error: librdkafka also reports a timeout or a broken pipe during a handshake as one.)
 */
const UNRECOVERABLE = /fatal error|authentication fail/i;

/** librdkafka error codes the producer reacts to. */
export const ERR__QUEUE_FULL = -184;
export const ERR__TIMED_OUT = -185;

let kafkaModule: KafkaModule | undefined;
/**
 * The native client is resolved at run time through CommonJS resolution: in Lambda it lives in a
 * layer (/opt/nodejs/node_modules, on NODE_PATH), which ESM `import` never consults. Loaded on
 * first use so importing this package (schema, envelope) does not load the native module.
 */
export function loadKafkaClient(): KafkaModule {
  const requireNative = createRequire(import.meta.url);
  kafkaModule ??= requireNative('@confluentinc/kafka-javascript') as KafkaModule;
  return kafkaModule;
}

const CONNECT_TIMEOUT_MS = 10_000;
/** Bounds the flush inside close(): a send has already flushed everything it enqueued. */
const CLOSE_FLUSH_MS = 1_000;

interface Batch {
  expected: number;
  delivered: number;
  failed: number;
  bytes: number;
  firstError: LibrdKafkaError | undefined;
  /** Wakes the waiting sender: on any report when it waits for queue space, else on the last one. */
  wake: (() => void) | undefined;
  wantsSpace: boolean;
  /** Per message of the send: 1 delivered, 2 failed, 0 not known (no report yet, or never enqueued). */
  outcomes: Uint8Array;
  /** Messages produce() refused outright (never enqueued). */
  refused: number;
}

/** @internal Exported for unit tests; use getProducer(). */
export class LibrdkafkaProducer implements KafkaProducer {
  private batch: Batch | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;
  /** Why it was taken out of service, for the error a later send on it gets. */
  private closedBecause: string | undefined;

  constructor(
    private readonly client: ProducerClient,
    /** Called when this producer must not be handed out again (error undefined: closed). */
    private readonly onReset: (producer: KafkaProducer, error: unknown) => void = () => undefined,
  ) {
    client.on('delivery-report', (err: LibrdKafkaError | null | undefined, report: DeliveryReport) => this.onReport(err, report));
    client.on('event.error', (err: LibrdKafkaError) => {
      // Fatal errors (e.g. the idempotent producer's sequence state is broken) make this instance
      // unusable, and a refused login will not pass with the credentials it started with (they
      // rotated): the next send gets a new producer, which fetches them again. Transient broker
      // errors are retried by librdkafka itself (and a send they outlast resets it too). The binding's event carries only librdkafka's
      // message (code -1, never isFatal), so the message is what tells them apart.
      if (err?.isFatal || UNRECOVERABLE.test(err?.message ?? '')) this.reset(err);
    });
  }

  private onReport(err: LibrdKafkaError | null | undefined, report: DeliveryReport): void {
    const b = this.batch;
    if (!b) return;
    if (err) {
      b.failed++;
      b.firstError ??= err;
    } else {
      b.delivered++;
      b.bytes += report.size;
    }
    if (typeof report?.opaque === 'number') b.outcomes[report.opaque] = err ? 2 : 1;
    if (b.wake && (b.wantsSpace || b.delivered + b.failed === b.expected)) b.wake();
  }

  send(messages: MessageSource, options: { timeoutMs: number }): Promise<SendResult> {
    // Sends run one at a time: each delivery report belongs to the send under way (its message's
    // index within it as the opaque), and a flush would wait for every queued message anyway.
    const run = this.tail.then(() => this.sendNow(messages, options.timeoutMs));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async sendNow(messages: MessageSource, timeoutMs: number): Promise<SendResult> {
    if (this.closing) throw new Error(`Kafka producer is closed (${this.closedBecause ?? 'by close()'}): getProducer() gives a new one`);
    if (messages.length === 0) return { delivered: 0, bytes: 0, flushMs: 0 };
    if (!(timeoutMs > 0)) throw new FlushTimeoutError(0, messages.length, timeoutMs);
    const deadline = performance.now() + timeoutMs;
    const b: Batch = {
      expected: 0,
      delivered: 0,
      failed: 0,
      bytes: 0,
      firstError: undefined,
      wake: undefined,
      wantsSpace: false,
      outcomes: new Uint8Array(messages.length),
      refused: 0,
    };
    // Which messages are known to be in the topic, for the error a failed send throws: the caller
    // can record those as done, and only the others are sent again.
    const published = () => Array.from(b.outcomes, (o) => o === 1);
    this.batch = b;
    try {
      for (let index = 0; index < messages.length; index++) {
        let m: OutgoingMessage | undefined;
        let unmade: unknown;
        try {
          m = messages.at(index);
        } catch (err) {
          unmade = err;
        }
        if (m === undefined) {
          // A message that cannot be made (its item cannot be encoded) fails on its own, as one
          // librdkafka refuses: the others still go, and the send fails naming it.
          b.outcomes[index] = 2;
          b.refused++;
          b.firstError ??= (unmade ?? new TypeError(`the send's message source has no message ${index} of ${messages.length}`)) as LibrdKafkaError;
          continue;
        }
        const value = typeof m.value === 'string' ? Buffer.from(m.value) : m.value;
        const headers: MessageHeader[] | undefined = m.headers
          ? Object.entries(m.headers).map(([k, v]) => ({ [k]: v }))
          : undefined;
        for (;;) {
          try {
            this.client.produce(m.topic, null, value, m.key, null, index, headers);
            // No poll per message or per thousand: serving reports on this thread while enqueuing
            // costs ~10 % throughput; the flush serves them on a worker thread instead, and the
            // queue bound (see producerConfig) caps what waits in memory.
            b.expected++;
            break;
          } catch (err) {
            if ((err as LibrdKafkaError).code !== ERR__QUEUE_FULL) {
              // Refused on its own (too large, a bad header…): it fails, the others still go, and
              // the send fails naming it — one such message no longer holds back every other.
              b.outcomes[index] = 2;
              b.refused++;
              b.firstError ??= err as LibrdKafkaError;
              break;
            }
            // The local queue is full (memory bound): let deliveries drain it, within the budget.
            if (performance.now() >= deadline) throw new FlushTimeoutError(b.delivered, messages.length, timeoutMs, published(), b.bytes);
            await this.waitForReports(b, 5, true);
          }
        }
      }
      const flushStart = performance.now();
      const flushed = await this.flush(Math.max(1, Math.ceil(deadline - performance.now())));
      // flush() returns when librdkafka has served every report; they reach JS asynchronously.
      while (flushed && b.delivered + b.failed < b.expected && performance.now() < deadline) {
        await this.waitForReports(b, deadline - performance.now(), false);
      }
      // Out of time, reports librdkafka served before giving up may still be on their way to JS
      // (100 an event-loop turn): take them in, so that the error names every message the broker
      // acknowledged — those are not sent again.
      if (b.delivered + b.failed < b.expected) await this.drainReports(b);
      if (b.failed + b.refused > 0) {
        throw new DeliveryError(
          `${b.failed + b.refused} of ${messages.length} Kafka messages failed${b.refused ? ` (${b.refused} refused before sending)` : ''}: ${b.firstError?.message ?? 'unknown error'}`,
          b.delivered,
          b.failed + b.refused,
          messages.length,
          { cause: b.firstError, published: published(), deliveredBytes: b.bytes },
        );
      }
      if (b.delivered < b.expected) throw new FlushTimeoutError(b.delivered, b.expected, timeoutMs, published(), b.bytes);
      return { delivered: b.delivered, bytes: b.bytes, flushMs: performance.now() - flushStart };
    } catch (err) {
      this.reset(err);
      if (err instanceof FlushTimeoutError || err instanceof DeliveryError) throw err;
      throw new DeliveryError(
        `Kafka send failed after ${b.expected} of ${messages.length} messages were enqueued: ${(err as Error).message}`,
        b.delivered,
        messages.length - b.expected,
        messages.length,
        { cause: err, published: published(), deliveredBytes: b.bytes },
      );
    } finally {
      this.batch = undefined;
    }
  }

  /**
   * Waits up to `ms` for queue space (any report; `space`) or for the last report. Waking on every
   * report instead would cost a timer per 100 reports (the binding's dispatch batch).
   */
  private waitForReports(b: Batch, ms: number, space: boolean): Promise<void> {
    b.wantsSpace = space;
    // Outside a flush, reports are only served when someone polls.
    if (space) this.client.poll();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(1, ms));
      function done() {
        clearTimeout(timer);
        b.wake = undefined;
        resolve();
      }
      b.wake = done;
    });
  }

  /** Lets the reports already served reach JS: returns once a few milliseconds pass without one. */
  private async drainReports(b: Batch): Promise<void> {
    for (let round = 0; round < 50 && b.delivered + b.failed < b.expected; round++) {
      const seen = b.delivered + b.failed;
      await new Promise((resolve) => setTimeout(resolve, 2));
      if (b.delivered + b.failed === seen) return;
    }
  }

  /** True when librdkafka's queue drained in time, false on a timeout; rejects on other errors. */
  private flush(timeoutMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.client.flush(timeoutMs, (err) => {
        if (!err) resolve(true);
        else if (err.code === ERR__TIMED_OUT) resolve(false);
        else reject(err);
      });
    });
  }

  /**
   * Whether it is still fit to hand out, once the events librdkafka queued meanwhile are served.
   * Its errors reach JS only through a poll or a flush, and nothing polls an idle producer: a
   * fatal error or a refused login that came between invocations (or while Lambda froze the
   * environment) would otherwise be served by the next send's first poll, resetting the producer
   * in the middle of that send and failing its invocation — and an old one, long recovered from,
   * would reset a healthy producer there.
   */
  async inService(): Promise<boolean> {
    if (this.closedBecause !== undefined) return false;
    this.client.poll();
    // The binding hands what a poll served to JS from its next pass through the event loop's poll
    // phase: two turns of the loop see it delivered.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    return this.closedBecause === undefined;
  }

  /** Takes this instance out of service and disconnects it in the background. */
  private reset(error: unknown): void {
    this.closedBecause ??= `reset after: ${error instanceof Error ? error.message : String(error)}`;
    this.onReset(this, error);
    this.disconnect(0).catch(() => undefined);
  }

  private disconnect(flushMs: number): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      try {
        this.client.disconnect(flushMs, () => resolve());
      } catch {
        resolve();
      }
    });
    return this.closing;
  }

  async close(): Promise<void> {
    this.closedBecause ??= 'by close()';
    this.onReset(this, undefined);
    await this.tail;
    await this.disconnect(CLOSE_FLUSH_MS);
  }
}

export interface CreateProducerOptions {
  /** Called when the producer takes itself out of service (error undefined: closed). */
  onReset?: (producer: KafkaProducer, error: unknown) => void;
  /** Bounds the initial metadata request (default 10 s). */
  connectTimeoutMs?: number;
}

/** Creates and connects a producer that nobody shares; most callers want getProducer(). */
export async function createProducer(config: ResolvedKafkaConfig, options: CreateProducerOptions = {}): Promise<KafkaProducer> {
  const Kafka = loadKafkaClient();
  const client = new Kafka.Producer(producerConfig(config));
  await new Promise<void>((resolve, reject) => {
    // A cheap metadata request (no topics) proves the brokers answer and SASL works.
    client.connect({ allTopics: false, timeout: options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS }, (err) =>
      err
        ? reject(
            new Error(`could not connect to Kafka at ${config.bootstrapServers} (${config.securityProtocol}): ${err.message}`, {
              cause: err,
            }),
          )
        : resolve(),
    );
  });
  // No background polling: with librdkafka's main queue forwarded to its background thread,
  // flush() waits in ~10 ms steps, which alone would break the warm-send budget. Reports are
  // served by polls during a send and by the flush itself.
  return new LibrdkafkaProducer(client as unknown as ProducerClient, options.onReset);
}

interface Current {
  key: string;
  producer: Promise<KafkaProducer>;
}
let current: Current | undefined;
/** Set when the last producer failed: its replacement refetches credentials (they may have rotated). */
let lastFailed = false;

async function create(env: KafkaEnv, owner: () => Current | undefined): Promise<KafkaProducer> {
  const config = await resolveKafkaConfig(env, { forceFetch: lastFailed });
  const producer = await createProducer(config, {
    onReset: (_producer, error) => {
      const entry = owner();
      if (entry && current === entry) current = undefined;
      if (error !== undefined) lastFailed = true;
    },
  });
  lastFailed = false;
  return producer;
}

/**
 * The execution environment's one producer: created (and connected) on the first call, handed to
 * every warm invocation after, and replaced on the next call once it has been reset by a fatal
 * error or a failed send (or closed). Before a cached one is handed out, the events librdkafka
 * queued while it sat idle are served (LibrdkafkaProducer.inService): one that a fatal error or a
 * refused login took out of service meanwhile is replaced then, not in the middle of a send.
 * Credentials are fetched when it is created.
 */
export function getProducer(env: KafkaEnv): Promise<KafkaProducer> {
  const key = JSON.stringify(env);
  const cached = current;
  if (cached?.key === key) {
    return cached.producer.then(async (producer) => {
      if (!(producer instanceof LibrdkafkaProducer) || (await producer.inService())) return producer;
      // Reset by an event served just now (its onReset dropped it already, unless another call did).
      if (current === cached) current = undefined;
      return getProducer(env);
    });
  }
  // A different configuration (tests, a runner switching brokers) replaces the producer.
  if (current) void current.producer.then((p) => p.close()).catch(() => undefined);
  const entry: Current = { key, producer: create(env, () => entry) };
  current = entry;
  entry.producer.catch(() => {
    // A failed creation is not cached: the next invocation tries again.
    if (current === entry) current = undefined;
    lastFailed = true;
  });
  return entry.producer;
}

/** Runs work in a trace subsegment (the runtime wrapper's `trace`). */
export type TraceFn = <T>(name: string, work: () => Promise<T>) => Promise<T>;

/** The producer, with each send — produce and flush, until every delivery report — in a `Kafka send` span. */
export function tracedProducer(producer: KafkaProducer, trace: TraceFn): KafkaProducer {
  return {
    send: (messages, options) => trace(`Kafka send ${messages.length}`, () => producer.send(messages, options)),
    close: () => producer.close(),
  };
}
