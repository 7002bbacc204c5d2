import { type KafkaEmulator, readKafkaTopic, startKafka } from '@laminar/emulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createProducer,
  DeliveryError,
  envelope,
  FlushTimeoutError,
  getProducer,
  KafkaConfigError,
  type KafkaEnv,
  LibrdkafkaProducer,
  loadKafkaClient,
  type OutgoingMessage,
  producerConfig,
  resolveKafkaConfig,
} from '../../src/index.ts';

/** Kafka's Java murmur2 (Utils.murmur2): the partition Java clients pick for a key. */
function murmur2(data: Buffer): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = 0x9747b28c ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data.readInt32LE(i);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= (data[whole + 2] as number) << 16;
  if (rest >= 2) h ^= (data[whole + 1] as number) << 8;
  if (rest >= 1) {
    h ^= data[whole] as number;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h;
}
const javaPartition = (key: string, partitions: number) => (murmur2(Buffer.from(key)) & 0x7fffffff) % partitions;

const items = (topic: string, n: number, keys: number): OutgoingMessage[] =>
  Array.from({ length: n }, (_, i) => ({
    topic,
    key: `market-${i % keys}`,
    ...envelope({
      type: 'test.tick',
      source: 'integration-test',
      id: `tick-${i}`,
      observedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
      payload: { i, price: i / 100 },
    }),
  }));

describe('getProducer against a real Kafka-protocol broker (librdkafka mock cluster)', () => {
  let kafka: KafkaEmulator;
  let env: KafkaEnv;
  beforeAll(async () => {
    kafka = await startKafka();
    env = {
      KAFKA_BOOTSTRAP_SERVERS: kafka.bootstrapServers,
      KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT',
      KAFKA_SASL_MECHANISM: 'PLAIN',
      KAFKA_CLIENT_ID: 'integration-test',
    };
  });
  afterAll(async () => {
    await (await getProducer(env).catch(() => undefined))?.close();
    await kafka?.stop();
  });

  it('delivers every message, readable back with keys, envelope and headers; one key → one partition', async () => {
    const producer = await getProducer(env);
    const sent = items('ticks', 500, 37);
    const result = await producer.send(sent, { timeoutMs: 10_000 });
    expect(result.delivered).toBe(500);
    expect(result.bytes).toBe(sent.reduce((n, m) => n + Buffer.byteLength(m.value), 0));

    const read = await readKafkaTopic(kafka.bootstrapServers, 'ticks');
    expect(read).toHaveLength(500);
    const byId = new Map(read.map((m) => [m.headers.id, m]));
    for (const [i, m] of sent.entries()) {
      const got = byId.get(`tick-${i}`);
      expect(got?.key).toBe(m.key);
      expect(got?.headers).toEqual(m.headers);
      const body = JSON.parse(String(got?.value));
      expect(body).toMatchObject({
        schemaVersion: 1,
        type: 'test.tick',
        source: 'integration-test',
        id: `tick-${i}`,
        observedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
        payload: { i, price: i / 100 },
      });
      expect(Date.parse(body.producedAt)).not.toBeNaN();
    }
    // Same key, same partition — and the one a Java client would choose (murmur2).
    const partitions = Math.max(...read.map((m) => m.partition)) + 1;
    expect(partitions).toBe(4);
    for (const m of read) expect(m.partition).toBe(javaPartition(m.key as string, partitions));
    // Within a partition, one key's messages keep their order (idempotent, in-order retries).
    const seen = new Map<string, number>();
    for (const m of [...read].sort((a, b) => a.offset - b.offset)) {
      const i = JSON.parse(String(m.value)).payload.i as number;
      expect(i).toBeGreaterThan(seen.get(m.key as string) ?? -1);
      seen.set(m.key as string, i);
    }
  });

  it('reuses one producer across warm invocations', async () => {
    const first = await getProducer(env);
    await first.send(items('reuse', 10, 3), { timeoutMs: 5_000 });
    const second = await getProducer(env);
    expect(second).toBe(first);
    await second.send(items('reuse', 1, 1), { timeoutMs: 5_000 });
    expect(await readKafkaTopic(kafka.bootstrapServers, 'reuse')).toHaveLength(11);
  });

  it('a flush that cannot finish in time rejects with FlushTimeoutError; the next call gets a fresh, working producer', async () => {
    // A broker whose every request takes 300 ms: the first acknowledgement comes ~2 round trips
    // after the first message is enqueued (producer id, then produce), far past the 5 ms budget,
    // however fast this machine enqueues the 20,000 (on the instant broker a fast run delivered
    // them all while enqueuing, and the flush had nothing left to time out on).
    const slowKafka = await startKafka({ rttMs: 300 });
    const slow = { ...env, KAFKA_BOOTSTRAP_SERVERS: slowKafka.bootstrapServers };
    try {
      await flushTimesOut(slow, slowKafka);
    } finally {
      await (await getProducer(slow).catch(() => undefined))?.close();
      await slowKafka.stop();
    }
  }, 60_000);

  async function flushTimesOut(env: KafkaEnv, kafka: KafkaEmulator) {
    const before = await getProducer(env);
    const err = await before.send(items('too-slow', 20_000, 100), { timeoutMs: 5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlushTimeoutError);
    const { delivered, published } = err as FlushTimeoutError;
    expect(delivered).toBeLessThan(20_000);
    // What the error calls published (publishOnce confirms those, never to send them again) is in
    // the topic, each: delivery reports carry a message's index back through the real binding.
    expect(published).toHaveLength(20_000);
    expect(published?.filter(Boolean)).toHaveLength(delivered);
    const inTopic = new Set((await readKafkaTopic(kafka.bootstrapServers, 'too-slow')).map((m) => (JSON.parse(String(m.value)) as { id: string }).id));
    expect(published?.flatMap((p, i) => (p && !inTopic.has(`tick-${i}`) ? [i] : []))).toEqual([]);

    const after = await getProducer(env);
    expect(after).not.toBe(before);
    expect((await after.send(items('after-reset', 3, 3), { timeoutMs: 5_000 })).delivered).toBe(3);
    // The old one says why it is out of service, and what to do.
    await expect(before.send(items('after-reset', 1, 1), { timeoutMs: 1_000 })).rejects.toThrow(
      /^Kafka producer is closed \(reset after: Kafka flush timed out after 5 ms: .*\): getProducer\(\) gives a new one$/,
    );
  }

  it('a message the broker refuses rejects with DeliveryError and resets the producer', async () => {
    const before = await getProducer(env);
    const tooBig: OutgoingMessage = { topic: 'refused', key: 'k', value: Buffer.alloc(2_000_000) };
    const sent = [...items('refused', 3, 3), tooBig, ...items('refused', 6, 6).slice(3)];
    const err = await before.send(sent, { timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    // Only the refused one fails: the others went, and the error says so, message by message.
    expect((err as DeliveryError).published).toEqual([true, true, true, false, true, true, true]);
    const inTopic = (await readKafkaTopic(kafka.bootstrapServers, 'refused')).map((m) => (JSON.parse(String(m.value)) as { id: string }).id);
    expect(inTopic.sort()).toEqual(['tick-0', 'tick-1', 'tick-2', 'tick-3', 'tick-4', 'tick-5']);
    expect(await getProducer(env)).not.toBe(before);
  });

  it('rejects with FlushTimeoutError within the budget when the broker has gone away', async () => {
    const doomed = await startKafka();
    const producer = await createProducer(await resolveKafkaConfig({ ...env, KAFKA_BOOTSTRAP_SERVERS: doomed.bootstrapServers }));
    try {
      await producer.send(items('gone', 1, 1), { timeoutMs: 5_000 });
      await doomed.stop();
      // The send gives up at its budget (FlushTimeoutError) instead of waiting for a broker that is gone.
      await expect(producer.send(items('gone', 50, 5), { timeoutMs: 800 })).rejects.toBeInstanceOf(FlushTimeoutError);
    } finally {
      await producer.close();
      await doomed.stop();
    }
  });

  it('serves the events librdkafka queued while the producer sat idle only when asked: inService() gets them to JS', async () => {
    const doomed = await startKafka();
    const config = await resolveKafkaConfig({ ...env, KAFKA_BOOTSTRAP_SERVERS: doomed.bootstrapServers });
    const client = new (loadKafkaClient().Producer)(producerConfig(config));
    await new Promise<void>((resolve, reject) => client.connect({ allTopics: false, timeout: 5_000 }, (err) => (err ? reject(err) : resolve())));
    const events: string[] = [];
    client.on('event.error', (err) => events.push(err.message));
    const producer = new LibrdkafkaProducer(client as unknown as ConstructorParameters<typeof LibrdkafkaProducer>[0]);
    try {
      await doomed.stop();
      // The broker is gone: librdkafka knows within a second (three here, for a loaded machine),
      // JS hears nothing while nobody polls.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(events).toEqual([]);
      // Transport errors are transient (librdkafka reconnects): served, and still in service.
      expect(await producer.inService()).toBe(true);
      expect(events.length).toBeGreaterThan(0);
    } finally {
      await producer.close();
    }
  });

  it('close() retires the shared producer', async () => {
    const before = await getProducer(env);
    await before.close();
    const after = await getProducer(env);
    expect(after).not.toBe(before);
    expect((await after.send(items('after-close', 1, 1), { timeoutMs: 5_000 })).delivered).toBe(1);
  });
});

describe('without a broker', () => {
  it('fails to connect with a message naming the address', async () => {
    const config = await resolveKafkaConfig({
      KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:1',
      KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT',
      KAFKA_SASL_MECHANISM: 'PLAIN',
    });
    await expect(createProducer(config, { connectTimeoutMs: 300 })).rejects.toThrow(
      /could not connect to Kafka at 127\.0\.0\.1:1 \(PLAINTEXT\)/,
    );
  });

  it('does not cache a producer that could not be created', async () => {
    const env: KafkaEnv = { KAFKA_BOOTSTRAP_SERVERS: 'b:9096', KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'PLAIN' };
    const first = getProducer(env);
    await expect(first).rejects.toBeInstanceOf(KafkaConfigError);
    const second = getProducer(env);
    expect(second).not.toBe(first);
    await expect(second).rejects.toThrow(/KAFKA_CREDENTIALS_SECRET_ARN/);
  });
});
