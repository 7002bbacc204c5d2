import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { itemIdentity, normalizeEntries, sha256 } from '../../src/normalize.ts';
import { parseFeedDocument, type RawEntry } from '../../src/parse.ts';

/**
 * Ids that collided: different items given one id were counted as duplicates and never produced.
 * Each case also checks that the fallback gives the same entry the same id on every fetch.
 */

const STATUS_FEED = 'https://status.example.com/history.rss';
const statusHistory = readFileSync(new URL('../fixtures/status-history.xml', import.meta.url), 'utf8');
const STATUS_ITEMS = statusHistory.match(/<item>[\s\S]*?<\/item>/g) ?? [];
/** The status feed listing these items instead of its own. */
const withItems = (...items: (string | undefined)[]) => statusHistory.replace(/<item>[\s\S]*<\/item>/, items.join('\n'));

function entry(e: Partial<RawEntry>, base = STATUS_FEED): RawEntry {
  return { titleIsHtml: true, base, dates: [], summaryIsHtml: true, categories: [], ...e };
}

function idsOf(feedUrl: string, entries: Partial<RawEntry>[], homepage?: string): string[] {
  const { items, rejected } = normalizeEntries(feedUrl, entries.map((e) => entry(e, feedUrl)), homepage);
  expect(rejected).toEqual([]);
  return items.map((i) => i.id);
}

/** One fetch of a document: its ids, through the parser as the handler reads it. */
function fetchIds(xml: string, feedUrl = STATUS_FEED): string[] {
  const parsed = parseFeedDocument(xml, feedUrl, 'application/rss+xml');
  const { items, rejected } = normalizeEntries(feedUrl, parsed.entries, parsed.homepage);
  expect(rejected).toEqual([]);
  return items.map((i) => i.id);
}

/** What a run counts as new: ids not seen before (the dedup table, as a Set). */
function produce(seen: Set<string>, ids: string[]): number {
  let fresh = 0;
  for (const id of ids) {
    if (!seen.has(id)) fresh++;
    seen.add(id);
  }
  return fresh;
}

describe('a link many entries share is not an identity', () => {
  it('gives each entry of a status feed linking every entry to the status page its own id', () => {
    // The probe: fetched 3, new 1, duplicate 2.
    const seen = new Set<string>();
    expect(produce(seen, fetchIds(statusHistory))).toBe(3);
  });

  it('keeps those ids from one fetch to the next, and a later entry listed alone is new', () => {
    const seen = new Set<string>();
    const [latest, maintenance, olderMaintenance] = STATUS_ITEMS;
    produce(seen, fetchIds(statusHistory));
    expect(produce(seen, fetchIds(statusHistory))).toBe(0);
    // A new incident on top, the oldest entry gone: one new item.
    const incident = '<item><title>Login failures in EU</title><link>https://status.example.com/</link><pubDate>Thu, 26 Nov 2026 09:00:00 GMT</pubDate></item>';
    expect(produce(seen, fetchIds(withItems(incident, latest, maintenance)))).toBe(1);
    // A feed that lists only its latest entry: each entry is new once, whatever was listed before.
    expect(produce(seen, fetchIds(withItems(olderMaintenance)))).toBe(0);
    const webhooks = incident.replace('Login failures in EU', 'Webhooks delayed').replace('Thu, 26', 'Fri, 27');
    expect(produce(seen, fetchIds(withItems(webhooks)))).toBe(1);
  });

  it('gives an entry linking to the status page the same id whether or not its neighbours share the link', () => {
    const alone = idsOf(STATUS_FEED, [{ title: 'Elevated API error rates', link: 'https://status.example.com/', dates: ['Wed, 25 Nov 2026 14:10:00 GMT'] }]);
    const listed = fetchIds(statusHistory);
    expect(listed[0]).toBe(alone[0]);
  });

  it('recognizes the home page of a feed redirected to another host, resolved as its entries\' links are', () => {
    // Configured on .com, served from .net; channel and entries link relatively to one history page.
    const xml = `<?xml version="1.0"?><rss version="2.0"><channel><title>Status</title><link>/history</link>
      <item><title>Outage 1</title><link>/history</link><pubDate>Tue, 24 Nov 2026 02:00:00 GMT</pubDate></item>
      <item><title>Outage 2</title><link>/history</link><pubDate>Tue, 17 Nov 2026 02:00:00 GMT</pubDate></item></channel></rss>`;
    const configured = 'https://status.example.com/feed.rss';
    const servedFrom = 'https://status.example.net/feed.rss';
    const parsed = parseFeedDocument(xml, servedFrom, 'application/rss+xml');
    expect(parsed.homepage).toBe('https://status.example.net/history');
    const { items } = normalizeEntries(configured, parsed.entries, parsed.homepage, servedFrom);
    expect(new Set(items.map((i) => i.id)).size).toBe(2);
    // An entry linking to the document it was served from names no item either.
    const self = normalizeEntries(configured, [entry({ title: 'A', link: servedFrom }, servedFrom), entry({ title: 'B', link: servedFrom }, servedFrom)], undefined, servedFrom);
    expect(new Set(self.items.map((i) => i.id)).size).toBe(2);
  });

  it('does not take the home page, the feed itself or any site root for an item, whatever the scheme or trailing slash', () => {
    const feed = 'https://www.example.org/blog/feed.xml';
    const two = (link: string, homepage?: string) =>
      new Set(idsOf(feed, [{ title: 'Release 4.2', link }, { title: 'Release 4.3', link }], homepage)).size;
    expect(two('https://www.example.org/blog/', 'http://www.example.org/blog')).toBe(2);
    expect(two('http://www.example.org/blog/feed.xml')).toBe(2);
    // A publisher's front page, on another host than the feed and without a home page given.
    expect(two('https://publisher.example/')).toBe(2);
    expect(two('https://publisher.example')).toBe(2);
  });

  it('does not take a guid that is a site root for an item, nor a guid shared by entries linking to the status page', () => {
    const rootGuid = idsOf(STATUS_FEED, [
      { guid: 'https://status.example.com/', title: 'Elevated API error rates' },
      { guid: 'https://status.example.com/', title: 'Webhooks delayed' },
    ]);
    expect(new Set(rootGuid).size).toBe(2);
    const sharedGuid = idsOf(
      STATUS_FEED,
      [
        { guid: 'status', title: 'Elevated API error rates', link: 'https://status.example.com/' },
        { guid: 'status', title: 'Webhooks delayed', link: 'https://status.example.com/' },
      ],
      'https://status.example.com/',
    );
    expect(new Set(sharedGuid).size).toBe(2);
  });

  it('keeps the id of every article link and URL guid, fragment or parameters included', () => {
    const ids = idsOf('https://news.example.com/', [
      { title: 'A', link: 'https://news.example.com/world/a?utm_source=rss' },
      { title: 'B', guid: 'https://news.example.com/world/b' },
      { title: 'v1.3', link: 'https://app.example/#v1-3' },
      { title: 'post', link: 'https://blog.example/?p=123' },
    ]);
    expect(ids).toEqual(
      ['https://news.example.com/world/a', 'https://news.example.com/world/b', 'https://app.example/#v1-3', 'https://blog.example/?p=123'].map((u) =>
        sha256(`url:${u}`),
      ),
    );
  });
});

describe('a title is told apart by its date', () => {
  const always = () => true;

  it('gives two "Scheduled maintenance" entries a week apart their own ids', () => {
    const ids = idsOf(STATUS_FEED, [
      { title: 'Scheduled maintenance', summary: 'Database upgrade', dates: ['Tue, 24 Nov 2026 02:00:00 GMT'] },
      { title: 'Scheduled maintenance', summary: 'Load balancer replacement', dates: ['Tue, 17 Nov 2026 02:00:00 GMT'] },
    ]);
    expect(new Set(ids).size).toBe(2);
  });

  it('tells them apart by the date as written when it cannot be read (a zone such as IST names three)', () => {
    const ids = idsOf(STATUS_FEED, [
      { title: 'Scheduled maintenance', dates: ['Tue, 24 Nov 2026 02:00:00 IST'] },
      { title: 'Scheduled maintenance', dates: ['Tue, 17 Nov 2026 02:00:00 IST'] },
    ]);
    expect(new Set(ids).size).toBe(2);
    // The same entry fetched again keeps its id.
    expect(idsOf(STATUS_FEED, [{ title: 'Scheduled maintenance', dates: ['Tue, 24 Nov 2026 02:00:00 IST'] }])[0]).toBe(ids[0]);
  });

  it('keeps the id when the same date is written another way, and the old id without a date of a feed at its host\'s root', () => {
    const at = (date: string) => idsOf(STATUS_FEED, [{ title: 'Scheduled maintenance', dates: [date] }])[0];
    expect(at('Tue, 24 Nov 2026 02:00:00 GMT')).toBe(at('2026-11-24T03:00:00+01:00'));
    const rootFeed = 'https://status.example.com/';
    expect(itemIdentity({ link: null, title: 'Scheduled maintenance' }, rootFeed, always)?.key).toBe('title:status.example.com\nScheduled maintenance');
    expect(idsOf(rootFeed, [{ title: 'Scheduled maintenance' }])).toEqual([sha256('title:status.example.com\nScheduled maintenance')]);
    // A feed with a path scopes its titles by it, as its non-URL guids.
    expect(itemIdentity({ link: null, title: 'Scheduled maintenance' }, STATUS_FEED, always)?.key).toBe('title:status.example.com/history.rss\nScheduled maintenance');
  });
});

describe('a guid that is not a URL is scoped to its feed', () => {
  it('tells apart two publishers of one host that number their items alike', () => {
    const a = idsOf('https://feeds.feedburner.com/PublisherA', [{ guid: '1234', guidIsPermaLink: false, title: 'A story', link: 'https://a.example/story' }]);
    const b = idsOf('https://feeds.feedburner.com/PublisherB', [{ guid: '1234', guidIsPermaLink: false, title: 'B story', link: 'https://b.example/story' }]);
    expect(a[0]).not.toBe(b[0]);
  });

  it('tells apart two publishers of one host that differ only by the query (the review\'s probe: Bob\'s post was never produced)', () => {
    const doc = (who: string) => `<rss version="2.0"><channel><title>${who}</title><link>https://hub.example/${who}</link>
      <item><title>${who}'s first post</title><guid isPermaLink="false">1</guid><link>https://hub.example/view?u=${who}&amp;p=1</link></item></channel></rss>`;
    const seen = new Set<string>();
    for (const who of ['alice', 'bob']) expect(produce(seen, fetchIds(doc(who), `https://hub.example/feed.php?user=${who}`)), who).toBe(1);
  });

  it('tells apart title-only entries of two publishers of one host, by path or by query', () => {
    const seen = new Set<string>();
    for (const feedUrl of ['https://hub.example/feed.php?user=alice', 'https://hub.example/feed.php?user=bob', 'https://feeds.feedburner.com/PublisherA', 'https://feeds.feedburner.com/PublisherB']) {
      expect(produce(seen, idsOf(feedUrl, [{ title: 'Weekly update' }])), feedUrl).toBe(1);
    }
  });

  it('keeps the id across scheme, port, trailing slash, tracking parameters and parameter order, and keeps the host-only id of a feed at its root', () => {
    const key = (feedUrl: string) => itemIdentity({ guid: '1234', link: null, title: 'T' }, feedUrl, () => true)?.key;
    expect(key('https://feeds.feedburner.com/PublisherA')).toBe('guid:feeds.feedburner.com/PublisherA\n1234');
    for (const same of ['http://feeds.feedburner.com:8080/PublisherA/', 'https://FEEDS.feedburner.com/PublisherA?utm_source=newsletter&utm_medium=email', 'https://feeds.feedburner.com/PublisherA?']) {
      expect(key(same), same).toBe(key('https://feeds.feedburner.com/PublisherA'));
    }
    expect(key('https://news.example.com/')).toBe('guid:news.example.com\n1234');
    // A query that is not tracking names the feed: kept, its parameters sorted.
    expect(key('https://hub.example/feed.php?user=alice&format=rss')).toBe('guid:hub.example/feed.php?format=rss&user=alice\n1234');
    for (const same of ['https://hub.example/feed.php?format=rss&user=alice', 'http://hub.example/feed.php?user=alice&utm_campaign=x&format=rss']) {
      expect(key(same), same).toBe(key('https://hub.example/feed.php?user=alice&format=rss'));
    }
    expect(key('https://hub.example/feed.php?user=bob&format=rss')).not.toBe(key('https://hub.example/feed.php?user=alice&format=rss'));
  });

  it('keeps tag: and urn: guids, unique by construction, scoped to the host as before', () => {
    const key = (guid: string, feedUrl: string) => itemIdentity({ guid, link: null, title: 'T' }, feedUrl, () => true)?.key;
    expect(key('tag:tech.example.org,2026:post-301', 'https://tech.example.org/feed.atom')).toBe('guid:tech.example.org\ntag:tech.example.org,2026:post-301');
    expect(key('urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a', 'https://tech.example.org/feed.atom')).toBe(
      'guid:tech.example.org\nurn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a',
    );
  });
});
