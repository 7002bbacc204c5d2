import { createHash } from 'node:crypto';
import { parseFeedDate } from './dates.ts';
import type { RawEntry } from './parse.ts';
import { collapse, htmlToText, truncate } from './text.ts';

/** The payload of one rss.item message. */
export interface RssItem {
  /** sha256 (hex) of the identity key — see itemIdentity. */
  id: string;
  feedUrl: string;
  title: string | null;
  /** Absolute http(s) URL as the feed gave it (tracking parameters kept: it is their link). */
  link: string | null;
  /** ISO 8601 in UTC, or null when the feed gives no date this function can read unambiguously. */
  publishedAt: string | null;
  /** Plain text, whitespace collapsed, at most SUMMARY_MAX_CHARS. */
  summary: string | null;
  categories: string[];
  author?: string;
}

export interface RejectedEntry {
  reason: string;
  /** Its place among the entries the parser read from the document, from 1 (absent for those it could not read at all). */
  entry?: number;
  guid?: string | undefined;
  /** The entry as the parser read it: what is kept in S3 (absent for those it could not read at all). */
  record?: RawEntry;
}

export const SUMMARY_MAX_CHARS = 1000;
const TITLE_MAX_CHARS = 500;
const AUTHOR_MAX_CHARS = 200;
const CATEGORY_MAX_CHARS = 100;
const MAX_CATEGORIES = 20;
// Only so much of an HTML body is read for a 1,000-character summary.
const HTML_READ_CHARS = 64 * 1024;
/** Longer links are refused with their entry: a message must stay far below Kafka's 1 MB limit. */
export const LINK_MAX_CHARS = 8192;

/**
 * The URL used for identity: lower-case scheme and host (URL does both), default port dropped,
 * no utm_* parameters — the same article linked from two feeds, or with two campaigns, is one
 * item. The fragment stays: it can be all that tells two items apart (a comment feed's
 * "#comment-456", a changelog's "#v1-3"); only an empty one and an "#xtor=…" campaign marker go.
 * Null for anything but an absolute http(s) URL after resolving.
 */
export function canonicalUrl(raw: string, base?: string): string | null {
  const url = absoluteUrl(raw, base);
  if (!url) return null;
  const u = new URL(url);
  if (/^#?(?:xtor=.*)?$/i.test(u.hash)) u.hash = '';
  dropTracking(u);
  return u.href;
}

/** Parameters that say where a link was shared, never what it names. */
const isTrackingParam = (key: string) => /^utm_/i.test(key);

/** Removes tracking parameters in place; a URL without any is left byte for byte as it was. */
function dropTracking(u: URL): void {
  const tracking = [...u.searchParams.keys()].filter(isTrackingParam);
  for (const k of tracking) u.searchParams.delete(k);
  if (u.search === '?') u.search = '';
}

function absoluteUrl(raw: string | undefined, base?: string): string | null {
  const s = raw?.trim();
  if (!s) return null;
  try {
    const u = new URL(s, base);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

const isAbsoluteHttpUrl = (s: string) => /^https?:\/\//i.test(s) && absoluteUrl(s) !== null;

/** The feed's host, for tag:/urn: guids: one story in two feeds of the same site stays one item. */
function hostOf(feedUrl: string): string {
  try {
    return new URL(feedUrl).hostname;
  } catch {
    return feedUrl;
  }
}

/**
 * The feed's host, path and query, for guids that are not URLs and for titles. A guid like "1234"
 * is unique per publisher, and one host can serve many publishers, told apart by the path
 * (feeds.feedburner.com/PublisherA and /PublisherB, rss.app, fetchrss) or by the query
 * (feed.php?user=alice and ?user=bob): leaving either out made their numbering, and their titles,
 * collide, and the later publisher's items were dropped as duplicates. The query is compared
 * without tracking parameters and with its parameters sorted, so that a feed URL copied with a
 * campaign or with its parameters in another order keeps its ids. Scheme, port and trailing
 * slashes are left out, so a feed moving to https keeps its ids; a feed moving to another path
 * or query produces its items once more. A feed at its host's root without a query has the host
 * alone as scope, as every feed had before.
 */
function publisherOf(feedUrl: string): string {
  try {
    const u = new URL(feedUrl);
    dropTracking(u);
    if (u.search !== '') u.searchParams.sort();
    return u.hostname + u.pathname.replace(/\/+$/, '') + u.search;
  } catch {
    return feedUrl;
  }
}

/**
 * tag: (RFC 4151) and urn: guids — most Atom ids — name their authority or namespace, so they are
 * unique whatever feed lists them. They keep the host scope they always had: scoping them by path
 * or query too would change their ids for nothing.
 */
const isGlobalName = (guid: string) => /^(?:tag|urn):/i.test(guid);

/**
 * A URL compared as a page: canonical, without the scheme or trailing slashes, so that the home
 * page "http://status.example.com" and a link "https://status.example.com/" are one page.
 */
function pageOf(raw: string, base?: string): string | null {
  const url = canonicalUrl(raw, base);
  if (!url) return null;
  const u = new URL(url);
  return u.host + u.pathname.replace(/\/+$/, '') + u.search + u.hash;
}

/**
 * Whether a URL names a page that many entries link to rather than one item: the feed itself,
 * its home page, or any site's front page (a bare root: no path, query or fragment), which shows
 * whatever is newest. Status pages and some publishers link every entry there; as an identity it
 * made every entry after the first a duplicate, forever. A fragment still tells items apart
 * ("https://app.test/#v1-3"). This depends on the URL, the feed's URL, its home page and where it
 * was served from (a redirect that moves changes it), never on the other entries, so an entry's id
 * does not change with what its document lists.
 */
export function sharedPage(feedUrl: string, homepage?: string, servedFrom?: string): (url: string) => boolean {
  // The feed itself is also where it was served from after redirects.
  const pages = new Set(
    [pageOf(feedUrl), servedFrom === undefined ? null : pageOf(servedFrom), homepage === undefined ? null : pageOf(homepage, feedUrl)].filter((p) => p !== null),
  );
  return (url) => {
    const page = pageOf(url);
    return page !== null && (pages.has(page) || /^[^/?#]+$/.test(page));
  };
}

export type IdentitySource = 'guid' | 'link' | 'page' | 'title';

/**
 * The identity rule, first that applies:
 *  1. a usable guid (RSS guid, Atom id, RDF rdf:about) that is an absolute http(s) URL → its
 *     canonical URL — so it matches the same URL given as a link elsewhere;
 *  2. any other usable guid → the guid, scoped to the feed's host, path and query (publisherOf),
 *     or to its host alone for tag: and urn: guids (isGlobalName);
 *  3. a link that is not a shared page (sharedPage) → its canonical URL (cross-feed duplicates
 *     collapse here);
 *  4. a link that is a shared page → that page with the title and the date: the page says where,
 *     the title and date say which entry;
 *  5. the title and the date, scoped to the feed's host, path and query (publisherOf): two
 *     publishers of one host can each list an undated "Weekly update".
 * The date is the item's publishedAt, when it has one: a status feed's "Scheduled maintenance"
 * every week is one title for many entries. It is the parsed date, so "+0000" and "GMT" agree; a
 * date that cannot be read (a zone such as "IST", which names three) is keyed as written, so that
 * it still tells the entries apart.
 * An entry whose date changes between fetches (an Atom entry with only an `updated` date that is
 * updated) gets a new id under rules 4 and 5 and is produced again; without the date, every later
 * entry of that title was lost.
 * A guid is unusable when it is blank, longer than 2,048 characters, a URL that is a shared page,
 * or shared by entries of the same document that are different stories — different links, or,
 * where the link is missing or a shared page, different titles (broken feeds give every item one
 * guid): it then identifies nothing, and the link decides. (Shared by entries of one story, it is
 * one story listed twice: one item.)
 * Apart from `usableGuid`, the key depends on the entry, the feed's URL and its home page alone,
 * never on what else its document lists: an id that changed with its neighbours would drop a
 * later, different item as a duplicate of an earlier one. That is why several entries sharing one
 * ordinary link (not a shared page) still share one id: telling them apart by their neighbours
 * would change an entry's id when it is listed alone.
 * The key is hashed so ids have one length and no characters Kafka keys or DynamoDB mind.
 */
export function itemIdentity(
  entry: { guid?: string | undefined; link: string | null; title: string | null; publishedAt?: string | null | undefined },
  feedUrl: string,
  usableGuid: (guid: string) => boolean,
  isSharedPage: (url: string) => boolean = sharedPage(feedUrl),
): { key: string; from: IdentitySource } | null {
  const guid = entry.guid?.trim();
  if (guid && usableGuid(guid)) {
    if (isAbsoluteHttpUrl(guid)) return { key: `url:${canonicalUrl(guid)}`, from: 'guid' };
    return { key: `guid:${isGlobalName(guid) ? hostOf(feedUrl) : publisherOf(feedUrl)}\n${guid}`, from: 'guid' };
  }
  // A date is added only when there is one, so title-only items without a date keep their ids.
  const dated = (key: string) => (entry.publishedAt ? `${key}\n${entry.publishedAt}` : key);
  const link = entry.link === null ? null : canonicalUrl(entry.link);
  if (link && !isSharedPage(link)) return { key: `url:${link}`, from: 'link' };
  if (link) return { key: dated(`page:${pageOf(link)}\n${entry.title ?? ''}`), from: 'page' };
  if (entry.title) return { key: dated(`title:${publisherOf(feedUrl)}\n${entry.title}`), from: 'title' };
  return null;
}

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function plain(value: string | undefined, isHtml: boolean, max: number): string | null {
  if (value === undefined) return null;
  const text = isHtml ? htmlToText(value.length > HTML_READ_CHARS ? value.slice(0, HTML_READ_CHARS) : value) : collapse(value);
  return text === '' ? null : truncate(text, max);
}

function firstDate(candidates: (string | undefined)[]): string | null {
  for (const raw of candidates) {
    const date = parseFeedDate(raw);
    if (date) return date.toISOString();
  }
  return null;
}

/**
 * Raw entries of one feed → items, plus the entries refused (no title and no link: nothing a
 * consumer could show or open). Each entry ends up in exactly one of the two lists.
 */
export function normalizeEntries(
  feedUrl: string,
  entries: RawEntry[],
  homepage?: string,
  servedFrom?: string,
): { items: RssItem[]; rejected: RejectedEntry[] } {
  const rejected: RejectedEntry[] = [];
  // Each entry read on its own: one that cannot be read is refused with the reason, the others go on.
  const read: { e: RawEntry; entry: number; title: string | null; link: string | null; publishedAt: string | null }[] = [];
  for (const [index, e] of entries.entries()) {
    const entry = index + 1;
    try {
      const title = plain(e.title, e.titleIsHtml, TITLE_MAX_CHARS);
      // RSS 2.0: a guid without isPermaLink="false" is the item's URL, for items that give no link.
      const permalink = e.guidIsPermaLink !== false && e.guid && isAbsoluteHttpUrl(e.guid.trim()) ? e.guid.trim() : undefined;
      const link = absoluteUrl(e.link, e.base) ?? absoluteUrl(permalink);
      if (link !== null && link.length > LINK_MAX_CHARS) {
        rejected.push({ reason: `link longer than ${LINK_MAX_CHARS.toLocaleString('en')} characters`, entry, guid: e.guid, record: e });
        continue;
      }
      read.push({ e, entry, title, link, publishedAt: firstDate(e.dates) });
    } catch (err) {
      rejected.push({ reason: `entry could not be read: ${(err as Error).message}`, entry, guid: e.guid, record: e });
    }
  }

  const isSharedPage = sharedPage(feedUrl, homepage, servedFrom);
  // What each guid stands for in this document: one link → one story; without a link, or with a
  // shared page for one (every entry of a status feed links to the status page), one title.
  const guidStories = new Map<string, Set<string>>();
  for (const { e, title, link } of read) {
    const g = e.guid?.trim();
    if (!g) continue;
    const stories = guidStories.get(g) ?? new Set<string>();
    stories.add(link === null || isSharedPage(link) ? `title:${title}` : `url:${canonicalUrl(link)}`);
    guidStories.set(g, stories);
  }
  const usableGuid = (g: string) => g.length <= 2048 && guidStories.get(g)?.size === 1 && !(isAbsoluteHttpUrl(g) && isSharedPage(g));

  const items: RssItem[] = [];
  for (const { e, entry, title, link, publishedAt } of read) {
    const writtenDate = e.dates.find((d) => d?.trim())?.trim();
    const identity = itemIdentity({ guid: e.guid, link, title, publishedAt: publishedAt ?? writtenDate }, feedUrl, usableGuid, isSharedPage);
    if (!identity || (title === null && link === null)) {
      rejected.push({ reason: 'no title and no link', entry, guid: e.guid, record: e });
      continue;
    }
    try {
      const categories = [
        ...new Set(e.categories.map((c) => truncate(collapse(c), CATEGORY_MAX_CHARS)).filter((c) => c !== '')),
      ].slice(0, MAX_CATEGORIES);
      const author = plain(e.author, false, AUTHOR_MAX_CHARS);
      items.push({
        id: sha256(identity.key),
        feedUrl,
        title,
        link,
        publishedAt,
        summary: plain(e.summary, e.summaryIsHtml, SUMMARY_MAX_CHARS),
        categories,
        ...(author ? { author } : {}),
      });
    } catch (err) {
      rejected.push({ reason: `entry could not be read: ${(err as Error).message}`, entry, guid: e.guid, record: e });
    }
  }
  return { items, rejected };
}
