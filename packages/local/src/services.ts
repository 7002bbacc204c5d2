import { type AttributeValue, BatchWriteItemCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { ensureTable } from '@laminar/aws';
import { type DynamoEmulator, type KafkaEmulator, startDynamoDB, startKafka } from '@laminar/emulators';
import { TABLE_KINDS, type TableKind } from '@laminar/spec';
import type { AwsCredentials } from './invoker.ts';

/** An endpoint setting: embedded unless configured; "aws" = AWS's own endpoint. */
export type EndpointTarget =
  | { kind: 'embedded' }
  | { kind: 'external'; endpoint: string | undefined; source: string };

/** The first non-empty candidate wins; "aws" means AWS itself (no endpoint override). */
export function resolveEndpoint(candidates: [string, string | undefined][]): EndpointTarget {
  const found = candidates.find(([, v]) => v !== undefined && v.trim() !== '');
  if (!found) return { kind: 'embedded' };
  const [source, raw] = found as [string, string];
  const value = raw.trim();
  if (value.toLowerCase() === 'aws') return { kind: 'external', endpoint: undefined, source };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${source}="${value}" is not a URL (or "aws")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${source}="${value}" must be http(s)`);
  return { kind: 'external', endpoint: value.replace(/\/+$/, ''), source };
}

export function resolveDynamoTarget(explicit: string | undefined, env: NodeJS.ProcessEnv): EndpointTarget {
  return resolveEndpoint([
    ['dynamodbEndpoint option', explicit],
    ['LAMINAR_DYNAMODB_ENDPOINT', env.LAMINAR_DYNAMODB_ENDPOINT],
    ['AWS_ENDPOINT_URL_DYNAMODB', env.AWS_ENDPOINT_URL_DYNAMODB],
  ]);
}

export type KafkaTarget = { kind: 'embedded' } | { kind: 'external'; bootstrapServers: string; source: string };

export function resolveKafkaTarget(explicit: string | undefined, env: NodeJS.ProcessEnv): KafkaTarget {
  const candidates: [string, string | undefined][] = [
    ['kafkaBootstrapServers option', explicit],
    ['KAFKA_BOOTSTRAP_SERVERS', env.KAFKA_BOOTSTRAP_SERVERS],
  ];
  const found = candidates.find(([, v]) => v !== undefined && v.trim() !== '');
  if (!found) return { kind: 'embedded' };
  const [source, raw] = found as [string, string];
  const servers = raw.trim();
  if (!servers.split(',').every((s) => /^[^\s:/]+:\d+$/.test(s.trim()))) {
    throw new Error(`${source}="${servers}" must be HOST:PORT[,HOST:PORT...]`);
  }
  return { kind: 'external', bootstrapServers: servers, source };
}

export interface DynamoAccess {
  /** Undefined when talking to AWS itself. */
  endpoint: string | undefined;
  region: string;
  client: DynamoDBClient;
  embedded: DynamoEmulator | undefined;
  /** Real table name → the kind it was created as. */
  tables: Record<string, TableKind>;
  /** Ambient credentials, when not embedded (the functions get them too). */
  credentials: AwsCredentials | undefined;
  description: string;
}

export interface KafkaAccess {
  bootstrapServers: string;
  embedded: KafkaEmulator | undefined;
  description: string;
}

/** Keys in the given environment first, else the SDK's own chain (profile, SSO…), as the S3 side does. */
export function givenCredentials(env: NodeJS.ProcessEnv): AwsCredentials | undefined {
  return env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
    ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN }
    : undefined;
}

export function ambientRegion(env: NodeJS.ProcessEnv): string {
  return env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
}

/**
 * DynamoDB for the declared tables: the embedded dynalite (LevelDB in `directory`, so dedup state
 * survives between runs) or a configured endpoint. Every table is created with its kind's key
 * schema, on demand; an existing table is kept as it is.
 */
export async function connectDynamo(
  target: EndpointTarget,
  env: NodeJS.ProcessEnv,
  tables: Record<string, TableKind>,
  directory?: string,
): Promise<DynamoAccess> {
  let embedded: DynamoEmulator | undefined;
  let client: DynamoDBClient;
  let credentials: AwsCredentials | undefined;
  let region: string;
  let description: string;
  if (target.kind === 'embedded') {
    try {
      embedded = await startDynamoDB(directory ? { directory } : {});
    } catch (err) {
      const locked = /lock/i.test((err as Error).message);
      throw new Error(
        `${(err as Error).message}${
          locked ? `\n(is another laminar dev/invoke using ${directory}? point this one at its DynamoDB with LAMINAR_DYNAMODB_ENDPOINT)` : ''
        }`,
      );
    }
    region = embedded.region;
    client = new DynamoDBClient({ region, endpoint: embedded.endpoint, credentials: embedded.credentials });
    description = `embedded DynamoDB at ${embedded.endpoint} (data: ${directory ?? 'in memory'})`;
  } else {
    region = ambientRegion(env);
    const given = givenCredentials(env);
    client = new DynamoDBClient({ region, ...(target.endpoint ? { endpoint: target.endpoint } : {}), ...(given ? { credentials: given } : {}) });
    try {
      const identity = given ?? (await client.config.credentials());
      credentials = { accessKeyId: identity.accessKeyId, secretAccessKey: identity.secretAccessKey, sessionToken: identity.sessionToken };
    } catch (err) {
      client.destroy();
      throw new Error(
        `no credentials for DynamoDB at ${target.endpoint ?? 'AWS'} (from ${target.source}): set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE (${(err as Error).message})`,
      );
    }
    description = `DynamoDB at ${target.endpoint ?? `AWS (${region})`} (from ${target.source})`;
  }
  try {
    await Promise.all(Object.entries(tables).map(([name, kind]) => ensureTable(client, name, kind)));
  } catch (err) {
    client.destroy();
    await embedded?.stop();
    throw err;
  }
  return { endpoint: embedded?.endpoint ?? (target.kind === 'external' ? target.endpoint : undefined), region, client, embedded, tables, credentials, description };
}

/** The embedded broker (librdkafka's mock cluster) or a configured one, reached over PLAINTEXT. */
export async function connectKafka(target: KafkaTarget): Promise<KafkaAccess> {
  if (target.kind === 'external') {
    return {
      bootstrapServers: target.bootstrapServers,
      embedded: undefined,
      description: `Kafka at ${target.bootstrapServers} (from ${target.source})`,
    };
  }
  const embedded = await startKafka();
  return {
    bootstrapServers: embedded.bootstrapServers,
    embedded,
    description: `embedded Kafka (librdkafka mock cluster) at ${embedded.bootstrapServers} (topics auto-create; nothing persists between runs)`,
  };
}

/** Deletes every item of a table (a local one: a scan, then deletes 25 at a time); returns how many. */
export async function emptyTable(client: DynamoDBClient, name: string, kind: TableKind): Promise<number> {
  const schema = TABLE_KINDS[kind];
  const keyNames = [schema.partitionKey, ...('sortKey' in schema ? [schema.sortKey] : [])];
  let deleted = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: name,
        ProjectionExpression: keyNames.map((_, i) => `#k${i}`).join(', '),
        ExpressionAttributeNames: Object.fromEntries(keyNames.map((k, i) => [`#k${i}`, k])),
        ExclusiveStartKey: start,
      }),
    );
    const keys = page.Items ?? [];
    for (let i = 0; i < keys.length; i += 25) {
      let requests = keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
      while (requests.length) {
        const res = await client.send(new BatchWriteItemCommand({ RequestItems: { [name]: requests } }));
        requests = (res.UnprocessedItems?.[name] ?? []) as typeof requests;
      }
    }
    deleted += keys.length;
    start = page.LastEvaluatedKey;
  } while (start);
  return deleted;
}
