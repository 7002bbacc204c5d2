import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { type Local, localDlqName, Scheduler, scheduleEntries, startLocal } from '@laminar/local';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/handler.ts';
import { refuseStore } from './refuse.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
let local: Local;
const at = '2026-11-26T09:15:00.000Z';

beforeAll(async () => {
  // The built bundle, run by the local runner against its Firehose endpoint and embedded S3;
  // Lambda's async retry waits (1 and 2 minutes) scaled down to a fraction of a second.
  local = await startLocal({
    root,
    functions: ['store-inventory'],
    queuesDirectory: false,
    retryDelayScale: 0.001,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
});
afterAll(() => local?.stop());
beforeEach(() => local.firehose?.injectFailures(undefined));

/** Every object Firehose delivered so far, by key: a run that repeats records byte for byte still writes its own objects. */
async function deliveredObjects(): Promise<Map<string, string[]>> {
  await local.firehose?.flush();
  const bucket = local.bucket('lake');
  const objects = new Map<string, string[]>();
  let token: string | undefined;
  do {
    const page = await local.s3?.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'inventory/', ContinuationToken: token }));
    for (const o of page?.Contents ?? []) {
      const body = await local.s3?.client.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
      objects.set(o.Key as string, ((await body?.Body?.transformToString()) ?? '').split('\n').filter(Boolean));
    }
    token = page?.NextContinuationToken;
  } while (token);
  return objects;
}

/** The record ids delivered by what `during` runs (duplicates kept). */
async function idsDelivered(during: () => Promise<unknown>): Promise<string[]> {
  const before = new Set((await deliveredObjects()).keys());
  await during();
  return [...(await deliveredObjects())].filter(([key]) => !before.has(key)).flatMap(([, lines]) => lines.map((l) => JSON.parse(l).record_id as string));
}

describe('a run id in the event', () => {
  it('seeds the records: the same event under two request ids gives the same record_ids; without one, each request its own', async () => {
    const invoke = (event: object, requestId: string) =>
      idsDelivered(async () => {
        const res = await local.invoke('store-inventory', event, { requestId });
        expect(res.error).toBeUndefined();
        expect((res.result as RunResult).runId).toBe('runId' in event ? event.runId : requestId);
      });
    const named = { stores: 2, recordsPerStore: 5, at, runId: 'firing-7bf73129' };
    const first = await invoke(named, 'request-a');
    expect(new Set(first).size).toBe(10);
    expect((await invoke(named, 'request-b')).sort()).toEqual([...first].sort());

    const unnamed = { stores: 2, recordsPerStore: 5, at };
    const c = await invoke(unnamed, 'request-c');
    const d = await invoke(unnamed, 'request-d');
    expect(c).toHaveLength(10);
    expect(c.filter((id) => d.includes(id))).toEqual([]);
    expect(c.filter((id) => first.includes(id))).toEqual([]);
  });

  it('a scheduled firing that failed its retries, replayed from the DLQ as a new request, regenerates the same records', async () => {
    const entry = scheduleEntries(local.specs).find((e) => e.functionName === 'store-inventory');
    if (!entry) throw new Error('store-inventory has no schedule');
    // Firehose refuses store S0002's records on every attempt: the event fails Lambda's retries.
    const refused = refuseStore(local.firehose, 'S0002');
    const scheduler = new Scheduler({ invoker: local.invoker, asyncInvoker: local.asyncInvoker, entries: [entry], region: local.region });
    let run: Awaited<ReturnType<Scheduler['fire']>> | undefined;
    const attempted = await idsDelivered(async () => {
      run = await scheduler.fire(entry, new Date('2026-11-26T10:00:00Z'));
    });
    if (!run) throw new Error('no run');
    // The firing names itself in its event, as the input transformer makes it on AWS.
    expect(run.event).toEqual({ stores: 10, recordsPerStore: 50, runId: expect.stringMatching(/^[0-9a-f-]{36}$/), at: '2026-11-26T10:00:00Z' });
    const { runId } = run.event as { runId: string };
    expect(run.outcome?.status).toBe('failed');
    expect(run.outcome?.attempts).toHaveLength(3);
    expect(refused.size).toBe(50);
    // The error says how to regenerate the run, in the DLQ record as in the log.
    expect(run.outcome?.attempts.at(-1)?.error?.errorMessage).toContain(`an event with runId ${runId} and at 2026-11-26T10:00:00.000Z regenerates these records`);
    // Each attempt delivered the other 450 records, under the same ids.
    expect(attempted).toHaveLength(3 * 450);
    expect(new Set(attempted).size).toBe(450);

    const dlq = local.queues.get(localDlqName('store-inventory'));
    const message = dlq?.messages().find((m) => (m.body as { requestContext?: { requestId?: string } }).requestContext?.requestId === run?.outcome?.requestId);
    const payload = (message?.body as { requestPayload?: unknown } | undefined)?.requestPayload;
    expect(payload).toEqual(run.event);

    // As `laminar dlq replay` does: the event again, under a request id of its own.
    local.firehose?.injectFailures(undefined);
    let replayed: Awaited<ReturnType<Local['invoke']>> | undefined;
    const ids = await idsDelivered(async () => {
      replayed = await local.invoke('store-inventory', payload, { invocationType: 'RequestResponse' });
    });
    expect(replayed?.requestId).not.toBe(run.outcome?.requestId);
    expect(replayed?.result).toMatchObject({ generated: 500, delivered: 500, failed: 0, runId });
    // The refused records arrive at last; the others arrive again under their ids, to be deduplicated.
    expect([...ids].sort()).toEqual([...new Set([...attempted, ...refused])].sort());
  });
});
