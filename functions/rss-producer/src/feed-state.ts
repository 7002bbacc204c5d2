import { type AttributeValue, BatchGetItemCommand, type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { TABLE_KINDS } from '@laminar/spec';
import type { Validators } from './fetch.ts';
import type { Log } from './run.ts';

/** Where feed validators live between invocations; failures must never fail a run. */
export interface FeedStateStore {
  /** Validators known per URL; feeds it could not read are simply absent (an unconditional GET). */
  load(urls: readonly string[]): Promise<Map<string, Validators>>;
  save(entries: ReadonlyArray<readonly [url: string, validators: Validators]>): Promise<void>;
}


const { partitionKey: PK, ttlAttribute: TTL } = TABLE_KINDS.dedup;
const keyOf = (url: string) => `feedstate#${url}`;
const BATCH_GET_MAX = 100;
// DynamoDB keys are at most 2,048 bytes; one absurd URL must not fail the batch of every feed.
const storable = (url: string) => Buffer.byteLength(keyOf(url)) <= 2048;

/**
 * Validators in the dedup table, beside the claims but under their own key prefix, so they
 * survive cold starts without another table. A read or write failure degrades to an
 * unconditional GET next time: it is logged, never thrown.
 */
export class DynamoFeedState implements FeedStateStore {
  constructor(
    private readonly o: { client: DynamoDBClient; tableName: string; ttlSeconds: number; log: Pick<Log, 'warn'>; now?: () => Date },
  ) {}

  private now(): Date {
    return this.o.now?.() ?? new Date();
  }

  async load(all: readonly string[]): Promise<Map<string, Validators>> {
    const urls = all.filter(storable);
    const found = new Map<string, Validators>();
    const nowSeconds = Math.floor(this.now().getTime() / 1000);
    for (let i = 0; i < urls.length; i += BATCH_GET_MAX) {
      let keys: Record<string, AttributeValue>[] = urls.slice(i, i + BATCH_GET_MAX).map((u) => ({ [PK]: { S: keyOf(u) } }));
      try {
        // One retry for keys DynamoDB left unprocessed (throttling); after that they are unknown.
        for (let attempt = 0; attempt < 2 && keys.length > 0; attempt++) {
          const out = await this.o.client.send(
            new BatchGetItemCommand({
              RequestItems: { [this.o.tableName]: { Keys: keys, ProjectionExpression: '#pk, #exp, etag, lastModified', ExpressionAttributeNames: { '#pk': PK, '#exp': TTL } } },
            }),
          );
          for (const item of out.Responses?.[this.o.tableName] ?? []) {
            const url = item[PK]?.S?.slice('feedstate#'.length);
            // DynamoDB deletes expired items only eventually (dynalite never): past the TTL is absent.
            if (!url || Number(item[TTL]?.N ?? Number.POSITIVE_INFINITY) < nowSeconds) continue;
            found.set(url, { etag: item.etag?.S, lastModified: item.lastModified?.S });
          }
          keys = out.UnprocessedKeys?.[this.o.tableName]?.Keys ?? [];
        }
      } catch (err) {
        this.o.log.warn('could not read feed validators; fetching those feeds unconditionally', {
          error: (err as Error).message,
          feeds: urls.length,
        });
      }
    }
    return found;
  }

  async save(entries: ReadonlyArray<readonly [string, Validators]>): Promise<void> {
    const now = this.now();
    const expiresAt = Math.floor(now.getTime() / 1000) + this.o.ttlSeconds;
    const toWrite = entries.filter(([url]) => storable(url));
    const results = await Promise.allSettled(
      toWrite.map(([url, v]) =>
        this.o.client.send(
          new PutItemCommand({
            TableName: this.o.tableName,
            Item: {
              [PK]: { S: keyOf(url) },
              [TTL]: { N: String(expiresAt) },
              updatedAt: { S: now.toISOString() },
              ...(v.etag ? { etag: { S: v.etag } } : {}),
              ...(v.lastModified ? { lastModified: { S: v.lastModified } } : {}),
            },
          }),
        ),
      ),
    );
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ url: toWrite[i]?.[0], error: (r.reason as Error).message }] : []));
    if (failed.length > 0) this.o.log.warn('could not save feed validators; the next fetch of these feeds sends those saved before, if any', { failed });
  }
}
