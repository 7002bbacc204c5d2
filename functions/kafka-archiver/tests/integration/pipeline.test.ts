import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Producer } from '@confluentinc/kafka-javascript';
import { envelope } from '@laminar/kafka/envelope';
import { type Local, startLocal } from '@laminar/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArchivedLine, QuarantinedLine } from '../../src/archive.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const Kafka = createRequire(import.meta.url)('@confluentinc/kafka-javascript') as { Producer: typeof Producer };
let local: Local;
let producer: Producer;

beforeAll(async () => {
  // The built bundle, run by the local runner: embedded S3 and Kafka, the event source mapping.
  local = await startLocal({ root, functions: ['kafka-archiver'], queuesDirectory: false, env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
  producer = new Kafka.Producer({ 'bootstrap.servers': local.kafka?.bootstrapServers as string });
  await new Promise<void>((resolve, reject) => producer.connect({}, (err) => (err ? reject(err) : resolve())));
  producer.setPollInterval(10);
});
afterAll(async () => {
  await new Promise<void>((resolve) => producer?.disconnect(() => resolve()));
  await local?.stop();
});

async function objects(prefix: string): Promise<Map<string, string>> {
  const bucket = local.bucket('lake');
  const out = new Map<string, string>();
  const page = await local.s3?.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  for (const o of page?.Contents ?? []) {
    const body = await local.s3?.client.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
    out.set(o.Key as string, (await body?.Body?.transformToString()) ?? '');
  }
  return out;
}

describe('produce → Kafka → event source mapping → kafka-archiver → S3', () => {
  it('archives every produced envelope as JSON Lines with its coordinates, and quarantines what is not one', async () => {
    const topic = local.topics['rss-items'] as string;
    const at = Date.UTC(2026, 10, 26, 8, 30);
    const sent = Array.from({ length: 30 }, (_, i) =>
      envelope({ type: 'rss.item', source: 'https://example.com/feed', id: `item-${i}`, observedAt: new Date(at), payload: { title: `Title ${i}` } }),
    );
    for (const [i, m] of sent.entries()) {
      producer.produce(topic, i % 2, Buffer.from(m.value), Buffer.from(`item-${i}`), at, undefined, Object.entries(m.headers).map(([k, v]) => ({ [k]: v })));
    }
    producer.produce(topic, 0, Buffer.from('<rss>not json</rss>'), Buffer.from('junk'), at);
    await new Promise<void>((resolve, reject) => producer.flush(10_000, (err) => (err ? reject(err) : resolve())));
    await local.settle();

    const archived = await objects(`bronze/${topic}/`);
    expect([...archived.keys()].every((k) => k.startsWith(`bronze/${topic}/dt=2026-11-26/hour=08/${topic}+`) && k.endsWith('.jsonl'))).toBe(true);
    const lines = [...archived.values()].flatMap((t) => t.split('\n').filter(Boolean)).map((l) => JSON.parse(l) as ArchivedLine);
    expect(lines.map((l) => (l.value as { id: string }).id).sort()).toEqual(sent.map((_, i) => `item-${i}`).sort());
    const first = lines.find((l) => (l.value as { id: string }).id === 'item-0') as ArchivedLine;
    expect(first).toMatchObject({ topic, partition: 0, key: 'item-0', timestamp: '2026-11-26T08:30:00.000Z', value: JSON.parse(sent[0]?.value as string) });
    expect(first.headers).toContainEqual({ type: 'rss.item' });

    const quarantined = [...(await objects(`quarantine/kafka/${topic}/`)).values()].flatMap((t) => t.split('\n').filter(Boolean)).map((l) => JSON.parse(l) as QuarantinedLine);
    expect(quarantined).toHaveLength(1);
    expect(quarantined[0]).toMatchObject({ key: 'junk', valueBase64: Buffer.from('<rss>not json</rss>').toString('base64') });
    expect(quarantined[0]?.reasons[0]).toMatch(/not JSON/);

    // Every record is accounted for, and the topic's mapping (one per topic, as on AWS) committed past all of them.
    const source = local.kafkaSources.find((k) => k.topics.includes(topic));
    expect(local.kafkaSources.map((k) => k.topics)).toEqual([[local.topics['polymarket-prices']], [topic]]);
    const stats = source?.stats;
    expect(stats).toMatchObject({ records: 31, dlqBatches: 0 });
    expect(lines.length + quarantined.length).toBe(31);

    // Each invocation's X-Ray spans reach the runner's collector: the handler, then its S3 writes.
    const traceId = source?.outcomes[0]?.attempts[0]?.traceId as string;
    expect(traceId).toMatch(/^1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    await expect.poll(() => local.xray?.spans(traceId).map((s) => s.operation ?? s.name)).toEqual(expect.arrayContaining(['## index.handler', 'PutObject']));
  });
});

describe('one invocation beside a running pipeline (laminar invoke, dlq replay)', () => {
  it('starts no event source mapping: it would join the pipeline’s consumer groups and take its partitions', async () => {
    const lone = await startLocal({ root, functions: ['kafka-archiver'], queuesDirectory: false, eventSources: false, env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
    try {
      expect(local.services.filter((s) => s.startsWith('Kafka → kafka-archiver'))).toHaveLength(2);
      expect(lone.services.filter((s) => s.startsWith('Kafka → '))).toEqual([]);
      const topic = lone.topics['rss-items'] as string;
      const value = Buffer.from(envelope({ type: 'rss.item', source: 'https://example.com/feed', id: 'lone', observedAt: new Date(Date.UTC(2026, 10, 26, 9)), payload: {} }).value).toString('base64');
      const event = {
        eventSource: 'SelfManagedKafka',
        bootstrapServers: lone.kafka?.bootstrapServers,
        records: { [`${topic}-0`]: [{ topic, partition: 0, offset: 7, timestamp: Date.UTC(2026, 10, 26, 9), timestampType: 'CREATE_TIME', key: Buffer.from('lone').toString('base64'), value, headers: [] }] },
      };
      const res = await lone.invoke('kafka-archiver', event);
      expect(res.error).toBeUndefined();
      expect(res.result).toMatchObject({ records: 1 });
    } finally {
      await lone.stop();
    }
  });
});
