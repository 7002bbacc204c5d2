import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { NodeHttpHandler } from '@smithy/node-http-handler';
import { type SilentEndpoint, startSilentEndpoint } from '@laminar/emulators';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDynamoDBClient, createS3Client, parameterClientConfig, sdkHttpHandler } from '../../src/index.ts';

// One endpoint that never answers, for every client here; each test destroys its clients.
let silent: SilentEndpoint;
beforeAll(async () => {
  silent = await startSilentEndpoint();
});
afterAll(() => silent?.stop());
const region = 'us-east-1';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

describe('sdkHttpHandler', () => {
  it('fails an attempt whose response does not come within the request timeout, instead of only warning', async () => {
    const client = new SSMClient({ endpoint: silent.url, region, credentials, maxAttempts: 2, requestHandler: sdkHttpHandler({ connectionTimeoutMs: 1_000, requestTimeoutMs: 300 }) });
    const before = silent.connections.count;
    // Without throwOnRequestTimeout the handler only warns (on the console) and the call waits on
    // the silent endpoint for good: the warning stops the call, which then fails below, not hangs.
    const warned = new AbortController();
    const warn = vi.spyOn(console, 'warn').mockImplementation((message: unknown) => {
      if (/requestTimeout/.test(String(message))) warned.abort(new Error(`only warned: ${String(message)}`));
    });
    const started = performance.now();
    const err = await client.send(new GetParameterCommand({ Name: '/laminar/x' }), { abortSignal: warned.signal }).catch((e: unknown) => e);
    const took = performance.now() - started;
    warn.mockRestore();
    client.destroy();
    // The handler's own error: its 300 ms timer failed the attempt.
    expect(err).toMatchObject({ name: 'TimeoutError' });
    expect((err as Error).message).toMatch(/300 ms requestTimeout/);
    // Both attempts, each cut at 300 ms (a timed-out request's socket is destroyed: one connection each).
    expect(silent.connections.count - before).toBe(2);
    // The timer fires no sooner than 300 ms after each attempt went out, however loaded the
    // machine: the two took at least that (less a timer's rounding).
    expect(took).toBeGreaterThanOrEqual(2 * 300 - 50);
  }, 15_000);

  it('a call may give itself a longer or shorter request timeout than its client\'s', async () => {
    const s3 = createS3Client({ endpoint: silent.url, region, forcePathStyle: true, credentials });
    const err = await s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' }), { requestTimeout: 200 }).catch((e: unknown) => e);
    s3.destroy();
    expect(err).toMatchObject({ name: 'TimeoutError' });
    expect((err as Error).message).toMatch(/200 ms requestTimeout/);
  }, 15_000);

  it('configures the S3, DynamoDB and parameter clients with it: request timeouts that fail the attempt', async () => {
    const endpoint = silent.url;
    const s3 = createS3Client({ endpoint, region, forcePathStyle: true, credentials });
    const dynamo = createDynamoDBClient({ endpoint, region, credentials });
    const ssm = new SSMClient({ endpoint, region, credentials, ...parameterClientConfig() });
    // A handler reads its settings with its first request.
    const quick = { abortSignal: AbortSignal.timeout(100) };
    await Promise.all([
      s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' }), quick).catch(() => {}),
      dynamo.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'k' } } }), quick).catch(() => {}),
      ssm.send(new GetParameterCommand({ Name: '/laminar/x' }), quick).catch(() => {}),
    ]);
    const configOf = (client: { config: { requestHandler: unknown } }) => (client.config.requestHandler as NodeHttpHandler).httpHandlerConfigs();
    expect(configOf(s3)).toMatchObject({ connectionTimeout: 3_000, requestTimeout: 30_000, throwOnRequestTimeout: true });
    expect(configOf(dynamo)).toMatchObject({ connectionTimeout: 2_000, requestTimeout: 5_000, throwOnRequestTimeout: true });
    expect(configOf(ssm)).toMatchObject({ connectionTimeout: 2_000, requestTimeout: 5_000, throwOnRequestTimeout: true });
    expect(await ssm.config.maxAttempts()).toBe(3);
    for (const client of [s3, dynamo, ssm]) client.destroy();
  });
});
