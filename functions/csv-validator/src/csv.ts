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
}

export interface CsvReaderOptions {
  /** A record longer than this (characters) rejects the file: it is nearly always an unclosed quote. */
  maxRecordChars: number;
  /** Called synchronously for each parsed piece; throwing stops the reader with that error. */
  onBatch: (batch: CsvBatch) => void;
}

/**
 * Streams CSV records out of text chunks with papaparse, one batch per chunk.
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
  /** Text fed to the parser and not yet consumed, with the offset of its first character. */
  #texts: { text: string; start: number }[] = [];
  #fed = 0;
  #consumed = 0;
  #nextLine = 1;
  #linebreak: string | undefined;

  constructor(options: CsvReaderOptions) {
    this.#options = options;
  }

  /** The line break records are split on: "\n" (CRLF too, see peekLinebreak) or "\r". */
  get linebreak(): string | undefined {
    return this.#linebreak;
  }

  async run(texts: AsyncIterable<string>): Promise<void> {
    const { linebreak, source: rest } = await peekLinebreak(texts);
    this.#linebreak = linebreak;
    const source = Readable.from(rest, { objectMode: true, highWaterMark: 1 });
    this.#source = source;
    // Registered before papaparse's own listener, so each chunk is recorded before it is parsed.
    source.on('data', (text: string) => {
      this.#texts.push({ text, start: this.#fed });
      this.#fed += text.length;
    });
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        source.destroy();
        reject(error);
      };
      Papa.parse<string[]>(source, {
        delimiter: ',',
        newline: linebreak,
        header: false,
        dynamicTyping: false,
        skipEmptyLines: false,
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
    });
  }

  pause(): void {
    this.#source?.pause();
  }

  resume(): void {
    this.#source?.resume();
  }

  /** Stops reading (an upload failed, the deadline came): run() rejects with `error`. */
  abort(error: Error): void {
    this.#source?.destroy(error);
  }

  #onChunk(results: Papa.ParseResult<string[]>): void {
    const rows = results.data;
    const cursor = results.meta.cursor;
    const linebreak = this.#linebreak as string;
    const nl = linebreak;
    const breaks = this.#countBetween(this.#consumed, cursor, nl);
    const terminated = cursor > 0 && this.#charAt(cursor - 1) === nl;
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
    // Records are split on "\n": a CRLF row keeps its "\r" on the last field.
    if (linebreak === '\n') {
      for (const row of rows) {
        const last = row.length - 1;
        const cell = row[last] as string;
        if (cell.charCodeAt(cell.length - 1) === 13) row[last] = cell.slice(0, -1);
      }
    }
    let problems: Map<number, string[]> | undefined;
    for (const e of results.errors) {
      if (e.row === undefined) continue;
      problems ??= new Map();
      const list = problems.get(e.row) ?? [];
      const problem = e.code === 'MissingQuotes' ? 'a quoted field is never closed' : 'malformed quotes (text after a closing quote, or a stray quote)';
      if (!list.includes(problem)) list.push(problem);
      problems.set(e.row, list);
    }

    const unconsumed = this.#fed - cursor;
    if (unconsumed > this.#options.maxRecordChars) {
      throw new FileRejection(
        'record-too-large',
        `the record starting on line ${this.#nextLine} is longer than ${this.#options.maxRecordChars} characters — is a quote never closed?`,
      );
    }
    this.#options.onBatch({ rows, firstLine, lines, problems });
  }

  #charAt(offset: number): string {
    for (const t of this.#texts) {
      if (offset >= t.start && offset < t.start + t.text.length) return t.text.charAt(offset - t.start);
    }
    return '';
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

/**
 * The line break to split records on, from the first one in the text: "\r" for (old Mac) files
 * whose lines end in a lone CR, "\n" for everything else — LF, CRLF and a mix of both, the CR
 * being stripped from each record's last field. (papaparse's own guess reads the first chunk only,
 * can mistake CRLF cut at a chunk boundary for CR, and a guess of CRLF glues LF-only rows together.)
 * Returns the texts with the peeked ones put back in front.
 */
async function peekLinebreak(texts: AsyncIterable<string>): Promise<{ linebreak: '\n' | '\r'; source: AsyncIterable<string> }> {
  const iterator = texts[Symbol.asyncIterator]();
  const peeked: string[] = [];
  let linebreak: '\n' | '\r' = '\n';
  let previousEndsInCr = false;
  for (;;) {
    const next = await iterator.next();
    if (next.done) {
      if (previousEndsInCr) linebreak = '\r';
      break;
    }
    const text = next.value;
    if (text === '') continue;
    peeked.push(text);
    if (previousEndsInCr) {
      linebreak = text.startsWith('\n') ? '\n' : '\r';
      break;
    }
    const cr = text.indexOf('\r');
    const lf = text.indexOf('\n');
    if (lf !== -1 && (cr === -1 || lf < cr)) break;
    if (cr !== -1) {
      if (cr < text.length - 1) {
        linebreak = text.charAt(cr + 1) === '\n' ? '\n' : '\r';
        break;
      }
      previousEndsInCr = true;
    }
  }
  return {
    linebreak,
    source: (async function* () {
      yield* peeked;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    })(),
  };
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
