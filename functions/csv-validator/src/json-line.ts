/**
 * JSON Lines written straight into bytes, byte for byte what `JSON.stringify(record) + '\n'` would
 * give as UTF-8.
 *
 * Why: silver gets one line per valid row. JSON.stringify builds a string per row, the batch of
 * lines becomes a rope of strings, and turning that rope into bytes flattens and encodes it again:
 * together ~1.4 µs per row here, the largest cost of the whole pipeline. Writing each field's
 * characters into a byte buffer, keys pre-encoded, costs a fraction of that, and the batch reaches
 * the upload's part buffer as one copy.
 */

const HEX = '0123456789abcdef';

/** At most this many bytes for a number (String(-1.2345678901234567e-308) has 24 characters). */
const MAX_NUMBER_BYTES = 32;

/** A growable byte buffer of JSON lines; `view()` is what was written since `reset()`. */
export class JsonLineBuffer {
  bytes: Buffer;
  length = 0;

  constructor(initialBytes = 1 << 16) {
    this.bytes = Buffer.allocUnsafeSlow(initialBytes);
  }

  reset(): void {
    this.length = 0;
  }

  view(): Buffer {
    return this.bytes.subarray(0, this.length);
  }

  toString(): string {
    return this.bytes.toString('utf8', 0, this.length);
  }

  /** Room for `n` more bytes. */
  ensure(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(this.bytes.length * 2, this.length + n));
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }

  /** A JSON string literal, escaped as JSON.stringify escapes. */
  string(s: string): void {
    this.ensure(s.length * 6 + 2);
    this.length = writeString(this.bytes, this.length, s);
  }

  /** A number as JSON.stringify writes it. */
  number(x: number): void {
    this.ensure(MAX_NUMBER_BYTES);
    this.length = writeNumber(this.bytes, this.length, x);
  }

  /** Any text, UTF-8 encoded as is (for JSON already serialized: it holds no lone surrogates). */
  utf8(s: string): void {
    this.ensure(s.length * 3);
    this.length += this.bytes.write(s, this.length, 'utf8');
  }
}

/**
 * `s` as a JSON string literal at `p` (room for s.length × 6 + 2 bytes: \u001f and \udc00 take 6),
 * escaped as JSON.stringify escapes, lone surrogates included. Returns the end.
 */
function writeString(b: Buffer, p: number, s: string): number {
  b[p++] = 0x22;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c) {
        b[p++] = c;
        continue;
      }
      b[p++] = 0x5c;
      if (c === 0x22 || c === 0x5c) b[p++] = c;
      else if (c === 0x0a) b[p++] = 0x6e;
      else if (c === 0x0d) b[p++] = 0x72;
      else if (c === 0x09) b[p++] = 0x74;
      else if (c === 0x08) b[p++] = 0x62;
      else if (c === 0x0c) b[p++] = 0x66;
      else p = unicodeEscape(b, p, c);
    } else if (c < 0x800) {
      b[p++] = 0xc0 | (c >> 6);
      b[p++] = 0x80 | (c & 0x3f);
    } else if (c < 0xd800 || c > 0xdfff) {
      b[p++] = 0xe0 | (c >> 12);
      b[p++] = 0x80 | ((c >> 6) & 0x3f);
      b[p++] = 0x80 | (c & 0x3f);
    } else {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        b[p++] = 0xf0 | (cp >> 18);
        b[p++] = 0x80 | ((cp >> 12) & 0x3f);
        b[p++] = 0x80 | ((cp >> 6) & 0x3f);
        b[p++] = 0x80 | (cp & 0x3f);
        i++;
      } else {
        b[p++] = 0x5c;
        p = unicodeEscape(b, p, c);
      }
    }
  }
  b[p++] = 0x22;
  return p;
}

/** `x` as JSON.stringify writes it (non-finite: null), at `p` (room for MAX_NUMBER_BYTES). Returns the end. */
function writeNumber(b: Buffer, p: number, x: number): number {
  // Also -0, which JSON writes as 0.
  if (Number.isInteger(x) && x < 1e15 && x > -1e15) return writeInt(b, p, x);
  if (!Number.isFinite(x)) return writeAscii(b, p, 'null');
  const end = writeShortDecimal(b, p, x);
  return end >= 0 ? end : writeAscii(b, p, String(x));
}

function writeAscii(b: Buffer, p: number, s: string): number {
  for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
  return p;
}

function unicodeEscape(b: Buffer, p: number, c: number): number {
  b[p++] = 0x75;
  b[p++] = HEX.charCodeAt((c >> 12) & 15);
  b[p++] = HEX.charCodeAt((c >> 8) & 15);
  b[p++] = HEX.charCodeAt((c >> 4) & 15);
  b[p++] = HEX.charCodeAt(c & 15);
  return p;
}

/**
 * Below this, digits are cut off with 32-bit integer arithmetic, which V8 compiles to a multiply
 * by a reciprocal; on doubles `%` is a call into C. Prices and quantities all fit.
 */
const INT32_LIMIT = 2 ** 31;

/** A whole number's decimal digits (|x| < 10^15: the arithmetic below is exact). */
function writeInt(b: Buffer, p: number, x: number): number {
  if (x < 0) {
    b[p++] = 0x2d;
    x = -x;
  }
  if (x < INT32_LIMIT) return writeSmallInt(b, p, x | 0);
  let digits = 1;
  for (let t = x; t >= 10; t = Math.floor(t / 10)) digits++;
  let end = p + digits;
  const next = end;
  do {
    b[--end] = 0x30 + (x % 10);
    x = Math.floor(x / 10);
  } while (end > p);
  return next;
}

/** The digits of 0 ≤ v < 2^31. */
function writeSmallInt(b: Buffer, p: number, v: number): number {
  let end = p + digitCount(v);
  const next = end;
  do {
    const q = (v / 10) | 0;
    b[--end] = 0x30 + v - q * 10;
    v = q;
  } while (v !== 0);
  return next;
}

function digitCount(v: number): number {
  if (v < 100_000) return v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10_000 ? 4 : 5;
  return v < 1_000_000 ? 6 : v < 10_000_000 ? 7 : v < 100_000_000 ? 8 : v < 1_000_000_000 ? 9 : 10;
}

/**
 * A number with a fraction, at most 6 decimals and 15 significant digits, written from integers instead
 * of through Number#toString (the slow part of formatting a price). Exact: when r / 10^d === x
 * for a whole r below 10^15, the decimal r·10^-d is a string of at most 15 significant digits that
 * reads back as x — and as distinct decimals of at most 15 digits never share a double, it is the
 * shortest such string, the one toString picks, in the same positional notation (x ≥ 10^-6).
 * -1: not such a number; the caller formats it the slow way.
 */
function writeShortDecimal(b: Buffer, p: number, x: number): number {
  const negative = x < 0;
  const a = negative ? -x : x;
  let scale = 10;
  for (let decimals = 1; decimals <= 6; decimals++, scale *= 10) {
    const r = Math.round(a * scale);
    if (r >= 1e15) return -1;
    if (r / scale !== a) continue;
    const whole = Math.floor(a);
    if (negative) b[p++] = 0x2d;
    p = writeInt(b, p, whole);
    b[p++] = 0x2e;
    // Below scale ≤ 10^6, and not 0: x is no whole number (those were written before), so r is no
    // multiple of scale.
    return writeFraction(b, p, (r - whole * scale) | 0, decimals);
  }
  return -1;
}

/** `decimals` digits of 0 < fraction < 10^decimals, leading zeros kept, trailing ones dropped. Returns the end. */
function writeFraction(b: Buffer, p: number, fraction: number, decimals: number): number {
  let width = decimals;
  for (let q = (fraction / 10) | 0; fraction === q * 10; q = (fraction / 10) | 0) {
    fraction = q;
    width--;
  }
  const end = p + width;
  for (let i = end - 1; i >= p; i--) {
    const q = (fraction / 10) | 0;
    b[i] = 0x30 + fraction - q * 10;
    fraction = q;
  }
  return end;
}

/** Encodes one record (a plain object) as a JSON line into `out`. */
export type JsonLineEncoder = (record: object, out: JsonLineBuffer) => void;

/**
 * An encoder for records with these keys, in this order — the order JSON.stringify follows for an
 * object built with them in that order (as the row parser and zod build rows). Keys holding
 * undefined are left out, as JSON.stringify does. A record with a value other than a string, a
 * number or undefined is written by JSON.stringify itself, so the output never differs.
 *
 * The generated function makes room once per record and writes each key's bytes as constants.
 */
export function deriveJsonLineEncoder(keys: readonly string[]): JsonLineEncoder {
  const encoder = new TextEncoder();
  // Each key with the comma before it; the first comma written becomes the "{".
  const encodedKeys = keys.map((k) => [...encoder.encode(`,${JSON.stringify(k)}:`)]);
  const fixed = encodedKeys.reduce((sum, k) => sum + k.length + MAX_NUMBER_BYTES, 3);
  let code = `const start = out.length;\nlet room = ${fixed};\n`;
  keys.forEach((key, i) => {
    code += `const v${i} = x[${JSON.stringify(key)}];
if (typeof v${i} === 'string') room += v${i}.length * 6 + 2;
else if (typeof v${i} !== 'number' && v${i} !== undefined) return fallback(x, out);
`;
  });
  code += 'out.ensure(room);\nconst b = out.bytes;\nlet p = start;\n';
  encodedKeys.forEach((bytes, i) => {
    const key = `${bytes.map((byte, j) => `b[p + ${j}] = ${byte};`).join(' ')} p += ${bytes.length};`;
    code += `if (typeof v${i} === 'string') { ${key} p = writeString(b, p, v${i}); }
else if (v${i} !== undefined) { ${key} p = writeNumber(b, p, v${i}); }
`;
  });
  code += `if (p === start) b[p++] = 123; else b[start] = 123;
b[p++] = 125;
b[p++] = 10;
out.length = p;
`;
  // Generated from the key names (as bytes), never from row data.
  const make = new Function('writeString', 'writeNumber', 'fallback', `'use strict';\nreturn function encodeJsonLine(x, out) {\n${code}};`);
  return make(writeString, writeNumber, fallback) as JsonLineEncoder;
}

function fallback(record: object, out: JsonLineBuffer): void {
  out.utf8(`${JSON.stringify(record)}\n`);
}
