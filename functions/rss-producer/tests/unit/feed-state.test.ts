import { BatchGetItemCommand, type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoFeedState } from '../../src/feed-state.ts';

const NOW = new Date('2026-11-25T21:00:00Z');
const nowS = NOW.getTime() / 1000;

function client(send: (command: unknown) => Promise<unknown>): DynamoDBClient {
  return { send } as unknown as DynamoDBClient;
}

function store(send: (command: unknown) => Promise<unknown>) {
  const warnings: [string, unknown][] = [];
  const state = new DynamoFeedState({
    client: client(send),
    tableName: 't',
    ttlSeconds: 3600,
    log: { warn: (m: string, a: unknown) => warnings.push([m, a]) } as never,
    now: () => NOW,
  });
  return { state, warnings };
}

describe('DynamoFeedState', () => {
  it('reads validators in one BatchGetItem, skipping expired records DynamoDB has not deleted yet', async () => {
    const sent: unknown[] = [];
    const { state } = store(async (command) => {
      sent.push(command);
      return {
        Responses: {
          t: [
            { pk: { S: 'feedstate#https://a.example/' }, expiresAt: { N: String(nowS + 10) }, etag: { S: '"a"' } },
            { pk: { S: 'feedstate#https://b.example/' }, expiresAt: { N: String(nowS - 10) }, etag: { S: '"b"' } },
          ],
        },
      };
    });
    const known = await state.load(['https://a.example/', 'https://b.example/', 'https://c.example/', `https://d.example/${'x'.repeat(3000)}`]);
    expect([...known]).toEqual([['https://a.example/', { etag: '"a"', lastModified: undefined }]]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toBeInstanceOf(BatchGetItemCommand);
    // The over-long URL is not asked for: it would fail the whole batch.
    expect((sent[0] as BatchGetItemCommand).input.RequestItems?.t?.Keys).toHaveLength(3);
  });

  it('degrades to "nothing known" when DynamoDB fails, with a warning', async () => {
    const { state, warnings } = store(async () => {
      throw new Error('ProvisionedThroughputExceededException');
    });
    expect((await state.load(['https://a.example/'])).size).toBe(0);
    expect(warnings[0]?.[0]).toMatch(/could not read feed validators/);
  });

  it('writes validators with the TTL attribute; a failed write is a warning, not an error', async () => {
    const puts: PutItemCommand[] = [];
    const { state, warnings } = store(async (command) => {
      const put = command as PutItemCommand;
      puts.push(put);
      if (put.input.Item?.pk?.S?.includes('b.example')) throw new Error('throttled');
      return {};
    });
    await state.save([
      ['https://a.example/', { etag: '"a"', lastModified: 'Wed, 25 Nov 2026 18:00:00 GMT' }],
      ['https://b.example/', { etag: '"b"' }],
    ]);
    expect(puts[0]).toBeInstanceOf(PutItemCommand);
    expect(puts[0]?.input.Item).toEqual({
      pk: { S: 'feedstate#https://a.example/' },
      expiresAt: { N: String(nowS + 3600) },
      updatedAt: { S: NOW.toISOString() },
      etag: { S: '"a"' },
      lastModified: { S: 'Wed, 25 Nov 2026 18:00:00 GMT' },
    });
    expect(warnings).toEqual([
      ['could not save feed validators; the next fetch of these feeds sends those saved before, if any', { failed: [{ url: 'https://b.example/', error: 'throttled' }] }],
    ]);
  });
});
