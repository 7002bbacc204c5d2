import { describe, expect, it } from 'vitest';
import { random } from '../../bench/generate.ts';
import { z } from 'zod';
import { columnsOf, deriveFastParser, deriveRowParser, INVALID, numberOf, UnsupportedSchemaError } from '../../src/fast-validator.ts';
import { ORDER_COLUMNS, orderRowSchema } from '../../src/schema.ts';

/** Per column: valid values first, then near misses and junk. */
const CANDIDATES: Record<(typeof ORDER_COLUMNS)[number], [valid: string[], invalid: string[]]> = {
  order_id: [['ORD-1', 'A', 'a.b:c_d-e', 'x'.repeat(64)], ['x'.repeat(65), '', ' ORD-1', 'ORD 1', '-ORD', 'ÖRD-1', 'ORD-1\n', '"ORD"']],
  customer_id: [['CUST-42', '42'], ['', 'cust 42', 'C'.repeat(65)]],
  customer_name: [['', 'Zoë Müller', 'O\'Brien, Ann', '名前', 'x'.repeat(200)], ['x'.repeat(201)]],
  order_date: [['2024-02-29', '2024-03-15T10:22:33Z', '2024-03-15T10:22:33.5+02:00'], ['2023-02-29', '2024-03-15T24:00:00Z', '2024-3-15', '', '2024-03-15T10:22:33', 'yesterday']],
  status: [['pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded', 'returned'], ['Shipped', 'lost', '']],
  currency: [['EUR', 'USD', 'JPY'], ['eur', 'EURO', 'XAU', '']],
  quantity: [['1', '3', '12', '1000000', '007'], ['0', '-1', '1000001', '1.5', ' 1', '+1', '1e3', '', '9999999999']],
  unit_price: [['0', '0.00', '19.99', '0.3333', '999999.9999', '99999999999.9999'], ['-1', '1.23456', '1e3', '12.', '.5', '', '1,5', 'NaN', '100000000000']],
  amount: [['0', '59.97', '1.00'], ['59.98', '-0', '', 'Infinity', '100000000000000']],
  country: [['DE', 'US', 'JP'], ['de', 'XX', 'UK', 'EU', '']],
  email: [['', 'a@b.co', 'jane.doe+tag@mail.example.org'], ['bad', 'a@b', '"q"@x.com', ' a@b.co', 'a@b.co ']],
};

function generateRow(rnd: () => number): { fields: string[]; input: Record<string, string | undefined> } {
  const pick = (list: string[]) => list[Math.floor(rnd() * list.length)] as string;
  const input: Record<string, string | undefined> = {};
  for (const column of ORDER_COLUMNS) {
    const [valid, invalid] = CANDIDATES[column];
    input[column] = pick(rnd() < 0.93 ? valid : invalid);
  }
  // Usually make the amount add up, so that rows get past the refinement.
  if (rnd() < 0.8) {
    const q = Number(input.quantity);
    const p = Number(input.unit_price);
    if (Number.isFinite(q * p) && input.amount !== '') input.amount = (Math.round(q * p * 100) / 100).toFixed(2);
  }
  if (rnd() < 0.05) input.email = undefined;
  if (rnd() < 0.05) input.customer_name = undefined;
  return { fields: ORDER_COLUMNS.map((c) => input[c] as string), input };
}

describe('the fast validator derived from the zod schema', () => {
  it('agrees with zod on verdict and value for 50,000 generated rows', () => {
    const rnd = random(20261125);
    const parseRow = deriveRowParser(orderRowSchema);
    const columns = columnsOf(orderRowSchema, (k) => ORDER_COLUMNS.indexOf(k as (typeof ORDER_COLUMNS)[number]));
    let valid = 0;
    for (let i = 0; i < 50_000; i++) {
      const { fields, input } = generateRow(rnd);
      const fast = parseRow(fields, columns);
      const zod = orderRowSchema.safeParse(input);
      if (zod.success !== (fast !== INVALID)) throw new Error(`row ${i} disagrees (zod ${zod.success}): ${JSON.stringify(input)}`);
      if (zod.success) {
        valid++;
        expect(fast).toEqual(zod.data);
        expect(JSON.stringify(fast)).toBe(JSON.stringify(zod.data));
      }
    }
    // Both sides of the verdict were exercised.
    expect(valid).toBeGreaterThan(10_000);
    expect(valid).toBeLessThan(40_000);
  });

  it('reads columns by the header position, and an absent column as undefined, one parser for every layout', () => {
    const parseRow = deriveRowParser(orderRowSchema);
    const order = ['email', ...ORDER_COLUMNS.filter((c) => c !== 'email')].reverse();
    const row = { order_id: 'ORD-1', customer_id: 'C1', order_date: '2024-01-02', status: 'paid', currency: 'EUR', quantity: '2', unit_price: '1.50', amount: '3.00', country: 'FR' };
    const fields = order.map((c) => (row as Record<string, string>)[c] ?? '');
    expect(parseRow(fields, columnsOf(orderRowSchema, (k) => order.indexOf(k)))).toEqual({ ...row, quantity: 2, unit_price: 1.5, amount: 3, email: undefined });
    const withoutEmail = columnsOf(orderRowSchema, (k) => (k === 'email' ? -1 : ORDER_COLUMNS.indexOf(k as never)));
    expect(parseRow(ORDER_COLUMNS.map((c) => (row as Record<string, string>)[c] ?? 'x'), withoutEmail)).toMatchObject({ email: undefined });
    // A required column left out: refused, whatever the record holds where it would be.
    const withoutAmount = columnsOf(orderRowSchema, (k) => (k === 'amount' ? -1 : ORDER_COLUMNS.indexOf(k as never)));
    expect(parseRow(ORDER_COLUMNS.map((c) => (row as Record<string, string>)[c] ?? ''), withoutAmount)).toBe(INVALID);
    // And the first layout still reads as before, after the others.
    expect(parseRow(fields, columnsOf(orderRowSchema, (k) => order.indexOf(k)))).toMatchObject({ amount: 3 });
  });

  const cases: [string, z.ZodType, unknown[]][] = [
    ['union order', z.union([z.literal('a').transform(() => 1), z.string().transform(() => 2)]), ['a', 'b', 3]],
    ['nullable/optional', z.string().min(2).nullable().optional(), [null, undefined, 'ab', 'a', 1]],
    ['trim then check', z.string().trim().min(1).toLowerCase(), ['  X ', '   ', 'Y']],
    ['coercion', z.coerce.number().int().positive(), ['12', '-1', 'x', 3.5, true]],
    ['nested object', z.object({ a: z.number().lt(5), b: z.enum(['x', 'y']).optional() }).refine((o) => o.a !== 3), [{ a: 1 }, { a: 3 }, { a: 1, b: 'z' }, null, []]],
    ['int32 and bounds', z.number().int().gt(-3).lte(10), [-3, -2, 10, 11, 2.5, Number.NaN, Number.POSITIVE_INFINITY]],
    ['strict object', z.strictObject({ a: z.string() }), [{ a: 'x' }, { a: 1 }]],
    // Enums of short codes (currency, country) and their near misses: case, spaces, NUL, Latin-1.
    [
      'short enum values',
      z.enum(['', 'U', 'US', 'USD', 'Us', '\u007f']),
      ['', 'U', 'US', 'USD', 'Us', '\u007f', 'us', 'UD', 'SU', 'USDX', 'US ', ' US', 'U\u0000', '\u0000US', 'ÜS', 'U\u0080', 'USD\u0000', '\u00d5SD', 'V', 1, null, undefined, ['US']],
    ],
    ['longer enum values', z.enum(['paid', 'USD', 'é']), ['paid', 'USD', 'é', 'pai', 'paid ', 'e', 'usd', 3]],
    // Lengths in code points, as zod counts them: a surrogate pair is one, a lone surrogate one too.
    ['min length', z.string().min(2), ['😀', '😀😀', 'ab', 'a', 'a😀', '\ud83d', '\ud83d\ud83d', '\ude00\ud83d', '']],
    ['max length', z.string().max(2), ['😀😀', '😀😀😀', 'abc', '😀a', 'a😀b', '\ud83d\ud83d\ud83d', '']],
    ['exact length', z.string().length(2), ['😀', '😀😀', 'ab', 'a😀', '😀😀😀', 'abcd', '\ude00\ud83d', '\ud83d\ude00\ude00']],
  ];
  it.each(cases)('matches zod for %s', (_, schema, inputs) => {
    const fast = deriveFastParser(schema);
    for (const input of inputs) {
      const zod = schema.safeParse(input);
      const out = fast(input);
      expect(out === INVALID, JSON.stringify(input)).toBe(!zod.success);
      if (zod.success) expect(out).toEqual(zod.data);
    }
  });

  it('refuses, when derived, what it cannot mirror exactly', () => {
    expect(() => deriveFastParser(z.url())).toThrow(UnsupportedSchemaError);
    expect(() => deriveFastParser(z.string().superRefine(() => undefined))).toThrow(/superRefine/);
    expect(() => deriveFastParser(z.date())).toThrow(/zod type "date"/);
    expect(() => deriveFastParser(z.number().multipleOf(5))).toThrow(/check "multiple_of"/);
    expect(() => deriveFastParser(z.object({ a: z.string() }).catchall(z.string()))).toThrow(/catchall/);
  });
});

describe('numberOf', () => {
  it('is Number() exactly, -0 and NaN included, on cells of every shape', () => {
    const edges = ['', '-', '0', '-0', '00', '-0.0', '1.', '.5', '-.5', '1.2.3', '+1', ' 1', '1 ', '1e3', '0x10', 'Infinity', '12,5', '１２'];
    const long = ['123456789012345', '1234567890123456', '12345678901234.5', '1234567890123.45', '0.00000000000001', '99999999999999.9', '-999999999999999'];
    const rnd = random(11);
    const generated = Array.from({ length: 100_000 }, () => {
      const whole = String(Math.floor(rnd() * 10 ** Math.floor(rnd() * 13)));
      const fraction = rnd() < 0.7 ? `.${String(Math.floor(rnd() * 10_000)).padStart(Math.ceil(rnd() * 4), '0')}` : '';
      return `${rnd() < 0.1 ? '-' : ''}${rnd() < 0.05 ? '0' : ''}${whole}${fraction}`;
    });
    for (const cell of [...edges, ...long, ...generated]) expect(Object.is(numberOf(cell), Number(cell)), cell).toBe(true);
    for (const value of [undefined, null, true, 7]) expect(Object.is(numberOf(value), Number(value))).toBe(true);
  });

  it('stands in for .transform(Number) in derived parsers', () => {
    const parse = deriveFastParser(z.string().regex(/^-?\d+(\.\d+)?$/).transform(Number));
    expect(parse('12.50')).toBe(12.5);
    expect(Object.is(parse('-0'), -0)).toBe(true);
    expect(parse('1e3')).toBe(INVALID);
  });
});
