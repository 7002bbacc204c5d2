import { createServer, type Socket } from 'node:net';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterEach, describe, expect, it } from 'vitest';
import { createDynamoDBClient, createS3Client, parameterClientConfig, sdkHttpHandler } from '../../src/index.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** A TCP endpoint that takes connections and the requests sent on them, and never answers. */
async function silentEndpoint() {
  const sockets = new Set<Socket>();
  const requests = { count: 0 };
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => requests.count++);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  const { port } = server.address() as { port: number };
  return { endpoint: `http://127.0.0.1:${port}`, requests };
}

describe('sdkHttpHandler', () => {
  it('fails an attempt whose response does not come within the request timeout, instead of only warning', async () => {
    const { endpoint, requests } = await silentEndpoint();
    const client = new SSMClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 2, requestHandler: sdkHttpHandler({ connectionTimeoutMs: 1_000, requestTimeoutMs: 300 }) });
    cleanups.push(() => client.destroy());
    const started = performance.now();
    const err = await client.send(new GetParameterCommand({ Name: '/laminar/x' })).catch((e: unknown) => e);
    const took = performance.now() - started;
    expect(err).toMatchObject({ name: 'TimeoutError' });
    expect((err as Error).message).toMatch(/300 ms requestTimeout/);
    // Both attempts, each cut at 300 ms.
    expect(requests.count).toBe(2);
    expect(took).toBeGreaterThanOrEqual(2 * 300 - 50);
    expect(took).toBeLessThan(5_000);
  }, 15_000);

  it('is what the S3, DynamoDB and parameter clients use: every request timeout fails the attempt', async () => {
    const { endpoint } = await silentEndpoint();
    const s3 = createS3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
    const dynamo = createDynamoDBClient({ endpoint, region: 'us-east-1', credentials });
    const ssm = new SSMClient({ endpoint, region: 'us-east-1', credentials, ...parameterClientConfig() });
    cleanups.push(() => s3.destroy(), () => dynamo.destroy(), () => ssm.destroy());
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
  });
});
