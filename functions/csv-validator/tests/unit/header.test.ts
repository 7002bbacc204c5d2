import { describe, expect, it } from 'vitest';
import { checkHeader, type ExpectedColumn } from '../../src/header.ts';

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

  it('suggests the delimiter when the header is a single column', () => {
    const h = checkHeader(['order_id;customer_id;amount;country'], EXPECTED);
    expect(h.status).toBe('rejected');
    expect(h.message).toMatch(/is the file delimited by ";" instead of ","\?$/);
  });
});
