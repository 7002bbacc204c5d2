import { createRequire } from 'node:module';
import type { Producer } from '@confluentinc/kafka-javascript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KafkaEmulator, readKafkaTopic, startKafka } from '../../src/index.ts';

const Kafka = createRequire(import.meta.url)('@confluentinc/kafka-javascript') as { Producer: typeof Producer };

async function produce(bootstrapServers: string, topic: string, messages: { key: string; value: string }[]) {
  const producer = new Kafka.Producer({ 'bootstrap.servers': bootstrapServers, dr_cb: true });
  let delivered = 0;
  const failed: string[] = [];
  producer.on('delivery-report', (err) => {
    if (err) failed.push(err.message);
    else delivered++;
  });
  await new Promise<void>((resolve, reject) => producer.connect({}, (err) => (err ? reject(err) : resolve())));
  for (const m of messages) producer.produce(topic, null, Buffer.from(m.value), m.key, null, undefined, [{ source: 'test' }]);
  await new Promise<void>((resolve, reject) => producer.flush(10_000, (err) => (err ? reject(err) : resolve())));
  // Delivery reports reach JS asynchronously after flush returns.
  const deadline = Date.now() + 10_000;
  while (delivered + failed.length < messages.length) {
    if (Date.now() > deadline) throw new Error(`${delivered + failed.length} of ${messages.length} delivery reports within 10 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
  expect(failed).toEqual([]);
  await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  return delivered;
}

describe('startKafka (librdkafka mock cluster in a child process)', () => {
  let kafka: KafkaEmulator;
  beforeAll(async () => {
    kafka = await startKafka();
  });
  afterAll(() => kafka?.stop());

  it('announces a loopback PLAINTEXT listener', () => {
    expect(kafka.bootstrapServers).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('auto-creates topics with 4 partitions and serves produced messages back', async () => {
    const messages = Array.from({ length: 50 }, (_, i) => ({ key: `k${i % 7}`, value: JSON.stringify({ i }) }));
    expect(await produce(kafka.bootstrapServers, 'emulator-test', messages)).toBe(50);

    const read = await readKafkaTopic(kafka.bootstrapServers, 'emulator-test');
    expect(read).toHaveLength(50);
    expect(new Set(read.map((m) => m.partition)).size).toBeGreaterThan(1);
    expect(Math.max(...read.map((m) => m.partition))).toBeLessThanOrEqual(3);
    expect(read.map((m) => JSON.parse(String(m.value)).i).sort((a, b) => a - b)).toEqual(messages.map((_, i) => i));
    expect(read[0]?.headers).toEqual({ source: 'test' });
    // One key, one partition.
    const partitionOf = new Map<string, Set<number>>();
    for (const m of read) partitionOf.set(m.key as string, (partitionOf.get(m.key as string) ?? new Set()).add(m.partition));
    for (const partitions of partitionOf.values()) expect(partitions.size).toBe(1);
  });

  it('runs several brokers and stops cleanly (twice is fine)', async () => {
    const cluster = await startKafka({ brokers: 3 });
    expect(cluster.bootstrapServers.split(',')).toHaveLength(3);
    await cluster.stop();
    await cluster.stop();
    await expect(readKafkaTopic(cluster.bootstrapServers, 'gone', { timeoutMs: 1_000 })).rejects.toThrow();
  });
});
