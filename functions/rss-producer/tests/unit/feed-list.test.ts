import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config.ts';
import { resolveFeedUrls } from '../../src/feed-list.ts';

const base = { KAFKA_BOOTSTRAP_SERVERS: 'b:9092', KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT', DEDUP_TABLE: 'dedup', REJECTS_BUCKET: 'lake', REJECTS_PREFIX: 'rejected/rss-producer/', KAFKA_TOPIC: 'rss-items' };

describe('feed list from env or SSM', () => {
  it('needs exactly one of FEED_URLS and FEED_URLS_PARAMETER', () => {
    expect(configSchema.safeParse(base).error?.issues[0]).toMatchObject({ path: ['FEED_URLS'], message: expect.stringMatching(/exactly one/) });
    expect(
      configSchema.safeParse({ ...base, FEED_URLS: 'https://a.example/rss', FEED_URLS_PARAMETER: '/laminar/dev/feeds' }).success,
    ).toBe(false);
  });

  it('uses FEED_URLS without asking SSM', async () => {
    const config = configSchema.parse({ ...base, FEED_URLS: 'https://a.example/rss, https://b.example/atom' });
    const read = async () => {
      throw new Error('must not be called');
    };
    expect(await resolveFeedUrls(config, read)).toEqual(['https://a.example/rss', 'https://b.example/atom']);
  });

  it('reads the list from the SSM parameter', async () => {
    const config = configSchema.parse({ ...base, FEED_URLS_PARAMETER: '/laminar/dev/rss-feeds' });
    const asked: string[] = [];
    const urls = await resolveFeedUrls(config, async (name) => {
      asked.push(name);
      return 'https://a.example/rss\nhttps://b.example/atom\nhttps://a.example/rss';
    });
    expect(asked).toEqual(['/laminar/dev/rss-feeds']);
    expect(urls).toEqual(['https://a.example/rss', 'https://b.example/atom']);
  });

  it('fails naming the parameter when it is missing, unreadable or not a list', async () => {
    const config = configSchema.parse({ ...base, FEED_URLS_PARAMETER: '/laminar/dev/rss-feeds' });
    await expect(resolveFeedUrls(config, async () => undefined)).rejects.toThrow(/FEED_URLS_PARAMETER: .*\/laminar\/dev\/rss-feeds/);
    await expect(resolveFeedUrls(config, async () => 'not a url')).rejects.toThrow(/does not hold a feed list/);
    await expect(
      resolveFeedUrls(config, async () => {
        throw new Error('AccessDeniedException');
      }),
    ).rejects.toThrow(/cannot read SSM parameter \/laminar\/dev\/rss-feeds: AccessDeniedException/);
  });
});
