import { compile } from 'html-to-text';

/**
 * Plain text from the HTML fragments feeds carry in descriptions: html-to-text (htmlparser2
 * underneath: linear on hostile markup, full entity tables) drops scripts, styles, comments and
 * images; links keep their text only, headings keep their case, list items get no bullets — the
 * output is one line for display and indexing.
 */
const convert = compile({
  wordwrap: false,
  // Deeper nodes are not looked at: thousands of unclosed tags overflowed the stack (a RangeError
  // that failed the whole run), and no summary needs text that deep.
  limits: { maxDepth: 200 },
  selectors: [
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'img', format: 'skip' },
    { selector: 'ul', options: { itemPrefix: ' ' } },
    { selector: 'ol', options: { itemPrefix: ' ' } },
    ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, options: { uppercase: false } })),
  ],
});

export function htmlToText(html: string): string {
  return collapse(convert(html));
}

/**
 * Whether an RSS or RDF title holds markup: a tag HTML has (`<b>`, `<a href>`, `<br/>`…) or an
 * entity left after XML's own decoding (a double-escaped `&amp;amp;`). Those formats say nothing
 * of a title's type, and read as HTML, "Vector<int> in C++" lost "<int>" — and a title is an
 * item's identity when it has no guid or link, so two such items were taken for one.
 */
const TITLE_MARKUP = /<\/?(?:a|abbr|b|big|br|cite|code|del|div|em|font|h[1-6]|i|img|ins|kbd|mark|p|q|s|small|span|strike|strong|sub|sup|tt|u)(?:\s[^<>]*)?\/?>|&(?:#\d{1,7}|#x[0-9a-f]{1,6}|[a-z][a-z0-9]{1,31});/i;

export function looksLikeHtml(text: string | undefined): boolean {
  return text !== undefined && TITLE_MARKUP.test(text);
}

/** Whitespace runs (including non-breaking and zero-width spaces, soft hyphens) → one space. */
export function collapse(s: string): string {
  return s
    .replace(/[\u00ad\u200b\ufeff]/g, '')
    .replace(/[\s\u00a0\u2000-\u200a\u2028\u2029\u3000]+/g, ' ')
    .trim();
}

/**
 * At most `max` characters, cut at a word boundary when one is near, with an ellipsis; never
 * splits a surrogate pair.
 */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  let cut = s.slice(0, max - 1);
  const code = cut.charCodeAt(cut.length - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut = cut.slice(0, -1);
  const space = cut.lastIndexOf(' ');
  if (space >= max * 0.8) cut = cut.slice(0, space);
  return cut.trimEnd() + '…';
}
