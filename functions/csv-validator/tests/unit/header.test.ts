import { describe, expect, it } from 'vitest';
import { checkHeader, type ExpectedColumn, levenshtein, suggest } from '../../src/header.ts';

/** suggest() with its edit distance counted: the pairs it compared, and its answer. */
function compared(missing: string[], extra: string[]) {
  const pairs: [string, string][] = [];
  const suggestions = suggest(missing, extra, (a, b) => {
    pairs.push([a, b]);
    return levenshtein(a, b);
  });
  return { pairs, suggestions };
}

const EXPECTED: ExpectedColumn[] = [
  { name: 'order_id', required: true },
  { name: 'customer_id', required: true },
  { name: 'amount', required: true },
  { name: 'country', required: true },
  { name: 'email', required: false },
];

describe('checkHeader', () => {
  it('accepts the expected columns in any order, trimming spaces', () => {
    const h = checkHeader(['email', ' amount ', 'country', 'customer_id', 'order_id'], EXPECTED);
    expect(h).toMatchObject({ status: 'ok', missing: [], extra: [], message: 'header as expected' });
    expect(h.columns).toEqual(['email', 'amount', 'country', 'customer_id', 'order_id']);
  });

  it('accepts extra columns and says they are ignored', () => {
    const h = checkHeader(['order_id', 'customer_id', 'amount', 'country', 'email', 'note', 'source'], EXPECTED);
    expect(h).toMatchObject({ status: 'extra-columns', extra: ['note', 'source'] });
    expect(h.message).toBe('ignored unknown column(s): "note", "source"');
  });

  it('rejects a header cell holding a line break: the header joined with the line after it', () => {
    const h = checkHeader(['order_id', 'customer_id', 'amount', 'country', 'email\rORD-1', 'CUST-1', '19.90', 'DE', 'a@b.co'], EXPECTED);
    expect(h.status).toBe('rejected');
    expect(h.message).toMatch(/^header cell\(s\) holding a line break: "email\\rORD-1" — the header and the line after it joined/);
  });

  it('accepts a missing optional column', () => {
    const h = checkHeader(['order_id', 'customer_id', 'amount', 'country'], EXPECTED);
    expect(h).toMatchObject({ status: 'ok', missing: ['email'], message: 'optional column(s) absent: email' });
  });

  it('rejects missing required columns and names what they probably became', () => {
    const h = checkHeader(['Order ID', 'customer_id', 'ammount', 'country_code', 'email', 'note'], EXPECTED);
    expect(h.status).toBe('rejected');
    expect(h.missing).toEqual(['order_id', 'amount', 'country']);
    expect(h.suggestions).toEqual([
      { found: 'Order ID', expected: 'order_id' },
      { found: 'ammount', expected: 'amount' },
      { found: 'country_code', expected: 'country' },
    ]);
    expect(h.message).toBe(
      'missing required column(s): order_id, amount, country; "Order ID" looks like "order_id"; "ammount" looks like "amount"; "country_code" looks like "country"; unknown column(s): "note"',
    );
  });

  it('does not pair names that merely share a letter', () => {
    const h = checkHeader(['a', 'customer_id', 'amount', 'country', 'qty'], EXPECTED);
    expect(h.suggestions).toEqual([]);
    expect(h.message).toBe('missing required column(s): order_id; optional column(s) absent: email; unknown column(s): "a", "qty"');
  });

  it('rejects an optional column found under another spelling: its values would be dropped', () => {
    const h = checkHeader(['order_id', 'customer_id', 'amount', 'country', 'E-Mail'], EXPECTED);
    expect(h).toMatchObject({ status: 'rejected', missing: ['email'], extra: ['E-Mail'], suggestions: [{ found: 'E-Mail', expected: 'email' }] });
    expect(h.message).toBe('optional column(s) spelled otherwise: "E-Mail" for email (read as unknown columns, their values would be dropped)');
  });

  it('only points out an unknown column merely like an absent optional one: it may be a new column', () => {
    const h = checkHeader(['order_id', 'customer_id', 'amount', 'country', 'email_verified'], EXPECTED);
    expect(h).toMatchObject({ status: 'extra-columns', missing: ['email'], suggestions: [{ found: 'email_verified', expected: 'email' }] });
    expect(h.message).toBe('"email_verified" looks like "email"; optional column(s) absent: email');
  });

  it('rejects an expected column named twice', () => {
    const h = checkHeader(['order_id', 'customer_id', 'amount', 'amount', 'country'], EXPECTED);
    expect(h).toMatchObject({ status: 'rejected', duplicates: ['amount'] });
  });

  it('rejects an expected column named twice under another spelling: which one holds the value is as ambiguous', () => {
    const h = checkHeader(['order_id', 'customer_id', 'amount', 'country', 'email', 'Email'], EXPECTED);
    expect(h).toMatchObject({ status: 'rejected', duplicates: ['email'], extra: ['Email'], suggestions: [] });
    expect(h.message).toBe('column(s) named more than once: email (also as "Email")');
  });

  it('names every spelling of a repeated column, beside exact repeats and unknown columns', () => {
    const h = checkHeader(['Order ID', 'order_id', 'customer_id', 'amount', 'amount', 'country', 'ORDER-ID', 'note'], EXPECTED);
    expect(h).toMatchObject({ status: 'rejected', duplicates: ['order_id', 'amount'], suggestions: [] });
    expect(h.message).toBe(
      'column(s) named more than once: order_id (also as "Order ID", "ORDER-ID"), amount; optional column(s) absent: email; unknown column(s): "note"',
    );
  });

  it('writes out invisible characters in a name, which JSON leaves as they are: a zero-width space, a soft hyphen', () => {
    const zeroWidth = checkHeader(['order_id\u200b', 'customer_id', 'amount', 'country'], EXPECTED);
    expect(zeroWidth).toMatchObject({ status: 'rejected', suggestions: [{ found: 'order_id\u200b', expected: 'order_id' }] });
    expect(zeroWidth.message).toContain('"order_id\\u200B" looks like "order_id"');
    const softHyphen = checkHeader(['order_id', 'customer_id', 'amount', 'country', 'e\u00ADmail'], EXPECTED);
    expect(softHyphen.message).toBe('optional column(s) spelled otherwise: "e\\u00ADmail" for email (read as unknown columns, their values would be dropped)');
  });

  it('writes out C1 controls, format characters (astral ones as JSON would) and spaces other than U+0020', () => {
    const h = checkHeader(['order_id', 'customer_id', 'amount', 'country', 'note\u0085a', 'no\u00a0te\u2028b', 'x\u{E0041}y\u202e', 'plain note'], EXPECTED);
    expect(h.message).toBe(
      'optional column(s) absent: email; ignored unknown column(s): "note\\u0085a", "no\\u00A0te\\u2028b", "x\\uDB40\\uDC41y\\u202E", "plain note"',
    );
  });

  it('checks a header of one megabyte cell (a quote never closed on line 1) without edit-comparing the cell', () => {
    const cell = `"${'order'.repeat(200_000)}`;
    const h = checkHeader([cell], EXPECTED);
    expect(h).toMatchObject({ status: 'rejected', missing: ['order_id', 'customer_id', 'amount', 'country', 'email'], suggestions: [] });
    expect(h.message).toBe(
      `missing required column(s): order_id, customer_id, amount, country; optional column(s) absent: email; unknown column(s): "\\"${'order'.repeat(7)}orde…"`,
    );
    // No name is within a third of the cell's length: nothing to edit-compare (it took ~7 s).
    expect(compared(h.missing, h.extra)).toEqual({ pairs: [], suggestions: [] });
  });

  it('still pairs megabyte cells that start with an expected name, comparing only names of like length', () => {
    const long = (name: string) => name + 'x'.repeat(1_000_000);
    const header = [long('order_id'), 'customer_id', 'ammount', 'country', long('email'), `"${'order'.repeat(200_000)}`];
    const h = checkHeader(header, EXPECTED);
    expect(h.status).toBe('rejected');
    expect(h.suggestions).toEqual([
      { found: long('order_id'), expected: 'order_id' },
      { found: 'ammount', expected: 'amount' },
      { found: long('email'), expected: 'email' },
    ]);
    expect(h.message).toMatch(/^missing required column\(s\): order_id, amount; "order_idx{32}…" looks like "order_id"; "ammount" looks like "amount"; "emailx{35}…" looks like "email"; optional column\(s\) absent: email; unknown column\(s\): "\\"(order){7}orde…"$/);

    // The work, counted: the edit distance only ever runs on names at most a third longer than
    // the expected one, never on a long cell (quadratic in it: ~7 s for each such cell).
    const work = compared(h.missing, h.extra);
    expect(work.suggestions).toEqual(h.suggestions);
    expect(work.pairs).toContainEqual(['amount', 'ammount']);
    for (const [a, b] of work.pairs) expect(Math.abs(b.length - a.length)).toBeLessThanOrEqual(Math.max(1, Math.floor(a.length / 3)));
  });

  it('suggests the delimiter when the header is a single column', () => {
    const h = checkHeader(['order_id;customer_id;amount;country'], EXPECTED);
    expect(h.status).toBe('rejected');
    expect(h.message).toMatch(/is the file delimited by ";" instead of ","\?$/);
  });
});
