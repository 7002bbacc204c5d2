import { describe, expect, it } from 'vitest';
import { COUNTRY_CODES, CURRENCY_CODES } from '../../src/iso-codes.ts';
import { amountMatches, ORDER_COLUMNS, ORDER_STATUSES, orderRowSchema } from '../../src/schema.ts';

const good = {
  order_id: 'ORD-0001',
  customer_id: 'CUST-42',
  customer_name: 'Zoë Müller',
  order_date: '2024-03-15',
  status: 'shipped',
  currency: 'EUR',
  quantity: '3',
  unit_price: '19.99',
  amount: '59.97',
  country: 'DE',
  email: 'jane.doe@example.com',
};

const reasonsOf = (row: Record<string, string | undefined>) => {
  const r = orderRowSchema.safeParse(row);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('the orders row schema', () => {
  it('coerces a good row to typed values', () => {
    expect(orderRowSchema.parse(good)).toEqual({ ...good, quantity: 3, unit_price: 19.99, amount: 59.97 });
    expect(ORDER_COLUMNS).toEqual(Object.keys(good));
  });

  it('accepts ISO dates and date-times with a zone, checking the calendar', () => {
    for (const d of ['2024-02-29', '2024-03-15T10:22:33Z', '2024-03-15T10:22:33.250+02:00', '2000-02-29']) {
      expect(reasonsOf({ ...good, order_date: d }), d).toEqual([]);
    }
    for (const d of ['2023-02-29', '2024-13-01', '2024-3-15', '15/03/2024', '2024-03-15T10:22:33', '2024-03-15 10:22:33Z', '']) {
      expect(reasonsOf({ ...good, order_date: d }), d).toHaveLength(1);
    }
    expect(reasonsOf({ ...good, order_date: '2024-03-15T10:22:33' })[0]).toMatch(/^order_date: "2024-03-15T10:22:33" is not an ISO 8601 date/);
  });

  it('writes out invisible characters of a cell in its reason, which JSON leaves as they are', () => {
    expect(reasonsOf({ ...good, status: 'paid\u200b' })[0]).toBe(`status: "paid\\u200B" is not one of ${ORDER_STATUSES.join(', ')}`);
    expect(reasonsOf({ ...good, country: 'D\u00adE' })[0]).toMatch(/^country: "D\\u00ADE" is not/);
  });

  it('reads numbers strictly: no blanks, spaces, exponents or hex', () => {
    for (const q of ['', ' 3', '3 ', '3.0', '1e1', '0x3', '+3']) expect(reasonsOf({ ...good, quantity: q, amount: '59.97' }), q).not.toEqual([]);
    for (const p of ['19,99', '1e1', '.5', '19.', '19.12345', '']) expect(reasonsOf({ ...good, unit_price: p }).length, p).toBeGreaterThan(0);
  });

  it('gives every reason, each naming the column and the value', () => {
    expect(reasonsOf({ ...good, quantity: '0', unit_price: '-1.00', currency: 'EURO', country: 'XX', email: 'nope' })).toEqual([
      'currency: "EURO" is not an ISO 4217 currency code',
      'quantity: 0 is less than 1',
      'unit_price: -1 is negative',
      'country: "XX" is not an ISO 3166-1 alpha-2 country code',
      'email: "nope" is not an e-mail address',
    ]);
    // The amount rule runs once every column has a value of the right type (zod skips object
    // refinements after a failed type check, here the currency's), and then it counts too.
    expect(reasonsOf({ ...good, quantity: '0' })).toEqual(['quantity: 0 is less than 1', 'amount: 59.97 is not quantity × unit_price (0 × 19.99 = 0) to the cent']);
    expect(reasonsOf({ ...good, order_id: '', status: 'lost' })).toEqual([
      'order_id: required',
      'status: "lost" is not one of pending, paid, shipped, delivered, cancelled, refunded, returned',
    ]);
  });

  it('checks amount = quantity × unit_price to the cent', () => {
    expect(amountMatches(59.97, 3, 19.99)).toBe(true);
    expect(amountMatches(1.0, 3, 0.3333)).toBe(true);
    expect(amountMatches(59.98, 3, 19.99)).toBe(false);
    expect(amountMatches(59.96, 3, 19.99)).toBe(false);
    expect(reasonsOf({ ...good, amount: '59.98' })).toEqual(['amount: 59.98 is not quantity × unit_price (3 × 19.99 = 59.97) to the cent']);
  });

  it('counts a whole cent off as off at any size, exactly', () => {
    // On doubles these differences came out just under a cent and passed.
    expect(amountMatches(16777936.82, 1, 16777936.83)).toBe(false);
    expect(amountMatches(99999999999.99, 1, 99999999999.98)).toBe(false);
    expect(amountMatches(99999999900.01, 1_000_000, 99999.9999)).toBe(false);
    // Under a cent: a match, whatever the size.
    expect(amountMatches(99999999999.9999, 1, 99999999999.99)).toBe(true);
    expect(amountMatches(99999999900.0099, 1_000_000, 99999.9999)).toBe(true);
    expect(amountMatches(99999999900, 1_000_000, 99999.9999)).toBe(true);
    // A million × the largest price is past 2^53 units: refused, not rounded into a match.
    expect(amountMatches(99999999999.9999, 1_000_000, 99999999999.9999)).toBe(false);
  });

  it('takes decimals of at most 11 digits before the point, which doubles keep exactly', () => {
    expect(orderRowSchema.parse({ ...good, quantity: '1', unit_price: '99999999999.9999', amount: '99999999999.9999' }).amount).toBe(99999999999.9999);
    expect(reasonsOf({ ...good, quantity: '1', unit_price: '900000000000.0003', amount: '900000000000.0003' })).toEqual([
      'unit_price: "900000000000.0003" is not a decimal number (up to 11 digits, optionally "." and up to 4 decimals)',
      'amount: "900000000000.0003" is not a decimal number (up to 11 digits, optionally "." and up to 4 decimals)',
    ]);
  });

  it('makes the e-mail optional: absent column, empty cell, or an address', () => {
    expect(orderRowSchema.parse({ ...good, email: undefined }).email).toBeUndefined();
    expect(orderRowSchema.parse({ ...good, email: '' }).email).toBeUndefined();
    expect(reasonsOf({ ...good, email: ' ' })).toHaveLength(1);
  });

  it('uses complete, sorted code lists', () => {
    expect(COUNTRY_CODES).toHaveLength(249);
    expect(new Set(COUNTRY_CODES).size).toBe(249);
    expect([...COUNTRY_CODES].sort()).toEqual([...COUNTRY_CODES]);
    expect([...CURRENCY_CODES].sort()).toEqual([...CURRENCY_CODES]);
    for (const fund of ['XAU', 'XXX', 'XTS', 'BOV', 'USN']) expect(CURRENCY_CODES).not.toContain(fund);
    for (const code of ['EUR', 'USD', 'JPY', 'CHF', 'SLE', 'ZWG']) expect(CURRENCY_CODES).toContain(code);
  });
});
