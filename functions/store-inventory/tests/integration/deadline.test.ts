import { type FirehoseEmulator, startFirehose } from '@laminar/emulators';
import { lambdaContext } from '@laminar/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateInventory } from '../../src/generate.ts';
import type { DeliveryIncompleteError } from '../../src/handler.ts';

const STREAM = 'inventory-deadline';
const at = '2026-11-26T09:15:00.000Z';
let firehose: FirehoseEmulator;
/** Every record the emulator delivered to S3 (its `deliver`), as text lines. */
const deliveredLines: string[] = [];

beforeAll(async () => {
  firehose = await startFirehose({
    streams: [{ name: STREAM, bucket: 'lake', prefix: 'inventory/', errorOutputPrefix: 'errors/', bufferingSizeMb: 1, bufferingIntervalS: 60 }],
    deliver: async (_bucket, _key, body) => {
      deliveredLines.push(...body.toString('utf8').split('\n').filter(Boolean));
    },
  });
  Object.assign(process.env, {
    AWS_REGION: firehose.region,
    AWS_ENDPOINT_URL_FIREHOSE: firehose.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    DELIVERY_STREAM: STREAM,
    // Enough attempts that the refused records are still being retried when the deadline comes.
    MAX_ATTEMPTS: '10',
    POWERTOOLS_SERVICE_NAME: 'store-inventory',
    POWERTOOLS_METRICS_NAMESPACE: 'Test',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
});
afterAll(() => firehose?.stop());

describe('a run stopped by its deadline', () => {
  it('names every generated record it did not deliver: the retried ones with their last reason, the ones never sent as NotSent', async () => {
    // Store S0002 is refused for as long as it is sent: its records keep the first chunk
    // retrying (backing off) until the deadline stops it, and the second chunk is never sent.
    firehose.injectFailures((_stream, record) =>
      record.toString().includes('"store_id":"S0002"') ? { code: 'ServiceUnavailableException', message: 'Slow down.' } : undefined,
    );
    const { handler } = await import('../../src/handler.ts');
    // 2 s left: 1 s kept back for cleanup (the runtime's minimum reserve), 1 s to work in.
    const error = (await handler({ stores: 3, recordsPerStore: 4_000, seed: 7, at }, lambdaContext('store-inventory', { remainingMs: 2_000 })).then(
      () => undefined,
      (e: unknown) => e,
    )) as DeliveryIncompleteError;

    expect(error?.name).toBe('DeliveryIncompleteError');
    expect(error.message).toMatch(/stopped before the rest were generated: /);
    const { result, failures } = error;
    // Two chunks of 5,000 were generated (the first sent, the second stopped before it was); the
    // run's last 2,000 records never were, and the retry generates all 12,000 again.
    expect(result.generated).toBe(10_000);
    expect(result.delivered + result.failed).toBe(result.generated);
    expect(failures).toHaveLength(result.failed);

    await firehose.flush();
    const generated = [...generateInventory({ stores: 3, recordsPerStore: 4_000, seed: 7, at: new Date(at) })].slice(0, 10_000);
    const delivered = deliveredLines.map((l) => JSON.parse(l).record_id as string);
    expect(delivered).toHaveLength(result.delivered);
    expect(firehose.stats()[STREAM]?.accepted).toBe(result.delivered);
    // Each generated record is delivered or named as failed, never both, never neither.
    const failedIds = failures.map((f) => f.recordId);
    expect(new Set([...delivered, ...failedIds]).size).toBe(10_000);
    expect([...delivered, ...failedIds].sort()).toEqual(generated.map((r) => r.record_id).sort());

    const notSent = failures.filter((f) => f.errorCode === 'NotSent');
    expect(notSent.map((f) => f.recordId)).toEqual(generated.slice(5_000).map((r) => r.record_id));
    expect(notSent.every((f) => f.attempts === 0)).toBe(true);
    // The first chunk's refused records carry the reason they were last refused with.
    const refused = failures.filter((f) => f.errorCode !== 'NotSent');
    expect(refused.length).toBeGreaterThanOrEqual(1_000);
    for (const f of refused) {
      expect(generated.findIndex((r) => r.record_id === f.recordId)).toBeLessThan(5_000);
      expect(f.attempts).toBeGreaterThanOrEqual(f.errorCode === 'ServiceUnavailableException' ? 1 : 0);
    }
    expect(refused.filter((f) => f.errorCode === 'ServiceUnavailableException').length).toBeGreaterThanOrEqual(1_000);
    expect(delivered.every((id) => generated.findIndex((r) => r.record_id === id) < 5_000)).toBe(true);
  });
});
