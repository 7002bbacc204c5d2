import { describe, expect, it } from 'vitest';
import { kafkaRecordOf } from '../../src/kafka-source.ts';

type Message = Parameters<typeof kafkaRecordOf>[0];

describe('a Kafka record in the mapping event', () => {
  const message = (over: Partial<Message>) => ({ topic: 't', partition: 2, offset: 7, key: Buffer.from('k'), value: Buffer.from('{}'), headers: [{ h: Buffer.from('é') }], ...over }) as Message;

  it('is typed NO_TIMESTAMP_TYPE when it has no timestamp (-1), as Lambda types it', () => {
    expect(kafkaRecordOf(message({ timestamp: -1 }))).toMatchObject({ timestamp: -1, timestampType: 'NO_TIMESTAMP_TYPE' });
    expect(kafkaRecordOf(message({ timestamp: undefined }))).toMatchObject({ timestamp: -1, timestampType: 'NO_TIMESTAMP_TYPE' });
  });

  it('carries key and value as base64 and header values as signed bytes', () => {
    expect(kafkaRecordOf(message({ timestamp: 1_795_000_000_000 }))).toEqual({
      topic: 't',
      partition: 2,
      offset: 7,
      timestamp: 1_795_000_000_000,
      timestampType: 'CREATE_TIME',
      key: 'aw==',
      value: 'e30=',
      headers: [{ h: [-61, -87] }],
    });
  });
});
