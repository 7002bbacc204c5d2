import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  type TableDescription,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { TABLE_KINDS, type TableKind } from '@laminar/spec';

/**
 * Creates the table with the key schema of its kind (on-demand billing) unless it exists, and
 * waits until it is ACTIVE. For local use and tests: in AWS, infra owns the table. A table that
 * exists with another partition key is an error, not something to work around.
 *
 * TTL: enabled when the server supports it. dynalite has no UpdateTimeToLive, so nothing ever
 * expires there — which is why readers treat items past their TTL attribute as absent.
 */
export async function ensureTable(client: DynamoDBClient, name: string, kind: TableKind): Promise<void> {
  const { partitionKey, ttlAttribute } = TABLE_KINDS[kind];
  let table = await describe(client, name);
  if (!table) {
    try {
      const created = await client.send(
        new CreateTableCommand({
          TableName: name,
          AttributeDefinitions: [{ AttributeName: partitionKey, AttributeType: 'S' }],
          KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      table = created.TableDescription;
      if (table?.TableStatus !== 'ACTIVE') {
        await waitUntilTableExists({ client, maxWaitTime: 120, minDelay: 1 }, { TableName: name });
      }
      await enableTtl(client, name, ttlAttribute);
      return;
    } catch (err) {
      // Someone else created it meanwhile: fall through to the schema check.
      if (!(err instanceof ResourceInUseException)) throw err;
      await waitUntilTableExists({ client, maxWaitTime: 120, minDelay: 1 }, { TableName: name });
      table = await describe(client, name);
    }
  }
  const hash = table?.KeySchema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
  if (hash !== partitionKey || (table?.KeySchema?.length ?? 0) !== 1) {
    throw new Error(
      `table ${name} exists with key ${JSON.stringify(table?.KeySchema)}, but a ${kind} table needs partition key "${partitionKey}" only`,
    );
  }
}

async function describe(client: DynamoDBClient, name: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: name }))).Table;
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return undefined;
    throw err;
  }
}

async function enableTtl(client: DynamoDBClient, name: string, attribute: string): Promise<void> {
  try {
    await client.send(
      new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: attribute, Enabled: true } }),
    );
  } catch (err) {
    // dynalite answers UnknownOperationException; anything else is a real failure.
    if ((err as { name?: string }).name !== 'UnknownOperationException') throw err;
  }
}
