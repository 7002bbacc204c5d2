import { EventEmitter } from 'node:events';
import type { LibrdKafkaError, MessageHeader } from '@confluentinc/kafka-javascript';
import { describe, expect, it, vi } from 'vitest';
import {
  DeliveryError,
  deliveredBefore,
  ERR__QUEUE_FULL,
  ERR__TIMED_OUT,
  FlushTimeoutError,
  LibrdkafkaProducer,
  lazyMessages,
  loadKafkaClient,
  messagesOf,
  type OutgoingMessage,
  type ProducerClient,
} from '../../src/index.ts';

const kafkaError = (code: number, message: string, extra: Partial<LibrdKafkaError> = {}) =>
  Object.assign(new Error(message), { code, errno: code, origin: 'kafka', ...extra }) as LibrdKafkaError;

interface Produced {
  topic: string;
  value: Buffer;
  key: string;
  headers: MessageHeader[] | undefined;
  opaque: number;
}

/**
 * Behaves like librdkafka's Producer as seen from JS: produce() enqueues (or throws), flush()
 * completes on another thread and delivery reports arrive asynchronously afterwards.
 */
class FakeClient extends EventEmitter implements ProducerClient {
  log: string[] = [];
  queued: Produced[] = [];
  produced: Produced[] = [];
  queueLimit = Number.POSITIVE_INFINITY;
  failKeys = new Set<string>();
  flushResult: 'ok' | 'timeout' = 'ok';
  /** With a timing-out flush: reports librdkafka served before it gave up (they reach JS after its callback). */
  servedBeforeTimeout = 0;
  disconnected = false;

  produce(topic: string, _p: null, value: Buffer, key: string, _t: null, opaque: number, headers: MessageHeader[] | undefined) {
    if (this.queued.length >= this.queueLimit) throw kafkaError(ERR__QUEUE_FULL, 'Local: Queue full');
    if (value.length > 1000) throw kafkaError(10, 'Broker: Message size too large');
    this.log.push('produce');
    this.queued.push({ topic, value, key, headers, opaque });
    return true;
  }
  /** Serves up to `n` reports, as rd_kafka_poll would, delivering them to JS later. */
  private serve(n = Number.POSITIVE_INFINITY) {
    const served = this.queued.splice(0, n);
    this.produced.push(...served);
    setImmediate(() => {
      for (const m of served) {
        const err = this.failKeys.has(m.key) ? kafkaError(-192, 'Local: Message timed out') : null;
        this.emit('delivery-report', err, { topic: m.topic, partition: 0, offset: 0, size: m.value.length, key: m.key, opaque: m.opaque });
      }
    });
  }
  flush(timeoutMs: number, cb: (err: LibrdKafkaError | null) => void) {
    this.log.push(`flush ${timeoutMs > 0 ? '>0' : timeoutMs}`);
    setTimeout(() => {
      if (this.flushResult === 'timeout') {
        if (this.servedBeforeTimeout) this.serve(this.servedBeforeTimeout);
        return cb(kafkaError(ERR__TIMED_OUT, 'Local: Timed out'));
      }
      this.serve();
      cb(null);
    }, 1);
  }
  /** Errors librdkafka raised meanwhile: as the binding does, it hands them to JS only after a poll. */
  pendingErrors: LibrdKafkaError[] = [];
  poll() {
    this.log.push('poll');
    this.serve(10);
    const errors = this.pendingErrors.splice(0);
    setImmediate(() => {
      for (const e of errors) this.emit('event.error', e);
    });
  }
  disconnect(_flushMs: number, cb: () => void) {
    this.disconnected = true;
    setImmediate(cb);
  }
}

const messages = (n: number, topic = 't'): OutgoingMessage[] =>
  Array.from({ length: n }, (_, i) => ({ topic, key: `k${i}`, value: `v${i}`, headers: { type: 'x', id: String(i) } }));

function setup() {
  const client = new FakeClient();
  const onReset = vi.fn();
  const producer = new LibrdkafkaProducer(client, onReset);
  return { client, onReset, producer };
}

describe('LibrdkafkaProducer.inService', () => {
  it('serves the errors queued while idle before it is handed out: a fatal one takes it out of service then, not in the next send', async () => {
    const { client, producer, onReset } = setup();
    client.pendingErrors.push(Object.assign(kafkaError(-1, 'Broker: Fatal idempotent producer error'), { isFatal: true }));
    expect(await producer.inService()).toBe(false);
    expect(onReset).toHaveBeenCalledTimes(1);
    expect(client.disconnected).toBe(true);
    // Already out of service: no poll.
    const polls = client.log.filter((l) => l === 'poll').length;
    expect(await producer.inService()).toBe(false);
    expect(client.log.filter((l) => l === 'poll').length).toBe(polls);
  });

  it('stays in service after transient errors, or none', async () => {
    const { client, producer, onReset } = setup();
    expect(await producer.inService()).toBe(true);
    client.pendingErrors.push(kafkaError(-1, 'Local: Broker transport failure'));
    expect(await producer.inService()).toBe(true);
    expect(onReset).not.toHaveBeenCalled();
  });
});

describe('LibrdkafkaProducer.send', () => {
  it('enqueues every message, then flushes once, and counts the delivery reports', async () => {
    const { client, producer, onReset } = setup();
    const result = await producer.send(messages(25), { timeoutMs: 5000 });
    expect(result).toMatchObject({ delivered: 25, bytes: messages(25).reduce((n, m) => n + String(m.value).length, 0) });
    expect(result.flushMs).toBeGreaterThanOrEqual(0);
    expect(client.log).toEqual([...Array(25).fill('produce'), 'flush >0']);
    expect(client.produced[3]).toEqual({ topic: 't', value: Buffer.from('v3'), key: 'k3', headers: [{ type: 'x' }, { id: '3' }], opaque: 3 });
    expect(onReset).not.toHaveBeenCalled();
  });

  it('passes Buffers through and sends no headers when there are none', async () => {
    const { client, producer } = setup();
    const value = Buffer.from([0, 1, 2]);
    await producer.send([{ topic: 't', key: 'k', value }], { timeoutMs: 1000 });
    expect(client.produced[0]?.value).toBe(value);
    expect(client.produced[0]?.headers).toBeUndefined();
  });

  it('makes each message of a lazy source once, just before enqueuing it, also when it waits for queue space', async () => {
    const { client, producer } = setup();
    client.queueLimit = 4;
    const items = Array.from({ length: 9 }, (_, i) => i);
    const made: number[] = [];
    const source = lazyMessages(items, (i) => {
      made.push(i);
      client.log.push(`make ${i}`);
      return { topic: 't', key: `k${i}`, value: `v${i}` };
    });
    expect((await producer.send(source, { timeoutMs: 5000 })).delivered).toBe(9);
    expect(made).toEqual(items);
    // Never more than one message made ahead of what librdkafka holds.
    const order = client.log.filter((l) => l !== 'poll');
    expect(order.slice(0, 4)).toEqual(['make 0', 'produce', 'make 1', 'produce']);
    expect(order.filter((l) => l === 'produce')).toHaveLength(9);
    expect(order.at(-1)).toBe('flush >0');
  });

  it('fails a message its source cannot make on its own: the others are sent, and the error says which were delivered', async () => {
    const { client, producer } = setup();
    const made: number[] = [];
    const source = lazyMessages([0, 1, 2], (i) => {
      made.push(i);
      if (i === 1) throw new RangeError('Invalid time value');
      return { topic: 't', key: `k${i}`, value: `v${i}` };
    });
    const err = (await producer.send(source, { timeoutMs: 1000 }).catch((e: unknown) => e)) as DeliveryError;
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err.message).toBe('1 of 3 Kafka messages failed (1 refused before sending): Invalid time value');
    expect(err.published).toEqual([true, false, true]);
    expect(client.produced.map((m) => m.key)).toEqual(['k0', 'k2']);
    // What was delivered is counted from the error, without making the messages again.
    expect(deliveredBefore(err, source)).toEqual({ delivered: 2, bytes: 4 });
    expect(made).toEqual([0, 1, 2]);
  });

  it('fails a message a short source lacks, naming it', async () => {
    const { producer } = setup();
    const short = { length: 3, at: (i: number) => (i < 2 ? { topic: 't', key: `k${i}`, value: `v${i}` } : undefined) };
    const err = (await producer.send(short, { timeoutMs: 1000 }).catch((e: unknown) => e)) as DeliveryError;
    expect(err.message).toMatch(/^1 of 3 Kafka messages failed \(1 refused before sending\): the send's message source has no message 2 of 3$/);
    expect(err.published).toEqual([true, true, false]);
  });

  it('waits for queue space when librdkafka says the local queue is full', async () => {
    const { client, producer } = setup();
    client.queueLimit = 10;
    expect((await producer.send(messages(35), { timeoutMs: 5000 })).delivered).toBe(35);
    expect(client.log.filter((l) => l === 'poll').length).toBeGreaterThanOrEqual(3);
  });

  it('rejects with DeliveryError when a report carries an error, and resets', async () => {
    const { client, producer, onReset } = setup();
    client.failKeys.add('k2');
    const err = await producer.send(messages(5), { timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject({ delivered: 4, failed: 1, expected: 5, message: expect.stringMatching(/1 of 5 .*Message timed out/) });
    // Which ones are known to be in the topic: the caller records those as done.
    expect((err as DeliveryError).published).toEqual([true, true, false, true, true]);
    expect(onReset).toHaveBeenCalledWith(producer, err);
    await vi.waitFor(() => expect(client.disconnected).toBe(true));
  });

  it('rejects with FlushTimeoutError when the flush times out, and resets', async () => {
    const { client, producer, onReset } = setup();
    client.flushResult = 'timeout';
    const err = await producer.send(messages(3), { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlushTimeoutError);
    expect(err).toMatchObject({ delivered: 0, expected: 3, timeoutMs: 50, published: [false, false, false] });
    expect(onReset).toHaveBeenCalledWith(producer, err);
  });

  it('keeps the per-message flags of a failed send out of what logs copy (enumerable properties), the counts in', async () => {
    const { client, producer } = setup();
    client.flushResult = 'timeout';
    const err = (await producer.send(messages(5_000), { timeoutMs: 50 }).catch((e: unknown) => e)) as FlushTimeoutError;
    expect(err.published).toHaveLength(5_000);
    expect(Object.keys(err)).not.toContain('published');
    expect(Object.keys(err)).toEqual(expect.arrayContaining(['delivered', 'expected', 'timeoutMs']));
    // What Powertools' formatError and Lambda's Invoke Error line would copy: a few hundred bytes.
    expect(JSON.stringify({ ...err }).length).toBeLessThan(500);
    const delivery = new DeliveryError('refused', 1, 1, 2, { published: [true, false] });
    expect(delivery.published).toEqual([true, false]);
    expect(Object.keys(delivery)).not.toContain('published');
  });

  it('takes in the reports served before a flush timed out, which reach JS after it: those messages count as delivered', async () => {
    const { client, producer } = setup();
    client.flushResult = 'timeout';
    client.servedBeforeTimeout = 3;
    const err = (await producer.send(messages(5), { timeoutMs: 50 }).catch((e: unknown) => e)) as FlushTimeoutError;
    expect(err).toMatchObject({ delivered: 3, expected: 5, published: [true, true, true, false, false] });
  });

  it('a flush that times out after some reports says which messages are known to be delivered', async () => {
    const { client, producer } = setup();
    // The queue holds 4: the 6 messages wait for room, polls deliver the first ones, and the
    // flush then runs out of time with the last ones unreported.
    client.queueLimit = 4;
    client.flushResult = 'timeout';
    const err = (await producer.send(messages(6), { timeoutMs: 200 }).catch((e: unknown) => e)) as FlushTimeoutError;
    expect(err).toBeInstanceOf(FlushTimeoutError);
    expect(err.published?.filter(Boolean).length).toBe(err.delivered);
    expect(err.delivered).toBeGreaterThan(0);
    expect(err.published?.slice(0, err.delivered)).toEqual(Array(err.delivered).fill(true));
  });

  it('rejects without producing when there is no time left', async () => {
    const { client, producer } = setup();
    await expect(producer.send(messages(1), { timeoutMs: 0 })).rejects.toBeInstanceOf(FlushTimeoutError);
    expect(client.log).toEqual([]);
  });

  it('a message librdkafka refuses fails alone: the others are sent, and the DeliveryError names which were', async () => {
    const { client, producer, onReset } = setup();
    const batch = [...messages(2), { topic: 't', key: 'big', value: Buffer.alloc(2000) }, ...messages(3).slice(2)];
    const err = (await producer.send(batch, { timeoutMs: 1000 }).catch((e: unknown) => e)) as DeliveryError;
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err.message).toMatch(/^1 of 4 Kafka messages failed \(1 refused before sending\): .*too large/);
    expect(err).toMatchObject({ delivered: 3, failed: 1, expected: 4, published: [true, true, false, true] });
    expect(client.produced.map((m) => m.key)).toEqual(['k0', 'k1', 'k2']);
    expect(onReset).toHaveBeenCalledTimes(1);
  });

  it('returns at once for an empty batch', async () => {
    const { client, producer } = setup();
    expect(await producer.send([], { timeoutMs: 1000 })).toEqual({ delivered: 0, bytes: 0, flushMs: 0 });
    expect(client.log).toEqual([]);
  });

  it('runs concurrent sends one after the other, each counting its own reports', async () => {
    const { client, producer } = setup();
    const [a, b] = await Promise.all([
      producer.send(messages(7, 'a'), { timeoutMs: 1000 }),
      producer.send(messages(4, 'b'), { timeoutMs: 1000 }),
    ]);
    expect([a.delivered, b.delivered]).toEqual([7, 4]);
    expect(client.log.filter((l) => l.startsWith('flush'))).toHaveLength(2);
    expect(client.log.indexOf('flush >0')).toBe(7);
  });

  it('resets on a fatal error or a refused login, not on a transient error — told apart by the message, as the binding sends them', () => {
    // The binding's 'event.error' carries librdkafka's message only: code -1, no isFatal.
    for (const transient of ['all broker connections are down', 'broker transport failure', 'Local: Broker transport failure', 'Local: SSL error']) {
      const { client, onReset } = setup();
      client.emit('event.error', kafkaError(-1, transient));
      expect(onReset, transient).not.toHaveBeenCalled();
    }
    for (const fatal of ['Local: Fatal error', 'fatal error', 'Local: Authentication failure', 'Broker: SASL Authentication failed']) {
      const { client, producer, onReset } = setup();
      client.emit('event.error', kafkaError(-1, fatal));
      expect(onReset, fatal).toHaveBeenCalledWith(producer, expect.objectContaining({ message: fatal }));
    }
  });

  it('refuses to send after close', async () => {
    const { client, producer } = setup();
    await producer.close();
    expect(client.disconnected).toBe(true);
    await expect(producer.send(messages(1), { timeoutMs: 1000 })).rejects.toThrow(/closed/);
  });

  it('uses the error codes of the installed librdkafka binding', () => {
    const { CODES } = loadKafkaClient() as unknown as { CODES: { ERRORS: Record<string, number> } };
    expect(CODES.ERRORS.ERR__QUEUE_FULL).toBe(ERR__QUEUE_FULL);
    expect(CODES.ERRORS.ERR__TIMED_OUT).toBe(ERR__TIMED_OUT);
  });
});

describe('deliveredBefore', () => {
  it('counts the messages a failed send confirmed, and their UTF-8 bytes, from a lazy source too', () => {
    const values = ['a', 'é', 'ccc'];
    const source = lazyMessages(values, (value) => ({ topic: 't', key: value, value }));
    const err = new FlushTimeoutError(2, 3, 100, [true, true, false]);
    // An error without the bytes its reports gave: summed from the messages.
    expect(deliveredBefore(err, source)).toEqual({ delivered: 2, bytes: 3 });
    expect(deliveredBefore(new FlushTimeoutError(2, 3, 100, [true, true, false], 7), source)).toEqual({ delivered: 2, bytes: 7 });
    expect(deliveredBefore(err, messagesOf(source))).toEqual({ delivered: 2, bytes: 3 });
    // Flags for another send: the error's own count, bytes unknown.
    expect(deliveredBefore(err, messagesOf(source).slice(0, 2))).toEqual({ delivered: 2, bytes: 0 });
    expect(deliveredBefore(new Error('other'), source)).toEqual({ delivered: 0, bytes: 0 });
  });
});
