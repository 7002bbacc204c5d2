import { readFileSync } from 'node:fs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createDynamoDBClient, createS3Client, encodeS3EventKey, ensureTable } from '@laminar/aws';
import { type DynamoEmulator, type S3Emulator, startDynamoDB, startS3 } from '@laminar/emulators';
import { lambdaContext } from '@laminar/runtime/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import spec from '../../spec.ts';
import type { InvocationResult } from '../../src/handler.ts';

// The buckets and keys of the sample events in events/.
const BUCKET = 'laminar-local-lake';
const TABLE = 'csv-idempotency-handler';
const HEADER = 'order_id,customer_id,order_date,status,currency,quantity,unit_price,amount,country,email';
const CSV = `${HEADER}\r\nORD-1,C-1,2026-11-25,paid,EUR,2,9.95,19.90,DE,a@example.com\r\nORD-2,C-2,2026-11-25,lost,EUR,1,5.00,5.00,FR,\r\n`;

let s3: S3Emulator;
let dynamo: DynamoEmulator;
let client: S3Client;
let db: DynamoDBClient;
let handler: (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<InvocationResult>;

beforeAll(async () => {
  [s3, dynamo] = await Promise.all([startS3({ buckets: [BUCKET] }), startDynamoDB()]);
  client = createS3Client({ region: s3.region, endpoint: s3.endpoint, credentials: s3.credentials, forcePathStyle: true });
  db = createDynamoDBClient({ region: dynamo.region, endpoint: dynamo.endpoint, credentials: dynamo.credentials });
  await ensureTable(db, TABLE, 'idempotency');
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    LAKE_BUCKET: BUCKET,
    SILVER_PREFIX: 'silver/',
    QUARANTINE_PREFIX: 'quarantine/',
    IDEMPOTENCY_TABLE: TABLE,
    POWERTOOLS_SERVICE_NAME: 'csv-validator',
    POWERTOOLS_METRICS_NAMESPACE: 'Test',
    POWERTOOLS_LOG_LEVEL: 'CRITICAL',
  });
  ({ handler } = (await import('../../src/handler.ts')) as unknown as { handler: typeof handler });
});
afterEach(() => vi.restoreAllMocks());
afterAll(async () => {
  client?.destroy();
  db?.destroy();
  await Promise.all([s3?.stop(), dynamo?.stop()]);
});

const sample = (name: string) => JSON.parse(readFileSync(new URL(`../../events/${name}`, import.meta.url), 'utf8'));

async function put(key: string, body: string): Promise<string> {
  const out = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  return (out.ETag ?? '').replaceAll('"', '');
}

/** Invokes the handler and returns its result (or the error it threw) with the EMF metrics it printed. */
async function attempt(event: unknown, requestId: string): Promise<{ result?: InvocationResult; error?: unknown; metrics: Record<string, number> }> {
  const printed: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  });
  try {
    const result = await handler(event, lambdaContext('csv-validator', { requestId, memoryMb: 1024 }));
    return { result, metrics: emf(printed) };
  } catch (error) {
    return { error, metrics: emf(printed) };
  } finally {
    vi.restoreAllMocks();
  }
}

async function invoke(event: unknown, requestId: string): Promise<{ result: InvocationResult; metrics: Record<string, number> }> {
  const { result, error, metrics } = await attempt(event, requestId);
  if (!result) throw error;
  return { result, metrics };
}

function emf(printed: string[]): Record<string, number> {
  const doc = printed
    .flatMap((p) => p.split('\n'))
    .filter((l) => l.includes('"_aws"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((d) => 'RowsRead' in d);
  if (!doc) throw new Error(`no EMF document among ${printed.length} writes`);
  // Every metric the handler publishes is one the spec declares: the dashboard, the cost doc and
  // the metric alarms know only those (names built from an object's keys escape a source scan).
  const published = (doc._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] }).CloudWatchMetrics.flatMap((m) => m.Metrics.map((x) => x.Name));
  const undeclared = published.filter((name) => !(spec.metrics as readonly string[]).includes(name));
  if (undeclared.length > 0) throw new Error(`metrics not declared in spec.ts: ${undeclared.join(', ')}`);
  return Object.fromEntries(Object.entries(doc).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
}

describe('the csv-validator handler', () => {
  it('validates the object of an EventBridge event, publishes reconciled metrics, replays a duplicate', async () => {
    const event = sample('eventbridge-object-created.json');
    event.detail.object.etag = await put(event.detail.object.key, CSV);
    event.detail.object.size = Buffer.byteLength(CSV);

    const first = await invoke(event, 'req-eb-1');
    expect(first.result).toMatchObject({ rowsRead: 2, valid: 1, rejected: 1, objects: [{ status: 'validated', header: { status: 'ok', missing: ['customer_name'] } }] });
    expect(first.metrics).toMatchObject({ RowsRead: 2, RowsValid: 1, RowsRejected: 1, FilesProcessed: 1, FilesRejected: 0, FilesSkipped: 0, DuplicateDeliveries: 0 });
    expect(first.metrics.RowsRead).toBe((first.metrics.RowsValid as number) + (first.metrics.RowsRejected as number));

    const again = await invoke(event, 'req-eb-2');
    expect(again.result.objects).toEqual([{ ...first.result.objects[0], replayed: true }]);
    expect(again.metrics).toMatchObject({ RowsRead: 0, RowsValid: 0, RowsRejected: 0, FilesProcessed: 0, DuplicateDeliveries: 1 });
  });

  it('validates every record of a classic notification, keys decoded', async () => {
    const event = sample('s3-notification.json');
    for (const record of event.Records) {
      const key = decodeURIComponent(record.s3.object.key.replaceAll('+', ' '));
      expect(encodeS3EventKey(key)).toBe(record.s3.object.key);
      record.s3.object.eTag = await put(key, CSV);
      record.s3.object.size = Buffer.byteLength(CSV);
    }
    const { result, metrics } = await invoke(event, 'req-n-1');
    expect(result.objects.map((o) => (o.status === 'ignored' ? o : o.outputs.silver))).toEqual([
      expect.stringMatching(/^silver\/exports\/Q4 2026\/orders été\/[0-9a-f]{32}\/part-00000\.jsonl$/),
      expect.stringMatching(/^silver\/c\+\+ team\/orders\+2026\/[0-9a-f]{32}\/part-00000\.jsonl$/),
    ]);
    expect(result).toMatchObject({ rowsRead: 4, valid: 2, rejected: 2 });
    expect(metrics).toMatchObject({ RowsRead: 4, RowsValid: 2, RowsRejected: 2, FilesProcessed: 2 });
  });

  it('fails on a poison file, every attempt, after writing its quarantine manifest, and counts it once', async () => {
    const event = sample('eventbridge-object-created.json');
    event.detail.object.key = 'bronze/orders/poison.csv';
    const junk = `%PDF-1.4\n${'\u0000'.repeat(64)}`;
    event.detail.object.etag = await put(event.detail.object.key, junk);
    event.detail.object.size = junk.length;
    // Lambda's two retries of an async event keep its request id; a redrive from the DLQ (or the
    // same bytes uploaded again) is another request.
    for (const [n, requestId] of ['req-p-1', 'req-p-1', 'req-p-1', 'req-p-redrive'].entries()) {
      const { error, metrics } = await attempt(event, requestId);
      expect(error).toMatchObject({ name: 'PoisonFileError', message: expect.stringMatching(/^poison file s3:\/\/laminar-local-lake\/bronze\/orders\/poison\.csv \(binary\): /) });
      expect(metrics).toMatchObject({ FilesRejected: 0, DuplicateDeliveries: 0, RowsRead: 0 });
      expect(metrics).not.toHaveProperty('FilesFailed');
      // Once per event, not per attempt: the retries find the manifest this request wrote and fail
      // again without counting it; the redrive counts.
      const counted = n === 0 || requestId === 'req-p-redrive';
      if (counted) expect(metrics).toMatchObject({ FilesPoisoned: 1 });
      else expect(metrics).not.toHaveProperty('FilesPoisoned');
      expect(error).toMatchObject({ repeated: !counted });
    }
    const manifest = `quarantine/orders/poison/${event.detail.object.etag}/_manifest.json`;
    const out = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: manifest }));
    expect(JSON.parse(await (out.Body as { transformToString(): Promise<string> }).transformToString())).toMatchObject({ status: 'rejected', reason: 'binary', requestId: 'req-p-redrive' });
  });

  it('refuses an event that is not an S3 event, naming the problem', async () => {
    await expect(handler({ hello: 'world' }, lambdaContext('csv-validator'))).rejects.toMatchObject({
      name: 'InputValidationError',
      message: expect.stringMatching(/not an S3 event/),
    });
  });
});
