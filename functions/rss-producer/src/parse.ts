import { TextDecoder } from 'node:util';
import { XMLValidator } from 'fast-xml-parser';
import { type AnyFeed, DetectError, MalformedError, parseFeed } from 'feedsmith';
import iconv from 'iconv-lite';
import { looksLikeHtml } from './text.ts';

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
  /** What a relative link is resolved against (xml:base, else the URL the feed was served from). */
  base: string;
  /** Candidate dates, the preferred first. */
  dates: (string | undefined)[];
  summary?: string | undefined;
  summaryIsHtml: boolean;
  categories: string[];
  author?: string | undefined;
}

/** Entries the document starts and the parser could not read. */
export interface UnreadEntries {
  count: number;
  /** Why, with where in the document (line:col) when the XML is malformed. */
  reason: string;
  /** The reason without its position, which moves as the feed grows: what names these entries from poll to poll. */
  kind: string;
  /** The document's lines around the error (malformed XML), for whoever reads the kept record. */
  excerpt?: string;
}

export interface ParsedFeed {
  format: FeedFormat;
  /** The feed's own home page: a guid equal to it identifies no item. */
  homepage?: string | undefined;
  entries: RawEntry[];
  /**
   * Entries the document starts but malformed XML kept the parser from reading: they are
   * counted as fetched and rejected, with this reason, rather than vanishing from every count.
   */
  unread?: UnreadEntries | undefined;
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

/** The WHATWG name for a charset label — TextDecoder knows the label table (latin1 → windows-1252). */
function encodingName(label: string | undefined): string | undefined {
  if (!label) return undefined;
  try {
    return new TextDecoder(label).encoding;
  } catch {
    return undefined;
  }
}

/** WHATWG encodings of one byte per character: any byte sequence is valid in them, so nothing checks the label. */
const SINGLE_BYTE = /^(?:ibm866|iso-8859-\d+|koi8-[ru]|macintosh|windows-\d+|x-mac-cyrillic)$/;

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

function strictUtf8(body: Uint8Array): string | undefined {
  try {
    return STRICT_UTF8.decode(body);
  } catch {
    return undefined;
  }
}

function decodeAs(body: Uint8Array, encoding: string): string {
  if (encoding === 'utf-8' || encoding === 'utf-16le' || encoding === 'utf-16be') return new TextDecoder(encoding).decode(body);
  // Node's TextDecoder reads windows-1252's 0x80–0x9F as C1 controls (nodejs/node#56542, #60888):
  // smart quotes, dashes, € and ™ came out as invisible characters. iconv-lite has the real tables.
  if (iconv.encodingExists(encoding)) return iconv.decode(body, encoding);
  return new TextDecoder(encoding).decode(body);
}

/**
 * Bytes → text. Order: byte-order mark, then the Content-Type charset (RFC 7303) — but only when
 * the server labels the body as XML: a charset on text/html or text/plain comes from a server
 * default, not from whoever wrote the feed, so the XML declaration wins there — then the XML
 * declaration, then UTF-8. Labels mean what the WHATWG Encoding Standard says (latin1, iso-8859-1
 * and us-ascii are windows-1252, as browsers read them). A body read as UTF-8 that is not UTF-8
 * was mislabelled: it is read in the XML declaration's encoding, else — when no byte of it is
 * UTF-8 beyond ASCII — as windows-1252, the usual culprit, and `warn` hears of it. The other way
 * round too: a single-byte charset in the Content-Type on a body that is valid UTF-8 beyond ASCII,
 * whose declaration says UTF-8 or nothing, is read as UTF-8, with a warning. Bytes still
 * undecodable become U+FFFD instead of failing the feed.
 */
export function decodeBody(body: Uint8Array, contentType?: string, warn: (message: string) => void = () => undefined): string {
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) return new TextDecoder('utf-8').decode(body);
  if (body[0] === 0xff && body[1] === 0xfe) return new TextDecoder('utf-16le').decode(body);
  if (body[0] === 0xfe && body[1] === 0xff) return new TextDecoder('utf-16be').decode(body);
  const head = Buffer.from(body.buffer, body.byteOffset, Math.min(body.byteLength, 256)).toString('latin1');
  // The declaration's encoding attribute, if any, and its label, if legible.
  const declaration = /^\s*<\?xml[^>]*\bencoding\s*=\s*(?:["']([\w.:-]+)["'])?/i.exec(head);
  const declaredLabel = encodingName(declaration?.[1]);
  // A declaration legible as single bytes is not in UTF-16, whatever it claims.
  const declared = declaredLabel?.startsWith('utf-16') ? undefined : declaredLabel;
  const fromHeader = encodingName(charsetOf(contentType));
  const chosen = (XML_TYPES.test(mediaType(contentType)) ? (fromHeader ?? declared) : (declared ?? fromHeader)) ?? 'utf-8';
  const rawDeclared = declaration ? declaredLabel : 'utf-8';
  if (chosen === fromHeader && fromHeader && SINGLE_BYTE.test(fromHeader) && rawDeclared === 'utf-8') {
    // A server's default charset on a document written in UTF-8: read as the header says, every
    // accent became mojibake ("CafÃ©"). Legacy text is almost never valid UTF-8 once it has a byte
    // over 0x7F, so a body that is, and whose own declaration says UTF-8 or nothing, is UTF-8.
    const utf8 = body.some((b) => b > 0x7f) ? strictUtf8(body) : undefined;
    if (utf8 !== undefined) {
      warn(`Content-Type says ${fromHeader}, but the body is valid UTF-8 and declares no other encoding: read as UTF-8`);
      return utf8;
    }
  }
  if (chosen !== 'utf-8') return decodeAs(body, chosen);
  const strict = strictUtf8(body);
  if (strict !== undefined) return strict;
  // Not UTF-8, whatever the label said: see below.
  if (declared && declared !== 'utf-8') {
    warn(`body is not valid UTF-8: read as ${declared}, the encoding its XML declaration names`);
    return decodeAs(body, declared);
  }
  const lenient = new TextDecoder('utf-8').decode(body);
  // Valid multi-byte sequences mean UTF-8 with a few damaged bytes: re-reading it all as
  // windows-1252 would garble every accent to spare a few replacement characters.
  if (!/[^\x00-\x7f\ufffd]/.test(lenient)) {
    warn('body is not valid UTF-8: read as windows-1252');
    return decodeAs(body, 'windows-1252');
  }
  warn('body is not valid UTF-8: undecodable bytes replaced with U+FFFD');
  return lenient;
}

/**
 * Whether a document starts like an HTML page: an optional XML declaration and comments, then
 * <!doctype html>, <html>, <head> or <body>. Scanned by hand and within a bounded prefix: a regex
 * with a repeated lazy comment group backtracked exponentially on a body opening with a few dozen
 * comments, blocking the event loop (and so every feed of the run) for minutes.
 */
function startsLikeHtml(text: string): boolean {
  const head = text.slice(0, 16 * 1024);
  let at = 0;
  const skipSpace = () => {
    while (at < head.length && /\s/.test(head[at] as string)) at++;
  };
  skipSpace();
  if (head.startsWith('<?xml', at)) {
    const end = head.indexOf('>', at);
    if (end < 0) return false;
    at = end + 1;
    skipSpace();
  }
  while (head.startsWith('<!--', at)) {
    const end = head.indexOf('-->', at + 4);
    if (end < 0) return false;
    at = end + 3;
    skipSpace();
  }
  return /^<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])/i.test(head.slice(at));
}

function describeUnrecognized(text: string, contentType: string | undefined): string {
  const type = contentType ? `content-type ${contentType}` : 'no content-type';
  const trimmed = text.trim();
  if (trimmed === '') return `not a feed: the body is empty (${type})`;
  if (startsLikeHtml(trimmed) || mediaType(contentType) === 'text/html') return `not a feed: got an HTML page (${type})`;
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

/**
 * The feed's home page, resolved as its entries' links are (the feed's xml:base, else where the
 * document was served from): against the configured URL instead, a feed redirected to another
 * host named a page its entries never link to, and their shared page went unrecognized.
 */
function homepageOf(link: string | undefined, feedBase: string | undefined, baseUrl: string): string | undefined {
  const s = link?.trim();
  if (!s) return undefined;
  try {
    return new URL(s, resolveBase(feedBase, baseUrl)).href;
  } catch {
    return s;
  }
}

function rssEntries(feed: FeedOf<'rss'>, baseUrl: string): RawEntry[] {
  const base = resolveBase(feed.xml?.base, baseUrl);
  return (feed.items ?? []).map((item) => ({
    guid: item.guid?.value,
    guidIsPermaLink: item.guid?.isPermaLink,
    title: item.title ?? item.dc?.titles?.[0],
    titleIsHtml: looksLikeHtml(item.title ?? item.dc?.titles?.[0]),
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

function atomEntries(feed: FeedOf<'atom'>, baseUrl: string): RawEntry[] {
  const base = resolveBase(feed.xml?.base, baseUrl);
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

function rdfEntries(feed: FeedOf<'rdf'>, baseUrl: string): RawEntry[] {
  const base = resolveBase(feed.xml?.base, baseUrl);
  return (feed.items ?? []).map((item) => ({
    guid: item.rdf?.about,
    title: item.title ?? item.dc?.titles?.[0],
    titleIsHtml: looksLikeHtml(item.title ?? item.dc?.titles?.[0]),
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
 * `baseUrl` is where the document was served from — after redirects, as a browser resolves its
 * relative links — not necessarily the URL configured.
 */
export function parseFeedDocument(text: string, baseUrl: string, contentType?: string): ParsedFeed {
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
  let feed: ParsedFeed;
  switch (parsed.format) {
    case 'rss':
      feed = { format: 'rss', homepage: homepageOf(parsed.feed.link, parsed.feed.xml?.base, baseUrl), entries: rssEntries(parsed.feed, baseUrl) };
      break;
    case 'atom':
      feed = { format: 'atom', homepage: homepageOf(atomLink(parsed.feed.links), parsed.feed.xml?.base, baseUrl), entries: atomEntries(parsed.feed, baseUrl) };
      break;
    case 'rdf':
      feed = { format: 'rdf', homepage: homepageOf(parsed.feed.link, parsed.feed.xml?.base, baseUrl), entries: rdfEntries(parsed.feed, baseUrl) };
      break;
    default:
      throw new FeedParseError('not supported: a JSON Feed (this function reads RSS 2.0, RSS 1.0/RDF and Atom)');
  }
  const unread = unreadEntries(text, feed);
  return unread ? { ...feed, unread } : feed;
}

const ENTRY_TAG = { item: /<(?:[A-Za-z_][\w.-]*:)?item[\s/>]/y, entry: /<(?:[A-Za-z_][\w.-]*:)?entry[\s/>]/y };
/** The format's own entry start tags only, without a namespace prefix. */
const UNPREFIXED_ENTRY_TAG = { item: /<item[\s/>]/y, entry: /<entry[\s/>]/y };

/**
 * Start tags of the format's entries (`<item`, `<entry`, any namespace prefix), outside comments
 * and CDATA. Scanned with indexOf, not a regex over the document: linear however it is broken.
 */

function countEntryTags(text: string, name: 'item' | 'entry', tags: typeof ENTRY_TAG = ENTRY_TAG): number {
  const tag = tags[name];
  let count = 0;
  for (let at = text.indexOf('<'); at >= 0; at = text.indexOf('<', at + 1)) {
    if (text.startsWith('<!--', at)) {
      const end = text.indexOf('-->', at + 4);
      if (end < 0) break;
      at = end + 2;
    } else if (text.startsWith('<![CDATA[', at)) {
      const end = text.indexOf(']]>', at + 9);
      if (end < 0) break;
      at = end + 2;
    } else {
      tag.lastIndex = at;
      if (tag.test(text)) count++;
    }
  }
  return count;
}

/**
 * feedsmith's parser is lenient: with an <item> left unclosed it nests the next ones inside it and
 * reports one item where the document has three, without an error, and those entries were in no
 * count. When fewer entries came out than the document starts, a strict validator says why. A bare
 * '&' (common, and read fine by feedsmith) is masked first, one character for one so line:col
 * stay right, so that the error named is the one that lost the entries. A document that validates
 * can still hold entries where its format reads none (an <item> after </channel>, a second
 * <channel>): the format's own unprefixed start tags beyond those read are counted then, while
 * prefixed ones are left alone (another namespace's element of that name, say).
 */
function unreadEntries(text: string, feed: ParsedFeed): ParsedFeed['unread'] {
  const name = feed.format === 'atom' ? 'entry' : 'item';
  const started = countEntryTags(text, name);
  if (started <= feed.entries.length) return undefined;
  const masked = text.replace(/&(?![A-Za-z_][\w.-]*;|#[0-9]+;|#x[0-9A-Fa-f]+;)/g, '_');
  const result = XMLValidator.validate(masked);
  if (result === true) {
    const own = countEntryTags(text, name, UNPREFIXED_ENTRY_TAG);
    if (own <= feed.entries.length) return undefined;
    const reason = `<${name}> start tags the parser returned no entry for (after </channel>, a second <channel>, an empty <${name}/>…)`;
    return { count: own - feed.entries.length, reason, kind: reason };
  }
  const { msg, line, col } = result.err;
  return { count: started - feed.entries.length, reason: `malformed XML at line ${line}:${col}: ${msg}`, kind: `malformed XML: ${msg.replace(/\b(line|col(?:umn)?)\s+\d+/gi, '$1 …')}`, excerpt: linesAround(text, line) };
}

const EXCERPT_LINES = 3;
const EXCERPT_MAX_CHARS = 4_000;

/** Lines `line` ± EXCERPT_LINES of a document (1-based), at most EXCERPT_MAX_CHARS. */
function linesAround(text: string, line: number): string {
  const lines = text.split(/\r\n|\n|\r/);
  const from = Math.max(0, line - 1 - EXCERPT_LINES);
  const excerpt = lines.slice(from, line + EXCERPT_LINES).join('\n');
  return excerpt.length > EXCERPT_MAX_CHARS ? `${excerpt.slice(0, EXCERPT_MAX_CHARS)}…` : excerpt;
}
