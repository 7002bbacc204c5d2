import { describe, expect, it } from 'vitest';
import { random } from '../../bench/generate.ts';
import { deriveJsonLineEncoder, JsonLineBuffer } from '../../src/json-line.ts';
import { ORDER_COLUMNS } from '../../src/schema.ts';

/** What JSON.stringify gives, as the bytes of a line. */
const expected = (record: object) => Buffer.from(`${JSON.stringify(record)}\n`, 'utf8');

function encode(keys: readonly string[], records: object[]): Buffer {
  const encodeLine = deriveJsonLineEncoder(keys);
  // Small on purpose: the buffer must grow as it goes.
  const out = new JsonLineBuffer(16);
  for (const r of records) encodeLine(r, out);
  return Buffer.from(out.view());
}

describe('JSON lines written as bytes', () => {
  it('escapes strings exactly as JSON.stringify does', () => {
    const strings = [
      '',
      'plain ASCII',
      'quote " and backslash \\ and slash /',
      Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join(''),
      '\u007f DEL stays',
      'Zoë Müller, Ærøskøbing, Łódź',
      '日本語のテキスト',
      'emoji 😀 and 👩‍👩‍👧',
      'lone high \ud800 in the middle',
      'lone low \udc00',
      'ends in a high surrogate \ud83d',
      '\udc00\ud800 reversed pair',
      'line\u2028separator\u2029paragraph',
      'replacement \ufffd and BOM \ufeff',
      'x'.repeat(5000),
    ];
    const records = strings.map((s) => ({ a: s, b: `${s}${s}` }));
    expect(encode(['a', 'b'], records).equals(Buffer.concat(records.map(expected)))).toBe(true);
  });

  it('writes numbers exactly as JSON.stringify does', () => {
    const rnd = random(11);
    const numbers = [
      0, -0, 1, -1, 7, 10, 99, 100, 2147483647, -2147483648, 2147483648, 2 ** 53 - 1, 2 ** 53, 1e15 - 1, 1e15, 1e21, 1e-6, 1e-7, 1.5e-6,
      0.1, 0.2, 0.1 + 0.2, 9.95, 19.9, 19.95, 2 * 9.95, 123456789012.3457, 999999999999.9999, 0.0001, 0.3333, 1 / 3, 2 / 3, Math.PI, Math.E,
      -0.5, -123.45, 5e-324, Number.MAX_VALUE, Number.MIN_SAFE_INTEGER, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY,
    ];
    for (let i = 0; i < 100_000; i++) {
      const kind = i % 5;
      if (kind === 0) numbers.push(Math.round(rnd() * 1e8) / 10 ** Math.floor(rnd() * 7));
      else if (kind === 1) numbers.push((rnd() - 0.5) * 10 ** Math.floor(rnd() * 30 - 10));
      else if (kind === 2) numbers.push(Math.round(rnd() * 2e6) * Math.round(rnd() * 1e5) / 100);
      else if (kind === 3) numbers.push(Number((rnd() * 1e6).toFixed(Math.floor(rnd() * 5))));
      else numbers.push(Math.floor((rnd() - 0.5) * 2 ** 40));
    }
    const records = numbers.map((n) => ({ n }));
    const got = encode(['n'], records).toString('utf8').split('\n');
    const want = records.map((r) => JSON.stringify(r));
    for (let i = 0; i < records.length; i++) if (got[i] !== want[i]) expect(got[i], `number ${numbers[i]}`).toBe(want[i]);
  });

  it('leaves out undefined values, wherever they are, and writes {} for none', () => {
    const records = [{ a: undefined, b: 1, c: 'x' }, { a: 'x', b: undefined, c: undefined }, { a: undefined, b: undefined, c: undefined }, {}];
    expect(encode(['a', 'b', 'c'], records).equals(Buffer.concat(records.map(expected)))).toBe(true);
  });

  it('hands records with other values (booleans, null, objects) to JSON.stringify, and keys with awkward names', () => {
    const records = [{ 'we"ird': true, 'ключ': null, 'x\ny': 1 }, { 'we"ird': 'a', 'ключ': { nested: [1, 'é'] }, 'x\ny': 2 }, { 'we"ird': 'a', 'ключ': 'b', 'x\ny': 3 }];
    expect(encode(['we"ird', 'ключ', 'x\ny'], records).equals(Buffer.concat(records.map(expected)))).toBe(true);
  });

  it('writes silver records of every shape the schema allows', () => {
    const rnd = random(5);
    const pick = <T>(list: readonly T[]) => list[Math.floor(rnd() * list.length)] as T;
    const records = Array.from({ length: 20_000 }, (_, i) => {
      const record: Record<string, unknown> = {
        order_id: `ORD-${i}`,
        customer_id: pick(['C-1', 'CUST.42', 'a:b_c-d']),
        customer_name: pick([undefined, 'Zoë "Z" Müller', 'O\'Brien, Ann', '名前 😀', 'tab\there', 'back\\slash']),
        order_date: pick(['2024-02-29', '2024-03-15T10:22:33.5+02:00']),
        status: 'paid',
        currency: pick(['EUR', 'JPY']),
        quantity: 1 + Math.floor(rnd() * 1_000_000),
        unit_price: Math.round(rnd() * 1e8) / 1e4,
        amount: Math.round(rnd() * 1e10) / 100,
        country: 'DE',
        email: pick([undefined, 'a@b.co']),
      };
      return record;
    });
    expect(encode(ORDER_COLUMNS, records).equals(Buffer.concat(records.map(expected)))).toBe(true);
  });
});
