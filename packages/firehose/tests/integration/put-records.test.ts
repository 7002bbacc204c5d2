import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type FirehoseEmulator, startFirehose } from '@laminar/emulators';
import { afterEach, describe, expect, it } from 'vitest';
import { createFirehoseClient } from '../../src/client.ts';
import { putRecords } from '../../src/put-records.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const records = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from(`${i}\n`));
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

async function emulator(): Promise<FirehoseEmulator> {
  const fh = await startFirehose({
    streams: [{ name: 'events', bucket: 'lake', prefix: 'raw/', errorOutputPrefix: 'errors/', bufferingSizeMb: 64, bufferingIntervalS: 900 }],
    deliver: async () => {},
  });
  cleanups.push(() => fh.stop());
  return fh;
}

/**
 * A real TCP endpoint in front of the emulator that resets the connection of every request `drop`
 * picks, after reading it whole (so the request did reach a server), and passes the others on.
 * `drop` sees the first record's text, which tells the calls apart.
 */
async function droppingProxy(fh: FirehoseEmulator, drop: (firstRecord: string) => boolean) {
  const seen = { dropped: 0, passed: 0 };
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const input = JSON.parse(body.toString('utf8') || '{}') as { Records?: { Data?: string }[] };
      if (drop(Buffer.from(input.Records?.[0]?.Data ?? '', 'base64').toString())) {
        seen.dropped++;
        req.socket.resetAndDestroy();
        return;
      }
      seen.passed++;
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length')) as Record<string, string>;
      const out = await fetch(`${fh.endpoint}${req.url}`, { method: req.method as string, headers, body });
      res.writeHead(out.status, Object.fromEntries(out.headers));
      res.end(Buffer.from(await out.arrayBuffer()));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  const client = createFirehoseClient({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, region: fh.region, credentials });
  cleanups.push(() => client.destroy());
  return { client, seen };
}

describe('putRecords against the emulator, over connections that break', () => {
  it('backs off and sends again in another round when a connection is reset without a response', async () => {
    const fh = await emulator();
    let dropping = true;
    const { client, seen } = await droppingProxy(fh, () => dropping);
    let backoffs = 0;
    const result = await putRecords(records(700), {
      client,
      deliveryStreamName: 'events',
      // Counts the rounds, and lets the connections through from the second on.
      sleep: async () => {
        backoffs++;
        dropping = false;
      },
    });
    // The first call's connection was reset on every one of the SDK's own attempts.
    expect(seen.dropped).toBeGreaterThan(0);
    expect(backoffs).toBe(1);
    expect(result).toMatchObject({ records: 700, delivered: 700, failed: [], calls: 3 });
    expect(fh.stats().events).toMatchObject({ calls: 2, accepted: 700 });
  });

  it('names a call that got no response InDoubt and the records no call carried NotSent, every record accounted for', async () => {
    const fh = await emulator();
    // The second batch (records 500–999) never gets an answer; the first passes.
    const { client, seen } = await droppingProxy(fh, (first) => first === '500\n');
    const stop = new AbortController();
    let backoffs = 0;
    const result = await putRecords(records(1_200), {
      client,
      deliveryStreamName: 'events',
      signal: stop.signal,
      // The second backoff is where the run is stopped: by then the second batch has failed twice.
      sleep: async () => {
        if (++backoffs < 2) return;
        stop.abort(new Error('stopped before the function timeout; 900 ms left'));
        throw stop.signal.reason;
      },
    });
    expect(backoffs).toBe(2);
    expect(seen.passed).toBe(1);
    expect(result.calls).toBe(3);
    expect(result.delivered).toBe(500);
    expect(result.delivered + result.failed.length).toBe(result.records);
    expect(fh.stats().events?.accepted).toBe(result.delivered);
    const inDoubt = result.failed.filter((f) => f.errorCode === 'InDoubt');
    expect(inDoubt.map((f) => f.index)).toEqual(Array.from({ length: 500 }, (_, i) => 500 + i));
    expect(inDoubt.every((f) => f.attempts === 2 && /^its call got no response \(.+\): Firehose may have taken it$/.test(f.errorMessage))).toBe(true);
    const notSent = result.failed.filter((f) => f.errorCode === 'NotSent');
    expect(notSent.map((f) => f.index)).toEqual(Array.from({ length: 200 }, (_, i) => 1_000 + i));
    expect(notSent.every((f) => f.attempts === 0 && f.errorMessage === 'stopped before the function timeout; 900 ms left')).toBe(true);
  });

  it('makes no call once the signal is aborted: every record NotSent, none in doubt', async () => {
    const fh = await emulator();
    const client = createFirehoseClient({ endpoint: fh.endpoint, region: fh.region, credentials });
    cleanups.push(() => client.destroy());
    const result = await putRecords(records(700), {
      client,
      deliveryStreamName: 'events',
      signal: AbortSignal.abort(new Error('stopped before the function timeout; 0 ms left')),
    });
    expect(fh.stats().events?.calls).toBe(0);
    expect(result).toMatchObject({ records: 700, delivered: 0, calls: 0, sent: 0, recordsPerCall: 0 });
    expect(result.failed).toHaveLength(700);
    expect(result.failed.every((f) => f.errorCode === 'NotSent' && f.attempts === 0 && f.errorMessage === 'stopped before the function timeout; 0 ms left')).toBe(true);
  });
});
