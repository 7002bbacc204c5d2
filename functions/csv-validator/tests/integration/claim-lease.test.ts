import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DeleteItemCommand, type DynamoDBClient, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createDynamoDBClient, createS3Client, ensureTable, type S3ObjectRef } from '@laminar/aws';
import { type DynamoEmulator, type S3Emulator, startDynamoDB, startS3 } from '@laminar/emulators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeasedDynamoDBPersistenceLayer } from '../../src/claim-lease.ts';
import { PoisonFileError } from '../../src/outcome.ts';
import { createProcessor, type ObjectOutcome, type ProcessorDeps } from '../../src/processor.ts';
import type { ValidationResult } from '../../src/validate.ts';

// In-progress claims as leases (claim-lease.ts), against the embedded S3 and DynamoDB: renewed
// while the work goes on, lapsing soon after a crash so that the retry finishes the file.
const BUCKET = 'lake';
const HEADER = 'order_id,customer_id,customer_name,order_date,status,currency,quantity,unit_price,amount,country,email';
const CRASH_FIXTURE = fileURLToPath(new URL('./fixtures/crash-mid-file.ts', import.meta.url));

let s3: S3Emulator;
let dynamo_: DynamoEmulator;
let client: S3Client;
let db: DynamoDBClient;
let tables = 0;

beforeAll(async () => {
  [s3, dynamo_] = await Promise.all([startS3({ buckets: [BUCKET] }), startDynamoDB()]);
  client = createS3Client({ region: s3.region, endpoint: s3.endpoint, credentials: s3.credentials, forcePathStyle: true });
  db = createDynamoDBClient({ region: dynamo_.region, endpoint: dynamo_.endpoint, credentials: dynamo_.credentials });
});
afterAll(async () => {
  client?.destroy();
  db?.destroy();
  await Promise.all([s3?.stop(), dynamo_?.stop()]);
});

/** A table of its own per test: its one claim is the item the test looks at. */
async function freshTable(): Promise<string> {
  const table = `claims-${++tables}`;
  await ensureTable(db, table, 'idempotency');
  return table;
}

const config = (table: string): ProcessorDeps['config'] => ({
  LAKE_BUCKET: BUCKET,
  SILVER_PREFIX: 'silver/',
  QUARANTINE_PREFIX: 'quarantine/',
  IDEMPOTENCY_TABLE: table,
  IDEMPOTENCY_EXPIRY_SECONDS: 3600,
});

function processor(table: string, options: { s3?: S3Client; dynamo?: DynamoDBClient; claimLeaseMs?: number; remainingMs?: number } = {}) {
  const p = createProcessor({
    s3: options.s3 ?? client,
    dynamo: options.dynamo ?? db,
    config: config(table),
    ...(options.claimLeaseMs ? { claimLeaseMs: options.claimLeaseMs } : {}),
  });
  const deadline = Date.now() + (options.remainingMs ?? 60_000);
  p.registerLambdaContext({ getRemainingTimeInMillis: () => deadline - Date.now() } as never);
  // The deadline as the processor sees it, for tests that bound a claim by it.
  return Object.assign(p, { deadline });
}

const warnings: string[] = [];
/**
 * The warnings other than failed renewals: a renewal slowed past its quarter lease (a loaded
 * machine) is one more of those, not a failure of what a test shows.
 */
const besidesFailedRenewals = () => warnings.filter((w) => !/could not renew the claim/.test(w));
/** Each warning's details, as logged (its error as a string). */
const warningDetails: string[] = [];
const scope = (requestId: string) => ({
  requestId,
  checkDeadline: () => undefined,
  warn: (message: string, detail?: Record<string, unknown>) => {
    warnings.push(message);
    warningDetails.push(JSON.stringify(detail ?? {}));
  },
});

/** An S3 client whose downloads start only after `ms`: work that outlasts leases. */
function slowS3(ms: number): S3Client {
  const slow = createS3Client({ region: s3.region, endpoint: s3.endpoint, credentials: s3.credentials, forcePathStyle: true });
  slow.middlewareStack.add(
    (next, context) => async (input) => {
      if (context.commandName === 'GetObjectCommand') await sleep(ms);
      return next(input);
    },
    { step: 'initialize', name: 'slowDownload' },
  );
  return slow;
}

/** A DynamoDB client that counts the lease renewals it sends (and may interfere with them). */
function renewalClient(interfere?: (n: number, send: () => Promise<unknown>) => Promise<unknown>): { dynamo: DynamoDBClient; renewals: () => number } {
  let renewals = 0;
  const dynamo = createDynamoDBClient({ region: dynamo_.region, endpoint: dynamo_.endpoint, credentials: dynamo_.credentials });
  dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      const renewal = context.commandName === 'UpdateItemCommand' && (args.input as { UpdateExpression?: string }).UpdateExpression === 'SET #until = :until';
      if (!renewal) return next(args);
      renewals++;
      return interfere ? ((await interfere(renewals, () => next(args))) as Awaited<ReturnType<typeof next>>) : next(args);
    },
    { step: 'initialize', name: 'countRenewals' },
  );
  return { dynamo, renewals: () => renewals };
}

/** `rows` orders, every 10th with a negative amount. */
function orders(rows: number): { body: string; bad: number } {
  const lines = [HEADER];
  let bad = 0;
  for (let i = 1; i <= rows; i++) {
    const negative = i % 10 === 0;
    if (negative) bad++;
    lines.push(`ORD-${i},CUST-${i % 7},Zoë Müller,2026-11-25,paid,EUR,2,9.95,${negative ? '-19.90' : '19.90'},DE,zoe@example.com`);
  }
  return { body: `${lines.join('\n')}\n`, bad };
}

async function put(key: string, body: string): Promise<S3ObjectRef> {
  const out = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  return { bucket: BUCKET, key, etag: (out.ETag ?? '').replaceAll('"', ''), size: Buffer.byteLength(body), eventTime: new Date().toISOString(), eventName: 'ObjectCreated:Put', source: 's3-notification' };
}

/** The table's one idempotency record. */
async function claim(table: string): Promise<{ status: string; until: number | undefined }> {
  const out = await db.send(new ScanCommand({ TableName: table }));
  expect(out.Items).toHaveLength(1);
  const item = out.Items?.[0] ?? {};
  return { status: item.status?.S ?? '', until: item.in_progress_expiration?.N ? Number(item.in_progress_expiration.N) : undefined };
}

function validated(o: ObjectOutcome): ValidationResult & { replayed?: boolean } {
  if (o.status === 'ignored') throw new Error(`ignored: ${o.detail}`);
  return o;
}

async function linesOf(key: string | null): Promise<number> {
  const out = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key as string }));
  return (await (out.Body as { transformToString(): Promise<string> }).transformToString()).split('\n').filter(Boolean).length;
}
const silverLines = (r: ValidationResult) => linesOf(r.outputs.silver);
const quarantineLines = (r: ValidationResult) => linesOf(r.outputs.quarantine);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The lease of the tests whose work outlasts it. Each renewal gives up after a quarter of it: 3 s
 * leaves a renewal 750 ms against dynalite, which four test suites side by side can slow past 375.
 */
const LEASE = 3_000;

/** Validation of `rows` orders whose download waits three leases, so the claim must be renewed. */
async function slowWork(key: string, rows: number, interfere?: Parameters<typeof renewalClient>[0]) {
  const table = await freshTable();
  const { body, bad } = orders(rows);
  const ref = await put(key, body);
  const slow = slowS3(3 * LEASE);
  const { dynamo, renewals } = renewalClient(interfere);
  // Both at once: a warning and its details are pushed together, so their indexes stay paired.
  warnings.length = 0;
  warningDetails.length = 0;
  const working = processor(table, { s3: slow, dynamo, claimLeaseMs: LEASE }).process(ref, scope('req-slow'));
  const finished = async () => {
    try {
      return await working;
    } finally {
      slow.destroy();
      dynamo.destroy();
    }
  };
  return { table, ref, bad, renewals, finished };
}

describe('claims held as leases', () => {
  it('renews the claim while the work goes on; a duplicate meanwhile waits for the result', async () => {
    const { table, ref, bad, renewals, finished } = await slowWork('bronze/orders/slow.csv', 50);

    await sleep(2 * LEASE);
    const held = await claim(table);
    expect(held.status).toBe('INPROGRESS');
    // Renewed: later than a lease after the claim was taken, at most a lease from now.
    expect(held.until).toBeGreaterThan(Date.now());
    expect(held.until).toBeLessThanOrEqual(Date.now() + LEASE);
    // Delivered past the first lease, a duplicate neither takes the claim over nor fails: it waits
    // (half of its 60 s at most) and answers with the stored result.
    const duplicate = processor(table, { claimLeaseMs: LEASE }).process(ref, scope('req-duplicate'));

    const r = validated(await finished());
    expect(r).toMatchObject({ status: 'validated', rowsRead: 50, valid: 50 - bad, rejected: bad });
    expect(r.replayed).toBeUndefined();
    const d = validated(await duplicate);
    expect(d).toMatchObject({ status: 'validated', replayed: true, rowsRead: 50, valid: 50 - bad, rejected: bad, outputs: r.outputs });
    expect(warnings).toContain('another invocation holds this object: waiting for its result, or for its claim to lapse');
    expect((await claim(table)).status).toBe('COMPLETED');
    // The renewals stop with the work.
    const sent = renewals();
    expect(sent).toBeGreaterThanOrEqual(4);
    await sleep(LEASE);
    expect(renewals()).toBe(sent);
  });

  it('a claim another invocation took over: the renewals and the work stop, and it waits for that one', async () => {
    const { table, bad, renewals, finished } = await slowWork('bronze/orders/taken.csv', 20);
    await sleep(LEASE / 2);
    // What a takeover writes: the claim of another invocation, with an expiry of its own.
    const { Items } = await db.send(new ScanCommand({ TableName: table }));
    const taken = { ...Items?.[0], in_progress_expiration: { N: String(Date.now() + 60_000) } };
    await db.send(new PutItemCommand({ TableName: table, Item: taken }));
    await sleep(LEASE);
    expect(besidesFailedRenewals()).toEqual([expect.stringMatching(/lapsed and another invocation took it over: stopping this one/)]);
    const sent = renewals();
    await sleep(LEASE);
    expect(renewals()).toBe(sent);
    // Its work stopped, its own release left the other's claim alone.
    expect(await claim(table)).toEqual({ status: 'INPROGRESS', until: Number(taken.in_progress_expiration.N) });
    // The other invocation fails and releases the claim: this one, waiting, takes it and finishes.
    await db.send(new DeleteItemCommand({ TableName: table, Key: { id: Items?.[0]?.id as { S: string } } }));
    const r = validated(await finished());
    // Every row accounted for after the wait: the valid ones in silver, the negative amounts in quarantine.
    expect(r).toMatchObject({ status: 'validated', rowsRead: 20, valid: 20 - bad, rejected: bad });
    expect(await silverLines(r)).toBe(20 - bad);
    expect(await quarantineLines(r)).toBe(bad);
    expect((await claim(table)).status).toBe('COMPLETED');
  });

  it('takes a refused renewal for a lost claim even when the refusal comes after the renewal\'s quarter lease', async () => {
    // Every refusal is answered late: past the 750 ms after which an unanswered renewal gives up.
    const { table, finished } = await slowWork('bronze/orders/taken-late-answer.csv', 20, async (_n, send) => {
      try {
        return await send();
      } catch (error) {
        if ((error as { name?: string }).name === 'ConditionalCheckFailedException') await sleep(LEASE / 4 + 250);
        throw error;
      }
    });
    await sleep(LEASE / 2);
    const { Items } = await db.send(new ScanCommand({ TableName: table }));
    const taken = { ...Items?.[0], in_progress_expiration: { N: String(Date.now() + 60_000) } };
    await db.send(new PutItemCommand({ TableName: table, Item: taken }));
    await sleep(2 * LEASE);
    expect(besidesFailedRenewals()).toEqual([expect.stringMatching(/lapsed and another invocation took it over: stopping this one/)]);
    expect(warningDetails.some((d) => d.includes('no answer within'))).toBe(false);
    // The other invocation releases the claim: this one, waiting, takes it and finishes.
    await db.send(new DeleteItemCommand({ TableName: table, Key: { id: Items?.[0]?.id as { S: string } } }));
    expect(validated(await finished())).toMatchObject({ status: 'validated', rowsRead: 20 });
  });

  it('says its result was superseded when its claim lapsed under it and another invocation took it over', async () => {
    // Renewals throttled (a DynamoDB outage longer than the lease): the claim lapses while the work goes on.
    const { table, bad, finished } = await slowWork('bronze/orders/superseded.csv', 20, async () => {
      throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    });
    await sleep(LEASE * 1.5);
    const { Items } = await db.send(new ScanCommand({ TableName: table }));
    const taken = { ...Items?.[0], in_progress_expiration: { N: String(Date.now() + 60_000) } };
    await db.send(new PutItemCommand({ TableName: table, Item: taken }));
    const r = (await finished()) as ValidationResult & { superseded?: boolean; replayed?: boolean };
    // Done, its outputs whole, but not the result stored: the handler counts it as a duplicate delivery.
    expect(r).toMatchObject({ status: 'validated', rowsRead: 20, valid: 20 - bad, rejected: bad, superseded: true });
    expect(r.replayed).toBeUndefined();
    expect(await claim(table)).toEqual({ status: 'INPROGRESS', until: Number(taken.in_progress_expiration.N) });
    expect(warnings).toContain('finished, but the claim on this object had passed to another invocation: its result is the one stored');
  });

  it('completes or releases only its own claim: one taken over in the meantime stays as the other left it', async () => {
    const table = await freshTable();
    const notStored: number[] = [];
    const layer = new LeasedDynamoDBPersistenceLayer({ tableName: table, awsSdkV3Client: db, leaseMs: 60_000, onResultNotStored: () => notStored.push(1) });
    const record = { bucket: BUCKET, key: 'bronze/orders/layer.csv', versionId: null, etag: 'abc', size: 1 };
    for (const finish of ['complete', 'release'] as const) {
      await layer.saveInProgress(record, 30_000);
      const { Items } = await db.send(new ScanCommand({ TableName: table }));
      const taken = { ...Items?.[0], in_progress_expiration: { N: String(Date.now() + 45_000) } };
      await db.send(new PutItemCommand({ TableName: table, Item: taken }));
      if (finish === 'complete') await layer.saveSuccess(record, { status: 'validated' });
      else await layer.deleteRecord(record);
      expect(await claim(table), finish).toEqual({ status: 'INPROGRESS', until: Number(taken.in_progress_expiration.N) });
      // Lapsed, so that the next round can claim it.
      await db.send(new PutItemCommand({ TableName: table, Item: { ...taken, in_progress_expiration: { N: String(Date.now() - 1) } } }));
    }
    expect(notStored).toEqual([1]);

    // Its own claim, untouched by anyone: completed as Powertools would.
    const mine = { ...record, key: 'bronze/orders/mine.csv' };
    const own = await freshTable();
    const ownLayer = new LeasedDynamoDBPersistenceLayer({ tableName: own, awsSdkV3Client: db, leaseMs: 60_000 });
    await ownLayer.saveInProgress(mine, 30_000);
    await ownLayer.saveSuccess(mine, { status: 'validated', rowsRead: 3 });
    const done = await db.send(new ScanCommand({ TableName: own }));
    expect(done.Items?.[0]?.status?.S).toBe('COMPLETED');
    expect(done.Items?.[0]?.data?.M?.rowsRead?.N).toBe('3');
  });

  it('completes its own claim after many failed renewals: the value last written is always checked', async () => {
    const table = await freshTable();
    // Throttled renewals that fail at once: more of them than the attempts it remembers (8).
    const { dynamo, renewals } = renewalClient(async () => {
      throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    });
    const notStored: number[] = [];
    const layer = new LeasedDynamoDBPersistenceLayer({ tableName: table, awsSdkV3Client: dynamo, leaseMs: 1_200, onResultNotStored: () => notStored.push(1) });
    const record = { bucket: BUCKET, key: 'bronze/orders/throttled.csv', versionId: null, etag: 'abc', size: 1 };
    await layer.saveInProgress(record, 30_000);
    while (renewals() < 10) await sleep(50);
    await layer.saveSuccess(record, { status: 'validated' });
    dynamo.destroy();
    expect(notStored).toEqual([]);
    expect((await claim(table)).status).toBe('COMPLETED');
  });

  it('keeps the work\'s own error when releasing the claim fails too', async () => {
    const table = await freshTable();
    const ref = await put('bronze/poison/release-fails.csv', `%PDF-1.4\n${'\u0000'.repeat(64)}`);
    const failingDeletes = createDynamoDBClient({ region: dynamo_.region, endpoint: dynamo_.endpoint, credentials: dynamo_.credentials });
    failingDeletes.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'DeleteItemCommand') throw Object.assign(new Error('service unavailable'), { name: 'ServiceUnavailable' });
        return next(args);
      },
      { step: 'initialize', name: 'failDeletes' },
    );
    warnings.length = 0;
    const error = await processor(table, { dynamo: failingDeletes, remainingMs: 600_000 })
      .process(ref, scope('req-poison'))
      .catch((e: unknown) => e);
    failingDeletes.destroy();
    expect(error).toBeInstanceOf(PoisonFileError);
    expect(warnings).toContain('could not release the claim on this object after a failure; it lapses within a lease');
    // Not released, but held for a lease (60 s), not for the ten minutes the invocation had left.
    expect((await claim(table)).until).toBeLessThanOrEqual(Date.now() + 60_000);
  });

  it('knows its own renewal when the answer was lost after the write landed', async () => {
    // The first renewal is written, then its connection dies before the answer arrives.
    const { table, finished } = await slowWork('bronze/orders/lost-answer.csv', 20, async (n, send) => {
      const out = await send();
      if (n === 1) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      return out;
    });
    await sleep(2 * LEASE);
    // Reported as a failed renewal (more than once only if a renewal was also slow); the next one
    // found its own value and carried on rather than taking the claim for lost.
    expect(warnings).toContainEqual(expect.stringMatching(/could not renew the claim/));
    expect(besidesFailedRenewals()).toEqual([]);
    const held = await claim(table);
    expect(held.status).toBe('INPROGRESS');
    expect(held.until).toBeGreaterThan(Date.now());
    await finished();
  });

  it('says a renewal that got no answer in time gave up, not that a request was aborted', async () => {
    // The first renewal is held past its quarter lease (750 ms) before it goes.
    const { finished } = await slowWork('bronze/orders/unanswered-renewal.csv', 20, async (n, send) => {
      if (n === 1) await sleep(LEASE / 4 + 250);
      return send();
    });
    await finished();
    const renewal = warningDetails[warnings.findIndex((w) => /could not renew the claim/.test(w))];
    expect(renewal).toMatch(/no answer within 750 ms/);
    expect(renewal).not.toMatch(/Request aborted/);
  });

  it('never holds a claim past the invocation\'s deadline', async () => {
    const table = await freshTable();
    const { body, bad } = orders(20);
    const ref = await put('bronze/orders/deadline.csv', body);
    const slow = slowS3(2_000);
    const short = processor(table, { s3: slow, claimLeaseMs: 600, remainingMs: 1_000 });
    const working = short.process(ref, scope('req-short'));
    await sleep(1_500);
    const held = await claim(table);
    expect(held.status).toBe('INPROGRESS');
    expect(held.until).toBeLessThanOrEqual(short.deadline);
    // Only the claim is bounded by the deadline here (the scope never stops the work): the file
    // is still validated whole, every row in silver or quarantine.
    const r = validated(await working);
    slow.destroy();
    expect(r).toMatchObject({ status: 'validated', rowsRead: 20, valid: 20 - bad, rejected: bad });
    expect(await silverLines(r)).toBe(20 - bad);
    expect(await quarantineLines(r)).toBe(bad);
  });

  it('a crash mid-file leaves a claim that lapses within a lease; the retry then finishes the file', async () => {
    const table = await freshTable();
    const { body, bad } = orders(2_000);
    const ref = await put('bronze/orders/crashing.csv', body);

    const endpoint = (e: S3Emulator | DynamoEmulator) => ({ endpoint: e.endpoint, region: e.region, credentials: e.credentials });
    const args = { s3: endpoint(s3), dynamo: endpoint(dynamo_), table, bucket: BUCKET, ref, leaseMs: LEASE, remainingMs: 600_000 };
    const died = await new Promise<{ signal: NodeJS.Signals | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', CRASH_FIXTURE, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d));
      child.stderr.on('data', (d: Buffer) => (output += d));
      child.on('exit', (_code, signal) => resolve({ signal, output }));
    });
    const diedAt = Date.now();
    expect(died.signal, died.output).toBe('SIGKILL');

    // What the dead invocation left: a claim good for a lease, not for the ten minutes it had left.
    const left = await claim(table);
    expect(left.status).toBe('INPROGRESS');
    expect(left.until).toBeLessThanOrEqual(diedAt + LEASE);
    // A retry that comes before the lease lapsed waits for it, then takes the claim over and
    // finishes the file: Lambda's retry is not spent on "in progress".
    const r = validated(await processor(table, { claimLeaseMs: LEASE }).process(ref, scope('req-early-retry')));
    expect(Date.now()).toBeGreaterThanOrEqual(left.until ?? 0);
    expect(r).toMatchObject({ status: 'validated', rowsRead: 2_000, valid: 2_000 - bad, rejected: bad });
    expect(r.replayed).toBeUndefined();
    expect(await silverLines(r)).toBe(2_000 - bad);
    expect((await claim(table)).status).toBe('COMPLETED');
  });
});
