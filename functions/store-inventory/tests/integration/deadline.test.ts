import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type FirehoseEmulator, startFirehose } from '@laminar/emulators';
import { defaultReserveMs } from '@laminar/runtime';
import { lambdaContext } from '@laminar/runtime/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateInventory } from '../../src/generate.ts';
import type { DeliveryIncompleteError } from '../../src/handler.ts';

const STREAM = 'inventory-deadline';
const at = '2026-11-26T09:15:00.000Z';
let firehose: FirehoseEmulator;
/**
 * Between the function and the emulator: passes the first `forwarded` calls of a run on; the next
 * one it leaves unanswered and brings the deadline on itself (`releaseDeadline`), so the run is
 * stopped while that call is under way — by the call count, not by how fast the machine is.
 */
let gate: Server;
let forwarded = 0;
let gateCalls = 0;
/**
 * The call after which the time left drops to 900 ms (its answer still given in full): the next
 * chunk is generated, and its flush finds the deadline passed before sending anything.
 */
let shortenAfter: number | undefined;
/** What the Lambda context says is left: plenty, until the gate sees the call after `forwarded`. */
const REMAINING_MS = 3_600_000;
let remainingMs = REMAINING_MS;
const STOP_REASON = 'stopped before the function timeout; 900 ms left';
/**
 * The handler's deadline stops the run with a timer set, when the run starts, to the remaining
 * time less the cleanup reserve. `run` holds that timer's callback; the gate calls it, with the
 * remaining time dropped to 900 ms for the reason it gives.
 */
let deadlineTimer: (() => void) | undefined;
function releaseDeadline(): boolean {
  const fire = deadlineTimer;
  if (!fire) return false;
  deadlineTimer = undefined;
  remainingMs = 900;
  fire();
  return true;
}
/** Every record the emulator delivered to S3 (its `deliver`), as text lines. */
const deliveredLines: string[] = [];

beforeAll(async () => {
  firehose = await startFirehose({
    streams: [{ name: STREAM, bucket: 'lake', prefix: 'inventory/', errorOutputPrefix: 'errors/', bufferingSizeMb: 1, bufferingIntervalS: 60 }],
    deliver: async (_bucket, _key, body) => {
      deliveredLines.push(...body.toString('utf8').split('\n').filter(Boolean));
    },
  });
  gate = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      if (++gateCalls > forwarded) {
        // Unanswered, until the deadline's stop aborts it. Without a deadline to release the run
        // would wait here for ever: fail the call, and the test, at once instead.
        if (!releaseDeadline()) res.writeHead(400, { 'x-amzn-errortype': 'GateError' }).end('{"__type":"GateError","message":"no deadline timer to release"}');
        return;
      }
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length')) as Record<string, string>;
      const out = await fetch(`${firehose.endpoint}${req.url}`, { method: req.method as string, headers, body: Buffer.concat(chunks) });
      if (gateCalls === shortenAfter) remainingMs = 900;
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

type Schedule = (callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => ReturnType<typeof setTimeout>;

/** Invokes the handler with `forward` calls let through before the deadline; resolves to its error. */
async function run(event: object, forward: number, shortenTimeAfter?: number): Promise<DeliveryIncompleteError> {
  const { handler } = await import('../../src/handler.ts');
  forwarded = forward;
  shortenAfter = shortenTimeAfter;
  gateCalls = 0;
  remainingMs = REMAINING_MS;
  const deadlineDelay = REMAINING_MS - defaultReserveMs(REMAINING_MS);
  const schedule = globalThis.setTimeout as unknown as Schedule;
  // Every other timer runs as it would; the deadline's is held, and a no-op stands in for it.
  const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((callback, ms, ...args) => {
    if (ms !== deadlineDelay) return schedule(callback, ms, ...args);
    deadlineTimer = callback;
    return schedule(() => {}, 0);
  }) as Schedule as unknown as typeof setTimeout);
  try {
    const context = { ...lambdaContext('store-inventory'), getRemainingTimeInMillis: () => remainingMs };
    return (await handler(event, context).then(
      () => undefined,
      (e: unknown) => e,
    )) as DeliveryIncompleteError;
  } finally {
    spy.mockRestore();
    deadlineTimer = undefined;
  }
}

describe('a run stopped by its deadline', () => {
  it('names every generated record it did not deliver — the call under way InDoubt (Firehose may have taken it), the one after it NotSent — and generates no more', async () => {
    // The first chunk's first 4,000 records go through in 8 calls; during its 9th call the deadline
    // comes, so its 10th is never sent and the second chunk is never generated.
    const error = await run({ stores: 3, recordsPerStore: 4_000, seed: 7, at }, 8);

    expect(error?.name).toBe('DeliveryIncompleteError');
    expect(error.message).toBe(
      `1000 of 5000 records were not delivered to ${STREAM} (InDoubt ×500, NotSent ×500), of which 500 may have arrived (a call that carried them got no response); delivered: 4000; the run was stopped before the other 7000 of the 12000 requested were generated: ${STOP_REASON}`,
    );
    const { result, failures } = error;
    // Only the first chunk of 5,000 was generated; the retry generates all 12,000 again.
    expect(result).toMatchObject({ generated: 5_000, delivered: 4_000, failed: 1_000, calls: 9 });
    expect(failures).toHaveLength(result.failed);

    await firehose.flush();
    const generated = [...generateInventory({ stores: 3, recordsPerStore: 4_000, seed: 7, at: new Date(at) })].slice(0, 5_000);
    const delivered = deliveredLines.splice(0).map((l) => JSON.parse(l).record_id as string);
    expect(delivered).toHaveLength(result.delivered);
    expect(firehose.stats()[STREAM]?.accepted).toBe(result.delivered);
    // Each generated record is delivered or named as failed, never both, never neither.
    const failedIds = failures.map((f) => f.recordId);
    expect([...delivered, ...failedIds].sort()).toEqual(generated.map((r) => r.record_id).sort());
    expect(delivered.sort()).toEqual(generated.slice(0, 4_000).map((r) => r.record_id).sort());

    // The 9th call was under way when the run stopped: its 500 records are in doubt (Firehose may
    // have taken the call; here the gate never passed it on). The 10th call's 500 were never sent.
    const inDoubt = failures.filter((f) => f.errorCode === 'InDoubt');
    expect(inDoubt.map((f) => f.recordId)).toEqual(generated.slice(4_000, 4_500).map((r) => r.record_id));
    const underWay = `its call was under way when the run stopped (${STOP_REASON}): Firehose may have taken it`;
    expect(inDoubt.every((f) => f.attempts === 1 && f.errorMessage === underWay)).toBe(true);
    const notSent = failures.filter((f) => f.errorCode === 'NotSent');
    expect(notSent.map((f) => f.recordId)).toEqual(generated.slice(4_500).map((r) => r.record_id));
    expect(notSent.every((f) => f.attempts === 0 && f.errorMessage === STOP_REASON)).toBe(true);
  });

  it('names a whole chunk generated and not sent NotSent when the deadline has passed by the time it is full', async () => {
    // The first chunk's 10 calls go through; the time left runs out with the 10th, so the second
    // chunk (generated between two awaits) is refused by the flush's deadline check, unsent.
    const error = await run({ stores: 3, recordsPerStore: 4_000, seed: 9, at }, 100, 10);
    expect(error?.name).toBe('DeliveryIncompleteError');
    const { result, failures } = error;
    expect(result).toMatchObject({ generated: 10_000, delivered: 5_000, failed: 5_000, calls: 10, possibleDuplicates: 0 });
    expect(failures).toHaveLength(result.failed);
    const generated = [...generateInventory({ stores: 3, recordsPerStore: 4_000, seed: 9, at: new Date(at) })].slice(0, 10_000);
    expect(failures.map((f) => f.recordId)).toEqual(generated.slice(5_000).map((r) => r.record_id));
    expect(failures.every((f) => f.errorCode === 'NotSent' && f.attempts === 0 && /^stopped sending inventory records: 900 ms left/.test(f.errorMessage))).toBe(true);
    await firehose.flush();
    const delivered = deliveredLines.splice(0).map((l) => JSON.parse(l).record_id as string);
    expect(delivered.sort()).toEqual(generated.slice(0, 5_000).map((r) => r.record_id).sort());
  });

  it('says it was stopped when the stop comes during its last chunk, with every record generated', async () => {
    // One chunk of 3,000 records in 6 calls: the 3rd is under way when the deadline comes.
    const error = await run({ stores: 3, recordsPerStore: 1_000, seed: 8, at }, 2);
    expect(error?.name).toBe('DeliveryIncompleteError');
    expect(error.message).toBe(
      `2000 of 3000 records were not delivered to ${STREAM} (InDoubt ×500, NotSent ×1500), of which 500 may have arrived (a call that carried them got no response); delivered: 1000; the run was stopped: ${STOP_REASON}`,
    );
    expect(error.result).toMatchObject({ generated: 3_000, delivered: 1_000, failed: 2_000, calls: 3 });
    deliveredLines.splice(0);
  });
});
