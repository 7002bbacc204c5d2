import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, type BatchGetCommandInput, DynamoDBDocumentClient, type TranslateConfig } from '@aws-sdk/lib-dynamodb';
import { TABLE_KINDS } from '@laminar/spec';
import { backoff, chunk, MAX_UNPROCESSED_ATTEMPTS } from './limits.ts';

export const { partitionKey: PK, ttlAttribute: TTL } = TABLE_KINDS.dedup;
/** DynamoDB's limits per BatchGetItem / BatchWriteItem call and for a partition key value. */
export const BATCH_GET_KEYS = 100;
export const BATCH_WRITE_ITEMS = 25;
const MAX_KEY_BYTES = 2048;

/**
 * A document client over `client`. It shares the client's connections, middleware AND config
 * object: `from` writes its translateConfig there for every document client of that client, so
 * the one already set is passed on and a caller's own document client keeps its settings (the
 * stores need none).
 */
export function documentClientOf(client: DynamoDBClient): DynamoDBDocumentClient {
  const existing = (client.config as { translateConfig?: TranslateConfig }).translateConfig;
  return DynamoDBDocumentClient.from(client, existing);
}

// "a#b" + "c" and "a" + "b#c" would share a key; ids may contain '#', scopes may not.
export function checkScope(scope: string): void {
  if (scope.length === 0 || scope.includes('#')) throw new RangeError(`dedup scope must be non-empty and free of '#': ${scope}`);
}

export function keyOf(scope: string, id: string): string {
  const pk = `${scope}#${id}`;
  if (Buffer.byteLength(pk) > MAX_KEY_BYTES) throw new RangeError(`dedup key longer than ${MAX_KEY_BYTES} bytes: ${pk.slice(0, 80)}…`);
  return pk;
}

// Number(): another document client's `wrapNumbers` may hand numbers over as NumberValue.
export const toNumber = (v: unknown): number | undefined => (v === undefined || v === null ? undefined : Number(v));

/**
 * Consistent BatchGetItem over all keys, 100 per call, all calls in parallel, unprocessed keys
 * retried with backoff; each item found is handed to `onItem`. `what` names the read in an error,
 * `consequence` says what giving up means.
 */
export async function readConsistent(
  doc: DynamoDBDocumentClient,
  table: string,
  keys: readonly string[],
  projection: { expression: string; names: Record<string, string> },
  onItem: (item: Record<string, unknown>) => void,
  what: string,
  consequence: string,
): Promise<void> {
  await Promise.all(
    chunk(keys, BATCH_GET_KEYS).map(async (part) => {
      let request: NonNullable<BatchGetCommandInput['RequestItems']>[string] = {
        Keys: part.map((pk) => ({ [PK]: pk })),
        ConsistentRead: true,
        ProjectionExpression: projection.expression,
        ExpressionAttributeNames: projection.names,
      };
      for (let attempt = 0; ; attempt++) {
        const out = await doc.send(new BatchGetCommand({ RequestItems: { [table]: request } }));
        for (const item of out.Responses?.[table] ?? []) onItem(item);
        const rest = out.UnprocessedKeys?.[table]?.Keys ?? [];
        if (rest.length === 0) return;
        if (attempt + 1 >= MAX_UNPROCESSED_ATTEMPTS) {
          throw new Error(`${what}: ${rest.length} keys still unprocessed after ${MAX_UNPROCESSED_ATTEMPTS} attempts (the table is throttling): ${consequence}`);
        }
        // Keep our projection and consistency: not every server echoes them with the leftovers.
        request = { ...request, Keys: rest };
        await backoff(attempt);
      }
    }),
  );
}
