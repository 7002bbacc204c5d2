import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { emptyFirehoseStats, type FirehoseEmulator, type FirehoseStreamStats } from '@laminar/emulators';
import { describe, expect, it } from 'vitest';
import { pipelineStages, rejectsByFunction } from '../../src/pipeline-summary.ts';
import type { Local } from '../../src/runner.ts';

const STREAM = 'laminar-local-inventory';

/** An embedded S3 holding `objects` (key → body) in bucket 'lake'. */
function fakeS3(objects: Record<string, string>): S3Client {
  return {
    send: async (command: unknown) => {
      if (command instanceof ListObjectsV2Command) {
        const prefix = command.input.Prefix ?? '';
        return { Contents: Object.keys(objects).filter((k) => k.startsWith(prefix)).map((Key) => ({ Key })) };
      }
      if (command instanceof GetObjectCommand) {
        const text = objects[command.input.Key as string] ?? '';
        return { Body: { transformToString: async () => text } };
      }
      throw new Error('unexpected command');
    },
  } as unknown as S3Client;
}

/** A runner with one function writing to one delivery stream, whose emulator reports `stats`. */
function local(stats: Partial<FirehoseStreamStats>, objects: Record<string, string>): Local {
  const all: FirehoseStreamStats = { ...emptyFirehoseStats(), calls: 1, ...stats };
  const firehose = { stats: () => ({ [STREAM]: all }) } as unknown as FirehoseEmulator;
  const spec = {
    name: 'store-inventory',
    env: {},
    deliveryStreams: [{ name: 'inventory', bucket: 'lake', prefix: 'inventory/year=!{timestamp:yyyy}/', errorOutputPrefix: 'errors/!{firehose:error-output-type}/' }],
  };
  return {
    specs: [{ spec }],
    kafkaSources: [],
    s3: { embedded: {}, client: fakeS3(objects) },
    kafka: undefined,
    firehose,
    deliveryStreams: { inventory: STREAM },
    bucket: (b: string) => b,
  } as unknown as Local;
}

const three = { 'inventory/year=2024/inventory-1-a': '{"a":1}\n{"a":2}\n{"a":3}\n' };

describe('pipeline summary: Firehose stage', () => {
  it('passes when every accepted record is in S3 under the prefix', async () => {
    const [stage] = await pipelineStages(local({ accepted: 3, delivered: 3, objects: 1 }, three), undefined);
    expect(stage?.ok).toBe(true);
    expect(stage?.text).toMatch(/3 records accepted → 3 delivered in 1 object\(s\); S3 inventory\/: 3 JSON lines in 1 object\(s\) ✔ all there$/);
  });

  it('passes, saying so, when S3 writes failed but their retries got everything there', async () => {
    const [stage] = await pipelineStages(local({ accepted: 3, delivered: 3, objects: 1, s3Failures: 2 }, three), undefined);
    expect(stage?.ok).toBe(true);
    expect(stage?.text).toContain('3 delivered in 1 object(s) (after 2 failed S3 write(s), retried)');
    expect(stage?.text).toMatch(/✔ all there$/);
  });

  it('fails while records are still being retried, though S3 holds everything delivered so far', async () => {
    const stats = { accepted: 5, delivered: 3, objects: 1, s3Failures: 4, retrying: 2 };
    const [stage] = await pipelineStages(local(stats, three), undefined);
    expect(stage?.ok).toBe(false);
    expect(stage?.text).toContain('✘ 2 not delivered: S3 writes failing, still retrying');
    expect(stage?.text).not.toContain('still buffered');
    expect(stage?.text).not.toContain('✔');
    expect(stage?.text).toMatch(/3 JSON lines in 1 object\(s\), matching the 3 delivered$/);
  });

  it('fails when the emulator stopped with records it could not deliver', async () => {
    const stats = { accepted: 4, delivered: 3, objects: 1, s3Failures: 3, undelivered: 1, undeliveredBuffers: 1 };
    const [stage] = await pipelineStages(local(stats, three), undefined);
    expect(stage?.ok).toBe(false);
    expect(stage?.text).toContain('✘ 1 undelivered, lost when the emulator stopped');
  });

  it('fails when records went to the error prefix', async () => {
    const [stage] = await pipelineStages(local({ accepted: 4, delivered: 3, objects: 1, errorOutput: 1 }, three), undefined);
    expect(stage?.ok).toBe(false);
    expect(stage?.text).toContain('✘ 1 to the error prefix');
    expect(stage?.text).not.toContain('✔');
  });

  it('fails when S3 does not hold what was delivered', async () => {
    const [stage] = await pipelineStages(local({ accepted: 3, delivered: 3, objects: 1 }, {}), undefined);
    expect(stage?.ok).toBe(false);
    expect(stage?.text).toMatch(/0 JSON lines in 0 object\(s\) ✘ does not match$/);
  });
});

describe('pipeline summary: Kafka stage', () => {
  /** A runner whose kafka-archiver consumed topic `t` (3 messages), with `objects` in the lake. */
  function kafkaLocal(objects: Record<string, string>, dlqRecordsByTopic: Record<string, number> = {}): Local {
    const spec = {
      name: 'kafka-archiver',
      env: { ARCHIVE_PREFIX: 'bronze/', QUARANTINE_PREFIX: 'quarantine/kafka/', LAKE_BUCKET: { ref: { bucket: 'lake' } } },
      deliveryStreams: [],
    };
    const dlqRecords = Object.values(dlqRecordsByTopic).reduce((a, b) => a + b, 0);
    const source = {
      functionName: 'kafka-archiver',
      topics: ['t'],
      outcomes: [],
      stats: { batches: 1, records: 3, failedAttempts: 0, dlqBatches: dlqRecords ? 1 : 0, dlqRecords, dlqRecordsByTopic },
    };
    return {
      specs: [{ spec }],
      kafkaSources: [source],
      s3: { embedded: {}, client: fakeS3(objects) },
      kafka: { embedded: {} },
      firehose: undefined,
      deliveryStreams: {},
      bucket: (b: string) => b,
    } as unknown as Local;
  }
  const topics = [{ topic: 't', messages: 3, keys: 1 }] as unknown as Parameters<typeof pipelineStages>[1];

  it('reconciles each topic: archived + quarantined + in the DLQ = produced', async () => {
    const archivedTwo = { 'bronze/t/dt=2026-11-29/hour=10/t-0-1-2.jsonl': '{"offset":1}\n{"offset":2}\n' };
    const [, ok] = await pipelineStages(kafkaLocal({ ...archivedTwo, 'quarantine/kafka/t/dt=1970-01-01/hour=00/t-0-0-0.jsonl': '{"offset":0}\n' }), topics);
    expect(ok).toMatchObject({ ok: true, text: expect.stringMatching(/3 produced → 2 archived lines in 1 object\(s\) under s3:\/\/lake\/bronze\/t\/, 1 quarantined under s3:\/\/lake\/quarantine\/kafka\/t\/ ✔ all accounted for$/) });
    const [, viaDlq] = await pipelineStages(kafkaLocal(archivedTwo, { t: 1 }), topics);
    expect(viaDlq).toMatchObject({ ok: true, text: expect.stringMatching(/, 1 in the DLQ ✔ all accounted for$/) });
    // A batch that failed into the DLQ after writing one of its objects: its records count twice.
    const [, overlap] = await pipelineStages(kafkaLocal(archivedTwo, { t: 2 }), topics);
    expect(overlap).toMatchObject({ ok: true, text: expect.stringMatching(/, 2 in the DLQ ✔ all accounted for$/) });
    // The heading names the mapping's topics: one mapping per topic reads apart.
    const [heading] = await pipelineStages(kafkaLocal(archivedTwo), topics);
    expect(heading?.text).toMatch(/^Kafka \(t\) → kafka-archiver: 1 batch\(es\), 3 records/);
    // Nothing produced (the producers had seen it all): not a check passed, and says why.
    const [, idle] = await pipelineStages(kafkaLocal({}), [{ topic: 't', messages: 0, keys: 0 }] as unknown as Parameters<typeof pipelineStages>[1]);
    expect(idle).toMatchObject({ ok: true, text: expect.stringMatching(/0 produced → 0 archived lines .* — nothing produced this run \(see the producers above: .*--fresh forgets them\)$/) });
    expect(idle?.text).not.toContain('✔');
    // A topic that could not be counted has no line to reconcile.
    const uncounted = await pipelineStages(kafkaLocal(archivedTwo), [{ topic: 't', messages: 0, keys: 0, error: 'timed out' }]);
    expect(uncounted).toHaveLength(1);
  });

  it('fails a topic with a record neither archived, quarantined nor in the DLQ', async () => {
    const [, missing] = await pipelineStages(kafkaLocal({ 'bronze/t/dt=2026-11-29/hour=10/t-0-1-2.jsonl': '{"offset":1}\n{"offset":2}\n' }), topics);
    expect(missing).toMatchObject({ ok: false, text: expect.stringMatching(/✘ 1 neither archived, quarantined nor in the DLQ$/) });
  });
});

describe('pipeline summary: rejected records', () => {
  it('counts the records each producer kept under its prefix, an object with a count as that many', async () => {
    const producer = { name: 'rss-producer', env: { REJECTS_BUCKET: { ref: { bucket: 'lake' } }, REJECTS_PREFIX: 'rejected/rss-producer/' }, deliveryStreams: [] };
    const objects = {
      'rejected/rss-producer/a.json': '{"source":"f","reasons":["no title and no link"],"record":{}}\n',
      'rejected/rss-producer/b.json': '{"source":"f","reasons":["malformed XML"],"count":3,"record":null}\n',
      'rejected/rss-producer/c.json': 'not one the function wrote',
      'rejected/other/d.json': '{}',
    };
    const runner = { ...local({}, objects), specs: [{ spec: producer }], firehose: undefined } as unknown as Local;
    expect(await pipelineStages(runner, undefined)).toEqual([
      { ok: true, text: 'rss-producer → rejected records: 5 kept in 3 object(s) under s3://lake/rejected/rss-producer/, each with its reasons' },
    ]);
  });

  it("fails when a producer's runs said they could not keep some of their rejected records", async () => {
    const producer = { name: 'rss-producer', env: { REJECTS_BUCKET: { ref: { bucket: 'lake' } }, REJECTS_PREFIX: 'rejected/rss-producer/' }, deliveryStreams: [] };
    const objects = { 'rejected/rss-producer/a.json': '{"source":"f","reasons":["r"],"record":{}}\n' };
    const runner = { ...local({}, objects), specs: [{ spec: producer }], firehose: undefined } as unknown as Local;
    const reported = rejectsByFunction([
      { functionName: 'rss-producer', result: { rejects: { kept: 1, keptNow: 1, notKept: 0 } } },
      { functionName: 'rss-producer', result: { rejects: { kept: 0, keptNow: 0, notKept: 2 } } },
      { functionName: 'other', result: { totals: {} } },
    ]);
    expect(reported).toEqual({ 'rss-producer': { kept: 1, notKept: 2 } });
    expect(await pipelineStages(runner, undefined, reported)).toEqual([
      { ok: false, text: 'rss-producer → rejected records: 1 kept in 1 object(s) under s3://lake/rejected/rss-producer/, each with its reasons ✘ the runs could not keep 2 (see their logs)' },
    ]);
    expect((await pipelineStages(runner, undefined, { 'rss-producer': { kept: 1, notKept: 0 } }))[0]?.text).toMatch(/ ✔$/);
  });
});
