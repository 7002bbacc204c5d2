import { PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import type { NodeHttpHandler } from '@smithy/node-http-handler';
import { startSilentEndpoint } from '@laminar/emulators';
import { afterEach, describe, expect, it } from 'vitest';
import { createFirehoseClient } from '../../src/client.ts';
import { putRecords } from '../../src/put-records.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

async function silentEndpoint() {
  const silent = await startSilentEndpoint();
  cleanups.push(() => silent.stop());
  return { endpoint: silent.url, requests: silent.requests };
}

describe('createFirehoseClient', () => {
  it('fails a call that gets no answer within its request timeout, as a transient error: its records are in doubt, not stuck', async () => {
    const { endpoint, requests } = await silentEndpoint();
    const client = createFirehoseClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1, requestTimeoutMs: 300 });
    cleanups.push(() => client.destroy());
    const started = performance.now();
    const result = await putRecords([Buffer.from('a\n'), Buffer.from('b\n')], { client, deliveryStreamName: 'events', maxAttempts: 2, sleep: async () => {} });
    const took = performance.now() - started;
    // Two rounds (the timeout is transient: putRecords tries again), each cut at 300 ms.
    expect(requests.count).toBeGreaterThanOrEqual(2);
    expect(took).toBeGreaterThanOrEqual(2 * 300 - 50);
    expect(took).toBeLessThan(5_000);
    expect(result.calls).toBe(2);
    expect(result.delivered).toBe(0);
    expect(result.failed).toHaveLength(2);
    for (const f of result.failed) {
      expect(f).toMatchObject({ errorCode: 'InDoubt', attempts: 2 });
      expect(f.errorMessage).toMatch(/^its call got no response \(TimeoutError: .*300 ms requestTimeout.*\): Firehose may have taken it$/);
    }
  }, 15_000);

  it('sets a 3 s connect and a 10 s request timeout by default, the latter failing the request rather than warning, and leaves retries to putRecords', async () => {
    const { endpoint } = await silentEndpoint();
    const client = createFirehoseClient({ endpoint, region: 'us-east-1', credentials });
    cleanups.push(() => client.destroy());
    // The handler reads its settings with its first request.
    await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'events', Records: [{ Data: Buffer.from('a') }] }), { abortSignal: AbortSignal.timeout(100) }).catch(() => {});
    const handler = client.config.requestHandler as NodeHttpHandler;
    expect(handler.httpHandlerConfigs()).toMatchObject({ connectionTimeout: 3_000, requestTimeout: 10_000, throwOnRequestTimeout: true });
    // putRecords makes the retries, and so sees which calls went unanswered: the SDK's own would hide them.
    expect(await client.config.maxAttempts()).toBe(1);
  });
});
