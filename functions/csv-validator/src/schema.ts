import { z } from 'zod';
import { COUNTRY_CODES, CURRENCY_CODES } from './iso-codes.ts';

/**
 * The one declaration of an orders.csv row: columns, types, coercion from the CSV's strings and
 * every rule a row must meet. The header check, the fast validator, the JSON Lines writer and the
 * quarantine's reasons are all derived from it — change a rule here and nowhere else.
 *
 * Numbers are parsed with a regex first, never with z.coerce: Number() reads "", " 7", "0x10" and
 * "1e3" as numbers, which a CSV cell should not be.
 */

export const ORDER_STATUSES = ['pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded', 'returned'] as const;

/** A cell value or header name as a message shows it: quoted, cut short when long, invisible characters written out. */
export function shown(value: unknown): string {
  if (value === undefined) return '(missing)';
  const s = String(value);
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s).replace(INVISIBLE, escaped);
}

// JSON escapes only C0 controls: a zero-width space, a soft hyphen, a no-break space or a C1
// control would be printed as is, and "order_id\u200B" would read exactly like "order_id". Lone
// surrogates (Cs) JSON escapes itself.
const INVISIBLE = /(?! )[\p{Cc}\p{Cf}\p{Z}]/gu;

/** \u200B, as JSON writes an escape (an astral character as its two UTF-16 halves). */
function escaped(c: string): string {
  let out = '';
  for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0')}`;
  return out;
}

const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const INTEGER = /^-?\d{1,9}$/;
// At most 11 digits before the point and 4 after: every such decimal (≤ 15 significant digits)
// survives the trip through a double and silver's JSON unchanged, and amountMatches is exact on it.
const DECIMAL = /^-?\d{1,11}(?:\.\d{1,4})?$/;

const text = z.string({ error: (iss) => (iss.input === undefined ? 'missing' : 'not text') });

const identifier = (what: string) =>
  text
    .min(1, { error: 'required', abort: true })
    .regex(IDENTIFIER, { error: (iss) => `${shown(iss.input)} is not a valid ${what} (1–64 of A-Z a-z 0-9 . _ : -)` });

const integer = text
  .min(1, { error: 'required', abort: true })
  .regex(INTEGER, { error: (iss) => `${shown(iss.input)} is not a whole number` })
  .transform(Number);

const decimal = text
  .min(1, { error: 'required', abort: true })
  .regex(DECIMAL, { error: (iss) => `${shown(iss.input)} is not a decimal number (up to 11 digits, optionally "." and up to 4 decimals)` })
  .transform(Number);

const oneOf = <const T extends readonly [string, ...string[]]>(values: T, what: string) =>
  z.enum(values, { error: (iss) => (iss.input === '' ? 'required' : `${shown(iss.input)} is not ${what}`) });

const blankToUndefined = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);

export const orderRowSchema = z
  .object({
    order_id: identifier('order id'),
    customer_id: identifier('customer id'),
    // Optional free text, the one column where accents (and so the file's encoding) show.
    customer_name: text
      .optional()
      .transform(blankToUndefined)
      .pipe(z.string().max(200, { error: (iss) => `${shown(iss.input)} is longer than 200 characters` }).optional()),
    order_date: z.union([z.iso.date(), z.iso.datetime({ offset: true })], {
      error: (iss) =>
        iss.input === ''
          ? 'required'
          : `${shown(iss.input)} is not an ISO 8601 date (2024-03-15) or date-time with a zone (2024-03-15T10:22:33Z, …+02:00)`,
    }),
    status: oneOf(ORDER_STATUSES, `one of ${ORDER_STATUSES.join(', ')}`),
    currency: oneOf(CURRENCY_CODES, 'an ISO 4217 currency code'),
    quantity: integer.pipe(
      z.number().int().min(1, { error: (iss) => `${iss.input} is less than 1` }).max(1_000_000, { error: (iss) => `${iss.input} is more than 1,000,000` }),
    ),
    unit_price: decimal.pipe(z.number().min(0, { error: (iss) => `${iss.input} is negative` })),
    amount: decimal.pipe(z.number().min(0, { error: (iss) => `${iss.input} is negative` })),
    country: oneOf(COUNTRY_CODES, 'an ISO 3166-1 alpha-2 country code'),
    // Optional: the column may be absent and a cell may be empty; a non-empty cell must be an address.
    email: text
      .optional()
      .transform(blankToUndefined)
      .pipe(z.email({ error: (iss) => `${shown(iss.input)} is not an e-mail address` }).optional()),
  })
  .refine((row) => amountMatches(row.amount, row.quantity, row.unit_price), {
    path: ['amount'],
    error: (iss) => {
      const row = iss.input as { amount: number; quantity: number; unit_price: number };
      return `${row.amount} is not quantity × unit_price (${row.quantity} × ${row.unit_price} = ${round4(row.quantity * row.unit_price)}) to the cent`;
    },
  });

export type OrderRow = z.output<typeof orderRowSchema>;

/** The columns in declaration order: the order of keys in every silver record. */
export const ORDER_COLUMNS = Object.keys(orderRowSchema.shape) as (keyof OrderRow)[];

/** DECIMAL's finest step, 10^-4, as the unit amountMatches counts in. */
const UNITS_PER_ONE = 10_000;
const CENT_IN_UNITS = 100;
/**
 * Below this (DECIMAL's bound) a double read from a decimal of up to 4 places gives that decimal
 * back exactly in units: |x|·10^4 < 10^15, where the double's error stays under 0.2 of a unit.
 */
const EXACT_BELOW = 1e11;

/**
 * amount = quantity × unit_price, allowing for rounding to the cent either way: a difference of a
 * whole cent or more is an error. Counted in whole units of 10^-4, exactly: on doubles the product
 * of a large price carries rounding noise larger than any fixed allowance (at ~1.7·10^7 an amount
 * a whole cent off computed as 0.0099945 off, and passed).
 */
export function amountMatches(amount: number, quantity: number, unitPrice: number): boolean {
  if (Number.isInteger(quantity) && Math.abs(amount) < EXACT_BELOW && Math.abs(unitPrice) < EXACT_BELOW) {
    const product = quantity * Math.round(unitPrice * UNITS_PER_ONE);
    // Past 2^53 no longer exact — and far above any amount below EXACT_BELOW.
    if (!Number.isSafeInteger(product)) return false;
    return Math.abs(Math.round(amount * UNITS_PER_ONE) - product) < CENT_IN_UNITS;
  }
  // Values DECIMAL and INTEGER never let through (zod runs the refinement after a failed check too).
  return Math.abs(amount - quantity * unitPrice) < 0.01;
}

function round4(n: number): number {
  return Math.round(n * UNITS_PER_ONE) / UNITS_PER_ONE;
}
