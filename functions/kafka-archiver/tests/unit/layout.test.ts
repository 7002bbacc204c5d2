import { describe, expect, it } from 'vitest';
import { parseKafkaEvent } from '../../src/event.ts';
import { isFileableTimestamp, objectKey, partitionOf, recordTime } from '../../src/layout.ts';

describe('object layout', () => {
  it('names objects by topic-partition and offset range, zero-padded so keys sort by offset', () => {
    const key = objectKey('bronze/', { topic: 'dev.rss-items', partition: 3, dt: '2026-11-26', hour: '07', firstOffset: 9, lastOffset: 120 });
    expect(key).toBe('bronze/dev.rss-items/dt=2026-11-26/hour=07/dev.rss-items+3+0000000000000000009-0000000000000000120.jsonl');
    expect(objectKey('bronze/', { topic: 't', partition: 0, dt: 'd', hour: 'h', firstOffset: 10, lastOffset: 10 }) >
      objectKey('bronze/', { topic: 't', partition: 0, dt: 'd', hour: 'h', firstOffset: 9, lastOffset: 9 })).toBe(true);
  });

  it('partitions by the record timestamp in UTC', () => {
    expect(partitionOf(Date.UTC(2026, 10, 26, 23, 59, 59))).toEqual({ dt: '2026-11-26', hour: '23' });
    expect(partitionOf(-1)).toEqual({ dt: '1970-01-01', hour: '00' });
  });

  it('gives a record without a timestamp (-1) no time: filed under 1970, never dated then', () => {
    expect(recordTime(-1)).toBeNull();
    expect(recordTime(100_000_000_000)).toBe('1973-03-03T09:46:40.000Z');
    expect(recordTime(Date.UTC(2026, 10, 26, 23, 59, 59))).toBe('2026-11-26T23:59:59.000Z');
    expect(recordTime(Date.UTC(2026, 10, 26) * 1000)).toBeNull();
    expect(recordTime('1')).toBeNull();
    // Kafka has no negative timestamp but -1; one could only be archived as a made-up 1970.
    expect([-1, 100_000_000_000, -2, -5000, 1.5].map(isFileableTimestamp)).toEqual([true, true, false, false, false]);
    // Seconds, not milliseconds (a producer's clock read in the wrong unit), and 0: not filed as 1970.
    expect([Math.floor(Date.UTC(2026, 10, 26) / 1000), 0, 99_999_999_999].map(isFileableTimestamp)).toEqual([false, false, false]);
  });
});

describe('the Kafka event', () => {
  it('accepts both of AWS’s shapes and refuses anything else with every reason', () => {
    expect(parseKafkaEvent({ eventSource: 'SelfManagedKafka', records: {} }).records).toEqual({});
    expect(() => parseKafkaEvent({ Records: [] })).toThrow(/eventSource/);
    expect(() =>
      parseKafkaEvent({ eventSource: 'aws:kafka', records: { 't-0': [{ topic: 't', partition: 0, timestamp: 1, value: 'eA==' }] } }),
    ).toThrow(/offset/);
  });
});
