import { describe, expect, it } from 'vitest';
import { CsvReader } from '../../src/csv.ts';
import { FileRejection } from '../../src/outcome.ts';

interface Row {
  line: number;
  fields: string[];
  problems?: string[];
}

/** Parses `text` fed in chunks of `size` characters; every record with its line. */
async function read(text: string, size: number, maxRecordChars = 1 << 20): Promise<Row[]> {
  const rows: Row[] = [];
  const reader = new CsvReader({
    maxRecordChars,
    onBatch: ({ rows: batch, firstLine, lines, problems }) => {
      batch.forEach((fields, i) => {
        const row: Row = { line: lines ? (lines[i] as number) : firstLine + i, fields };
        const p = problems?.get(i);
        if (p) row.problems = p;
        rows.push(row);
      });
    },
  });
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
  await reader.run(
    (async function* () {
      yield* chunks;
    })(),
  );
  return rows;
}

const QUOTED = 'id,note,n\r\n1,"multi\r\nline, with comma",2\r\n2,"say ""hi""",3\r\n\r\n3,plain,4\r\n4,"a\nb\nc",5\r\n5,last,6';

describe('CsvReader', () => {
  it('parses quoted line breaks, quotes and CRLF the same at every chunk boundary, with lines', async () => {
    const expected: Row[] = [
      { line: 1, fields: ['id', 'note', 'n'] },
      { line: 2, fields: ['1', 'multi\r\nline, with comma', '2'] },
      { line: 4, fields: ['2', 'say "hi"', '3'] },
      { line: 5, fields: [''] },
      { line: 6, fields: ['3', 'plain', '4'] },
      { line: 7, fields: ['4', 'a\nb\nc', '5'] },
      { line: 10, fields: ['5', 'last', '6'] },
    ];
    for (let size = 1; size <= QUOTED.length; size++) expect(await read(QUOTED, size), `chunks of ${size}`).toEqual(expected);
  });

  it('numbers lines across many chunks without quotes, and with a final newline', async () => {
    const text = `h\n${Array.from({ length: 5000 }, (_, i) => `r${i}`).join('\n')}\n`;
    const rows = await read(text, 777);
    expect(rows).toHaveLength(5001);
    expect(rows[4000]).toEqual({ line: 4001, fields: ['r3999'] });
  });

  it('strips the CR of CRLF rows in a file read as LF (mixed line endings)', async () => {
    const rows = await read('a,b\n1,2\r\n3,4\n', 5);
    expect(rows.map((r) => r.fields)).toEqual([['a', 'b'], ['1', '2'], ['3', '4']]);
  });

  it('reports a malformed or unclosed quote on its record when it stays on that record\'s line', async () => {
    // Text after a closing quote, then a quote that closes the field on the same line.
    const malformed = await read('a,b\n1,"x"y"\n2,ok\n', 4);
    expect(malformed).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['1', 'x"y'], problems: ['malformed quotes (text after a closing quote, or a stray quote)'] },
      { line: 3, fields: ['2', 'ok'] },
    ]);
    // Unclosed on the last line: it takes in only the file's final line break.
    const open = await read('a,b\n1,2\n3,"open\n', 3);
    expect(open.at(-1)).toEqual({ line: 3, fields: ['3', 'open\n'], problems: ['a quoted field is never closed'] });
    // …and the blank lines the file ends with, which were no rows either.
    const trailing = await read('a,b\n1,2\n3,"open\n\n \n\n', 3);
    expect(trailing.at(-1)).toEqual({ line: 3, fields: ['3', 'open\n\n \n\n'], problems: ['a quoted field is never closed'] });
    const cr = await read('a,b\r1,2\r3,"open\r\r', 3);
    expect(cr.at(-1)).toEqual({ line: 3, fields: ['3', 'open\r\r'], problems: ['a quoted field is never closed'] });
  });

  it('rejects the file when a malformed or unclosed quote runs over the lines after it', async () => {
    // As in papaparse (and RFC 4180), such a quote runs on to the next quote or the end of the
    // file: the lines it takes in may have been rows, and no count of them could be trusted.
    await expect(read('a,b\n1,"x"y\n2,ok\n', 4)).rejects.toThrow(
      new FileRejection('unbalanced-quotes', 'a quote on line 2 is malformed (text after a closing quote, or a stray quote at the start of a field), and its record runs over 2 lines (to line 3): the rows in them cannot be told apart from quoted text'),
    );
    const rows = Array.from({ length: 50 }, (_, i) => `${i + 3},ok`).join('\n');
    await expect(read(`a,b\n1,ok\n2,"open\n${rows}\n`, 64)).rejects.toThrow(/quote on line 3 is never closed, and its record runs over 51 lines \(to line 53\)/);
    // Blank lines after the rows it took in change nothing: those rows were swallowed all the same.
    await expect(read(`a,b\n1,ok\n2,"open\n${rows}\n\n\n`, 64)).rejects.toThrow(/quote on line 3 is never closed, and its record runs over 51 lines \(to line 53\)/);
    // A closed quote that opens a field and is followed by text swallows up to the next quote.
    await expect(read('a,b\n1,"Zo"e\n2,"Bob"\n3,ok\n', 5)).rejects.toThrow(/quote on line 2 is malformed/);
  });

  it('reads a file whose lines end in a lone CR', async () => {
    expect(await read('a,b\r1,2\r3,"x\ry"\r', 3)).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['1', '2'] },
      { line: 3, fields: ['3', 'x\ry'] },
    ]);
  });

  it('rejects the file when a record outgrows the limit (an unclosed quote swallowing the rest)', async () => {
    const text = `a,b\n1,"${'x'.repeat(5000)}\n`.repeat(3);
    await expect(read(text, 512, 2048)).rejects.toThrow(FileRejection);
    await expect(read(text, 512, 2048)).rejects.toThrow(/record starting on line 2 is longer than 2048 characters/);
  });

  it('rejects the file for a record over the limit that ends in the piece where it crossed it', async () => {
    const text = `a,b\n1,"${'x'.repeat(3000)}"\n2,3\n`;
    await expect(read(text, text.length, 2048)).rejects.toThrow(/record starting on line 2 is longer than 2048 characters/);
    // Under the limit, with the same piece: read.
    expect(await read(text, text.length, 4096)).toHaveLength(3);
  });

  it('takes the line break most of the first lines use, outside quotes', async () => {
    // A header ending in a lone CR, rows in CRLF: split on LF, the header joins the first row (which
    // the header check then refuses: header.test.ts).
    for (let size = 1; size <= 12; size++) {
      expect(await read('a,b\r1,2\r\n3,4\r\n', size), `chunks of ${size}`).toEqual([
        { line: 1, fields: ['a', 'b\r1', '2'] },
        { line: 2, fields: ['3', '4'] },
      ]);
    }
    // Mostly lone CRs: a stray LF stays in its field.
    const cr = await read(`a,b\r${'1,2\r'.repeat(5)}x,y\nz\r`, 4);
    expect(cr).toHaveLength(7);
    expect(cr.at(-1)).toEqual({ line: 7, fields: ['x', 'y\nz'] });
  });

  it('rejects a row, not the file, for a bad quote on one line beside a well-quoted multi-line field', async () => {
    expect(await read('a,b,c\n1,"multi\nline","x"y"\n2,ok,ok\n', 5)).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['1', 'multi\nline', 'x"y'], problems: ['malformed quotes (text after a closing quote, or a stray quote)'] },
      { line: 4, fields: ['2', 'ok', 'ok'] },
    ]);
  });

  it('takes no quoted line break for the file\'s', async () => {
    // A quoted CR (or LF) ahead of the first real line break is data, not the file's line ending.
    for (let size = 1; size <= 12; size++) {
      expect(await read('"a\rb",c\n1,2\n', size), `chunks of ${size}`).toEqual([
        { line: 1, fields: ['a\rb', 'c'] },
        { line: 2, fields: ['1', '2'] },
      ]);
      expect(await read('"a\nb",c\r1,2\r', size), `chunks of ${size}`).toEqual([
        { line: 1, fields: ['a\nb', 'c'] },
        { line: 2, fields: ['1', '2'] },
      ]);
    }
  });

  it('stops looking for the line break at the record limit, without reading the whole file first', async () => {
    let pulled = 0;
    const reader = new CsvReader({ maxRecordChars: 10_000, onBatch: () => undefined });
    const oneLongLine = (async function* () {
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield 'x'.repeat(1000);
      }
    })();
    await expect(reader.run(oneLongLine)).rejects.toThrow(/longer than 10000 characters/);
    expect(pulled).toBeLessThan(50);
  });

  it('keeps a CR that ends the quoted content of a last field, and strips only line-end CRs', async () => {
    for (let size = 1; size <= 20; size++) {
      expect((await read('h,i\nb,"x\r"\nc,y\r\n', size)).map((r) => r.fields), `chunks of ${size}`).toEqual([
        ['h', 'i'],
        ['b', 'x\r'],
        ['c', 'y'],
      ]);
      expect((await read('h,i\r\nb,"x\r"\r\n"\r"\r\nd,e\r\n', size)).map((r) => r.fields), `chunks of ${size}`).toEqual([
        ['h', 'i'],
        ['b', 'x\r'],
        ['\r'],
        ['d', 'e'],
      ]);
    }
  });

  it('files no complaint under a record that the piece cut off (it is judged whole, with the next piece)', async () => {
    const batches: { rows: number; problemRows: number[] }[] = [];
    const reader = new CsvReader({
      maxRecordChars: 1000,
      onBatch: ({ rows, problems }) => batches.push({ rows: rows.length, problemRows: [...(problems?.keys() ?? [])] }),
    });
    await reader.run(
      (async function* () {
        yield 'a,"x"\r';
        yield '\nb\r\n';
      })(),
    );
    for (const batch of batches) for (const row of batch.problemRows) expect(row).toBeLessThan(batch.rows);
    expect(batches.flatMap((b) => b.problemRows)).toEqual([]);
  });

  it('stops with the error of its source', async () => {
    const reader = new CsvReader({ maxRecordChars: 1000, onBatch: () => undefined });
    const failing = (async function* () {
      yield 'a,b\n1,2\n';
      throw new Error('socket hang up');
    })();
    await expect(reader.run(failing)).rejects.toThrow('socket hang up');
  });

  it('takes no more text while paused, and goes on from where it stopped once resumed', async () => {
    let pulled = 0;
    const batches: number[] = [];
    let secondBatch: () => void = () => undefined;
    const paused = new Promise<void>((resolve) => (secondBatch = resolve));
    const reader = new CsvReader({
      maxRecordChars: 1000,
      onBatch: ({ rows }) => {
        batches.push(rows.length);
        if (batches.length === 2) {
          reader.pause();
          secondBatch();
        }
      },
    });
    const running = reader.run(
      (async function* () {
        // 40 lines a text: the line-break count (64) is settled by the second.
        for (let i = 0; i < 5; i++) {
          pulled++;
          yield `${i},a\n`.repeat(40);
        }
      })(),
    );
    await paused;
    // The texts are in memory and nothing on the way to onBatch waits on a timer: a reader that
    // went on past the pause would have parsed them all before the next turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    // The second batch paused the reader: one text read ahead at most, none parsed.
    expect(batches).toEqual([40, 40]);
    expect(pulled).toBeLessThanOrEqual(3);
    reader.resume();
    await running;
    expect(batches.filter((rows) => rows > 0)).toEqual([40, 40, 40, 40, 40]);
  });

  it('parses each text of a run handed over together as a batch of its own, saying the characters each took', async () => {
    const batches: { rows: string[][]; chars: number }[] = [];
    const reader = new CsvReader({ maxRecordChars: 1000, onBatch: ({ rows, chars }) => batches.push({ rows, chars }) });
    const texts = ['id,n\n1,a\n2', ',b\n3,c\n', '4,d\n', '5,e\n6,f\n'];
    await reader.run(
      (async function* () {
        yield [texts[0] as string, texts[1] as string];
        yield texts[2] as string;
        yield [texts[3] as string];
      })(),
    );
    expect(batches.flatMap((b) => b.rows).filter((r) => r.join() !== '')).toEqual([['id', 'n'], ['1', 'a'], ['2', 'b'], ['3', 'c'], ['4', 'd'], ['5', 'e'], ['6', 'f']]);
    // The record cut at the end of the first text waits for the second: it is that batch's.
    expect(batches.slice(0, 4).map((b) => b.rows.length)).toEqual([2, 2, 1, 2]);
    expect(batches.reduce((sum, b) => sum + b.chars, 0)).toBe(texts.join('').length);
    expect(batches[0]?.chars).toBe('id,n\n1,a\n'.length);
  });

  it('stops in the middle of a run of texts when paused, and goes on with the rest once resumed', async () => {
    const batches: number[] = [];
    let paused: () => void = () => undefined;
    const pausedNow = new Promise<void>((resolve) => (paused = resolve));
    const reader = new CsvReader({
      maxRecordChars: 1000,
      onBatch: ({ rows }) => {
        batches.push(rows.length);
        if (batches.length === 3) {
          reader.pause();
          paused();
        }
      },
    });
    const running = reader.run(
      (async function* () {
        yield Array.from({ length: 6 }, (_, i) => `${i},a\n`.repeat(40));
      })(),
    );
    await pausedNow;
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([40, 40, 40]);
    reader.resume();
    await running;
    expect(batches.filter((rows) => rows > 0)).toEqual([40, 40, 40, 40, 40, 40]);
  });

  it('holds at most one text in the stream while papaparse cannot take it, whatever the source has ready', async () => {
    let pulled = 0;
    const reader = new CsvReader({ maxRecordChars: 1000, onBatch: () => reader.pause() });
    const running = reader.run(
      (async function* () {
        for (let i = 0; i < 1000; i++) {
          pulled++;
          yield `${i},a\n`.repeat(40);
        }
      })(),
    );
    // A source that never waits: a feed that pushed without looking would have taken it all by now.
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(pulled).toBeLessThanOrEqual(3);
    reader.abort(new Error('done'));
    await expect(running).rejects.toThrow('done');
  });

  it('rejects at once when aborted, even while its source has nothing to give', async () => {
    const reader = new CsvReader({ maxRecordChars: 1000, onBatch: () => undefined });
    const stalled = (async function* () {
      yield 'a,b\n1,2\n';
      await new Promise(() => undefined);
    })();
    const running = reader.run(stalled);
    setTimeout(() => reader.abort(new Error('deadline')), 10);
    await expect(running).rejects.toThrow('deadline');
  });

  it('rejects at once when aborted while paused', async () => {
    const reader = new CsvReader({ maxRecordChars: 1000, onBatch: () => reader.pause() });
    const running = reader.run((async function* () { yield 'a,b\n1,2\n'; yield '3,4\n'; })());
    setTimeout(() => reader.abort(new Error('upload failed')), 10);
    await expect(running).rejects.toThrow('upload failed');
  });

  it('stops with the error of its batch handler', async () => {
    const reader = new CsvReader({
      maxRecordChars: 1000,
      onBatch: () => {
        throw new Error('handler failed');
      },
    });
    await expect(reader.run((async function* () { yield 'a\n1\n'; })())).rejects.toThrow('handler failed');
  });
});
