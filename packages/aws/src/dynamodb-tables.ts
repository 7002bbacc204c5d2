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
import { TABLE_KINDS, type TableKind, tableKeyDefinition } from '@laminar/spec';

/**
 * Creates a table with the key schema of its kind (on-demand billing) unless it exists, and waits
 * until it is ACTIVE. For the local runner and tests: in AWS, infra owns tables. A table that
 * exists with another key schema is an error, not something to work around.
 *
 * TTL is enabled where the server supports it. dynalite has no UpdateTimeToLive, so nothing
 * expires there — which is why readers treat items past their TTL attribute as absent.
 */
export async function ensureTable(client: DynamoDBClient, name: string, kind: TableKind): Promise<'created' | 'exists'> {
  const keys = tableKeyDefinition(kind);
  let table = await describe(client, name);
  let outcome: 'created' | 'exists' = 'exists';
  if (!table) {
    try {
      const created = await client.send(new CreateTableCommand({ TableName: name, ...keys, BillingMode: 'PAY_PER_REQUEST' }));
      table = created.TableDescription;
      outcome = 'created';
    } catch (err) {
      // Someone else created it meanwhile: fall through to the schema check.
      if (!(err instanceof ResourceInUseException)) throw err;
    }
  }
  // Emulators, like DynamoDB, answer CREATING and flip to ACTIVE later — also to a caller that
  // found the table another process is still creating.
  if (table?.TableStatus !== 'ACTIVE') {
    await waitUntilTableExists({ client, maxWaitTime: 120, minDelay: 0.05, maxDelay: 1 }, { TableName: name });
    table = await describe(client, name);
  }
  if (outcome === 'created') await enableTtl(client, name, TABLE_KINDS[kind].ttlAttribute);
  const actual = JSON.stringify(table?.KeySchema ?? []);
  if (actual !== JSON.stringify(keys.KeySchema)) {
    throw new Error(`table ${name} exists with key ${actual}, but a ${kind} table needs ${JSON.stringify(keys.KeySchema)}`);
  }
  return outcome;
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
