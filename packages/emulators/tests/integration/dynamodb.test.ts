import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DynamoEmulator, startDynamoDB } from '../../src/index.ts';

const clientFor = (db: DynamoEmulator) =>
  new DynamoDBClient({ endpoint: db.endpoint, region: db.region, credentials: db.credentials });

// dynalite answers CREATING and flips to ACTIVE on a timer, which a loaded machine can delay past
// the next request: wait as a real client must.
const createTable = async (client: DynamoDBClient, name: string) => {
  const created = await client.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 10, minDelay: 0.05, maxDelay: 0.2 }, { TableName: name });
  return created;
};

describe('embedded DynamoDB (in memory)', () => {
  let db: DynamoEmulator;
  let client: DynamoDBClient;
  beforeAll(async () => {
    db = await startDynamoDB();
    client = clientFor(db);
  });
  afterAll(async () => {
    client?.destroy();
    await db?.stop();
  });

  it('serves DynamoDB on loopback with tables usable right after CreateTable', async () => {
    expect(db.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await createTable(client, 'things');
    // With createTableMs 0 the waiter returns at once: the table is ACTIVE.
    const described = await client.send(new DescribeTableCommand({ TableName: 'things' }));
    expect(described.Table?.TableStatus).toBe('ACTIVE');
    await client.send(new PutItemCommand({ TableName: 'things', Item: { pk: { S: 'a' }, n: { N: '1' } } }));
    await expect(
      client.send(
        new PutItemCommand({
          TableName: 'things',
          Item: { pk: { S: 'a' }, n: { N: '2' } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    ).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    const got = await client.send(new GetItemCommand({ TableName: 'things', Key: { pk: { S: 'a' } } }));
    expect(got.Item?.n).toEqual({ N: '1' });
  });

  // A fact the dedup package relies on: TTL cannot be switched on here, so readers must treat
  // expired items as absent themselves.
  it('does not support UpdateTimeToLive', async () => {
    await createTable(client, 'ttl');
    await expect(
      client.send(
        new UpdateTimeToLiveCommand({ TableName: 'ttl', TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } }),
      ),
    ).rejects.toThrow();
  });

  it('stops idempotently', async () => {
    const other = await startDynamoDB();
    await Promise.all([other.stop(), other.stop()]);
    await other.stop();
    const c = clientFor(other);
    await expect(c.send(new GetItemCommand({ TableName: 'x', Key: { pk: { S: 'a' } } }))).rejects.toThrow();
    c.destroy();
  });
});

describe('embedded DynamoDB with a directory', () => {
  it('keeps tables and items across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'laminar-dynamo-'));
    try {
      const first = await startDynamoDB({ directory: dir });
      const c1 = clientFor(first);
      await createTable(c1, 'kept');
      await c1.send(new PutItemCommand({ TableName: 'kept', Item: { pk: { S: 'k' } } }));
      c1.destroy();
      await first.stop();

      const second = await startDynamoDB({ directory: dir });
      const c2 = clientFor(second);
      const got = await c2.send(new GetItemCommand({ TableName: 'kept', Key: { pk: { S: 'k' } } }));
      expect(got.Item?.pk).toEqual({ S: 'k' });
      c2.destroy();
      await second.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start on a directory another emulator holds, naming the lock, instead of dying at the first request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'laminar-dynamo-'));
    const holder = await startDynamoDB({ directory: dir });
    try {
      await expect(startDynamoDB({ directory: dir })).rejects.toThrow(/^embedded DynamoDB failed to start: its store in .* did not open \(LevelDB lets one process hold a folder, by its lock\)/);
      // The holder serves on.
      const c = clientFor(holder);
      await createTable(c, 'still');
      c.destroy();
    } finally {
      await holder.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
