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
  guid?: string | undefined;
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
  const tracking = [...u.searchParams.keys()].filter((k) => /^utm_/i.test(k));
  for (const k of tracking) u.searchParams.delete(k);
  if (u.search === '?') u.search = '';
  return u.href;
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

function scopeOf(feedUrl: string): string {
  try {
    return new URL(feedUrl).hostname;
  } catch {
    return feedUrl;
  }
}

export type IdentitySource = 'guid' | 'link' | 'title';

/**
 * The identity rule, first that applies:
 *  1. a usable guid (RSS guid, Atom id, RDF rdf:about) that is an absolute http(s) URL → its
 *     canonical URL — so it matches the same URL given as a link elsewhere;
 *  2. any other usable guid → the guid, scoped to the feed's host (guids like "12345" are unique
 *     per publisher, not worldwide);
 *  3. the link → its canonical URL (cross-feed duplicates collapse here);
 *  4. the title → scoped to the feed's host.
 * The scope is the host alone — not the scheme, port or path — so a feed moving to https or to
 * another path keeps its ids, and one story in two feeds of the same site stays one item.
 * A guid is unusable when it is blank, longer than 2,048 characters, equal to the feed's or its
 * home page's URL, or shared by entries of the same document with different links (or, without
 * links, different titles: broken feeds give every item one guid): it then identifies nothing, and
 * the link decides. (Shared by entries with one link, it is one story listed twice: one item.)
 * Apart from `usableGuid`, the key depends on the entry alone, never on what else its document
 * lists: an id that changed with its neighbours would drop a later, different item as a
 * duplicate of an earlier one.
 * The key is hashed so ids have one length and no characters Kafka keys or DynamoDB mind.
 */
export function itemIdentity(
  entry: { guid?: string | undefined; link: string | null; title: string | null },
  feedUrl: string,
  usableGuid: (guid: string) => boolean,
): { key: string; from: IdentitySource } | null {
  const guid = entry.guid?.trim();
  if (guid && usableGuid(guid)) {
    if (isAbsoluteHttpUrl(guid)) return { key: `url:${canonicalUrl(guid)}`, from: 'guid' };
    return { key: `guid:${scopeOf(feedUrl)}\n${guid}`, from: 'guid' };
  }
  const link = entry.link === null ? null : canonicalUrl(entry.link);
  if (link) return { key: `url:${link}`, from: 'link' };
  if (entry.title) return { key: `title:${scopeOf(feedUrl)}\n${entry.title}`, from: 'title' };
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
): { items: RssItem[]; rejected: RejectedEntry[] } {
  const rejected: RejectedEntry[] = [];
  // Each entry read on its own: one that cannot be read is refused with the reason, the others go on.
  const read: { e: RawEntry; title: string | null; link: string | null }[] = [];
  for (const e of entries) {
    try {
      const title = plain(e.title, e.titleIsHtml, TITLE_MAX_CHARS);
      // RSS 2.0: a guid without isPermaLink="false" is the item's URL, for items that give no link.
      const permalink = e.guidIsPermaLink !== false && e.guid && isAbsoluteHttpUrl(e.guid.trim()) ? e.guid.trim() : undefined;
      const link = absoluteUrl(e.link, e.base) ?? absoluteUrl(permalink);
      if (link !== null && link.length > LINK_MAX_CHARS) {
        rejected.push({ reason: `link longer than ${LINK_MAX_CHARS.toLocaleString('en')} characters`, guid: e.guid });
        continue;
      }
      read.push({ e, title, link });
    } catch (err) {
      rejected.push({ reason: `entry could not be read: ${(err as Error).message}`, guid: e.guid });
    }
  }

  // What each guid stands for in this document: one link (or, without one, one title) → one story.
  const guidStories = new Map<string, Set<string>>();
  for (const { e, title, link } of read) {
    const g = e.guid?.trim();
    if (!g) continue;
    const stories = guidStories.get(g) ?? new Set<string>();
    stories.add(link === null ? `title:${title}` : `url:${canonicalUrl(link)}`);
    guidStories.set(g, stories);
  }
  const notItems = new Set([feedUrl, homepage].flatMap((u) => (u ? [canonicalUrl(u) ?? u] : [])));
  const usableGuid = (g: string) =>
    g.length <= 2048 && guidStories.get(g)?.size === 1 && !notItems.has(isAbsoluteHttpUrl(g) ? (canonicalUrl(g) ?? g) : g);

  const items: RssItem[] = [];
  for (const { e, title, link } of read) {
    const identity = itemIdentity({ guid: e.guid, link, title }, feedUrl, usableGuid);
    if (!identity || (title === null && link === null)) {
      rejected.push({ reason: 'no title and no link', guid: e.guid });
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
        publishedAt: firstDate(e.dates),
        summary: plain(e.summary, e.summaryIsHtml, SUMMARY_MAX_CHARS),
        categories,
        ...(author ? { author } : {}),
      });
    } catch (err) {
      rejected.push({ reason: `entry could not be read: ${(err as Error).message}`, guid: e.guid });
    }
  }
  return { items, rejected };
}
