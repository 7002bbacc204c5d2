import { ConfigError, loadConfig } from '@laminar/runtime';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config.ts';
import { scheduledEventSchema } from '../../src/input.ts';

const base = { DEDUP_TABLE: 'laminar-dev-rss-dedup', REJECTS_BUCKET: 'laminar-dev-lake', REJECTS_PREFIX: 'rejected/rss-producer/', KAFKA_TOPIC: 'rss-items', KAFKA_BOOTSTRAP_SERVERS: 'b:9092' };

describe('configuration', () => {
  it('reads the feed list (commas, newlines, repeats) with defaults for the rest', () => {
    const config = loadConfig(configSchema, {
      ...base,
      FEED_URLS: ' https://a.example/rss.xml,\n https://B.example/feed ,https://a.example/rss.xml,,',
    });
    expect(config.FEED_URLS).toEqual(['https://a.example/rss.xml', 'https://b.example/feed']);
    expect(config).toMatchObject({
      FETCH_TIMEOUT_MS: 10_000,
      MAX_FEED_BYTES: 5 * 1024 * 1024,
      FEED_CONCURRENCY: 8,
      DEDUP_TTL_DAYS: 7,
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      AWS_REGION: 'us-east-1',
    });
  });

  it('fails the cold start naming every bad variable', () => {
    const bad = () =>
      loadConfig(configSchema, { ...base, FEED_URLS: 'ftp://a.example/x', FETCH_TIMEOUT_MS: '0', KAFKA_TOPIC: 'bad topic' });
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/FEED_URLS\.0: invalid[\s\S]*FETCH_TIMEOUT_MS: invalid[\s\S]*KAFKA_TOPIC: invalid/);
    expect(() => loadConfig(configSchema, { ...base, FEED_URLS: ' , ' })).toThrow(/FEED_URLS: invalid — needs at least one/);
  });
});

describe('the event', () => {
  it('accepts EventBridge scheduled events (extra fields too) and {} for manual invokes', async () => {
    const { default: scheduled } = await import('../../events/scheduled.json', { with: { type: 'json' } });
    expect(scheduledEventSchema.safeParse(scheduled).success).toBe(true);
    expect(scheduledEventSchema.safeParse({ ...scheduled, 'new-field': 1 }).success).toBe(true);
    expect(scheduledEventSchema.safeParse({}).success).toBe(true);
  });

  it('refuses other events', () => {
    expect(scheduledEventSchema.safeParse({ Records: [{ eventSource: 'aws:s3' }] }).success).toBe(false);
    expect(scheduledEventSchema.safeParse({ 'detail-type': 'Object Created', source: 'aws.s3', id: 'x', time: 't' }).success).toBe(false);
  });
});
