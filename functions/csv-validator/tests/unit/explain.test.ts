import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { generateOrders, HEADER, random } from '../../bench/generate.ts';
import { deriveExplainer, reasonOf } from '../../src/explain.ts';
import { columnsOf, deriveRowParser, INVALID } from '../../src/fast-validator.ts';
import { ORDER_COLUMNS, orderRowSchema } from '../../src/schema.ts';

const explain = deriveExplainer(orderRowSchema);

/** The explainer must say exactly what safeParse says: verdict, value, and every issue field. */
function expectSameAsSafeParse(values: (string | undefined)[]): boolean {
  const input: Record<string, string | undefined> = {};
  ORDER_COLUMNS.forEach((key, i) => {
    input[key] = values[i];
  });
  const zod = orderRowSchema.safeParse(input);
  const ours = explain(values);
  const context = JSON.stringify(input);
  expect(ours.success, context).toBe(zod.success);
  if (zod.success && ours.success) {
    expect(JSON.stringify(ours.data), context).toBe(JSON.stringify(zod.data));
  } else if (!zod.success && !ours.success) {
    expect(ours.issues, context).toEqual(zod.error.issues);
    // The reasons as the quarantine writes them, byte for byte.
    // Against zod's own rendering of the path, so that reasonOf's shortcut for one key is checked too.
    const zodReasons = zod.error.issues.map((i) => `${i.path.map(String).join('.') || 'row'}: ${i.message}`);
    expect(ours.issues.map(reasonOf), context).toEqual(zodReasons);
  }
  return zod.success;
}

/** Per column: valid values, then near misses, junk, and values that get half-way through a pipe. */
const CANDIDATES: Record<(typeof ORDER_COLUMNS)[number], [valid: string[], invalid: (string | undefined)[]]> = {
  order_id: [['ORD-1', 'x'.repeat(64)], ['x'.repeat(65), '', ' ORD-1', 'ÖRD-1', undefined]],
  customer_id: [['CUST-42'], ['', 'cust 42', undefined]],
  customer_name: [['', 'Zoë Müller'], ['x'.repeat(201), 'y'.repeat(500)]],
  order_date: [['2024-02-29', '2024-03-15T10:22:33Z', '2024-03-15T10:22:33.5+02:00'], ['2023-02-29', '2024-03-15T24:00:00Z', '', '2024-03-15T10:22:33', 'yesterday', undefined]],
  status: [['pending', 'returned'], ['Shipped', 'lost', '', undefined]],
  currency: [['EUR', 'JPY'], ['eur', 'EURO', '', undefined]],
  quantity: [['1', '3', '007'], ['0', '-1', '1000001', '1.5', 'abc', '', '9999999999', undefined]],
  unit_price: [['0', '19.99', '0.3333'], ['-1', '-0.5', '1.23456', '1e3', '', 'NaN', undefined]],
  amount: [['0', '59.97', '1.00'], ['59.98', '-0', '-3.5', '', 'Infinity', '100000000000000', undefined]],
  country: [['DE', 'JP'], ['de', 'XX', '', undefined]],
  email: [['', 'a@b.co'], ['bad', 'a@b', ' a@b.co', 'x'.repeat(50)]],
};

describe('explaining a rejected row', () => {
  it('says what safeParse says for every rejected row of the benchmark file', () => {
    const columns = HEADER.split(',');
    const columnOf = (key: string) => columns.indexOf(key);
    const parseRow = deriveRowParser(orderRowSchema);
    const layout = columnsOf(orderRowSchema, columnOf);
    let rejected = 0;
    for (const chunk of generateOrders(4e6, { rows: 0, bytes: 0, invalid: 0 }, 7)) {
      for (const line of chunk.split('\n')) {
        if (line === '' || line === HEADER) continue;
        const fields = line.replaceAll('"', '').split(',');
        if (fields.length === columns.length && parseRow(fields, layout) !== INVALID) continue;
        rejected++;
        expectSameAsSafeParse(ORDER_COLUMNS.map((key) => (columnOf(key) < 0 ? undefined : fields[columnOf(key)])));
      }
    }
    // Every kind of bad row the generator makes (~3 % of ~40,000) was seen.
    expect(rejected).toBeGreaterThan(800);
  });

  it('says what safeParse says for 30,000 generated rows, most of them rejected', () => {
    const rnd = random(20261126);
    const pick = <T>(list: T[]) => list[Math.floor(rnd() * list.length)] as T;
    let valid = 0;
    for (let i = 0; i < 30_000; i++) {
      const values = ORDER_COLUMNS.map((key) => {
        const [good, bad] = CANDIDATES[key];
        return rnd() < 0.85 ? pick(good) : pick(bad);
      });
      // Often make the amount add up, so that the refinement passes as well as fails.
      if (rnd() < 0.5) {
        const q = Number(values[ORDER_COLUMNS.indexOf('quantity')]);
        const p = Number(values[ORDER_COLUMNS.indexOf('unit_price')]);
        if (Number.isFinite(q * p)) values[ORDER_COLUMNS.indexOf('amount')] = (Math.round(q * p * 100) / 100).toFixed(2);
      }
      if (expectSameAsSafeParse(values)) valid++;
    }
    // Both verdicts, and rows where the refinement ran after a field's issue, were exercised.
    expect(valid).toBeGreaterThan(1_000);
    expect(valid).toBeLessThan(20_000);
  });

  it('runs the refinement after a continuable issue, even on a value a pipe left half-way', () => {
    const good = ['ORD-1', 'C1', undefined, '2024-01-02', 'paid', 'EUR', '2', '1.50', '3.00', 'FR', ''];
    const at = (key: (typeof ORDER_COLUMNS)[number], value: string) => good.map((v, i) => (ORDER_COLUMNS[i] === key ? value : v));
    const reasons = (values: (string | undefined)[]) => {
      const r = explain(values);
      return r.success ? [] : r.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(reasons(at('quantity', '0'))).toEqual(['quantity: 0 is less than 1', 'amount: 3 is not quantity × unit_price (0 × 1.5 = 0) to the cent']);
    expect(reasons(at('quantity', 'abc'))).toEqual(['quantity: "abc" is not a whole number', 'amount: 3 is not quantity × unit_price (abc × 1.5 = NaN) to the cent']);
    expect(reasons(at('status', 'lost'))).toEqual(['status: "lost" is not one of pending, paid, shipped, delivered, cancelled, refunded, returned']);
    expect(explain(good)).toEqual({ success: true, data: orderRowSchema.parse({ ...Object.fromEntries(ORDER_COLUMNS.map((k, i) => [k, good[i]])) }) });
    for (const key of ORDER_COLUMNS) for (const v of ['', 'x', '-1']) expectSameAsSafeParse(at(key, v));
  });

  it('mirrors object checks with `when` and aborting issues on another schema', () => {
    const schema = z
      // b = 'q' is refused by an aborting check (continue: false): even a check with `when` is skipped.
      .object({ a: z.number().min(1), b: z.string().max(2).refine((v) => v !== 'q', { error: 'b is q', abort: true }), c: z.enum(['x', 'y']).optional() })
      .refine((o) => o.a !== 3, { error: 'a is 3', path: ['a'] })
      .refine((o) => o.b !== 'zz' && o.b !== 'q', { error: 'b is zz or q', when: (p) => typeof (p.value as { b?: unknown }).b === 'string' });
    const ours = deriveExplainer(schema);
    for (const a of [0, 1, 3, 'n', undefined]) {
      for (const b of ['a', 'zz', 'q', 'long', 5]) {
        for (const c of ['x', 'q', undefined]) {
          const zod = schema.safeParse({ a, b, c });
          const r = ours([a, b, c]);
          expect(r.success, JSON.stringify({ a, b, c })).toBe(zod.success);
          if (!zod.success && !r.success) expect(r.issues).toEqual(zod.error.issues);
          if (zod.success && r.success) expect(r.data).toEqual(zod.data);
        }
      }
    }
  });
});
