import { describe, expect, it } from 'vitest';
import { canonicalUrl, itemIdentity, LINK_MAX_CHARS, normalizeEntries, SUMMARY_MAX_CHARS, sha256 } from '../../src/normalize.ts';
import type { RawEntry } from '../../src/parse.ts';
import { htmlToText, truncate } from '../../src/text.ts';

const FEED = 'https://feeds.example.com/world.xml';

function entry(e: Partial<RawEntry>): RawEntry {
  return { titleIsHtml: true, base: FEED, dates: [], summaryIsHtml: true, categories: [], ...e };
}

function one(e: Partial<RawEntry>, others: Partial<RawEntry>[] = [], homepage?: string) {
  const { items, rejected } = normalizeEntries(FEED, [entry(e), ...others.map(entry)], homepage);
  return { item: items[0], items, rejected };
}

describe('htmlToText', () => {
  it('drops tags, decodes entities and collapses whitespace', () => {
    expect(htmlToText('<p>Hello&nbsp;&amp; <a href="x">world</a></p>\n<p>Second&#8217;s &#x2014; para</p>')).toBe(
      'Hello & world Second’s — para',
    );
  });

  it('joins inline elements, separates block elements', () => {
    expect(htmlToText('un<b>believ</b>able<br/>next<ul><li>item</li><li>other</li></ul>')).toBe('unbelievable next item other');
  });

  it('removes script, style and comments with their content, also unclosed ones', () => {
    expect(htmlToText('<script>alert("<p>x</p>")</script>a <style>p{}</style>b <!-- hidden -->c')).toBe('a b c');
    expect(htmlToText('text<script>never closed')).toBe('text');
    expect(htmlToText('<img src="x" alt=">"/>after')).toBe('after');
  });

  it('keeps a bare "<" that starts no tag, and literal markup that was escaped inside HTML', () => {
    expect(htmlToText('x < y and 3<4')).toBe('x < y and 3<4');
    expect(htmlToText('use &lt;b&gt; for bold')).toBe('use <b> for bold');
  });

  it('decodes every HTML entity and leaves unknown ones as written', () => {
    expect(htmlToText('&bogus; &amp;amp; &eacute;&Eacute;&yuml; &hellip;')).toBe('&bogus; &amp; éÉÿ …');
  });
});

describe('truncate', () => {
  it('cuts at a word boundary near the limit and marks the cut', () => {
    const text = 'word '.repeat(300).trim();
    const out = truncate(text, 100);
    expect(out.length).toBeLessThanOrEqual(100);
    expect(out.endsWith('word…')).toBe(true);
  });

  it('never splits a surrogate pair', () => {
    const out = truncate('😀'.repeat(100), 11);
    expect(out).toBe(`${'😀'.repeat(5)}…`);
  });
});

describe('canonicalUrl', () => {
  it('lower-cases the host, drops utm_* but keeps other parameters and the fragment', () => {
    expect(canonicalUrl('HTTPS://News.Example.COM:443/a/B?utm_source=rss&id=7&UTM_Medium=x#top')).toBe(
      'https://news.example.com/a/B?id=7#top',
    );
    expect(canonicalUrl('https://news.example.com/a?utm_source=rss')).toBe('https://news.example.com/a');
  });

  it('drops only an empty fragment and an #xtor= campaign marker', () => {
    expect(canonicalUrl('https://news.example.com/a#')).toBe('https://news.example.com/a');
    expect(canonicalUrl('https://news.example.com/a#xtor=RSS-1')).toBe('https://news.example.com/a');
    expect(canonicalUrl('https://news.example.com/a#comment-456')).toBe('https://news.example.com/a#comment-456');
  });

  it('resolves relative links and refuses anything but http(s)', () => {
    expect(canonicalUrl('/world/x', FEED)).toBe('https://feeds.example.com/world/x');
    expect(canonicalUrl('javascript:alert(1)')).toBeNull();
    expect(canonicalUrl('mailto:a@b.c')).toBeNull();
    expect(canonicalUrl('not a url')).toBeNull();
  });
});

describe('item identity', () => {
  const always = () => true;

  it('uses a non-URL guid scoped to the feed host, path and query, whatever the scheme, port or tracking parameters', () => {
    const id = itemIdentity({ guid: 'nw-1', link: 'https://x.example/a', title: 'T' }, FEED, always);
    expect(id).toEqual({ key: 'guid:feeds.example.com/world.xml\nnw-1', from: 'guid' });
    expect(itemIdentity({ guid: 'nw-1', link: null, title: 'T' }, 'http://FEEDS.example.com:8080/world.xml?utm_source=x', always)).toEqual(id);
    // Another path or query is another publisher's numbering (feeds.feedburner.com/A and /B, feed.php?user=a and ?user=b).
    expect(itemIdentity({ guid: 'nw-1', link: null, title: 'T' }, 'https://feeds.example.com/tech.xml', always)?.key).not.toBe(id?.key);
    expect(itemIdentity({ guid: 'nw-1', link: null, title: 'T' }, 'https://feeds.example.com/world.xml?v=2', always)?.key).toBe('guid:feeds.example.com/world.xml?v=2\nnw-1');
    expect(itemIdentity({ guid: 'nw-1', link: null, title: 'T' }, 'https://other.example/world.xml', always)?.key).not.toBe(id?.key);
  });

  it('treats a URL guid as that URL, so it matches the same link in another feed', () => {
    const byGuid = itemIdentity({ guid: 'https://X.example/a?utm_campaign=z', link: null, title: 'T' }, FEED, always);
    const byLink = itemIdentity({ link: 'https://x.example/a', title: 'Other' }, 'https://other.example/feed', always);
    expect(byGuid?.key).toBe('url:https://x.example/a');
    expect(byLink).toEqual({ key: byGuid?.key, from: 'link' });
    expect(itemIdentity({ guid: 'https://x.example/a#c-2', link: null, title: 'T' }, FEED, always)?.key).toBe('url:https://x.example/a#c-2');
  });

  it('falls back to the title, scoped to the feed host, path and query, and gives up without title and link', () => {
    expect(itemIdentity({ link: null, title: 'Only a title' }, FEED, always)).toEqual({ key: 'title:feeds.example.com/world.xml\nOnly a title', from: 'title' });
    expect(itemIdentity({ link: null, title: 'Only a title' }, 'https://feeds.example.com/', always)?.key).toBe('title:feeds.example.com\nOnly a title');
    expect(itemIdentity({ link: null, title: null }, FEED, always)).toBeNull();
  });

  it('ids are sha256 hex of the key', () => {
    const { item } = one({ guid: 'nw-1', title: 'T' });
    expect(item?.id).toBe(sha256('guid:feeds.example.com/world.xml\nnw-1'));
    expect(item?.id).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ignores a guid shared by two entries, or equal to the feed or its home page', () => {
    const shared = one({ guid: 'same', title: 'A', link: 'https://x.example/a' }, [{ guid: 'same', title: 'B', link: 'https://x.example/b' }]);
    expect(shared.items.map((i) => i.id)).toEqual([sha256('url:https://x.example/a'), sha256('url:https://x.example/b')]);
    const home = one({ guid: 'https://news.example.com/', title: 'A', link: 'https://x.example/a' }, [], 'https://NEWS.example.com/#');
    expect(home.item?.id).toBe(sha256('url:https://x.example/a'));
    const self = one({ guid: FEED, title: 'A', link: 'https://x.example/a' });
    expect(self.item?.id).toBe(sha256('url:https://x.example/a'));
    const blank = one({ guid: '   ', title: 'A', link: 'https://x.example/a' });
    expect(blank.item?.id).toBe(sha256('url:https://x.example/a'));
    // Without links, different titles under one guid are different stories too.
    const titled = one({ guid: 'same', title: 'A' }, [{ guid: 'same', title: 'B' }]);
    expect(new Set(titled.items.map((i) => i.id)).size).toBe(2);
  });

  it('keeps a guid listed twice for one story: the same id as when listed once', () => {
    const once = one({ guid: '42', title: 'A', link: 'https://x.example/a' });
    const twice = one({ guid: '42', title: 'A', link: 'https://x.example/a' }, [{ guid: '42', title: 'A', link: 'https://x.example/a?utm_source=top' }]);
    expect(twice.items.map((i) => i.id)).toEqual([once.item?.id, once.item?.id]);
  });

  it('gives an entry the same id whatever else its document lists, fragment included', () => {
    const comment = (n: number, post = 'post') => ({ guid: `https://x.example/${post}/#comment-${n}`, guidIsPermaLink: false, title: `c${n}` });
    // A comments feed: a comment alone on its post once lost its fragment, so the next comment
    // alone on that post got the same id and was dropped as a duplicate.
    const alone = one(comment(1)).item?.id;
    expect(alone).toBe(sha256('url:https://x.example/post/#comment-1'));
    expect(one(comment(1), [comment(2), comment(3, 'other')]).item?.id).toBe(alone);
    expect(one(comment(2)).item?.id).not.toBe(alone);
    const linked = one({ title: 'c1', link: 'https://x.example/post/#comment-1' }).item?.id;
    expect(linked).toBe(alone);
    expect(one({ title: 'c2', link: 'https://x.example/post/#comment-2' }).item?.id).not.toBe(linked);
    const versions = normalizeEntries(FEED, ['3', '2', '1'].map((v) => entry({ guid: `https://app.test/changelog#v1-${v}`, title: `v1.${v}` })));
    expect(new Set(versions.items.map((i) => i.id)).size).toBe(3);
  });
});

describe('normalizeEntries', () => {
  it('produces the documented shape', () => {
    const { item } = one({
      guid: 'g1',
      title: 'Q&amp;A: <em>rates</em>',
      link: '/world/a?utm_source=rss',
      dates: [undefined, 'garbage', 'Wed, 25 Nov 2026 19:05:00 +0100'],
      summary: '<p>First&nbsp;para</p><p>Second</p>',
      categories: [' Economy ', 'Economy', '', 'Rates'],
      author: '  Jane   Doe ',
    });
    expect(item).toEqual({
      id: sha256('guid:feeds.example.com/world.xml\ng1'),
      feedUrl: FEED,
      title: 'Q&A: rates',
      link: 'https://feeds.example.com/world/a?utm_source=rss',
      publishedAt: '2026-11-25T18:05:00.000Z',
      summary: 'First para Second',
      categories: ['Economy', 'Rates'],
      author: 'Jane Doe',
    });
  });

  it('keeps plain-text titles literally (Atom type="text")', () => {
    const { item } = one({ title: 'Why <div> & co', titleIsHtml: false, link: 'https://x.example/a' });
    expect(item?.title).toBe('Why <div> & co');
  });

  it('bounds the summary and reports missing fields as null, without an author key', () => {
    const { item } = one({ link: 'https://x.example/a', summary: `<p>${'lorem ipsum '.repeat(500)}</p>` });
    expect(item?.summary?.length).toBeLessThanOrEqual(SUMMARY_MAX_CHARS);
    expect(item?.summary?.endsWith('…')).toBe(true);
    expect(item).toMatchObject({ title: null, publishedAt: null, categories: [] });
    expect(item).not.toHaveProperty('author');
    expect(one({ link: 'https://x.example/a', summary: '<p> </p>' }).item?.summary).toBeNull();
  });

  it('uses a permalink guid as the link when there is none, but not an isPermaLink="false" one', () => {
    expect(one({ guid: 'https://x.example/p', title: 'T' }).item?.link).toBe('https://x.example/p');
    expect(one({ guid: 'https://x.example/p', guidIsPermaLink: false, title: 'T' }).item?.link).toBeNull();
  });

  it('reads deeply nested markup without overflowing the stack', () => {
    const { item } = one({ title: 'T', link: 'https://x.example/a', summary: `${'<span>'.repeat(5000)}deep text` });
    expect(item?.title).toBe('T');
  });

  it('refuses an entry whose link is too long for a message, with a reason', () => {
    const long = `https://x.example/${'a'.repeat(LINK_MAX_CHARS)}`;
    const refused = entry({ guid: 'g1', title: 'long', link: long });
    const { items, rejected } = normalizeEntries(FEED, [refused, entry({ title: 'kept', link: 'https://x.example/b' })]);
    // The entry as read goes with the reason: it is what the function keeps in S3.
    expect(rejected).toEqual([{ reason: 'link longer than 8,192 characters', entry: 1, guid: 'g1', record: refused }]);
    expect(items.map((i) => i.title)).toEqual(['kept']);
  });

  it('rejects entries with neither title nor link, with a reason, and keeps the rest', () => {
    const entries = [entry({ summary: 'only text' }), entry({ guid: 'urn:uuid:1', title: '<b></b>', link: 'javascript:void(0)' }), entry({ title: 'kept' })];
    const { items, rejected } = normalizeEntries(FEED, entries);
    expect(rejected).toEqual([
      { reason: 'no title and no link', entry: 1, guid: undefined, record: entries[0] },
      { reason: 'no title and no link', entry: 2, guid: 'urn:uuid:1', record: entries[1] },
    ]);
    expect(items.map((i) => i.title)).toEqual(['kept']);
  });
});
