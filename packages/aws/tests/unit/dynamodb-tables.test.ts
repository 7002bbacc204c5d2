import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { ensureTable } from '../../src/index.ts';

describe('ensureTable', () => {
  it('waits for a table another process is still creating before saying it exists', async () => {
    // What a second caller sees while the first one's CreateTable is under way: CREATING, then ACTIVE.
    const statuses = ['CREATING', 'CREATING', 'ACTIVE', 'ACTIVE'];
    const sent: string[] = [];
    const client = {
      send: async (command: { constructor: { name: string } }) => {
        sent.push(command.constructor.name);
        const status = statuses.shift() ?? 'ACTIVE';
        return { Table: { TableName: 'shared', TableStatus: status, KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] }, $metadata: {} };
      },
    } as unknown as DynamoDBClient;
    expect(await ensureTable(client, 'shared', 'dedup')).toBe('exists');
    // It described the table until ACTIVE, and created nothing.
    expect(sent.filter((c) => c === 'DescribeTableCommand').length).toBeGreaterThanOrEqual(3);
    expect(sent).not.toContain('CreateTableCommand');
    expect(statuses.length).toBeLessThanOrEqual(1);
  });
});
