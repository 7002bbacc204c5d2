import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { type Local, startLocal } from '@laminar/local';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateInventory } from '../../src/generate.ts';
import type { RunResult } from '../../src/handler.ts';
import { refuseStore } from './refuse.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
let local: Local;
const at = '2026-11-26T09:15:00.000Z';

beforeAll(async () => {
  // The built bundle, run by the local runner against its Firehose endpoint and embedded S3.
  local = await startLocal({ root, functions: ['store-inventory'], queuesDirectory: false, env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
});
afterAll(() => local?.stop());
beforeEach(() => {
  local.firehose?.injectFailures(undefined);
  local.firehose?.injectCallFailure(undefined);
});

async function deliveredLines(): Promise<string[]> {
  await local.firehose?.flush();
  const bucket = local.bucket('lake');
  const page = await local.s3?.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'inventory/' }));
  const lines: string[] = [];
  for (const o of page?.Contents ?? []) {
    expect(o.Key).toMatch(/^inventory\/year=\d{4}\/month=\d{2}\/day=\d{2}\/hour=\d{2}\/laminar-local-store-inventory-1-\d{4}(-\d{2}){5}-[0-9a-f-]{36}$/);
    const body = await local.s3?.client.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
    lines.push(...((await body?.Body?.transformToString()) ?? '').split('\n').filter(Boolean));
  }
  return lines;
}

describe('store-inventory → Firehose → S3', () => {
  it('delivers exactly the seeded records as JSON Lines in Firehose’s layout, retrying the entries Firehose refused', async () => {
    const before = new Set(await deliveredLines());
    // Every 7th record is refused on its first attempt: only those are sent again.
    const seen = new Set<string>();
    local.firehose?.injectFailures((_stream, record) => {
      const text = record.toString();
      if (seen.has(text) || text.length % 7 !== 0) return undefined;
      seen.add(text);
      return { code: 'ServiceUnavailableException', message: 'Slow down.' };
    });
    const res = await local.invoke('store-inventory', { stores: 6, recordsPerStore: 150, seed: 11, at });
    expect(res.error).toBeUndefined();
    const result = res.result as RunResult;
    expect(seen.size).toBeGreaterThan(0);
    expect(result).toMatchObject({ generated: 900, delivered: 900, failed: 0 });
    expect(result.calls).toBe(3);

    const expected = [...generateInventory({ stores: 6, recordsPerStore: 150, seed: 11, at: new Date(at) })].map((r) => JSON.stringify(r));
    const lines = (await deliveredLines()).filter((l) => !before.has(l));
    expect(lines.sort()).toEqual(expected.sort());
  });

  it('outlasts whole calls throttled four times over, and delivers every record once', async () => {
    const before = new Set(await deliveredLines());
    // Throttled as Firehose throttles (ServiceUnavailableException, 503): the first four calls. The
    // client makes one attempt per call, so each is a round of putRecords, which backs off.
    let throttled = 0;
    local.firehose?.injectCallFailure(() => {
      if (throttled === 4) return undefined;
      throttled++;
      return { code: 'ServiceUnavailableException', status: 503, message: 'Slow down.' };
    });
    const res = await local.invoke('store-inventory', { stores: 4, recordsPerStore: 150, seed: 13, at });
    expect(res.error).toBeUndefined();
    expect(throttled).toBe(4);
    const result = res.result as RunResult;
    expect(result).toMatchObject({ generated: 600, delivered: 600, failed: 0 });
    // 600 records are two calls (500 + 100): the first was throttled as a whole four times (the 100
    // waiting behind it, not sent), then both went.
    expect(result.calls).toBe(6);

    const expected = [...generateInventory({ stores: 4, recordsPerStore: 150, seed: 13, at: new Date(at) })].map((r) => JSON.stringify(r));
    const lines = (await deliveredLines()).filter((l) => !before.has(l));
    expect(lines.sort()).toEqual(expected.sort());
  });

  it('reports records Firehose keeps refusing, by id, and fails the invocation; the others are delivered', async () => {
    const before = new Set(await deliveredLines());
    // The emulator's counters live as long as the runner, so earlier tests' refusals are in them:
    // only the change over this invocation is this run's.
    const statsBefore = local.firehose?.stats()['laminar-local-store-inventory'];
    local.firehose?.injectFailures((_stream, record) => (record.toString().includes('"store_id":"S0002"') ? { code: 'InternalFailure', message: 'broken' } : undefined));
    const res = await local.invoke('store-inventory', { stores: 3, recordsPerStore: 10, seed: 5, at });
    expect(res.error?.errorType).toBe('DeliveryIncompleteError');
    expect(res.error?.errorMessage).toMatch(/^10 of 30 records were not delivered to laminar-local-store-inventory \(InternalFailure ×10\)/);
    const stats = local.firehose?.stats()['laminar-local-store-inventory'];
    // S0002's 10 records are refused on each of MAX_ATTEMPTS' default 4 attempts; the other 20 are taken on the first.
    expect((stats?.failed ?? 0) - (statsBefore?.failed ?? 0)).toBe(40);
    expect((stats?.accepted ?? 0) - (statsBefore?.accepted ?? 0)).toBe(20);

    // Every record accounted for: the 20 of S0001 and S0003 are in S3, S0002's 10 are named in the error and absent.
    const generated = [...generateInventory({ stores: 3, recordsPerStore: 10, seed: 5, at: new Date(at) })].map((r) => JSON.stringify(r));
    const refused = generated.filter((l) => l.includes('"store_id":"S0002"'));
    expect(refused).toHaveLength(10);
    const lines = (await deliveredLines()).filter((l) => !before.has(l));
    expect(lines.sort()).toEqual(generated.filter((l) => !refused.includes(l)).sort());
  });

  it('a retry of the same event (same request id, no seed) generates the same records, so the refused ones arrive', async () => {
    const refused = refuseStore(local.firehose, 'S0002');
    const first = await local.invoke('store-inventory', { stores: 3, recordsPerStore: 4, at }, { requestId: 'retried-event-1' });
    expect(first.error?.errorType).toBe('DeliveryIncompleteError');
    local.firehose?.injectFailures(undefined);
    const before = new Set(await deliveredLines());
    const retry = await local.invoke('store-inventory', { stores: 3, recordsPerStore: 4, at }, { requestId: 'retried-event-1' });
    expect(retry.result).toMatchObject({ generated: 12, delivered: 12, failed: 0 });
    const ids = (await deliveredLines()).filter((l) => !before.has(l)).map((l) => JSON.parse(l).record_id as string);
    expect(refused.size).toBe(4);
    for (const id of refused) expect(ids).toContain(id);
  });

  it('refuses a run beyond its bounds with the reason, sending nothing', async () => {
    const calls = local.firehose?.stats()['laminar-local-store-inventory']?.calls;
    const res = await local.invoke('store-inventory', { stores: 0 });
    expect(res.error?.errorType).toBe('InputValidationError');
    expect(local.firehose?.stats()['laminar-local-store-inventory']?.calls).toBe(calls);
  });
});
