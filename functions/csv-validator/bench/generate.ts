// Deterministic orders.csv generator for the benchmark: streamed in ~1 MiB chunks, never held whole.

export const HEADER = 'order_id,customer_id,order_date,status,currency,quantity,unit_price,amount,country,email';

const STATUSES = ['pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded', 'returned'];
const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF', 'SEK', 'JPY', 'PLN', 'DKK'];
const COUNTRIES = ['DE', 'FR', 'NL', 'BE', 'ES', 'IT', 'AT', 'SE', 'PL', 'US', 'GB', 'CH', 'JP', 'DK'];
const DOMAINS = ['example.com', 'mail.example.org', 'shop.example.net'];

export interface GeneratedStats {
  rows: number;
  bytes: number;
  /** Rows generated to fail validation (bad values and repeated order ids). */
  invalid: number;
}

/** mulberry32: small, fast and good enough to make varied rows; tests use it so a failure names a seed that reproduces it. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/**
 * Rows of ~95 bytes until `targetBytes`: about 3 % invalid (a bad date, status, currency, country
 * or e-mail, quantity 0, a negative price, an amount that does not add up, a missing field, a
 * repeated order id) and 1 row in 400 with a quoted e-mail field, so that most chunks take
 * papaparse's quote-aware path, as they do with real exports.
 */
export function* generateOrders(targetBytes: number, stats: GeneratedStats, seed = 42): Generator<string> {
  const rnd = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)] as T;
  let chunk = `${HEADER}\n`;
  stats.bytes = chunk.length;
  let i = 0;
  while (stats.bytes < targetBytes) {
    const quantity = 1 + Math.floor(rnd() * 12);
    const cents = 50 + Math.floor(rnd() * 49_950);
    const day = `2025-${pad(1 + Math.floor(rnd() * 12), 2)}-${pad(1 + Math.floor(rnd() * 28), 2)}`;
    const f = [
      `ORD-${pad(i, 10)}`,
      `CUST-${pad(Math.floor(rnd() * 1_000_000), 7)}`,
      rnd() < 0.5 ? day : `${day}T${pad(Math.floor(rnd() * 24), 2)}:${pad(Math.floor(rnd() * 60), 2)}:${pad(Math.floor(rnd() * 60), 2)}Z`,
      pick(STATUSES),
      pick(CURRENCIES),
      String(quantity),
      (cents / 100).toFixed(2),
      ((quantity * cents) / 100).toFixed(2),
      pick(COUNTRIES),
      rnd() < 0.85 ? `customer${Math.floor(rnd() * 500_000)}@${pick(DOMAINS)}` : '',
    ];
    if (rnd() < 0.03) {
      stats.invalid++;
      const kind = Math.floor(rnd() * 10);
      if (kind === 0) f[2] = '2025-02-30';
      else if (kind === 1) f[3] = 'lost';
      else if (kind === 2) f[4] = 'EURO';
      else if (kind === 3) f[8] = 'XX';
      else if (kind === 4) f[9] = 'not-an-email';
      else if (kind === 5) f[5] = '0';
      else if (kind === 6) f[6] = `-${f[6]}`;
      else if (kind === 7) f[7] = (Number(f[7]) + 1).toFixed(2);
      else if (kind === 8) f.pop();
      else f[0] = `ORD-${pad(Math.max(0, i - 1 - Math.floor(rnd() * 1000)), 10)}`;
    }
    if (rnd() < 0.0025) f[9] = `"${f[9] ?? ''}"`;
    const line = `${f.join(',')}\n`;
    chunk += line;
    stats.bytes += line.length;
    stats.rows++;
    i++;
    if (chunk.length >= 1 << 20) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}
