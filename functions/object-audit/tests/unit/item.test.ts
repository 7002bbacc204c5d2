import { readFileSync } from 'node:fs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { parseS3Event, type S3ObjectRef } from '@laminar/aws';
import { loadConfig } from '@laminar/runtime';
import { describe, expect, it, vi } from 'vitest';
import { arrivalItem, recordArrivals, sortKeyOf } from '../../src/audit.ts';
import { configSchema } from '../../src/config.ts';

const sample = (name: string) => JSON.parse(readFileSync(new URL(`../../events/${name}`, import.meta.url), 'utf8'));

const ref: S3ObjectRef = {
  bucket: 'lake',
  key: 'bronze/orders 2026.csv',
  size: 42,
  etag: 'abc',
  versionId: 'v1',
  sequencer: '0A1B',
  eventTime: '2026-11-25T12:00:00.000Z',
  eventName: 'ObjectCreated:Put',
  source: 's3-notification',
};

describe('arrivalItem', () => {
  it('keys the item by object and event, with every recorded field and a TTL from the event time', () => {
    expect(arrivalItem(ref, 400)).toEqual({
      pk: 'lake/bronze/orders 2026.csv',
      sk: '2026-11-25T12:00:00.000Z#0A1B',
      bucket: 'lake',
      key: 'bronze/orders 2026.csv',
      size: 42,
      etag: 'abc',
      versionId: 'v1',
      sequencer: '0A1B',
      eventTime: '2026-11-25T12:00:00.000Z',
      eventName: 'ObjectCreated:Put',
      source: 's3-notification',
      expiresAt: Date.parse('2026-11-25T12:00:00Z') / 1000 + 400 * 86_400,
    });
  });

  it('is a pure function of the event, so a redelivery days later builds the identical item', () => {
    vi.useFakeTimers({ now: Date.parse('2026-11-25T12:00:05Z') });
    try {
      const first = arrivalItem({ ...ref }, 400);
      // Redelivered a day later (an async retry, EventBridge's own): nothing is taken from the clock.
      vi.setSystemTime(Date.parse('2026-11-26T12:00:05Z'));
      expect(arrivalItem({ ...ref }, 400)).toEqual(first);
    } finally {
      vi.useRealTimers();
    }
  });

  it('leaves absent fields out instead of writing empty attributes', () => {
    const item = arrivalItem({ bucket: 'lake', key: 'k', eventTime: ref.eventTime, eventName: 'ObjectRemoved:Delete', source: 's3-notification', sequencer: '0C' }, 1);
    expect(Object.keys(item).sort()).toEqual(['bucket', 'eventName', 'eventTime', 'expiresAt', 'key', 'pk', 'sequencer', 'sk', 'source']);
  });

  it('falls back from sequencer to versionId to etag in the sort key', () => {
    const t = ref.eventTime;
    expect(sortKeyOf({ eventTime: t, sequencer: 's', etag: 'e', versionId: 'v' })).toBe(`${t}#s`);
    // Two versions of the same bytes in one second: two writes, two arrivals.
    expect(sortKeyOf({ eventTime: t, etag: 'e', versionId: 'v1' })).not.toBe(sortKeyOf({ eventTime: t, etag: 'e', versionId: 'v2' }));
    expect(sortKeyOf({ eventTime: t, etag: 'e' })).toBe(`${t}#e`);
    expect(sortKeyOf({ eventTime: t, versionId: 'v' })).toBe(`${t}#v`);
    expect(sortKeyOf({ eventTime: t })).toBe(`${t}#-`);
  });

  it('sorts one object’s history by time whatever precision the source gave', () => {
    // EventBridge times have whole seconds, notification times milliseconds: normalized by the parser.
    const eb = parseS3Event(sample('eventbridge-object-created.json'))[0]!;
    const later = { ...eb, eventTime: '2026-11-25T12:00:00.250Z', sequencer: '00674460D0A6B1C2D4' };
    const keys = [arrivalItem(later, 1).sk, arrivalItem(eb, 1).sk];
    expect(keys.sort()).toEqual([arrivalItem(eb, 1).sk, arrivalItem(later, 1).sk]);
  });

  it('builds items from the sample events with their keys decoded', () => {
    expect(arrivalItem(parseS3Event(sample('eventbridge-object-created.json'))[0]!, 400)).toMatchObject({
      pk: 'laminar-local-lake/bronze/orders 2026-11 été.csv',
      sk: '2026-11-25T12:00:00.000Z#00674460D0A6B1C2D3',
      source: 'eventbridge',
      eventName: 'Object Created:PutObject',
    });
    expect(arrivalItem(parseS3Event(sample('s3-notification-object-created.json'))[0]!, 400)).toMatchObject({
      pk: 'laminar-local-lake/bronze/c++ exports/orders.csv',
      sk: '2026-11-25T12:00:00.250Z#00674460D0A6B1C2E4',
      source: 's3-notification',
      etag: '6f1ed002ab5595859014ebf0951522d9-2',
    });
  });
});

describe('recordArrivals', () => {
  it('writes one PutItem per distinct arrival, conditional on the item not being there yet', async () => {
    const sent: { TableName?: string; Item?: Record<string, unknown>; ConditionExpression?: string; ExpressionAttributeNames?: Record<string, string> }[] = [];
    const db = { send: async (command: { input: (typeof sent)[number] }) => sent.push(command.input) } as unknown as DynamoDBDocumentClient;
    const other = { ...ref, key: 'bronze/other.csv' };
    const result = await recordArrivals([ref, other, { ...ref }], { db, tableName: 'arrivals', ttlDays: 7 });
    // The repeated arrival is one write, and counted as a duplicate delivery (it was delivered twice).
    expect(result).toEqual({ recorded: 2, alreadyRecorded: 1 });
    // The ledger's partition key (kind `ledger`: pk); on a pk + sk table the condition concerns this one item.
    expect(sent.map((s) => [s.TableName, s.Item?.pk, s.ConditionExpression, s.ExpressionAttributeNames])).toEqual([
      ['arrivals', 'lake/bronze/orders 2026.csv', 'attribute_not_exists(#pk)', { '#pk': 'pk' }],
      ['arrivals', 'lake/bronze/other.csv', 'attribute_not_exists(#pk)', { '#pk': 'pk' }],
    ]);
  });
});

describe('config', () => {
  it('needs the table, defaults the TTL and refuses a nonsensical one by name', () => {
    expect(loadConfig(configSchema, { AUDIT_TABLE: 'object-arrivals' })).toMatchObject({ AUDIT_TABLE: 'object-arrivals', AUDIT_TTL_DAYS: 400 });
    expect(() => loadConfig(configSchema, {})).toThrow(/AUDIT_TABLE: missing/);
    expect(() => loadConfig(configSchema, { AUDIT_TABLE: 'object-arrivals', AUDIT_TTL_DAYS: '0' })).toThrow(/AUDIT_TTL_DAYS: invalid/);
  });
});
