import { Readable } from 'node:stream';
import Papa from 'papaparse';
import { FileRejection } from './outcome.ts';

/** Records parsed from one piece of text, with the line each starts on. */
export interface CsvBatch {
  rows: string[][];
  /** Line (1-based) of rows[i] is `firstLine + i` — unless `lines` is set (quoted line breaks). */
  firstLine: number;
  lines: Uint32Array | undefined;
  /** Parser complaints (malformed or unterminated quotes) by index in `rows`. */
  problems: Map<number, string[]> | undefined;
  /** Characters of text the batch's records took (line breaks included). */
  chars: number;
}

export interface CsvReaderOptions {
  /** A record longer than this (characters) rejects the file: it is nearly always an unclosed quote. */
  maxRecordChars: number;
  /** Called synchronously for each parsed piece; throwing stops the reader with that error. */
  onBatch: (batch: CsvBatch) => void;
}

/** How every record is read: plain strings, blank lines kept (they are counted, not rows). */
const PARSE_OPTIONS = { delimiter: ',', header: false, dynamicTyping: false, skipEmptyLines: false } as const;

/**
 * What the reader reads: texts, one at a time or several together. Each text is parsed as one
 * batch; a run of texts handed over together (an array, or a generator that makes each as it is
 * taken) costs one asynchronous step instead of one each.
 */
export type CsvTexts = AsyncIterable<string | Iterable<string>>;

/**
 * Streams CSV records out of text chunks with papaparse, one batch per text.
 *
 * Why this shape: papaparse's documented Node-stream form (`Papa.parse(Papa.NODE_STREAM_INPUT)`)
 * pushes every record through a stream on its own and managed ~100–350k rows/s here, while
 * `Papa.parse(readable, { chunk })` hands over each chunk's records as one array at ~1.5–2.2M
 * rows/s (bench/validator.bench.ts measures both). Backpressure is applied at the source: pausing
 * the readable that papaparse listens to stops it, and with it the reads from S3.
 *
 * Line numbers: papaparse reports how far it consumed (meta.cursor) but not lines. The reader keeps
 * the text it fed until consumed and counts line breaks in it: when a batch holds no quoted line
 * break, its records are on consecutive lines; otherwise each record's line is counted from its
 * fields. Either way a quarantined record points at the line an editor shows.
 */
export class CsvReader {
  readonly #options: CsvReaderOptions;
  #source: Readable | undefined;
  /** Wakes the feed waiting for the stream (see #push). */
  #wake: (() => void) | undefined;
  /** Text fed to the parser and not yet consumed, with the offset of its first character. */
  #texts: { text: string; start: number }[] = [];
  #fed = 0;
  #consumed = 0;
  #nextLine = 1;
  #linebreak: string | undefined;
  /**
   * Rejected by abort(). run() races it: a source that is waiting for bytes (a stalled S3 stream)
   * ends only once it yields again, and the caller must not wait for that to learn it stopped.
   */
  readonly #aborted: Promise<never>;
  #rejectAborted: (error: Error) => void = () => undefined;

  constructor(options: CsvReaderOptions) {
    this.#options = options;
    this.#aborted = new Promise<never>((_, reject) => {
      this.#rejectAborted = reject;
    });
    // Only ever awaited through run(): not an unhandled rejection when the reader was never run.
    this.#aborted.catch(() => undefined);
  }

  /** The line break records are split on: "\n" (CRLF too, see peekLinebreak) or "\r". */
  get linebreak(): string | undefined {
    return this.#linebreak;
  }

  /** Reads every text; rejects with the first error: the source's, onBatch's, a refusal, or abort()'s at once. */
  run(texts: CsvTexts): Promise<void> {
    return Promise.race([this.#run(texts), this.#aborted]);
  }

  async #run(texts: CsvTexts): Promise<void> {
    const iterator = texts[Symbol.asyncIterator]();
    const { linebreak, peeked } = await peekLinebreak(iterator, this.#options.maxRecordChars);
    this.#linebreak = linebreak;
    // Fed by #feed(); read() has nothing to do, as the feed pushes whenever it has text.
    const source = new Readable({ objectMode: true, highWaterMark: 1, read: () => undefined });
    this.#source = source;
    // Registered before papaparse's own listener, so each chunk is recorded before it is parsed.
    source.on('data', (text: string) => {
      this.#texts.push({ text, start: this.#fed });
      this.#fed += text.length;
      this.#wakeFeed();
    });
    // Flowing again (papaparse's listener starts it; resume() after a pause()), or stopped.
    source.on('resume', () => this.#wakeFeed());
    source.on('close', () => this.#wakeFeed());
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        source.destroy();
        reject(error);
      };
      Papa.parse<string[]>(source, {
        ...PARSE_OPTIONS,
        newline: linebreak,
        chunk: (results, parser) => {
          if (settled) return;
          try {
            this.#onChunk(results);
          } catch (error) {
            // Settle first: abort() calls `complete` synchronously.
            fail(error);
            parser.abort();
          }
        },
        complete: () => {
          if (settled) return;
          settled = true;
          resolve();
        },
        error: (error: Error) => fail(error),
      });
      this.#feed(peeked, iterator, source).catch(fail);
    });
  }

  /**
   * Pushes the texts into the stream papaparse listens to, each as its own chunk. Why not
   * Readable.from(texts): it takes one text per asynchronous step, and every step of an async
   * iterator is a handful of promises — ~7 per 16 KiB piece through the layers it went through,
   * half of the 84k promises a 100 MB file made in all, each also seen by every async hook in the
   * process (the X-Ray SDK installs one). A push into a flowing stream reaches papaparse's listener
   * at once, so the texts the source hands over together are parsed in one go, and the feed waits
   * only for the source, or for the stream (see #push).
   */
  async #feed(peeked: readonly string[], iterator: AsyncIterator<string | Iterable<string>>, source: Readable): Promise<void> {
    try {
      if (!(await this.#push(peeked, source))) return;
      for (;;) {
        const next = await iterator.next();
        if (next.done) break;
        if (!(await this.#push(textsOf(next.value), source))) return;
      }
      if (!source.destroyed) source.push(null);
    } finally {
      // Stopped early (an abort, a refusal): the source's own cleanup runs — the object's stream
      // is let go. (Called after its end too, where it does nothing.)
      await iterator.return?.();
    }
  }

  /**
   * Pushes each text once papaparse can take it at once: the stream flowing (not yet started, or
   * paused by pause(), it is not), nothing buffered in it. Else the feed waits — for the stream to
   * flow ('resume') or to hand its buffer over ('data') — so that no more than one text waits in the
   * stream, whatever the source holds. False once the reader stopped (the stream destroyed,
   * 'close'): nothing more is to be pushed.
   */
  async #push(texts: Iterable<string>, source: Readable): Promise<boolean> {
    for (const text of texts) {
      while (!source.destroyed && (source.readableFlowing !== true || source.readableLength > 0)) {
        await new Promise<void>((wake) => (this.#wake = wake));
      }
      if (source.destroyed) return false;
      source.push(text);
    }
    return !source.destroyed;
  }

  pause(): void {
    this.#source?.pause();
  }

  resume(): void {
    this.#source?.resume();
  }

  /** Stops reading (an upload failed, the deadline came): run() rejects with `error` at once. */
  abort(error: Error): void {
    this.#rejectAborted(error);
    this.#source?.destroy(error);
  }

  #wakeFeed(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #onChunk(results: Papa.ParseResult<string[]>): void {
    const rows = results.data;
    const cursor = results.meta.cursor;
    const linebreak = this.#linebreak as string;
    const nl = linebreak;
    const from = this.#consumed;
    const breaks = this.#countBetween(from, cursor, nl);
    const terminated = cursor > 0 && this.#slice(cursor - 1, cursor) === nl;
    // Before the texts are let go: a record holding CR + quote is looked at in the text (rarely).
    if (linebreak === '\n') {
      stripLineEndCrs(rows, () => {
        const text = this.#slice(from, cursor);
        return text.includes('\r"') ? text : undefined;
      });
    }
    this.#consumed = cursor;
    while (this.#texts.length > 0) {
      const first = this.#texts[0] as { text: string; start: number };
      if (first.start + first.text.length > cursor) break;
      this.#texts.shift();
    }

    const firstLine = this.#nextLine;
    this.#nextLine += breaks;
    let lines: Uint32Array | undefined;
    if (rows.length > 0 && breaks > (terminated ? rows.length : rows.length - 1)) {
      lines = new Uint32Array(rows.length);
      let line = firstLine;
      for (let i = 0; i < rows.length; i++) {
        lines[i] = line;
        line += 1 + breaksInFields(rows[i] as string[], nl);
      }
    }
    let problems: Map<number, string[]> | undefined;
    for (const e of results.errors) {
      // A complaint about the record the piece ended in (row = rows.length) names no record of
      // this batch: that record is parsed again, whole, with the next piece, and judged then.
      if (e.row === undefined || e.row >= rows.length) continue;
      // A bad quote whose record runs over line breaks has swallowed the lines after it (up to the
      // next quote, or the end of the file): which of them were rows can no longer be told, so the
      // file is refused rather than counted as one bad row. On one line, it costs that row only.
      const unclosed = results.errors.some((x) => x.row === e.row && x.code === 'MissingQuotes');
      const swallowed = e.type === 'Quotes' ? linesSwallowed(rows[e.row] as string[], nl, unclosed) : 0;
      if (swallowed > 0) {
        const line = lines ? (lines[e.row] as number) : firstLine + e.row;
        const what = unclosed && e.code === 'MissingQuotes' ? 'is never closed' : 'is malformed (text after a closing quote, or a stray quote at the start of a field)';
        throw new FileRejection(
          'unbalanced-quotes',
          `a quote on line ${line} ${what}, and its record runs over ${swallowed + 1} lines (to line ${line + swallowed}): the rows in them cannot be told apart from quoted text`,
        );
      }
      problems ??= new Map();
      const list = problems.get(e.row) ?? [];
      const problem = e.code === 'MissingQuotes' ? 'a quoted field is never closed' : 'malformed quotes (text after a closing quote, or a stray quote)';
      if (!list.includes(problem)) list.push(problem);
      problems.set(e.row, list);
    }

    // A record over the limit that ended within this piece (the check below sees only the one
    // still open): looked for only when the piece itself is longer than the limit.
    if (cursor - from > this.#options.maxRecordChars) {
      for (let r = 0; r < rows.length; r++) {
        const row = rows[r] as string[];
        let chars = row.length - 1;
        for (const field of row) chars += field.length;
        if (chars > this.#options.maxRecordChars) throw this.#tooLarge(lines ? (lines[r] as number) : firstLine + r);
      }
    }
    const unconsumed = this.#fed - cursor;
    if (unconsumed > this.#options.maxRecordChars) throw this.#tooLarge(this.#nextLine);
    this.#options.onBatch({ rows, firstLine, lines, problems, chars: cursor - from });
  }

  #tooLarge(line: number): FileRejection {
    return new FileRejection('record-too-large', `the record starting on line ${line} is longer than ${this.#options.maxRecordChars} characters — is a quote never closed?`);
  }

  /** The text from `from` to `to`, which must still be held. */
  #slice(from: number, to: number): string {
    let text = '';
    for (const t of this.#texts) {
      const end = t.start + t.text.length;
      if (end <= from || t.start >= to) continue;
      text += t.text.slice(Math.max(from, t.start) - t.start, Math.min(to, end) - t.start);
    }
    return text;
  }

  #countBetween(from: number, to: number, char: string): number {
    let count = 0;
    for (const t of this.#texts) {
      const end = t.start + t.text.length;
      if (end <= from || t.start >= to) continue;
      let i = Math.max(from, t.start) - t.start;
      const stop = Math.min(to, end) - t.start;
      for (;;) {
        i = t.text.indexOf(char, i);
        if (i === -1 || i >= stop) break;
        count++;
        i++;
      }
    }
    return count;
  }
}

/** Line breaks outside quotes that settle which one a file uses. */
const SAMPLE_BREAKS = 64;

/**
 * The line break to split records on, by a count of the first SAMPLE_BREAKS outside quotes: "\r"
 * when lone CRs (old Mac files) are the most, "\n" otherwise — LF, CRLF and a mix of both, the CR
 * being stripped from each record's last field. A count rather than the first one, as quotes are
 * only counted here (a stray one can make a quoted CR look like a line break). Lone CRs are not
 * made line breaks beside LFs: with quotes only counted, a quoted CR would be cut. A record they
 * join is refused instead: a row by its field count, the header by a cell holding a line break
 * (header.ts). (papaparse's own guess reads the first chunk only, can mistake CRLF cut at a chunk
 * boundary for CR, and a guess of CRLF glues LF-only rows together.)
 *
 * Quotes are counted, not parsed: each toggles "inside", so a doubled quote changes nothing. A
 * stray quote in an unquoted field can leave no line break outside quotes: then, and when the first
 * `limit` characters hold none, the first line break at all decides. Peeking stops there — what it
 * reads is held until the parser takes it, and a longer first record is refused by the reader
 * anyway. Returns the line break and the texts it read, for the parser to take first.
 */
async function peekLinebreak(iterator: AsyncIterator<string | Iterable<string>>, limit: number): Promise<{ linebreak: '\n' | '\r'; peeked: string[] }> {
  const peeked: string[] = [];
  let chars = 0;
  let quoted = false;
  /** An unquoted CR ended the text so far: the next character says CRLF or CR. */
  let crAtEnd = false;
  let done = false;
  let loneCrs = 0;
  let lfs = 0;
  const sampling = () => loneCrs + lfs < SAMPLE_BREAKS && chars <= limit;
  while (sampling()) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      if (crAtEnd) loneCrs++;
      break;
    }
    for (const text of textsOf(next.value)) {
      if (text === '') continue;
      peeked.push(text);
      // The rest of a run of texts is held, not sampled.
      if (!sampling()) continue;
      chars += text.length;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (crAtEnd) {
          crAtEnd = false;
          if (c === 10) {
            lfs++;
            continue;
          }
          loneCrs++;
        }
        if (c === 34) quoted = !quoted;
        else if (quoted) continue;
        else if (c === 10) lfs++;
        else if (c === 13) crAtEnd = true;
      }
    }
  }
  const linebreak = loneCrs + lfs > 0 ? (loneCrs > lfs ? '\r' : '\n') : firstLinebreak(peeked.join(''), done);
  return { linebreak, peeked };
}

/** One item of CsvTexts as the texts it holds. */
function textsOf(item: string | Iterable<string>): Iterable<string> {
  return typeof item === 'string' ? [item] : item;
}

/** The first line break in `text`, quoted or not ("\n" without any, or a CR last in a text that goes on). */
function firstLinebreak(text: string, whole: boolean): '\n' | '\r' {
  const cr = text.indexOf('\r');
  const lf = text.indexOf('\n');
  if (cr === -1 || (lf !== -1 && lf < cr)) return '\n';
  if (cr + 1 < text.length) return text.charCodeAt(cr + 1) === 10 ? '\n' : '\r';
  return whole ? '\r' : '\n';
}

/**
 * Records are split on "\n", so a CRLF record keeps its "\r" on its last field: removed here. A CR
 * closing the quoted content of a last field (`…,"x\r"`) is data, but papaparse hands over the
 * quoted content alone, "x\r" either way. Only a record holding CR + quote can end in such a field,
 * so only when the batch's text holds one (`textIfCrBeforeQuote()`, asked at the first CR, else
 * undefined) is it parsed again a record at a time to find where each ends: in a record holding
 * CR + quote, a final CR stays unless the field, as written just before the line break, is the
 * unquoted cell itself. (An unclosed quote at the end of the file keeps no CR: its record is
 * refused for the quote.)
 */
function stripLineEndCrs(rows: string[][], textIfCrBeforeQuote: () => string | undefined): void {
  let asked = false;
  let text: string | undefined;
  let ends: number[] | undefined;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] as string[];
    const last = row.length - 1;
    const cell = row[last] as string;
    if (cell.charCodeAt(cell.length - 1) !== 13) continue;
    if (!asked) {
      asked = true;
      text = textIfCrBeforeQuote();
      if (text !== undefined) ends = recordEnds(text);
    }
    if (text !== undefined && ends !== undefined && r < ends.length && endsInQuotedCr(text, r === 0 ? 0 : (ends[r - 1] as number), ends[r] as number, cell, last === 0)) continue;
    row[last] = cell.slice(0, -1);
  }
}

/**
 * Whether the record text[start, end) — its line break included — ends in a quoted field whose
 * content `cell` ends in a CR: the record holds CR + quote, and its text before the line break is
 * not `cell` as an unquoted field (after a comma, or alone).
 */
export function endsInQuotedCr(text: string, start: number, end: number, cell: string, alone: boolean): boolean {
  const at = text.indexOf('\r"', start);
  if (at === -1 || at + 1 >= end) return false;
  const stop = text.charCodeAt(end - 1) === 10 ? end - 1 : end;
  const from = stop - cell.length;
  const unquoted = from >= start && text.slice(from, stop) === cell && (alone ? from === start : text.charCodeAt(from - 1) === 44);
  return !unquoted;
}

/** Where each record of `text` ends (after its line break), as papaparse reads them one at a time. */
function recordEnds(text: string): number[] {
  const ends: number[] = [];
  Papa.parse<string[]>(text, { ...PARSE_OPTIONS, newline: '\n', step: (results) => ends.push(results.meta.cursor) });
  return ends;
}

/**
 * The lines after its own that a record with a quote problem took in: the line breaks in the
 * fields the bad quote ran through — a field holding a quote (text after a closing quote keeps it)
 * and, when the quote is never closed, the last field, which runs to the end of the file. That one
 * is counted up to its last non-blank character: the blank lines the file ends with (its final line
 * break among them) were no rows, so a quote never closed on the last row costs that row only. A
 * well-quoted multi-line field beside the bad one swallowed nothing.
 */
function linesSwallowed(row: string[], nl: string, unclosed: boolean): number {
  let breaks = 0;
  for (let f = 0; f < row.length; f++) {
    const field = row[f] as string;
    if (unclosed && f === row.length - 1) breaks += breaksInFields([field.trimEnd()], nl);
    else if (field.includes('"')) breaks += breaksInFields([field], nl);
  }
  return breaks;
}

function breaksInFields(row: string[], nl: string): number {
  let count = 0;
  for (const field of row) {
    let i = field.indexOf(nl);
    while (i !== -1) {
      count++;
      i = field.indexOf(nl, i + 1);
    }
  }
  return count;
}
