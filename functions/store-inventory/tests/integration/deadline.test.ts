import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type FirehoseEmulator, startFirehose } from '@laminar/emulators';
import { lambdaContext } from '@laminar/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateInventory } from '../../src/generate.ts';
import type { DeliveryIncompleteError } from '../../src/handler.ts';

const STREAM = 'inventory-deadline';
const at = '2026-11-26T09:15:00.000Z';
let firehose: FirehoseEmulator;
/**
 * Between the function and the emulator: passes the first FORWARDED calls on and leaves every
 * later one unanswered, so that the run is deterministically still sending its first chunk when
 * the deadline comes, however slow the machine.
 */
let gate: Server;
const FORWARDED = 8;
/** Every record the emulator delivered to S3 (its `deliver`), as text lines. */
const deliveredLines: string[] = [];

beforeAll(async () => {
  firehose = await startFirehose({
    streams: [{ name: STREAM, bucket: 'lake', prefix: 'inventory/', errorOutputPrefix: 'errors/', bufferingSizeMb: 1, bufferingIntervalS: 60 }],
    deliver: async (_bucket, _key, body) => {
      deliveredLines.push(...body.toString('utf8').split('\n').filter(Boolean));
    },
  });
  let calls = 0;
  gate = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      if (++calls > FORWARDED) return;
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length')) as Record<string, string>;
      const out = await fetch(`${firehose.endpoint}${req.url}`, { method: req.method as string, headers, body: Buffer.concat(chunks) });
      res.writeHead(out.status, Object.fromEntries(out.headers));
      res.end(Buffer.from(await out.arrayBuffer()));
    });
  });
  await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
  Object.assign(process.env, {
    AWS_REGION: firehose.region,
    AWS_ENDPOINT_URL_FIREHOSE: `http://127.0.0.1:${(gate.address() as AddressInfo).port}`,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    DELIVERY_STREAM: STREAM,
    POWERTOOLS_SERVICE_NAME: 'store-inventory',
    POWERTOOLS_METRICS_NAMESPACE: 'Test',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
});
afterAll(async () => {
  gate?.closeAllConnections();
  gate?.close();
  await firehose?.stop();
});

describe('a run stopped by its deadline', () => {
  it('names every generated record it did not deliver: the call under way as InDoubt (Firehose may have taken it), the ones never sent as NotSent', async () => {
    // The first chunk's first 4,000 records go through in 8 calls; its 9th call is never answered,
    // so the deadline stops the run while it waits, and the second chunk is never sent.
    const { handler } = await import('../../src/handler.ts');
    // 4 s left: 1 s kept back for cleanup (the runtime's minimum reserve), 3 s to work in.
    const error = (await handler({ stores: 3, recordsPerStore: 4_000, seed: 7, at }, lambdaContext('store-inventory', { remainingMs: 4_000 })).then(
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

    // The first chunk's 9th call was under way when the run stopped: its 500 records are in doubt
    // (Firehose may have taken the call; here the gate never passed it on). The 10th call's 500
    // and the whole second chunk were never sent.
    const inDoubt = failures.filter((f) => f.errorCode === 'InDoubt');
    expect(inDoubt).toHaveLength(500);
    expect(inDoubt.every((f) => f.attempts === 1 && /under way when the run stopped \(stopped before the function timeout/.test(f.errorMessage))).toBe(true);
    expect(error.message).toMatch(/InDoubt ×500.*of which the 500 InDoubt may have arrived/);
    const notSent = failures.filter((f) => f.errorCode === 'NotSent');
    expect(notSent).toHaveLength(5_500);
    expect(notSent.every((f) => f.attempts === 0)).toBe(true);
    expect(notSent.filter((f) => generated.slice(5_000).some((r) => r.record_id === f.recordId))).toHaveLength(5_000);
    expect([...inDoubt, ...notSent].map((f) => f.recordId).sort()).toEqual(generated.slice(4_000).map((r) => r.record_id).sort());
    expect(result.delivered).toBe(4_000);
    expect(result.calls).toBe(FORWARDED + 1);
  });
});
