import { describe, expect, it } from 'vitest';
import { kafkaConsumerConfig, kafkaRecordOf, kafkaTimestampText } from '../../src/kafka-source.ts';

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

describe("the mapping's consumer configuration", () => {
  const config = (broker: 'embedded' | 'external', over: { createTopics?: boolean } = {}) =>
    kafkaConsumerConfig({ functionName: 'kafka-archiver', bootstrapServers: 'b:9092', broker, groupId: 'g', startingPosition: 'TRIM_HORIZON', ...over });

  it('joins the embedded mock cluster with KIP-848 and lets it create the topics', () => {
    expect(config('embedded').global).toMatchObject({ 'group.protocol': 'consumer', 'allow.auto.create.topics': true, 'group.id': 'g', 'enable.auto.commit': false });
  });

  it('joins an external broker with the classic protocol (KIP-848 needs Kafka 4.0+) and creates no topic there', () => {
    expect(config('external').global).toMatchObject({ 'group.protocol': 'classic', 'allow.auto.create.topics': false, 'bootstrap.servers': 'b:9092' });
    expect(config('external', { createTopics: true }).global['allow.auto.create.topics']).toBe(true);
    expect(config('embedded', { createTopics: false }).global['allow.auto.create.topics']).toBe(false);
  });

  it('starts where the trigger says when the group has no commit', () => {
    expect(config('external').topic).toEqual({ 'auto.offset.reset': 'earliest' });
    expect(kafkaConsumerConfig({ functionName: 'f', bootstrapServers: 'b', broker: 'embedded', groupId: 'g', startingPosition: 'LATEST' }).topic).toEqual({ 'auto.offset.reset': 'latest' });
  });
});

describe("a record's timestamp in the DLQ record", () => {
  it('is an ISO time for milliseconds, the epoch for no timestamp (-1)', () => {
    expect(kafkaTimestampText(1_795_000_000_000)).toBe('2026-11-18T11:06:40.000Z');
    expect(kafkaTimestampText(-1)).toBe('1970-01-01T00:00:00.000Z');
  });

  it('is the number itself past the range of a JS Date (a producer writing nanoseconds; any int64), instead of throwing', () => {
    expect(kafkaTimestampText(1_800_000_000_000_000_000)).toBe('1800000000000000000');
    expect(kafkaTimestampText(8_640_000_000_000_001)).toBe('8640000000000001');
    expect(kafkaTimestampText(8_640_000_000_000_000)).toBe('+275760-09-13T00:00:00.000Z');
  });
});
