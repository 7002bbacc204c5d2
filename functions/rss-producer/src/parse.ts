import { TextDecoder } from 'node:util';
import { type AnyFeed, DetectError, MalformedError, parseFeed } from 'feedsmith';

/** A feed that cannot be read; `reason` goes to the log and the result as it is. */
export class FeedParseError extends Error {
  override name = 'FeedParseError';
}

export type FeedFormat = 'rss' | 'atom' | 'rdf';

/** One entry as the feed wrote it, in a shape common to the three formats (see normalize.ts). */
export interface RawEntry {
  /** RSS guid, Atom id, RDF rdf:about. */
  guid?: string | undefined;
  /** RSS only: an explicit isPermaLink="false" says the guid is not the item's URL. */
  guidIsPermaLink?: boolean | undefined;
  title?: string | undefined;
  /** Atom type="text" titles are plain text; RSS/RDF titles are treated as HTML, which feeds put there. */
  titleIsHtml: boolean;
  link?: string | undefined;
  /** What a relative link is resolved against (xml:base, else the feed URL). */
  base: string;
  /** Candidate dates, the preferred first. */
  dates: (string | undefined)[];
  summary?: string | undefined;
  summaryIsHtml: boolean;
  categories: string[];
  author?: string | undefined;
}

export interface ParsedFeed {
  format: FeedFormat;
  /** The feed's own home page: a guid equal to it identifies no item. */
  homepage?: string | undefined;
  entries: RawEntry[];
}

type Parsed = AnyFeed<string>;
type FeedOf<F extends Parsed['format']> = Extract<Parsed, { format: F }>['feed'];
type AtomLinks = NonNullable<FeedOf<'atom'>['links']>;

const XML_TYPES = /^(?:application|text)\/(?:[\w.+-]+\+)?xml$/i;

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function charsetOf(contentType: string | undefined): string | undefined {
  return /;\s*charset\s*=\s*"?([\w.:-]+)"?/i.exec(contentType ?? '')?.[1];
}

function decoderFor(label: string | undefined): TextDecoder | undefined {
  if (!label) return undefined;
  try {
    return new TextDecoder(label);
  } catch {
    return undefined;
  }
}

/**
 * Bytes → text. Order: byte-order mark, then the Content-Type charset (RFC 7303) — but only when
 * the server labels the body as XML: a charset on text/html or text/plain comes from a server
 * default, not from whoever wrote the feed, so the XML declaration wins there — then the XML
 * declaration, then UTF-8. Undecodable bytes become U+FFFD instead of failing the feed.
 */
export function decodeBody(body: Uint8Array, contentType?: string): string {
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) return new TextDecoder('utf-8').decode(body);
  if (body[0] === 0xff && body[1] === 0xfe) return new TextDecoder('utf-16le').decode(body);
  if (body[0] === 0xfe && body[1] === 0xff) return new TextDecoder('utf-16be').decode(body);
  const head = new TextDecoder('latin1').decode(body.subarray(0, 256));
  const declared = /^\s*<\?xml[^>]*\bencoding\s*=\s*["']([\w.:-]+)["']/i.exec(head)?.[1];
  const fromHeader = charsetOf(contentType);
  const labelled = XML_TYPES.test(mediaType(contentType)) ? (fromHeader ?? declared) : (declared ?? fromHeader);
  return (decoderFor(labelled) ?? new TextDecoder('utf-8')).decode(body);
}

const HTML_START = /^\s*(?:<\?xml[^>]*>\s*)?(?:<!--[\s\S]*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])/i;

function describeUnrecognized(text: string, contentType: string | undefined): string {
  const type = contentType ? `content-type ${contentType}` : 'no content-type';
  const trimmed = text.trim();
  if (trimmed === '') return `not a feed: the body is empty (${type})`;
  if (HTML_START.test(trimmed) || mediaType(contentType) === 'text/html') return `not a feed: got an HTML page (${type})`;
  const start = JSON.stringify(trimmed.slice(0, 60));
  return `not a feed: no RSS, RDF or Atom root element (${type}; starts with ${start})`;
}

const isString = (v: unknown): v is string => typeof v === 'string';

function resolveBase(base: string | undefined, against: string): string {
  if (!base) return against;
  try {
    return new URL(base, against).href;
  } catch {
    return against;
  }
}

function rssEntries(feed: FeedOf<'rss'>, feedUrl: string): RawEntry[] {
  const base = resolveBase(feed.xml?.base, feedUrl);
  return (feed.items ?? []).map((item) => ({
    guid: item.guid?.value,
    guidIsPermaLink: item.guid?.isPermaLink,
    title: item.title ?? item.dc?.titles?.[0],
    titleIsHtml: true,
    link: item.link,
    base: resolveBase(item.xml?.base, base),
    dates: [item.pubDate, item.dc?.dates?.[0], item.dcterms?.issued?.[0], item.dcterms?.created?.[0], item.atom?.published, item.atom?.updated],
    summary: item.description ?? item.content?.encoded ?? item.dc?.descriptions?.[0],
    summaryIsHtml: true,
    categories: [...(item.categories ?? []).map((c) => c.name), ...(item.dc?.subjects ?? [])].filter(isString),
    author: item.authors?.[0]?.name ?? item.authors?.[0]?.email ?? item.dc?.creators?.[0],
  }));
}

const isHtmlText = (t: { type?: string | undefined } | undefined) => t?.type === 'html' || t?.type === 'xhtml';

/** rel="alternate" (or no rel) links, text/html first: Atom's link to the entry's page. */
function atomLink(links: AtomLinks | undefined): string | undefined {
  const alternates = (links ?? []).filter((l) => (l.rel ?? 'alternate') === 'alternate' && l.href);
  return (alternates.find((l) => !l.type || /html/i.test(l.type)) ?? alternates[0])?.href;
}

function atomEntries(feed: FeedOf<'atom'>, feedUrl: string): RawEntry[] {
  const base = resolveBase(feed.xml?.base, feedUrl);
  return (feed.entries ?? []).map((entry) => {
    // content with src points elsewhere, and a non-text media type is not a summary.
    const content = entry.content && !entry.content.src && (!entry.content.type || /^(text|html|xhtml)$/.test(entry.content.type)) ? entry.content : undefined;
    const summary = entry.summary ?? (content?.value === undefined ? undefined : { value: content.value, type: content.type });
    // Atom §4.2.1: the feed's authors apply to entries that name none.
    const author = entry.authors?.[0] ?? feed.authors?.[0];
    return {
      guid: entry.id,
      title: entry.title?.value,
      titleIsHtml: isHtmlText(entry.title),
      link: atomLink(entry.links),
      base: resolveBase(entry.xml?.base, base),
      dates: [entry.published, entry.updated, entry.dc?.dates?.[0]],
      summary: summary?.value,
      summaryIsHtml: isHtmlText(summary),
      categories: (entry.categories ?? []).map((c) => c.label ?? c.term).filter(isString),
      author: author?.name ?? author?.email ?? entry.dc?.creators?.[0],
    };
  });
}

function rdfEntries(feed: FeedOf<'rdf'>, feedUrl: string): RawEntry[] {
  const base = resolveBase(feed.xml?.base, feedUrl);
  return (feed.items ?? []).map((item) => ({
    guid: item.rdf?.about,
    title: item.title ?? item.dc?.titles?.[0],
    titleIsHtml: true,
    link: item.link ?? item.rdf?.about,
    base: resolveBase(item.xml?.base, base),
    dates: [item.dc?.dates?.[0], item.dcterms?.issued?.[0], item.dcterms?.created?.[0], item.dcterms?.modified?.[0]],
    summary: item.description ?? item.content?.encoded ?? item.dc?.descriptions?.[0],
    summaryIsHtml: true,
    categories: (item.dc?.subjects ?? []).filter(isString),
    author: item.dc?.creators?.[0],
  }));
}

/**
 * Detects RSS 0.9x/2.0, RSS 1.0 (RDF) or Atom and returns its entries. Throws FeedParseError with
 * a reason a person can act on: an HTML page, malformed XML, an empty body, a JSON Feed.
 * The content type is reported but not trusted: a valid feed served as text/plain still parses.
 */
export function parseFeedDocument(text: string, feedUrl: string, contentType?: string): ParsedFeed {
  let parsed: Parsed;
  try {
    parsed = parseFeed(text);
  } catch (err) {
    if (err instanceof DetectError) throw new FeedParseError(describeUnrecognized(text, contentType));
    if (err instanceof MalformedError) {
      const cause = err.cause instanceof Error ? err.cause.message : String(err.cause ?? 'unknown error');
      throw new FeedParseError(`malformed XML: ${cause}`);
    }
    throw new FeedParseError(`invalid feed: ${(err as Error).message}`);
  }
  switch (parsed.format) {
    case 'rss':
      return { format: 'rss', homepage: parsed.feed.link, entries: rssEntries(parsed.feed, feedUrl) };
    case 'atom':
      return { format: 'atom', homepage: atomLink(parsed.feed.links), entries: atomEntries(parsed.feed, feedUrl) };
    case 'rdf':
      return { format: 'rdf', homepage: parsed.feed.link, entries: rdfEntries(parsed.feed, feedUrl) };
    default:
      throw new FeedParseError('not supported: a JSON Feed (this function reads RSS 2.0, RSS 1.0/RDF and Atom)');
  }
}
