import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import type { NodeHttpHandler } from '@smithy/node-http-handler';
import { startSilentEndpoint } from '@laminar/emulators';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createFirehoseClient } from '../../src/client.ts';
import { putRecords } from '../../src/put-records.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * A port that is listened on and never accepted from: a child process listens (backlog 1) and then
 * blocks its event loop, so the kernel's accept queue fills and later handshakes go unanswered.
 */
async function unacceptingListener(): Promise<{ port: number; stop: () => void }> {
  const script = `const server = require('node:net').createServer();
server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  process.stdout.write(server.address().port + '\\n', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000));
});`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    child.once('error', reject);
  });
  return { port, stop: () => child.kill('SIGKILL') };
}

async function silentEndpoint() {
  const silent = await startSilentEndpoint();
  cleanups.push(() => silent.stop());
  return { endpoint: silent.url, requests: silent.requests, connections: silent.connections };
}

/**
 * An HTTP server that answers each call with `answer(call, req, res)`: Firehose as far as the
 * response's bytes go, so that the SDK reads (or fails to read) a real one.
 */
async function answeringEndpoint(answer: (call: number, req: IncomingMessage, res: ServerResponse) => void) {
  let calls = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(++calls, req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  );
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls: () => calls };
}

/** A 200 whose body stops after its first bytes (the whole would be 500): Firehose took the call. */
function cutAnswer(res: ServerResponse, then: () => void): void {
  res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': '500' });
  res.write('{"FailedPutCount":0,', then);
}

const fullAnswer = (res: ServerResponse, records: number) => {
  const body = JSON.stringify({ FailedPutCount: 0, RequestResponses: Array.from({ length: records }, (_, i) => ({ RecordId: `r${i}` })) });
  res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': String(Buffer.byteLength(body)) }).end(body);
};

describe('createFirehoseClient', () => {
  it('counts a call whose 200 answer was cut mid-body as one Firehose took: its records sent again are possible duplicates', async () => {
    const { endpoint, calls } = await answeringEndpoint((call, req, res) => (call !== 2 ? cutAnswer(res, () => setTimeout(() => req.socket.destroy(), 50)) : fullAnswer(res, 2)));
    const client = createFirehoseClient({ endpoint, region: 'us-east-1', credentials });
    cleanups.push(() => client.destroy());
    const result = await putRecords([Buffer.from('a\n'), Buffer.from('b\n')], { client, deliveryStreamName: 'events', sleep: async () => {} });
    expect(calls()).toBe(2);
    expect(result).toMatchObject({ delivered: 2, possibleDuplicates: 2, failed: [] });

    // With no attempt left, the records are in doubt, not failed as if Firehose had refused them.
    const once = await putRecords([Buffer.from('a\n')], { client, deliveryStreamName: 'events', maxAttempts: 1, sleep: async () => {} });
    expect(calls()).toBe(3);
    expect(once.failed).toEqual([expect.objectContaining({ errorCode: 'InDoubt', attempts: 1, mayHaveArrived: true })]);
  });

  it('fails a call whose answer stalls after its headers within the request timeout, in doubt: it does not wait for the run to stop', async () => {
    const { endpoint } = await answeringEndpoint((_call, _req, res) => cutAnswer(res, () => undefined));
    const client = createFirehoseClient({ endpoint, region: 'us-east-1', credentials, requestTimeoutMs: 300 });
    cleanups.push(() => client.destroy());
    // The run's stop, well past the timeout: without the socket timeout the call waits for it.
    const result = await putRecords([Buffer.from('a\n')], { client, deliveryStreamName: 'events', maxAttempts: 1, signal: AbortSignal.timeout(10_000), sleep: async () => {} });
    expect(result.failed).toEqual([
      expect.objectContaining({ errorCode: 'InDoubt', errorMessage: expect.stringMatching(/^its call got no response \(TimeoutError: .*300 ms of inactivity.*\): Firehose may have taken it$/s), mayHaveArrived: true }),
    ]);
  }, 20_000);

  it('fails a call that gets no answer within its request timeout, as a transient error: its records are in doubt, not stuck', async () => {
    const { endpoint, requests, connections } = await silentEndpoint();
    const client = createFirehoseClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1, requestTimeoutMs: 300 });
    cleanups.push(() => client.destroy());
    // Without throwOnRequestTimeout the handler only warns (on the console) and the call waits on
    // the silent endpoint for good: the warning stops the run, which then fails below, not hangs.
    const warned = new AbortController();
    vi.spyOn(console, 'warn').mockImplementation((message: unknown) => {
      if (/requestTimeout/.test(String(message))) warned.abort(new Error(`only warned: ${String(message)}`));
    });
    const started = performance.now();
    const result = await putRecords([Buffer.from('a\n'), Buffer.from('b\n')], { client, deliveryStreamName: 'events', maxAttempts: 2, signal: warned.signal, sleep: async () => {} });
    const took = performance.now() - started;
    // Two rounds (the timeout is transient: putRecords tries again), each sent, then cut by the
    // handler's 300 ms timer, with its own error (below). A timed-out request's socket is
    // destroyed: one connection each. The timer fires no sooner than 300 ms after each request went
    // out, however loaded the machine, so the two took at least that (less a timer's rounding).
    expect(requests.count).toBeGreaterThanOrEqual(2);
    expect(connections.count).toBe(2);
    expect(took).toBeGreaterThanOrEqual(2 * 300 - 50);
    expect(result.calls).toBe(2);
    expect(result.delivered).toBe(0);
    expect(result.failed).toHaveLength(2);
    for (const f of result.failed) {
      expect(f).toMatchObject({ errorCode: 'InDoubt', attempts: 2 });
      expect(f.errorMessage).toMatch(/^its call got no response \(TimeoutError: .*300 ms requestTimeout.*\): Firehose may have taken it$/);
    }
  }, 15_000);

  it('does not count a call whose connection was never made (connect timed out) as one Firehose may have taken', async () => {
    const listener = await unacceptingListener();
    cleanups.push(listener.stop);
    // Fill its accept queue: the kernel then answers no more handshakes, so the client's connection
    // neither fails nor opens, and its connect timeout ends it.
    const fillers: Socket[] = [];
    cleanups.push(() => {
      for (const f of fillers) f.destroy();
    });
    for (let i = 0; i < 4; i++) fillers.push(connect({ port: listener.port, host: '127.0.0.1' }).on('error', () => undefined));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const client = createFirehoseClient({ endpoint: `http://127.0.0.1:${listener.port}`, region: 'us-east-1', credentials, maxAttempts: 1, connectionTimeoutMs: 300 });
    cleanups.push(() => client.destroy());
    const result = await putRecords([Buffer.from('a\n'), Buffer.from('b\n')], { client, deliveryStreamName: 'events', maxAttempts: 1, sleep: async () => {} });
    expect(result.delivered).toBe(0);
    expect(result.possibleDuplicates).toBe(0);
    expect(result.failed).toHaveLength(2);
    for (const f of result.failed) {
      // The handler's own words: this is the connect timeout, not another failure.
      expect(f).toEqual({ index: expect.any(Number), errorCode: 'TimeoutError', errorMessage: expect.stringMatching(/did not establish a connection/), attempts: 1 });
    }
  }, 15_000);

  it('sets a 3 s connect and a 10 s request timeout by default, the latter failing the request rather than warning, and leaves retries to putRecords', async () => {
    const { endpoint } = await silentEndpoint();
    const client = createFirehoseClient({ endpoint, region: 'us-east-1', credentials });
    cleanups.push(() => client.destroy());
    // The handler reads its settings with its first request.
    await client.send(new PutRecordBatchCommand({ DeliveryStreamName: 'events', Records: [{ Data: Buffer.from('a') }] }), { abortSignal: AbortSignal.timeout(100) }).catch(() => {});
    const handler = client.config.requestHandler as NodeHttpHandler;
    expect(handler.httpHandlerConfigs()).toMatchObject({ connectionTimeout: 3_000, requestTimeout: 10_000, socketTimeout: 10_000, throwOnRequestTimeout: true });
    // putRecords makes the retries, and so sees which calls went unanswered: the SDK's own would hide them.
    expect(await client.config.maxAttempts()).toBe(1);
  });
});
