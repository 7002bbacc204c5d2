/**
 * Sample files for the bronze → silver scenario: orders in the csv-validator's column layout, each
 * file chosen to exercise one thing (clean, bad rows, Excel's BOM + CRLF, an awkward key, junk).
 */

export const ORDER_HEADER = ['order_id', 'customer_id', 'order_date', 'status', 'currency', 'quantity', 'unit_price', 'amount', 'country', 'email'];

const STATUSES = ['pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded'];
const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF'];
const COUNTRIES = ['DE', 'FR', 'US', 'GB', 'NL', 'ES'];

/** A valid order row; `n` makes every field deterministic. */
export function orderRow(n: number, file: string): string[] {
  const quantity = 1 + (n % 5);
  const cents = 199 + ((n * 7919) % 9000);
  const month = String(1 + (n % 12)).padStart(2, '0');
  const day = String(1 + (n % 28)).padStart(2, '0');
  return [
    `ORD-${file}-${String(n).padStart(5, '0')}`,
    `CUST-${String(1000 + ((n * 31) % 900)).padStart(6, '0')}`,
    n % 2 ? `2026-${month}-${day}` : `2026-${month}-${day}T10:${String(n % 60).padStart(2, '0')}:00Z`,
    STATUSES[n % STATUSES.length] as string,
    CURRENCIES[n % CURRENCIES.length] as string,
    String(quantity),
    (cents / 100).toFixed(2),
    ((quantity * cents) / 100).toFixed(2),
    COUNTRIES[n % COUNTRIES.length] as string,
    n % 4 === 0 ? '' : `buyer${n}@example.com`,
  ];
}

function csv(rows: string[][], eol = '\n'): string {
  const cell = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return rows.map((r) => r.map(cell).join(',')).join(eol) + eol;
}

export interface SampleFile {
  key: string;
  body: Buffer;
  /** What the file is for, one line. */
  purpose: string;
  /** Rows after the header a validator should read (undefined: not a CSV of orders). */
  dataRows?: number;
  /** Of those, rows a validator should reject. */
  badRows?: number;
}

/** Bad rows, each wrong in one way a validator must name. */
function badRows(file: string): string[][] {
  const base = (n: number) => orderRow(n, file);
  const rows: string[][] = [];
  let r = base(101);
  r[5] = '0'; // quantity must be positive
  rows.push(r);
  r = base(102);
  r[3] = 'lost'; // not a known status
  rows.push(r);
  r = base(103);
  r[2] = '2026-13-01'; // no 13th month
  rows.push(r);
  r = base(104);
  r[7] = '-5.00'; // a negative amount
  rows.push(r);
  r = base(105);
  r[1] = ''; // customer_id is required
  rows.push(r);
  rows.push(base(1)); // the same order_id as the first good row
  return rows;
}

/** Bytes that are no CSV at all: NULs, invalid UTF-8, a PDF-ish header. */
function junk(): Buffer {
  const bytes = Buffer.alloc(2048);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 193 + 71) % 256;
  return Buffer.concat([Buffer.from('%PDF-1.4\n\u0000\u0000'), bytes]);
}

export function sampleFiles(): SampleFile[] {
  const good = Array.from({ length: 12 }, (_, i) => orderRow(i + 1, 'good'));
  const mixed = [...Array.from({ length: 8 }, (_, i) => orderRow(i + 1, 'mixed')), ...badRows('mixed')];
  const excel = Array.from({ length: 5 }, (_, i) => orderRow(i + 1, 'excel'));
  const awkward = Array.from({ length: 4 }, (_, i) => orderRow(i + 1, 'cafe'));
  return [
    {
      key: 'bronze/orders.csv',
      body: Buffer.from(csv([ORDER_HEADER, ...mixed])),
      purpose: '8 good rows, 6 bad ones (quantity 0, unknown status, month 13, negative amount, no customer, duplicate id)',
      dataRows: 14,
      badRows: 6,
    },
    { key: 'bronze/orders-clean.csv', body: Buffer.from(csv([ORDER_HEADER, ...good])), purpose: 'clean orders', dataRows: 12, badRows: 0 },
    {
      key: 'bronze/excel-export.csv',
      body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(csv([ORDER_HEADER, ...excel], '\r\n'))]),
      purpose: 'UTF-8 BOM and CRLF line ends, as Excel writes them',
      dataRows: 5,
      badRows: 0,
    },
    {
      key: 'bronze/2026/Q1 orders – café+bar.csv',
      body: Buffer.from(csv([ORDER_HEADER, ...awkward])),
      purpose: 'a key with spaces, a dash, an accent and a "+" (arrives URL-encoded)',
      dataRows: 4,
      badRows: 0,
    },
    {
      key: 'bronze/EXPORT.CSV',
      body: Buffer.from(csv([ORDER_HEADER, ...Array.from({ length: 3 }, (_, i) => orderRow(i + 1, 'upper'))])),
      purpose: 'the suffix in upper case, as Windows tools write it: the rule matches .csv and .CSV',
      dataRows: 3,
      badRows: 0,
    },
    { key: 'bronze/poison.csv', body: junk(), purpose: 'binary junk named .csv' },
  ];
}

/** Written and deleted at once: the event arrives for an object that is gone. */
export const VANISHING: SampleFile = {
  key: 'bronze/vanished.csv',
  body: Buffer.from(csv([ORDER_HEADER, orderRow(1, 'gone')])),
  // The embedded S3 keeps no versions. On AWS the lake bucket is versioned: the event names a
  // version that outlives the delete (behind a delete marker), and the validator reads it.
  purpose: 'deleted right after the upload: its event names an object that no longer exists (here: S3 keeps no versions locally; on AWS the versioned lake still holds it, and it is validated)',
};

/** Keys no rule matches: another prefix, another suffix, the prefix in another case (a path: matched as written). */
export const DECOYS: SampleFile[] = [
  { key: 'landing/orders.csv', body: Buffer.from(csv([ORDER_HEADER, orderRow(1, 'landing')])), purpose: 'outside bronze/' },
  { key: 'bronze/notes.txt', body: Buffer.from('not a CSV\n'), purpose: 'not .csv' },
  { key: 'Bronze/orders.csv', body: Buffer.from(csv([ORDER_HEADER, orderRow(1, 'prefix-case')])), purpose: 'Bronze/: the prefix is a path, matched case-sensitively' },
];
