import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import { CsvReader, endsInQuotedCr } from '../../src/csv.ts';
import { SniffingDecoder } from '../../src/decoding.ts';
import { Rng } from '../seeded-rng.ts';

/*
 * Seeded differential tests: random inputs, fed in random pieces, against a reference computed on
 * the whole input at once. Every case is derived from a fixed seed, so a failure names the seed and
 * the chunk sizes and replays exactly; change nothing but the base seeds to explore further.
 */

/** Chunk sizes run-length encoded ("1*40,7"), short enough for a failure message. */
function describeSizes(sizes: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < sizes.length; ) {
    let j = i;
    while (j < sizes.length && sizes[j] === sizes[i]) j++;
    parts.push(j - i > 1 ? `${sizes[i]}*${j - i}` : String(sizes[i]));
    i = j;
  }
  return parts.join(',');
}

function cut<T extends { length: number; slice(start: number, end: number): T }>(whole: T, sizes: number[]): T[] {
  const pieces: T[] = [];
  let offset = 0;
  for (const size of sizes) {
    pieces.push(whole.slice(offset, offset + size));
    offset += size;
  }
  return pieces;
}

// ---------------------------------------------------------------------------------------------
// CSV generator
// ---------------------------------------------------------------------------------------------

type Eol = 'lf' | 'crlf' | 'mix' | 'cr';

interface CsvCase {
  seed: number;
  text: string;
  eol: Eol;
  /** The line break the reader should pick: "\n" for LF, CRLF and mixed files, "\r" for lone CRs. */
  linebreak: '\n' | '\r';
  /**
   * The records as the grammar wrote them — undefined when a malformed quote (`"x"y`) is in the
   * file, as its effect on the records after it is the parser's choice, not the grammar's.
   */
  written: string[][] | undefined;
  malformed: boolean;
  unterminated: boolean;
}

/** Plain-field characters: ASCII, Latin and CJK letters, € and an emoji (a surrogate pair). */
const PLAIN = ['a', 'b', 'c', 'x', 'y', 'z', '0', '1', '9', ' ', '-', '.', ';', 'é', 'ß', '€', '😀', '中', '文'];

function plain(rng: Rng, min: number, max: number): string {
  let s = '';
  for (let n = rng.int(min, max); n > 0; n--) s += rng.pick(PLAIN);
  return s;
}

/** Content of a quoted field: `raw` as it sits between the quotes, `value` as it reads. */
function quotedContent(rng: Rng, breaks: boolean, quotes: boolean): { raw: string; value: string } {
  let raw = '';
  let value = '';
  for (let n = rng.int(0, 10); n > 0; n--) {
    const roll = rng.next();
    if (roll < 0.15) {
      raw += ',';
      value += ',';
    } else if (roll < 0.27 && quotes) {
      raw += '""';
      value += '"';
    } else if (roll < 0.4 && breaks) {
      const b = rng.pick(['\n', '\r\n', '\r']);
      raw += b;
      value += b;
    } else {
      const c = rng.pick(PLAIN);
      raw += c;
      value += c;
    }
  }
  return { raw, value };
}

function generateCsv(seed: number): CsvCase {
  const rng = new Rng(seed);
  const eol = rng.pick<Eol>(['lf', 'lf', 'crlf', 'crlf', 'mix', 'mix', 'cr']);
  const lineEnd = (): string => (eol === 'lf' ? '\n' : eol === 'crlf' ? '\r\n' : eol === 'cr' ? '\r' : rng.pick(['\n', '\r\n']));
  const columns = rng.int(1, 6);
  // Now and then a header alone, whose one line break may be the last character; now and then a
  // long file, so that large chunks still carry many records per batch.
  const dataRows = rng.chance(0.08) ? 0 : rng.chance(0.1) ? rng.int(100, 300) : rng.int(1, 25);
  const malformedRow = dataRows > 0 && rng.chance(0.12) ? rng.int(1, dataRows) : -1;
  const unterminated = dataRows > 0 && malformedRow === -1 && rng.chance(0.15);

  const records: { raw: string; fields: string[] }[] = [];
  if (rng.chance(0.03)) records.push({ raw: '', fields: [''] });

  const header = Array.from({ length: columns }, (_, i) => {
    if (rng.chance(0.2)) {
      const { raw, value } = quotedContent(rng, true, true);
      return { raw: `"${raw}"`, value };
    }
    const name = `c${i}${plain(rng, 0, 3)}`;
    return { raw: name, value: name };
  });
  records.push({ raw: header.map((f) => f.raw).join(','), fields: header.map((f) => f.value) });

  for (let r = 1; r <= dataRows; r++) {
    if (rng.chance(0.05)) records.push({ raw: '', fields: [''] });
    const width = rng.chance(0.85) ? columns : Math.max(1, columns + rng.pick([-1, 1, 2]));
    const raws: string[] = [];
    const fields: string[] = [];
    const malformedColumn = r === malformedRow ? rng.int(0, width - 1) : -1;
    for (let c = 0; c < width; c++) {
      const last = c === width - 1;
      if (c === malformedColumn) {
        // Text after a closing quote. Letters only: papaparse accepts whitespace there.
        const { raw } = quotedContent(rng, true, true);
        raws.push(`"${raw}"${rng.pick(['y', 'zz', 'q1'])}`);
        fields.push('');
        continue;
      }
      if (unterminated && r === dataRows && last) {
        // No quotes inside: a quote there would close the field.
        const { raw } = quotedContent(rng, true, false);
        const content = raw.endsWith('\r') ? `${raw}a` : raw;
        raws.push(`"${content}`);
        fields.push(content);
        continue;
      }
      const roll = rng.next();
      if (roll < 0.5) {
        const s = plain(rng, 1, 8);
        raws.push(s);
        fields.push(s);
      } else if (roll < 0.6) {
        raws.push('');
        fields.push('');
      } else if (roll < 0.96) {
        const { raw, value } = quotedContent(rng, true, true);
        raws.push(`"${raw}"`);
        fields.push(value);
      } else {
        // A stray quote inside an unquoted field.
        const s = `${plain(rng, 1, 3)}"${plain(rng, 0, 3)}`;
        raws.push(s);
        fields.push(s);
      }
    }
    records.push({ raw: raws.join(','), fields });
  }

  // A blank last record only exists when a line break follows it.
  const finalBreak = rng.chance(0.5) || records.at(-1)?.raw === '';
  let text = '';
  records.forEach((record, i) => {
    text += record.raw;
    if (i < records.length - 1 || finalBreak) text += lineEnd();
  });
  const written = records.map((r) => r.fields);
  if (unterminated && finalBreak) {
    // An unclosed quote runs to the end of the file, the final line break included.
    const lastFields = written.at(-1) as string[];
    const end = text.endsWith('\r\n') ? '\r\n' : (text.at(-1) as string);
    lastFields[lastFields.length - 1] += end;
  }
  // A file without any line break (one record, none after it) reads as "\n", whatever it was meant as.
  const linebreak = eol === 'cr' && text.includes('\r') ? '\r' : '\n';
  return { seed, text, eol, linebreak, written: malformedRow === -1 ? written : undefined, malformed: malformedRow !== -1, unterminated };
}

// ---------------------------------------------------------------------------------------------
// References
// ---------------------------------------------------------------------------------------------

/** A record as the tests compare it. `problem` is a matcher where the reader promises nothing. */
interface Rec {
  line: number;
  fields: unknown;
  problem: unknown;
}

type Trouble = 'none' | 'stray' | 'malformed' | 'unterminated';

/** 1 + the line breaks before `offset`: the line an editor shows the character at `offset` on. */
function lineAt(text: string, offset: number, linebreak: string): number {
  let line = 1;
  for (let i = text.indexOf(linebreak); i !== -1 && i < offset; i = text.indexOf(linebreak, i + 1)) line++;
  return line;
}

/**
 * The oracle: RFC 4180 read on the whole text by a plain state machine, written for obviousness
 * rather than speed. Records end at LF or CRLF ("\n" files) or at CR ("\r" files) outside quotes;
 * a final line break starts no record; `""` inside quotes is one quote. Beyond the RFC, as lenient
 * readers commonly do and the reader's own tests show: a quote inside an unquoted field is kept as
 * text ("stray"), and an unclosed quote runs to the end of the file, taking the rest of the text
 * verbatim. Text after a closing quote (`"x"y`) is where readers part ways: the oracle
 * stops there and reports that record's start, leaving the rest to the parser's own rules.
 */
function oracle(text: string, linebreak: '\n' | '\r'): { records: (Rec & { trouble: Trouble })[]; complete: boolean } {
  const n = text.length;
  const breakLength = (i: number): number => {
    if (linebreak === '\r') return text[i] === '\r' ? 1 : 0;
    if (text[i] === '\n') return 1;
    return text[i] === '\r' && text[i + 1] === '\n' ? 2 : 0;
  };
  const records: (Rec & { trouble: Trouble })[] = [];
  let i = 0;
  while (i < n) {
    const start = i;
    const fields: string[] = [];
    let trouble: Trouble = 'none';
    let ended = false;
    while (!ended) {
      if (text[i] === '"') {
        let value = '';
        let j = i + 1;
        for (;;) {
          if (j >= n) {
            trouble = 'unterminated';
            value = text.slice(i + 1);
            break;
          }
          if (text[j] === '"') {
            if (text[j + 1] === '"') {
              value += '"';
              j += 2;
              continue;
            }
            j++;
            break;
          }
          value += text[j];
          j++;
        }
        fields.push(value);
        i = j;
        if (i >= n) break;
        if (text[i] === ',') {
          i++;
          continue;
        }
        const length = breakLength(i);
        if (length === 0) {
          records.push({ line: lineAt(text, start, linebreak), fields, problem: true, trouble: 'malformed' });
          return { records, complete: false };
        }
        i += length;
        ended = true;
      } else {
        let j = i;
        while (j < n && text[j] !== ',' && breakLength(j) === 0) {
          if (text[j] === '"') trouble = 'stray';
          j++;
        }
        fields.push(text.slice(i, j));
        i = j;
        if (i >= n) break;
        if (text[i] === ',') {
          i++;
          continue;
        }
        i += breakLength(i);
        ended = true;
      }
    }
    // papaparse does not complain about a quote inside an unquoted field, and the reader promises
    // nothing about it either: such a record may or may not carry a problem.
    const problem = trouble === 'unterminated' ? true : trouble === 'stray' ? expect.any(Boolean) : false;
    records.push({ line: lineAt(text, start, linebreak), fields, problem, trouble });
  }
  return { records, complete: true };
}

/**
 * papaparse on the whole string, with the reader's options and its documented CR stripping; used
 * only past a malformed quote, where papaparse's rules decide what the records are. This checks
 * that feeding the text in chunks changes nothing. Lines come from the offset each record starts
 * at (papaparse's cursor after the previous one), not from the fields as the reader counts them.
 */
function papaparseWhole(text: string, linebreak: '\n' | '\r'): Rec[] {
  const records: Rec[] = [];
  let start = 0;
  Papa.parse<string[]>(text, {
    delimiter: ',',
    newline: linebreak,
    header: false,
    dynamicTyping: false,
    skipEmptyLines: false,
    step: (results) => {
      const fields = [...results.data];
      const last = fields.length - 1;
      // Which final CR is a line end's is the reader's own rule here (endsInQuotedCr); the oracle
      // checks that rule independently wherever the quoting is well formed.
      const cell = fields[last] as string;
      if (linebreak === '\n' && cell.endsWith('\r') && !endsInQuotedCr(text, start, results.meta.cursor, cell, last === 0)) fields[last] = cell.slice(0, -1);
      // Papaparse reads a final line break as the start of an empty record; the reader does not.
      if (start < text.length) records.push({ line: lineAt(text, start, linebreak), fields, problem: results.errors.length > 0 });
      start = results.meta.cursor;
    },
  });
  return records;
}

// ---------------------------------------------------------------------------------------------
// Chunking and reading
// ---------------------------------------------------------------------------------------------

type ChunkMode = 'whole' | 'tiny' | 'small' | 'mixed' | 'targeted';

/** Where a cut is most likely to hurt: inside CRLF, between two quotes, inside a surrogate pair. */
function awkwardCut(text: string, i: number): 'crlf' | 'quotes' | 'surrogate' | undefined {
  if (text[i - 1] === '\r' && text[i] === '\n') return 'crlf';
  if (text[i - 1] === '"' && text[i] === '"') return 'quotes';
  const code = text.charCodeAt(i - 1);
  if (code >= 0xd800 && code <= 0xdbff) return 'surrogate';
  return undefined;
}

function chunkSizes(length: number, rng: Rng, mode: ChunkMode, isAwkward: (i: number) => boolean): number[] {
  const sizes: number[] = [];
  if (mode === 'targeted') {
    let from = 0;
    for (let i = 1; i < length; i++) {
      const awkward = isAwkward(i) && rng.chance(0.7);
      if (awkward || rng.chance(0.03)) {
        sizes.push(i - from);
        from = i;
        // An empty piece right after a CR cut from its LF tests that the reader waits for the LF.
        if (awkward && rng.chance(0.2)) sizes.push(0);
      }
    }
    if (from < length) sizes.push(length - from);
    return sizes;
  }
  if (mode === 'whole') return [length];
  const max = mode === 'tiny' ? 3 : mode === 'small' ? 24 : 400;
  for (let left = length; left > 0; ) {
    // An empty piece now and then: the reader skips them while it looks for the line break.
    if (mode === 'mixed' && rng.chance(0.1)) sizes.push(0);
    const size = Math.min(left, rng.int(1, Math.max(1, max)));
    sizes.push(size);
    left -= size;
  }
  return sizes;
}

interface ReadResult {
  records: Rec[];
  linebreak: string | undefined;
}

async function readInChunks(chunks: string[]): Promise<ReadResult> {
  const records: Rec[] = [];
  const reader = new CsvReader({
    maxRecordChars: 1 << 20,
    onBatch: ({ rows, firstLine, lines, problems }) => {
      rows.forEach((fields, i) => {
        records.push({ line: lines ? (lines[i] as number) : firstLine + i, fields, problem: (problems?.get(i)?.length ?? 0) > 0 });
      });
    },
  });
  await reader.run(
    (async function* () {
      yield* chunks;
    })(),
  );
  return { records, linebreak: reader.linebreak };
}

// ---------------------------------------------------------------------------------------------
// Decoder generator
// ---------------------------------------------------------------------------------------------

/** Lower case only at the start of a file: upper case could spell a binary signature ("PK", "BZh"). */
const ASCII = 'abcdefghijklmnopqrstuvwxyz0123456789 ,.;-"\n';
const UTF8_EXTRA = ['é', 'ß', 'ñ', '€', '“', '”', '—', '中', '文', '😀', '🇫🇷', '\u00a0', 'Ω'];
/** Characters windows-1252 holds, with their byte; the 0x80–0x9F ones are the WHATWG table's. */
const CP1252: [string, number][] = [
  ['é', 0xe9],
  ['ü', 0xfc],
  ['ß', 0xdf],
  ['ñ', 0xf1],
  ['Ø', 0xd8],
  ['\u00a0', 0xa0],
  ['ÿ', 0xff],
  ['€', 0x80],
  ['‚', 0x82],
  ['“', 0x93],
  ['”', 0x94],
  ['–', 0x96],
  ['—', 0x97],
  ['™', 0x99],
  ['Š', 0x8a],
  ['Œ', 0x8c],
  ['Ž', 0x8e],
  ['Ÿ', 0x9f],
];

/**
 * Text longer than the 4 KiB the decoder gathers before it starts, so that splits land in the
 * streamed part; its first non-ASCII character sometimes far past that.
 */
const CP1252_BYTE = new Map(CP1252);

function generateDecoderText(rng: Rng, extra: readonly string[]): string {
  let text = '';
  for (let n = rng.pick([0, 10, 3000, 4095, 4100, 6000]); n > 0; n--) text += ASCII.charAt(rng.int(0, ASCII.length - 1));
  for (let n = rng.int(100, 3000); n > 0; n--) text += rng.chance(0.3) ? rng.pick(extra) : ASCII.charAt(rng.int(0, ASCII.length - 1));
  return text;
}

function decodeInPieces(bytes: Buffer, sizes: number[]): { text: string; decoder: SniffingDecoder } {
  const decoder = new SniffingDecoder();
  let text = '';
  for (const piece of cut(bytes, sizes)) text += decoder.write(piece);
  text += decoder.end();
  return { text, decoder };
}

function byteSizes(length: number, rng: Rng): number[] {
  const max = rng.pick([1, 3, 17, 600, 5000]);
  const sizes: number[] = [];
  for (let left = length; left > 0; ) {
    const size = Math.min(left, rng.int(1, max));
    sizes.push(size);
    left -= size;
  }
  return sizes;
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

const CSV_CASES = 300;
const CSV_BASE_SEED = 0x5eed_0000;

describe('CsvReader, fuzzed against a whole-text reference', () => {
  it(`reads ${CSV_CASES} generated files in random chunks as the reference reads them whole`, async () => {
    const seen = {
      'CR files': 0,
      'CRLF files': 0,
      'mixed files': 0,
      'files with quoted line breaks': 0,
      'files with malformed quotes': 0,
      'files with an unclosed quote': 0,
      'files with stray quotes': 0,
      'files with blank lines': 0,
      'files with ragged rows': 0,
      'files without a final line break': 0,
      'files over 100 records': 0,
      'files of one record': 0,
      'files refused for a quote running over lines': 0,
    };
    const eolName = { cr: 'CR files', crlf: 'CRLF files', mix: 'mixed files' } as const;
    const cuts = { 'cuts inside CRLF': 0, 'cuts between quotes': 0, 'cuts inside surrogate pairs': 0, 'empty pieces': 0 };
    const cutName = { crlf: 'cuts inside CRLF', quotes: 'cuts between quotes', surrogate: 'cuts inside surrogate pairs' } as const;
    for (let k = 0; k < CSV_CASES; k++) {
      const seed = CSV_BASE_SEED + k;
      const c = generateCsv(seed);
      const reference = oracle(c.text, c.linebreak);

      // The oracle is checked against what the grammar wrote, so that it cannot agree with the
      // reader on a mistake of its own.
      if (c.written) expect(reference.records.map((r) => r.fields), `oracle vs grammar, seed ${seed}`).toEqual(c.written);
      expect(reference.complete, `seed ${seed}: a malformed quote exactly when one was written`).toBe(!c.malformed);

      const records = reference.records;
      if (c.eol !== 'lf') seen[eolName[c.eol]]++;
      if (c.malformed) seen['files with malformed quotes']++;
      if (c.unterminated) seen['files with an unclosed quote']++;
      if (records.some((r) => r.trouble === 'stray')) seen['files with stray quotes']++;
      if (records.some((r, i) => i > 0 && r.line > (records[i - 1] as Rec).line + 1)) seen['files with quoted line breaks']++;
      if (records.some((r) => JSON.stringify(r.fields) === '[""]')) seen['files with blank lines']++;
      if (new Set(records.map((r) => (r.fields as string[]).length)).size > 1) seen['files with ragged rows']++;
      if (!/[\r\n]$/.test(c.text)) seen['files without a final line break']++;
      if (records.length > 100) seen['files over 100 records']++;
      if (records.length === 1) seen['files of one record']++;

      const expected: Rec[] = reference.complete ? records.map(({ line, fields, problem }) => ({ line, fields, problem })) : papaparseWhole(c.text, c.linebreak);
      // A quote problem whose record runs over the lines after its own refuses the file (the blank
      // lines the file ends with, its final line break among them, taken in by a quote never
      // closed, do not count). Counted in the fields the bad quote ran through: one holding a
      // quote, and the last when the quote is never closed (papaparse's MissingQuotes, on the
      // whole text), up to its last non-blank character.
      const unclosed = new Set(
        Papa.parse<string[]>(c.text, { delimiter: ',', newline: c.linebreak, header: false, skipEmptyLines: false }).errors
          .filter((e) => e.code === 'MissingQuotes')
          .map((e) => e.row),
      );
      const swallowing = expected.some((r, i) => {
        if (r.problem !== true) return false;
        const fields = r.fields as string[];
        const open = unclosed.has(i);
        const breaks = fields.reduce((n, f, k) => {
          if (open && k === fields.length - 1) return n + f.trimEnd().split(c.linebreak).length - 1;
          return n + (f.includes('"') ? f.split(c.linebreak).length - 1 : 0);
        }, 0);
        return breaks > 0;
      });
      const chunkRng = new Rng(seed ^ 0x9e3779b9);
      for (const mode of [chunkRng.pick<ChunkMode>(['whole', 'tiny', 'small', 'mixed', 'mixed']), 'targeted' as const]) {
        const sizes = chunkSizes(c.text.length, chunkRng, mode, (i) => awkwardCut(c.text, i) !== undefined);
        let at = 0;
        for (const size of sizes) {
          at += size;
          if (size === 0) cuts['empty pieces']++;
          const kind = at < c.text.length ? awkwardCut(c.text, at) : undefined;
          if (kind) cuts[cutName[kind]]++;
        }
        // The seed rebuilds the text (generateCsv) and the sizes replay the cuts; the text is
        // shown too, cut short for long files.
        const shown = c.text.length > 2000 ? `${JSON.stringify(c.text.slice(0, 2000))}… (${c.text.length} characters)` : JSON.stringify(c.text);
        const context = `seed ${seed} (${c.eol}), chunks ${mode} [${describeSizes(sizes)}], text ${shown}`;

        if (swallowing) {
          await expect(readInChunks(cut(c.text, sizes)), context).rejects.toMatchObject({ name: 'FileRejection', reason: 'unbalanced-quotes' });
          seen['files refused for a quote running over lines']++;
          continue;
        }
        const read = await readInChunks(cut(c.text, sizes));
        // A file of one record has no line break outside quotes to go by: the reader then takes
        // the first one at all, which may be a quoted CR in a file the grammar wrote as LF.
        if (records.length > 1) expect(read.linebreak, context).toBe(c.linebreak);
        if (!reference.complete) {
          // Up to the malformed record the oracle still rules, and that record must start on the
          // oracle's line and carry a problem; what it swallows after is papaparse's choice.
          const upTo = records.map(({ line, fields, problem }, i) => ({ line, fields: i === records.length - 1 ? expect.anything() : fields, problem }));
          expect(read.records.slice(0, upTo.length), context).toEqual(upTo);
        }
        expect(read.records, context).toEqual(expected);
      }
    }
    // The grammar and the cuts must keep producing what this test is for.
    for (const [what, count] of Object.entries({ ...seen, ...cuts })) expect(count, what).toBeGreaterThanOrEqual(10);
  });
});

describe('SniffingDecoder, fuzzed against decoding whole', () => {
  it('decodes UTF-8, with and without a BOM, the same at every split, multi-byte sequences cut included', () => {
    for (let k = 0; k < 60; k++) {
      const seed = 0xdec0_0000 + k;
      const rng = new Rng(seed);
      const text = generateDecoderText(rng, UTF8_EXTRA);
      const bom = rng.chance(0.4);
      const bytes = Buffer.concat([Buffer.from(bom ? [0xef, 0xbb, 0xbf] : []), Buffer.from(text, 'utf8')]);
      const whole = decodeInPieces(bytes, [bytes.length]);
      const sizes = byteSizes(bytes.length, rng);
      const context = `seed ${seed}, bytes ${bytes.length}, pieces [${describeSizes(sizes)}]`;
      const pieces = decodeInPieces(bytes, sizes);
      expect(whole.text, context).toBe(text);
      expect(pieces.text, context).toBe(text);
      expect(pieces.decoder.report, context).toMatchObject({ encoding: 'utf-8', bom, invalidBytes: false });
      expect(pieces.decoder.bytesIn, context).toBe(bytes.length);
      if (!bom) {
        const first = bytes.findIndex((b) => b >= 0x80);
        expect(pieces.decoder.report.evidence, context).toMatch(first === -1 ? /^ASCII only$/ : new RegExp(`^UTF-8 from byte ${first}:`));
      }
    }
  });

  it('decodes windows-1252 the same at every split', () => {
    for (let k = 0; k < 40; k++) {
      const seed = 0x1252_0000 + k;
      const rng = new Rng(seed);
      // An ASCII character after each non-ASCII one: two high bytes in a row can form a valid
      // UTF-8 sequence (é€ is E9 80), which would make the file legitimately read as UTF-8.
      const chars = CP1252.map(([ch]) => `${ch}${ASCII.charAt(rng.int(0, 25))}`);
      const text = generateDecoderText(rng, chars);
      const bytes = Buffer.from(Array.from(text, (ch) => CP1252_BYTE.get(ch) ?? ch.charCodeAt(0)));
      const sizes = byteSizes(bytes.length, rng);
      const context = `seed ${seed}, bytes ${bytes.length}, pieces [${describeSizes(sizes)}]`;
      expect(decodeInPieces(bytes, [bytes.length]).text, context).toBe(text);
      const pieces = decodeInPieces(bytes, sizes);
      expect(pieces.text, context).toBe(text);
      expect(pieces.decoder.report, context).toMatchObject({ encoding: 'windows-1252', bom: false, invalidBytes: false });
      expect(pieces.decoder.report.evidence, context).toMatch(new RegExp(`^not UTF-8 from byte ${bytes.findIndex((b) => b >= 0x80)}:`));
      expect(pieces.decoder.bytesIn, context).toBe(bytes.length);
    }
  });

  it('decodes UTF-16 LE and BE (by their BOM) the same at every split, code units and surrogate pairs cut included', () => {
    for (let k = 0; k < 20; k++) {
      const seed = 0x0016_0000 + k;
      const rng = new Rng(seed);
      const text = generateDecoderText(rng, UTF8_EXTRA);
      const little = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
      const big = Buffer.from(little);
      big.swap16();
      for (const [encoding, bytes] of [
        ['utf-16le', little],
        ['utf-16be', big],
      ] as const) {
        const sizes = byteSizes(bytes.length, rng);
        const context = `seed ${seed}, ${encoding}, bytes ${bytes.length}, pieces [${describeSizes(sizes)}]`;
        expect(decodeInPieces(bytes, [bytes.length]).text, context).toBe(text);
        const pieces = decodeInPieces(bytes, sizes);
        expect(pieces.text, context).toBe(text);
        expect(pieces.decoder.report, context).toMatchObject({ encoding, bom: true, invalidBytes: false });
      }
    }
  });
});
