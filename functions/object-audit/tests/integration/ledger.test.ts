import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, type PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoDBClient, encodeS3EventKey, ensureTable, parseS3Event } from '@laminar/aws';
import { type DynamoEmulator, startDynamoDB } from '@laminar/emulators';
import { DeadlineExceededError } from '@laminar/runtime';
import { lambdaContext } from '@laminar/runtime/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ArrivalItem, recordArrivals } from '../../src/audit.ts';

const TABLE = 'object-arrivals-test';
const HANDLER_TABLE = 'object-arrivals-handler';
const TTL_DAYS = 400;
const sample = (name: string) => JSON.parse(readFileSync(new URL(`../../events/${name}`, import.meta.url), 'utf8'));

let dynamo: DynamoEmulator;
let client: DynamoDBClient;
let db: DynamoDBDocumentClient;

/** An EventBridge "Object Created" event in the documented shape, for a key as S3 would encode it. */
function eventBridge(key: string, o: { time?: string; sequencer?: string; etag?: string; size?: number } = {}) {
  return {
    version: '0',
    id: 'a1b2c3d4-0000-4000-8000-000000000000',
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '000000000000',
    time: o.time ?? '2026-11-25T12:00:00Z',
    region: 'us-east-1',
    resources: ['arn:aws:s3:::lake'],
    detail: {
      version: '0',
      bucket: { name: 'lake' },
      object: { key: encodeS3EventKey(key), size: o.size ?? 10, etag: o.etag ?? 'e0', sequencer: o.sequencer ?? '0001' },
      'request-id': 'R1',
      requester: '000000000000',
      reason: 'PutObject',
    },
  };
}

/** A classic notification with one record per key. */
function notification(keys: string[], time = '2026-11-25T13:00:00.000Z') {
  return {
    Records: keys.map((key, i) => ({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-east-1',
      eventTime: time,
      eventName: 'ObjectCreated:Put',
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'bronze',
        bucket: { name: 'lake', arn: 'arn:aws:s3:::lake' },
        object: { key: encodeS3EventKey(key), size: 100 + i, eTag: `etag${i}`, sequencer: `00A${i}` },
      },
    })),
  };
}

async function historyOf(pk: string, table = TABLE): Promise<ArrivalItem[]> {
  const out = await db.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk } }));
  return (out.Items ?? []) as ArrivalItem[];
}

const record = (event: unknown) => recordArrivals(parseS3Event(event), { db, tableName: TABLE, ttlDays: TTL_DAYS });

beforeAll(async () => {
  dynamo = await startDynamoDB();
  client = createDynamoDBClient({ region: dynamo.region, endpoint: dynamo.endpoint, credentials: dynamo.credentials });
  db = DynamoDBDocumentClient.from(client);
  await ensureTable(client, TABLE, 'ledger');
  await ensureTable(client, HANDLER_TABLE, 'ledger');
});
afterAll(async () => {
  client?.destroy();
  await dynamo?.stop();
});

describe('recordArrivals against a real DynamoDB server', () => {
  it('records an EventBridge arrival under its decoded key, with every field', async () => {
    expect(await record(sample('eventbridge-object-created.json'))).toEqual({ recorded: 1, alreadyRecorded: 0 });
    const items = await historyOf('laminar-local-lake/bronze/orders 2026-11 été.csv');
    expect(items).toEqual([
      {
        pk: 'laminar-local-lake/bronze/orders 2026-11 été.csv',
        sk: '2026-11-25T12:00:00.000Z#00674460D0A6B1C2D3',
        bucket: 'laminar-local-lake',
        key: 'bronze/orders 2026-11 été.csv',
        size: 2048,
        etag: '9b2cf535f27731c974343645a3985328',
        sequencer: '00674460D0A6B1C2D3',
        eventTime: '2026-11-25T12:00:00.000Z',
        eventName: 'Object Created:PutObject',
        source: 'eventbridge',
        expiresAt: Date.parse('2026-11-25T12:00:00Z') / 1000 + TTL_DAYS * 86_400,
      },
    ]);
  });

  it('records every record of a classic notification, keys with spaces, "+", "%" and unicode intact', async () => {
    const keys = ['bronze/with space.csv', 'bronze/c++/a+b.csv', 'bronze/100% sure.csv', 'bronze/日本語/é😀.csv'];
    expect(await record(notification(keys))).toEqual({ recorded: 4, alreadyRecorded: 0 });
    for (const [i, key] of keys.entries()) {
      const items = await historyOf(`lake/${key}`);
      expect(items, key).toHaveLength(1);
      expect(items[0]).toMatchObject({ key, size: 100 + i, etag: `etag${i}`, source: 's3-notification', eventName: 'ObjectCreated:Put' });
    }
  });

  it('keeps one item when the same event is delivered again, even concurrently, and counts the repeats as already recorded', async () => {
    const event = eventBridge('bronze/dup once.csv', { sequencer: '00D1' });
    expect(await record(event)).toEqual({ recorded: 1, alreadyRecorded: 0 });
    const first = await historyOf('lake/bronze/dup once.csv');
    const repeats = await Promise.all([record(event), record(structuredClone(event)), record(event)]);
    expect(repeats).toEqual(Array(3).fill({ recorded: 0, alreadyRecorded: 1 }));
    const after = await historyOf('lake/bronze/dup once.csv');
    expect(after).toHaveLength(1);
    expect(after).toEqual(first);
  });

  it('counts a first arrival once when its deliveries race each other', async () => {
    const event = eventBridge('bronze/race.csv', { sequencer: '00E1' });
    const results = await Promise.all(Array.from({ length: 5 }, () => record(structuredClone(event))));
    expect(results.reduce((n, r) => n + r.recorded, 0)).toBe(1);
    expect(results.reduce((n, r) => n + r.alreadyRecorded, 0)).toBe(4);
    expect(await historyOf('lake/bronze/race.csv')).toHaveLength(1);
  });

  it('counts what a failing invocation wrote, so its retry does not count it again', async () => {
    const keys = ['bronze/part-a.csv', 'bronze/part-b.csv'];
    // DynamoDB refuses one of the two writes (a throttle, say); the other goes through.
    const flaky = {
      send: (command: PutCommand, options?: object) =>
        command.input.Item?.key === 'bronze/part-b.csv' ? Promise.reject(new Error('throttled')) : db.send(command, options),
    } as unknown as DynamoDBDocumentClient;
    const counts = { recorded: 0, alreadyRecorded: 0 };
    const refs = parseS3Event(notification(keys, '2026-11-27T09:00:00.000Z'));
    await expect(recordArrivals(refs, { db: flaky, tableName: TABLE, ttlDays: TTL_DAYS, counts })).rejects.toThrow('throttled');
    expect(counts).toEqual({ recorded: 1, alreadyRecorded: 0 });
    // Lambda's retry: the written arrival is already recorded, the other one is recorded now.
    expect(await recordArrivals(refs, { db, tableName: TABLE, ttlDays: TTL_DAYS })).toEqual({ recorded: 1, alreadyRecorded: 1 });
    for (const key of keys) expect(await historyOf(`lake/${key}`), key).toHaveLength(1);
  });

  it('stops at the deadline with the deadline\'s own error, not the SDK\'s "Request aborted"', async () => {
    // A DynamoDB endpoint that takes the connection and never answers.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const stuck = createDynamoDBClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, credentials: dynamo.credentials });
    const stop = new AbortController();
    setTimeout(() => stop.abort(new DeadlineExceededError('stopped before the function timeout; 900 ms left')), 200);
    try {
      const stopped = recordArrivals(parseS3Event(eventBridge('bronze/late.csv')), { db: DynamoDBDocumentClient.from(stuck), tableName: TABLE, ttlDays: TTL_DAYS, signal: stop.signal });
      await expect(stopped).rejects.toThrow(DeadlineExceededError);
      await expect(stopped).rejects.toThrow('stopped before the function timeout; 900 ms left');
    } finally {
      stuck.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('reports a write DynamoDB refused, not the deadline that then stopped the others', async () => {
    const stop = new AbortController();
    // One write refused at once (a role without the grant); the other never answered until the deadline stops it.
    const mixed = {
      send: (command: PutCommand, options?: { abortSignal?: AbortSignal }) =>
        command.input.Item?.key === 'bronze/denied.csv'
          ? Promise.reject(Object.assign(new Error('not authorized to perform: dynamodb:PutItem'), { name: 'AccessDeniedException' }))
          : new Promise((_, reject) => options?.abortSignal?.addEventListener('abort', () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' })))),
    } as unknown as DynamoDBDocumentClient;
    setTimeout(() => stop.abort(new DeadlineExceededError('stopped before the function timeout; 900 ms left')), 100);
    const refs = parseS3Event(notification(['bronze/denied.csv', 'bronze/slow.csv']));
    await expect(recordArrivals(refs, { db: mixed, tableName: TABLE, ttlDays: TTL_DAYS, signal: stop.signal })).rejects.toThrow('not authorized');
  });

  it('writes an arrival listed twice in one event once, and counts the second as a duplicate delivery', async () => {
    const refs = parseS3Event(notification(['bronze/twice in one.csv'], '2026-11-27T10:00:00.000Z'));
    expect(await recordArrivals([...refs, ...refs], { db, tableName: TABLE, ttlDays: TTL_DAYS })).toEqual({ recorded: 1, alreadyRecorded: 1 });
    expect(await historyOf('lake/bronze/twice in one.csv')).toHaveLength(1);
  });

  it('appends a new arrival of the same key and returns the history in time order', async () => {
    const key = 'bronze/daily.csv';
    // Written out of order, as deliveries may arrive; two writes in the same second differ by sequencer.
    await record(eventBridge(key, { time: '2026-11-26T08:00:00Z', sequencer: '00B3', etag: 'e3' }));
    await record(notification([key], '2026-11-25T08:00:00.500Z'));
    await record(eventBridge(key, { time: '2026-11-26T08:00:00Z', sequencer: '00B2', etag: 'e2' }));
    await record(eventBridge(key, { time: '2026-11-24T08:00:00Z', sequencer: '00B1', etag: 'e1' }));
    const history = await historyOf(`lake/${key}`);
    expect(history.map((h) => [h.eventTime, h.sequencer])).toEqual([
      ['2026-11-24T08:00:00.000Z', '00B1'],
      ['2026-11-25T08:00:00.500Z', '00A0'],
      ['2026-11-26T08:00:00.000Z', '00B2'],
      ['2026-11-26T08:00:00.000Z', '00B3'],
    ]);
  });
});

describe('the handler', () => {
  const context = (remainingMs: number, requestId: string) => lambdaContext('object-audit', { remainingMs, requestId, memoryMb: 128 });

  /** EMF documents written to stdout during `fn`. */
  async function emfDuring<T>(fn: () => Promise<T>): Promise<{ value: T; metrics: Record<string, unknown> }> {
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    const log = vi.spyOn(console, 'log').mockImplementation((...args) => {
      lines.push(args.map(String).join(' '));
    });
    // Powertools warns when an invocation (the refused one) has no metrics to publish.
    const warn = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const value = await fn();
      const docs = lines
        .flatMap((l) => l.split('\n'))
        .filter((l) => l.includes('"_aws"'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      return { value, metrics: Object.assign({}, ...docs) };
    } finally {
      write.mockRestore();
      log.mockRestore();
      warn.mockRestore();
    }
  }

  let handler: typeof import('../../src/handler.ts').handler;
  beforeAll(async () => {
    Object.assign(process.env, {
      AWS_REGION: dynamo.region,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ACCESS_KEY_ID: dynamo.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: dynamo.credentials.secretAccessKey,
      AUDIT_TABLE: HANDLER_TABLE,
      AUDIT_TTL_DAYS: '30',
      POWERTOOLS_SERVICE_NAME: 'object-audit',
      POWERTOOLS_METRICS_NAMESPACE: 'Test',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    });
    ({ handler } = await import('../../src/handler.ts'));
  });

  it('records the sample events, publishes ObjectsRecorded and refuses a non-S3 event writing nothing', async () => {
    const eb = await emfDuring(() => handler(sample('eventbridge-object-created.json'), context(30_000, 'req-eb')));
    expect(eb.value).toEqual({ recorded: 1, alreadyRecorded: 0 });
    expect(eb.metrics).toMatchObject({ ObjectsRecorded: 1, DuplicateDeliveries: 0 });

    const classic = await emfDuring(() => handler(sample('s3-notification-object-created.json'), context(30_000, 'req-classic')));
    expect(classic.value).toEqual({ recorded: 1, alreadyRecorded: 0 });
    expect(classic.metrics).toMatchObject({ ObjectsRecorded: 1, DuplicateDeliveries: 0 });
    expect(await historyOf('laminar-local-lake/bronze/c++ exports/orders.csv', HANDLER_TABLE)).toEqual([
      expect.objectContaining({ expiresAt: Math.floor(Date.parse('2026-11-25T12:00:00.250Z') / 1000) + 30 * 86_400 }),
    ]);

    // A redelivery of the same event (Lambda async retry, EventBridge at-least-once) changes nothing:
    // it is already recorded, and counted as a duplicate rather than as another arrival.
    const again = await emfDuring(() => handler(sample('eventbridge-object-created.json'), context(30_000, 'req-eb-again')));
    expect(again.value).toEqual({ recorded: 0, alreadyRecorded: 1 });
    expect(again.metrics).toMatchObject({ ObjectsRecorded: 0, DuplicateDeliveries: 1 });

    const bad = { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} };
    await emfDuring(() =>
      expect(handler(bad, context(30_000, 'req-bad'))).rejects.toMatchObject({
        name: 'InputValidationError',
        message: expect.stringMatching(/^invalid S3 event: .*source/),
      }),
    );
    const all = await db.send(new ScanCommand({ TableName: HANDLER_TABLE }));
    expect((all.Items ?? []).map((i) => i.pk).sort()).toEqual([
      'laminar-local-lake/bronze/c++ exports/orders.csv',
      'laminar-local-lake/bronze/orders 2026-11 été.csv',
    ]);
  });

  it('counts an event delivered twice once in ObjectsRecorded (1, then 0) and once in DuplicateDeliveries (0, then 1)', async () => {
    const event = eventBridge('bronze/delivered twice.csv', { sequencer: '00F1' });
    const first = await emfDuring(() => handler(event, context(30_000, 'req-twice-1')));
    expect(first.value).toEqual({ recorded: 1, alreadyRecorded: 0 });
    expect(first.metrics).toMatchObject({ ObjectsRecorded: 1, DuplicateDeliveries: 0 });

    const second = await emfDuring(() => handler(structuredClone(event), context(30_000, 'req-twice-2')));
    expect(second.value).toEqual({ recorded: 0, alreadyRecorded: 1 });
    expect(second.metrics).toMatchObject({ ObjectsRecorded: 0, DuplicateDeliveries: 1 });
    expect(await historyOf('lake/bronze/delivered twice.csv', HANDLER_TABLE)).toHaveLength(1);
  });
});
