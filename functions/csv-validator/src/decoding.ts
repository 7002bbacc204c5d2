import { isAscii } from 'node:buffer';
import { TextDecoder } from 'node:util';
import { FileRejection } from './outcome.ts';

export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';

export interface EncodingReport {
  /** What the bytes were decoded as. A file that never held a non-ASCII byte reports utf-8. */
  encoding: TextEncoding;
  bom: boolean;
  /** Why: "byte-order mark", "ASCII only", or what the bytes from the first non-ASCII one held. */
  evidence: string;
  /** Some bytes were not valid in the encoding and became U+FFFD (rows holding one are rejected). */
  invalidBytes: boolean;
  /**
   * Read as windows-1252, yet some of the text is UTF-8 ("Ã¼" where "ü" was meant: files joined
   * from two sources): the rows holding it are rejected (utf8Read says where).
   */
  utf8Inside?: true;
}

interface Decoder {
  decode(input: Buffer, options: { stream: boolean }): string;
}

/** Enough to judge a file by its start (signatures, NULs, control characters). */
const SNIFF_BYTES = 4096;
/**
 * The bytes from the first non-ASCII one that decide between UTF-8 and windows-1252: always this
 * many (or the rest of a shorter file), however the stream happens to be cut, so that the same
 * object decodes the same way on every read.
 */
const DECIDE_BYTES = 65_536;
const NO_BYTES = Buffer.alloc(0);
/** U+FFFD as UTF-8: a replacement character the file itself holds, not one the decoder made. */
const REPLACEMENT_UTF8 = Buffer.from([0xef, 0xbf, 0xbd]);

const SIGNATURES: [string, number[]][] = [
  ['gzip', [0x1f, 0x8b]],
  ['zip (xlsx, docx…)', [0x50, 0x4b, 0x03, 0x04]],
  ['PDF', [0x25, 0x50, 0x44, 0x46, 0x2d]],
  ['PNG', [0x89, 0x50, 0x4e, 0x47]],
  ['JPEG', [0xff, 0xd8, 0xff]],
  ['Parquet', [0x50, 0x41, 0x52, 0x31]],
  ['OLE2 (xls, doc)', [0xd0, 0xcf, 0x11, 0xe0]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['7z', [0x37, 0x7a, 0xbc, 0xaf]],
];

/**
 * Turns a byte stream into text without ever holding the whole file, working out the encoding on
 * the way:
 *
 * - a byte-order mark decides: UTF-8, UTF-16LE/BE (UTF-32 is refused);
 * - otherwise the text is ASCII until proven otherwise — identical in every candidate, so nothing
 *   has to be decided up front — and the first non-ASCII bytes decide between UTF-8 (they form
 *   valid UTF-8) and windows-1252, the usual "Latin-1" of spreadsheet exports (they do not).
 *   A sample that ends inside a sequence is held back until more bytes arrive.
 *   Deciding there rather than on a fixed first sample gets a file right whose first accented
 *   letter sits on row 50,000.
 * - After the decision, bytes that are invalid in the chosen encoding become U+FFFD and
 *   `invalidBytes` is set: the rows that hold them are rejected, the rest of the file is fine.
 *
 * The start of the file is also checked for being binary at all (signatures, NUL bytes, control
 * characters): that rejects the file instead of producing rows of garbage.
 */
export class SniffingDecoder {
  #head: Buffer[] = [];
  #headBytes = 0;
  #mode: 'sniff' | 'ascii' | 'decided' = 'sniff';
  /** Undecided bytes, from the first non-ASCII one, held back until DECIDE_BYTES of them are in. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** The last two bytes decoded as UTF-8, for a U+FFFD of the file's own cut between two chunks. */
  #tail: Buffer = Buffer.alloc(0);
  /** UTF-16: the byte of a code unit the last chunk cut in two (else empty). */
  #oddByte: Buffer = NO_BYTES;
  #decoder: Decoder | undefined;
  #bytesIn = 0;
  /** Where the undecided (all-ASCII so far) text ends, in bytes from the start of the file. */
  #asciiEnd = 0;
  #report: EncodingReport = { encoding: 'utf-8', bom: false, evidence: 'ASCII only', invalidBytes: false };
  #sawNul = false;
  /** windows-1252: the last characters decoded, for UTF-8 read as windows-1252 cut between two chunks. */
  #seam = '';

  get report(): Readonly<EncodingReport> {
    return this.#report;
  }

  /**
   * The text past the start held a NUL character (the start is judged by rejectBinary): the rows
   * holding one are rejected, as databases (PostgreSQL, Redshift) refuse it in text.
   */
  get sawNul(): boolean {
    return this.#sawNul;
  }

  /** Bytes consumed so far. */
  get bytesIn(): number {
    return this.#bytesIn;
  }

  write(chunk: Buffer): string {
    if (chunk.length === 0) return '';
    if (this.#mode === 'sniff') {
      this.#head.push(chunk);
      this.#headBytes += chunk.length;
      if (this.#headBytes < SNIFF_BYTES) return '';
      return this.#start(false);
    }
    return this.#decode(chunk, false);
  }

  end(): string {
    if (this.#mode === 'sniff') return this.#start(true);
    return this.#decode(Buffer.alloc(0), true);
  }

  #start(final: boolean): string {
    const head = Buffer.concat(this.#head);
    this.#head = [];
    if (head.length === 0) {
      this.#mode = 'decided';
      this.#decoder = new TextDecoder('utf-8');
      return '';
    }
    let body = head;
    if (startsWith(head, [0xff, 0xfe, 0x00, 0x00]) || startsWith(head, [0x00, 0x00, 0xfe, 0xff])) {
      throw new FileRejection('unsupported-encoding', 'the file starts with a UTF-32 byte-order mark; only UTF-8, UTF-16 and windows-1252 are read');
    }
    if (startsWith(head, [0xef, 0xbb, 0xbf])) {
      this.#decide('utf-8', 'byte-order mark', true);
      body = head.subarray(3);
    } else if (startsWith(head, [0xff, 0xfe])) {
      this.#decide('utf-16le', 'byte-order mark', true);
      body = head.subarray(2);
    } else if (startsWith(head, [0xfe, 0xff])) {
      this.#decide('utf-16be', 'byte-order mark', true);
      body = head.subarray(2);
    } else {
      this.#mode = 'ascii';
    }
    if (!this.#report.encoding.startsWith('utf-16')) rejectBinary(body);
    this.#bytesIn = head.length - body.length;
    this.#asciiEnd = this.#bytesIn;
    return this.#decode(body, final);
  }

  #decide(encoding: TextEncoding, evidence: string, bom = false): void {
    this.#mode = 'decided';
    // ignoreBOM keeps a BOM we did not strip (a second one, or one mid-stream) as U+FEFF.
    this.#decoder = encoding === 'windows-1252' ? windows1252 : new TextDecoder(encoding, { ignoreBOM: true });
    this.#report = { encoding, bom, evidence, invalidBytes: false };
  }

  #decode(chunk: Buffer, final: boolean): string {
    this.#bytesIn += chunk.length;
    // One memchr over the bytes; UTF-16 holds zero bytes in most characters (its text is searched).
    if (!this.#sawNul && !this.#report.encoding.startsWith('utf-16') && chunk.indexOf(0) !== -1) this.#sawNul = true;
    if (this.#mode !== 'ascii') return this.#decodeDecided(chunk, final);
    if (this.#pending.length > 0) {
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
      if (this.#pendingBytes < DECIDE_BYTES && !final) return '';
      const rest = Buffer.concat(this.#pending);
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#decide(...judge(rest, this.#asciiEnd));
      return this.#decodeDecided(rest, final);
    }
    if (isAscii(chunk)) {
      this.#asciiEnd += chunk.length;
      return chunk.toString('latin1');
    }
    const at = firstNonAscii(chunk);
    const before = chunk.toString('latin1', 0, at);
    const rest = chunk.subarray(at);
    this.#asciiEnd += at;
    if (rest.length < DECIDE_BYTES && !final) {
      this.#pending = [Buffer.from(rest)];
      this.#pendingBytes = rest.length;
      return before;
    }
    this.#decide(...judge(rest, this.#asciiEnd));
    return before + this.#decodeDecided(rest, final);
  }

  #decodeDecided(chunk: Buffer, final: boolean): string {
    const text = (this.#decoder as Decoder).decode(chunk, { stream: !final });
    if (this.#report.encoding === 'windows-1252' && !this.#report.utf8Inside && text.length > 0) {
      // Looked for in the text, with the seam, so that the verdict does not depend on where the
      // stream happened to be cut.
      // A sequence is at most 4 characters: across the seam, at most 3 on either side. (The seam
      // and the piece together would copy the whole piece to search it.)
      if (UTF8_READ_AS_WINDOWS_1252.test(text) || UTF8_READ_AS_WINDOWS_1252.test(this.#seam + text.slice(0, 3))) this.#report.utf8Inside = true;
      this.#seam = text.length >= 3 ? text.slice(-3) : (this.#seam + text).slice(-3);
    }
    if (!this.#sawNul && this.#report.encoding.startsWith('utf-16') && text.includes('\u0000')) this.#sawNul = true;
    if (!this.#report.invalidBytes && text.includes('\uFFFD') && !this.#ownReplacements(text, chunk)) this.#report.invalidBytes = true;
    // Two bytes, even from a chunk of one (S3's reads are cut into pieces; the last may be a byte).
    if (this.#report.encoding === 'utf-8' && chunk.length > 0) this.#tail = Buffer.from((chunk.length >= 2 ? chunk : Buffer.concat([this.#tail, chunk])).subarray(-2));
    if (this.#report.encoding.startsWith('utf-16')) this.#oddByte = (this.#oddByte.length + chunk.length) % 2 === 1 ? Buffer.from(chunk.subarray(-1)) : NO_BYTES;
    return text;
  }

  /**
   * Whether every U+FFFD in `text` is one the file holds (UTF-8 EF BF BD, UTF-16 code unit FFFD),
   * not one the decoder put in for invalid bytes: a genuine replacement character is data, and its
   * row valid.
   */
  #ownReplacements(text: string, chunk: Buffer): boolean {
    let made = 0;
    for (let i = text.indexOf('\uFFFD'); i !== -1; i = text.indexOf('\uFFFD', i + 1)) made++;
    if (this.#report.encoding.startsWith('utf-16')) {
      // The file's own code units FFFD, counted on the units' boundaries (a unit the last chunk cut
      // in two is completed first); the decoder's are the lone surrogates and a last odd byte.
      const units = this.#oddByte.length > 0 ? Buffer.concat([this.#oddByte, chunk]) : chunk;
      const [first, second] = this.#report.encoding === 'utf-16le' ? [0xfd, 0xff] : [0xff, 0xfd];
      let own = 0;
      for (let i = 0; i + 1 < units.length; i += 2) if (units[i] === first && units[i + 1] === second) own++;
      return own === made;
    }
    if (this.#report.encoding !== 'utf-8') return false;
    let own = 0;
    for (let i = chunk.indexOf(REPLACEMENT_UTF8); i !== -1; i = chunk.indexOf(REPLACEMENT_UTF8, i + 3)) own++;
    // One cut between the previous chunk's last two bytes and this one's first two is decoded with
    // this chunk: looked for in those four bytes only, not by copying the chunk behind them.
    if (this.#tail.length > 0) {
      const seam = Buffer.concat([this.#tail, chunk.subarray(0, 2)]);
      const at = seam.indexOf(REPLACEMENT_UTF8);
      if (at !== -1 && at < this.#tail.length) own++;
    }
    return own === made;
  }
}

/**
 * windows-1252 as the WHATWG Encoding Standard defines it: Latin-1 except 0x80–0x9F, which hold
 * €, curly quotes, dashes, Š, Ž, Œ, ™ and Ÿ (five bytes stay C1 controls). Not TextDecoder: Node
 * 20.18.3+ and 22.13+ decode "windows-1252" as plain Latin-1, turning € into U+0080
 * (nodejs/node#56542, #60888).
 */
const WINDOWS_1252_HIGH = '\u20AC\u0081\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\u008D\u017D\u008F\u0090\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u009D\u017E\u0178';
/** windows-1252's characters for 0x80–0x9F, back to their bytes. */
const WINDOWS_1252_BYTES = new Map([...WINDOWS_1252_HIGH].map((ch, i) => [ch, 0x80 + i]));
const HAS_C1 = /[\u0080-\u009f]/;
const C1 = /[\u0080-\u009f]/g;
const windows1252 = {
  decode(input: Buffer): string {
    const text = input.toString('latin1');
    return HAS_C1.test(text) ? text.replace(C1, (c) => WINDOWS_1252_HIGH.charAt(c.charCodeAt(0) - 0x80)) : text;
  },
};

/**
 * UTF-8 or windows-1252, judged on the DECIDE_BYTES bytes from the first non-ASCII one: UTF-8 when
 * they hold at least as many valid UTF-8 sequences as damaged ones. Latin-1 text almost never forms valid
 * sequences (é is 0xE9, a lead byte that must be followed by two continuation bytes), while a UTF-8
 * file with a damaged character still holds many — so one bad byte does not turn a whole UTF-8
 * file into mojibake, it just costs the row that holds it. Valid sequences that windows-1252
 * text forms by accident are no evidence (see countUtf8).
 */
function judge(bytes: Buffer, position: number): [TextEncoding, string] {
  const { valid, invalid } = countUtf8(bytes.subarray(0, DECIDE_BYTES));
  // A tie goes to UTF-8: its mistakes are loud (a windows-1252 file's accented rows rejected for
  // invalid bytes), windows-1252's silent (a UTF-8 file's accents turned into mojibake in silver).
  return valid > 0 && valid >= invalid
    ? ['utf-8', `UTF-8 from byte ${position}: ${valid} valid multi-byte sequence(s), ${invalid} invalid one(s)`]
    : ['windows-1252', `not UTF-8 from byte ${position}: ${invalid} invalid sequence(s), ${valid} valid multi-byte one(s)`];
}

/**
 * Valid multi-byte UTF-8 sequences, and damaged ones: a byte that cannot start a sequence or starts
 * one that breaks off, counted once with the continuation bytes right after it (a character cut
 * short, or the surrogate ED A0 80, is one damaged character, not two or three). A sequence cut off
 * at the end counts as neither, and so does a valid one that windows-1252 text forms by accident
 * and UTF-8 text all but never holds: a C1 control (C2 80–9F: "Â" then €, curly quotes, dashes…)
 * or a letter of IPA (U+0250–U+02AF: "É" or "Ê" then a no-break space, ™, »…). Counted, one
 * "RENÉ\xA0DUPONT" made a windows-1252 file UTF-8, and its name "RENɠDUPONT". The modifier
 * letters U+02B0–U+02C1 (CA B0–CB 81: "Ê" then °…¿, "Ë" then € or 0x81) and ˈ ˌ ː do count: they
 * are letters of real orthographies — Uzbek's oʻ and gʻ (U+02BB), the Hawaiian ʻokina, the
 * apostrophe letter ʼ (U+02BC) — whose UTF-8 may be all the evidence a file holds (Uzbek Latin is
 * ASCII otherwise), while windows-1252 text rarely puts those symbols right after Ê. The rest of
 * the block (CB's other pairs: "Ë" then a no-break space, ’, »…) stays accidental.
 */
function countUtf8(bytes: Buffer): { valid: number; invalid: number } {
  let valid = 0;
  let invalid = 0;
  let i = 0;
  const damaged = () => {
    invalid++;
    i++;
    while (i < bytes.length && (bytes[i] as number) >= 0x80 && (bytes[i] as number) <= 0xbf) i++;
  };
  while (i < bytes.length) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      i++;
      continue;
    }
    const length = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (length === 0) {
      damaged();
      continue;
    }
    if (i + length > bytes.length) break;
    // The second byte's range is narrower after E0, ED, F0 and F4 (no overlongs, surrogates or
    // code points past U+10FFFF), as in the WHATWG decoder.
    const second = bytes[i + 1] as number;
    const low = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
    const high = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
    let ok = second >= low && second <= high;
    for (let k = 2; ok && k < length; k++) {
      const c = bytes[i + k] as number;
      ok = c >= 0x80 && c <= 0xbf;
    }
    if (ok) {
      if (!(length === 2 && accidental(b, second))) valid++;
      i += length;
    } else {
      damaged();
    }
  }
  return { valid, invalid };
}

/**
 * Second bytes after CB of the modifier letters real orthographies and transcriptions write:
 * ˀ ˁ (U+02C0–U+02C1), ˈ (U+02C8), ˌ (U+02CC), ː (U+02D0). The rest of CB's pairs ("Ë" then a
 * no-break space, ’, »…) stay accidental: "ZOË\xA0DUPONT" is windows-1252.
 */
const MODIFIER_AFTER_CB = [0x80, 0x81, 0x88, 0x8c, 0x90];

/** The bytes `from`–`to`. */
const bytesFrom = (from: number, to = from): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** The characters windows-1252 gives these bytes (0x80–0xFF), as a regex class. */
function windows1252Class(bytes: readonly number[]): string {
  let chars = '';
  for (const b of bytes) chars += `\\u${windows1252.decode(Buffer.from([b])).charCodeAt(0).toString(16).padStart(4, '0')}`;
  return `[${chars}]`;
}

/**
 * UTF-8 text as windows-1252 shows it: a valid multi-byte sequence's bytes, each read as its
 * windows-1252 character ("ü", C3 BC, shows as "Ã¼") — the sequences countUtf8 counts as evidence,
 * accidental ones left out, so that a windows-1252 file's own "RENÉ\u00a0DUPONT" is not one.
 */
const UTF8_READ_AS_WINDOWS_1252 = (() => {
  const c = (from: number, to = from) => windows1252Class(bytesFrom(from, to));
  const any = c(0x80, 0xbf);
  // Two-byte sequences from `accidental` itself, so the evidence is stated once: each lead with
  // the second bytes that are not accidental after it, leads taking the same ones in one class.
  const leadsBySeconds = new Map<string, number[]>();
  for (const lead of bytesFrom(0xc2, 0xdf)) {
    const seconds = windows1252Class(bytesFrom(0x80, 0xbf).filter((second) => !accidental(lead, second)));
    leadsBySeconds.set(seconds, [...(leadsBySeconds.get(seconds) ?? []), lead]);
  }
  return new RegExp(
    [
      ...[...leadsBySeconds].map(([seconds, leads]) => `${windows1252Class(leads)}${seconds}`),
      `${c(0xe0)}${c(0xa0, 0xbf)}${any}`,
      `${c(0xe1, 0xec)}${any}${any}`,
      `${c(0xed)}${c(0x80, 0x9f)}${any}`,
      `${c(0xee, 0xef)}${any}${any}`,
      `${c(0xf0)}${c(0x90, 0xbf)}${any}${any}`,
      `${c(0xf1, 0xf3)}${any}${any}${any}`,
      `${c(0xf4)}${c(0x80, 0x8f)}${any}${any}`,
    ].join('|'),
  );
})();

/**
 * The first stretch of `text` that is UTF-8 read as windows-1252, and what it says as UTF-8; undefined
 * when there is none. For a rejected row's reason.
 */
export function utf8Read(text: string): { shown: string; meant: string } | undefined {
  const match = UTF8_READ_AS_WINDOWS_1252.exec(text);
  if (!match) return undefined;
  const bytes = Buffer.from([...match[0]].map((ch) => WINDOWS_1252_BYTES.get(ch) ?? ch.charCodeAt(0)));
  return { shown: match[0], meant: bytes.toString('utf8') };
}

/**
 * A valid two-byte sequence that decodes to U+0080–U+009F, U+0250–U+02AF or a spacing modifier
 * letter past U+02C1 other than ˈ ˌ ː (see countUtf8).
 */
function accidental(lead: number, second: number): boolean {
  if (lead === 0xc2) return second < 0xa0;
  // Except ə (C9 99): Azerbaijani's commonest letter, which may be the only non-ASCII one of a
  // UTF-8 file, where "É™" is rare in windows-1252 text (ɔ, C9 94, is "É”", which is not).
  if (lead === 0xc9) return second >= 0x90 && second !== 0x99;
  if (lead === 0xca) return second < 0xb0;
  if (lead === 0xcb) return !MODIFIER_AFTER_CB.includes(second);
  return false;
}

function firstNonAscii(chunk: Buffer): number {
  for (let i = 0; i < chunk.length; i++) if ((chunk[i] as number) >= 0x80) return i;
  return chunk.length;
}

function startsWith(buffer: Buffer, bytes: number[]): boolean {
  return buffer.length >= bytes.length && bytes.every((b, i) => buffer[i] === b);
}

/** Refuses a start of file that is not text: a known signature, a NUL byte, or mostly controls. */
function rejectBinary(head: Buffer): void {
  for (const [name, signature] of SIGNATURES) {
    if (startsWith(head, signature)) throw new FileRejection('binary', `not a CSV file: it starts with the signature of ${name}`);
  }
  const sample = head.subarray(0, SNIFF_BYTES);
  let nul = 0;
  let oddNul = 0;
  let controls = 0;
  for (let i = 0; i < sample.length; i++) {
    const b = sample[i] as number;
    if (b === 0) {
      nul++;
      if (i % 2 === 1) oddNul++;
    } else if ((b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c) || b === 0x7f) {
      controls++;
    }
  }
  if (nul > 0) {
    const hint = nul > sample.length / 4 && (oddNul > nul * 0.9 || oddNul < nul * 0.1) ? ' (UTF-16 without a byte-order mark? save it as UTF-8)' : '';
    throw new FileRejection('binary', `not a CSV file: ${nul} NUL byte(s) in the first ${sample.length} bytes${hint}`);
  }
  if (controls > sample.length * 0.1) {
    throw new FileRejection('binary', `not a CSV file: ${controls} of the first ${sample.length} bytes are control characters`);
  }
}
