import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { ConditionalCheckFailedException, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createDynamoDBClient, createS3Client, encodeS3EventKey, ensureTable, parseS3Event, type S3ObjectRef } from '@laminar/aws';
import { type DynamoEmulator, type S3Emulator, startDynamoDB, startS3 } from '@laminar/emulators';
import { DeadlineExceededError } from '@laminar/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GeneratedStats, generateOrders } from '../../bench/generate.ts';
import { PoisonFileError } from '../../src/outcome.ts';
import { createProcessor, ObjectInProgressError, type ObjectOutcome, type ProcessorDeps } from '../../src/processor.ts';
import { outputKeys } from '../../src/keys.ts';
import type { Manifest, ValidationResult } from '../../src/validate.ts';

const BUCKET = 'lake';
const TABLE = 'csv-idempotency-test';
const HEADER = 'order_id,customer_id,customer_name,order_date,status,currency,quantity,unit_price,amount,country,email';

let s3: S3Emulator;
let dynamo: DynamoEmulator;
let client: S3Client;
let db: DynamoDBClient;

/** A client of the embedded S3. */
const s3Client = () => createS3Client({ region: s3.region, endpoint: s3.endpoint, credentials: s3.credentials, forcePathStyle: true });

beforeAll(async () => {
  [s3, dynamo] = await Promise.all([startS3({ buckets: [BUCKET] }), startDynamoDB()]);
  client = s3Client();
  db = createDynamoDBClient({ region: dynamo.region, endpoint: dynamo.endpoint, credentials: dynamo.credentials });
  await ensureTable(db, TABLE, 'idempotency');
  await ensureTable(db, `${TABLE}-fresh`, 'idempotency');
});
afterAll(async () => {
  client?.destroy();
  db?.destroy();
  await Promise.all([s3?.stop(), dynamo?.stop()]);
});

const config: ProcessorDeps['config'] = {
  LAKE_BUCKET: BUCKET,
  SILVER_PREFIX: 'silver/',
  QUARANTINE_PREFIX: 'quarantine/',
  IDEMPOTENCY_TABLE: TABLE,
  IDEMPOTENCY_EXPIRY_SECONDS: 3600,
};

function processor(s3Client: S3Client = client, remainingMs = 60_000) {
  const p = createProcessor({ s3: s3Client, dynamo: db, config });
  const deadline = Date.now() + remainingMs;
  p.registerLambdaContext({ getRemainingTimeInMillis: () => deadline - Date.now() } as never);
  return p;
}

const warnings: string[] = [];
const scope = (requestId = 'req-1', checkDeadline: (what: string) => void = () => undefined) => ({
  requestId,
  checkDeadline,
  warn: (message: string) => void warnings.push(message),
});

/** A CSV row from the defaults, with some cells replaced. */
function row(i: number, cells: Partial<Record<string, string>> = {}): string {
  const base: Record<string, string> = {
    order_id: `ORD-${i}`,
    customer_id: `CUST-${i % 7}`,
    customer_name: 'Zoë Müller',
    order_date: '2026-11-25',
    status: 'paid',
    currency: 'EUR',
    quantity: '2',
    unit_price: '9.95',
    amount: '19.90',
    country: 'DE',
    email: 'zoe@example.com',
  };
  return HEADER.split(',')
    .map((c) => cells[c] ?? base[c])
    .join(',');
}

async function put(key: string, body: string | Buffer): Promise<S3ObjectRef> {
  const out = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  const size = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  return { bucket: BUCKET, key, etag: (out.ETag ?? '').replaceAll('"', ''), size, eventTime: new Date().toISOString(), eventName: 'ObjectCreated:Put', source: 's3-notification' };
}

async function text(key: string): Promise<string | undefined> {
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return await (out.Body as { transformToString(): Promise<string> }).transformToString();
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

const jsonLines = async (key: string | null) => ((key ? await text(key) : '') ?? '').split('\n').filter(Boolean).map((l) => JSON.parse(l));

async function keysUnder(prefix: string): Promise<string[]> {
  const out = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key as string).sort();
}

function validated(o: ObjectOutcome): ValidationResult {
  if (o.status === 'ignored') throw new Error(`ignored: ${o.detail}`);
  return o;
}

/** The invariant of every outcome: counts reconcile in the result, the manifests and the outputs. */
async function expectReconciled(o: ObjectOutcome): Promise<Manifest[]> {
  const r = validated(o);
  expect(r.rowsRead).toBe(r.valid + r.rejected);
  const manifests: Manifest[] = [];
  for (const key of r.outputs.manifests) {
    const m = JSON.parse((await text(key)) as string) as Manifest;
    expect(m).toMatchObject({ status: r.status, rowsRead: r.rowsRead, valid: r.valid, rejected: r.rejected, source: r.source });
    manifests.push(m);
  }
  expect(manifests.length).toBeGreaterThan(0);
  if (r.status === 'validated') {
    expect(await jsonLines(r.outputs.silver)).toHaveLength(r.valid);
    expect(await jsonLines(r.outputs.quarantine)).toHaveLength(r.rejected);
  }
  return manifests;
}

async function validate(key: string, body: string | Buffer): Promise<ValidationResult> {
  const outcome = await processor().process(await put(key, body), scope());
  await expectReconciled(outcome);
  return validated(outcome);
}

describe('files, clean and awkward', () => {
  it('writes typed rows to silver, the rest with every reason to quarantine, and manifests last', async () => {
    const body = [HEADER, row(1), row(2, { quantity: '0', country: 'XX' }), row(3, { email: '' }), row(4, { amount: '19.91' }), ''].join('\n');
    const r = await validate('bronze/orders/mixed.csv', body);
    expect(r).toMatchObject({ status: 'validated', rowsRead: 4, valid: 2, rejected: 2, header: { status: 'ok' } });
    const silver = await jsonLines(r.outputs.silver);
    expect(silver[0]).toEqual({
      order_id: 'ORD-1',
      customer_id: 'CUST-1',
      customer_name: 'Zoë Müller',
      order_date: '2026-11-25',
      status: 'paid',
      currency: 'EUR',
      quantity: 2,
      unit_price: 9.95,
      amount: 19.9,
      country: 'DE',
      email: 'zoe@example.com',
    });
    expect(silver[1]).not.toHaveProperty('email');
    expect(await jsonLines(r.outputs.quarantine)).toEqual([
      {
        row: 3,
        raw: row(2, { quantity: '0', country: 'XX' }).split(','),
        reasons: ['quantity: 0 is less than 1', 'country: "XX" is not an ISO 3166-1 alpha-2 country code'],
      },
      { row: 5, raw: row(4, { amount: '19.91' }).split(','), reasons: ['amount: 19.91 is not quantity × unit_price (2 × 9.95 = 19.9) to the cent'] },
    ]);
    const etag = r.source.etag as string;
    expect(r.outputs).toEqual({
      silver: `silver/orders/mixed/${etag}/part-00000.jsonl`,
      quarantine: `quarantine/orders/mixed/${etag}/rejected.jsonl`,
      manifests: [`silver/orders/mixed/${etag}/_manifest.json`, `quarantine/orders/mixed/${etag}/_manifest.json`],
    });
    const [manifest] = await expectReconciled(r);
    expect(manifest).toMatchObject({ manifestVersion: 1, requestId: 'req-1', encoding: { encoding: 'utf-8' } });
  });

  it('reads a UTF-8 BOM, and UTF-16 with its BOM', async () => {
    const body = [HEADER, row(1), row(2)].join('\r\n');
    const bom = await validate('bronze/enc/bom.csv', `\uFEFF${body}`);
    expect(bom).toMatchObject({ valid: 2, encoding: { encoding: 'utf-8', bom: true }, header: { status: 'ok' } });
    const utf16 = await validate('bronze/enc/utf16.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(body, 'utf16le')]));
    expect(utf16).toMatchObject({ valid: 2, encoding: { encoding: 'utf-16le', bom: true } });
    expect((await jsonLines(utf16.outputs.silver))[0].customer_name).toBe('Zoë Müller');
  });

  it('detects a windows-1252 (Latin-1) export and decodes it, € included', async () => {
    const body = Buffer.from([HEADER, row(1, { customer_name: 'Café 5 X' }), row(2)].join('\n'), 'latin1');
    body[body.indexOf('5 X') + 2] = 0x80;
    const r = await validate('bronze/enc/latin1.csv', body);
    expect(r).toMatchObject({ valid: 2, encoding: { encoding: 'windows-1252', bom: false } });
    expect((await jsonLines(r.outputs.silver)).map((s) => s.customer_name)).toEqual(['Café 5 €', 'Zoë Müller']);
  });

  it('keeps a UTF-8 file whose only non-ASCII letter is a spacing modifier (Uzbek oʻ, gʻ) as UTF-8, accented rows after it valid', async () => {
    const rows = [...Array.from({ length: 3000 }, (_, i) => row(i, { customer_name: 'Oʻktam Gʻulomov' })), ...Array.from({ length: 100 }, (_, i) => row(3000 + i))];
    const r = await validate('bronze/enc/uzbek.csv', Buffer.from([HEADER, ...rows].join('\n'), 'utf8'));
    expect(r).toMatchObject({ rowsRead: 3100, valid: 3100, rejected: 0, encoding: { encoding: 'utf-8', invalidBytes: false } });
    const names = new Set((await jsonLines(r.outputs.silver)).map((s) => s.customer_name));
    expect(names).toEqual(new Set(['Oʻktam Gʻulomov', 'Zoë Müller']));
  });

  it('rejects the rows of a windows-1252 file that hold UTF-8 (files joined from two sources), not the file', async () => {
    // The first 64 KiB past the first accent decide windows-1252; a UTF-8 row comes far later.
    const latin = Buffer.from([HEADER, ...Array.from({ length: 2000 }, (_, i) => row(i, { customer_name: 'Müller' }))].join('\n'), 'latin1');
    const body = Buffer.concat([latin, Buffer.from(`\n${row(2000, { customer_name: 'Müller' })}\n`, 'utf8'), Buffer.from(`${row(2001, { customer_name: 'RENÉ\u00a0DUPONT' })}\n`, 'latin1')]);
    const r = await validate('bronze/enc/joined.csv', body);
    expect(r).toMatchObject({ rowsRead: 2002, valid: 2001, rejected: 1, encoding: { encoding: 'windows-1252', invalidBytes: false, utf8Inside: true } });
    const [rejected] = await jsonLines(r.outputs.quarantine);
    expect(rejected).toMatchObject({ row: 2002, reasons: ['encoding: UTF-8 in a file read as windows-1252 ("Ã¼" is "ü" in UTF-8): save the whole file in one encoding'] });
    // The windows-1252 file's own accented capital before a no-break space is not UTF-8.
    expect((await jsonLines(r.outputs.silver)).find((s) => s.order_id === 'ORD-2001')?.customer_name).toBe('RENÉ\u00a0DUPONT');
  });

  it('rejects rows holding bytes that are invalid in the detected encoding, not the file', async () => {
    const good = [HEADER, ...Array.from({ length: 100 }, (_, i) => row(i))].join('\n');
    const bad = Buffer.concat([Buffer.from(`${good}\n`), Buffer.from('ORD-X,C,Zo'), Buffer.from([0xeb]), Buffer.from(',2026-11-25,paid,EUR,2,9.95,19.90,DE,\n')]);
    const r = await validate('bronze/enc/mixed.csv', bad);
    expect(r).toMatchObject({ valid: 100, rejected: 1, encoding: { encoding: 'utf-8', invalidBytes: true } });
    expect((await jsonLines(r.outputs.quarantine))[0].reasons).toEqual(['encoding: bytes that are not valid utf-8 (shown as U+FFFD)']);
  });

  it('keeps a U+FFFD the file holds, and rejects a row holding a NUL past the start of the file', async () => {
    const good = [HEADER, ...Array.from({ length: 100 }, (_, i) => row(i))].join('\n');
    const body = [good, row(100, { customer_name: 'Zo\uFFFD' }), row(101, { customer_name: 'Zo\u0000e' }), row(102)].join('\n');
    const r = await validate('bronze/enc/nul.csv', `${body}\n`);
    expect(r).toMatchObject({ rowsRead: 103, valid: 102, rejected: 1, encoding: { encoding: 'utf-8', invalidBytes: false } });
    const [rejected] = await jsonLines(r.outputs.quarantine);
    expect(rejected).toMatchObject({ row: 103, reasons: ['text: a NUL character (U+0000), which databases refuse in text'] });
    expect((await jsonLines(r.outputs.silver)).find((s) => s.order_id === 'ORD-100')?.customer_name).toBe('Zo\uFFFD');
  });

  it('handles CRLF, quoted commas, quotes and line breaks, with each record on its first line', async () => {
    const body = [
      HEADER,
      row(1, { customer_name: '"Müller, Zoë"' }),
      row(2, { customer_name: '"two\r\nlines ""quoted"""' }),
      row(3, { status: 'lost' }),
      '',
      row(4, { customer_name: '"a\nb\nc"', quantity: 'x' }),
    ].join('\r\n');
    const r = await validate('bronze/orders/quoted.csv', `${body}\r\n`);
    expect(r).toMatchObject({ rowsRead: 4, valid: 2, rejected: 2, blankLines: 1 });
    expect((await jsonLines(r.outputs.silver)).map((s) => s.customer_name)).toEqual(['Müller, Zoë', 'two\r\nlines "quoted"']);
    expect((await jsonLines(r.outputs.quarantine)).map((q) => q.row)).toEqual([5, 7]);
  });

  it('counts whitespace-only and empty lines before the header and after it as blank lines', async () => {
    const r = await validate('bronze/orders/spaced.csv', ['  ', '', HEADER, row(1), '  ', row(2), '\t', ''].join('\n'));
    expect(r).toMatchObject({ status: 'validated', rowsRead: 2, valid: 2, rejected: 0, blankLines: 4 });
    expect(r.outputs.quarantine).toBeNull();
    // A whitespace line in the order_id column takes no duplicate-check answer meant for a row.
    const dup = await validate('bronze/orders/spaced-dup.csv', [HEADER, row(1), '  ', row(1), '  ', row(2)].join('\n'));
    expect(dup).toMatchObject({ rowsRead: 3, valid: 2, rejected: 1, blankLines: 2 });
    expect((await jsonLines(dup.outputs.quarantine))[0]).toMatchObject({ row: 4 });
  });

  it('quarantines a repeated order_id, pointing at its first line', async () => {
    const body = [HEADER, row(1), row(2), row(1, { customer_id: 'OTHER' }), row(3), row(2)].join('\n');
    const r = await validate('bronze/orders/dups.csv', body);
    expect(r).toMatchObject({ rowsRead: 5, valid: 3, rejected: 2 });
    expect((await jsonLines(r.outputs.quarantine)).map((q) => [q.row, q.reasons])).toEqual([
      [4, ['order_id: "ORD-1" already appears on line 2']],
      [6, ['order_id: "ORD-2" already appears on line 3']],
    ]);
  });

  it('validates a header-only file: an empty silver part and a manifest saying so', async () => {
    const r = await validate('bronze/orders/header-only.csv', `${HEADER}\r\n`);
    expect(r).toMatchObject({ status: 'validated', rowsRead: 0, valid: 0, rejected: 0, outputs: { quarantine: null } });
    expect(await text(r.outputs.silver as string)).toBe('');
  });

  it.each([
    ['an empty object', 'bronze/bad/empty.csv', '', 'empty-file', /empty \(0 bytes\)/],
    ['blank lines only', 'bronze/bad/blank.csv', '\r\n\r\n  \n', 'empty-file', /no header row/],
    ['a renamed and a missing column', 'bronze/bad/renamed.csv', `${HEADER.replace('amount', 'Amount ').replace(',country', '')}\n${row(1)}\n`, 'header', /missing required column\(s\): amount, country; "Amount" looks like "amount"/],
    ['an optional column spelled otherwise', 'bronze/bad/respelled.csv', `${HEADER.replace('email', 'Email')}\n${row(1)}\n`, 'header', /optional column\(s\) spelled otherwise: "Email" for email/],
    ['semicolons', 'bronze/bad/semicolons.csv', `${HEADER.replaceAll(',', ';')}\n`, 'header', /delimited by ";"/],
    ['a header ending in a lone CR among CRLF rows', 'bronze/bad/header-cr.csv', `${HEADER}\r${[row(1), row(2), row(3)].join('\r\n')}\r\n`, 'header', /header cell\(s\) holding a line break: "email\\rORD-1"/],
    ['a quote never closed, over the rows after it', 'bronze/bad/unbalanced.csv', `${HEADER}\n${row(1)}\n${row(2, { customer_name: '"open' })}\n${row(3)}\n${row(4)}\n`, 'unbalanced-quotes', /quote on line 3 is never closed, and its record runs over 3 lines \(to line 5\)/],
    ['a quote never closed', 'bronze/bad/unclosed.csv', `${HEADER}\n${row(1, { customer_name: '"open' })}\n${row(2).repeat(1).padEnd(2 ** 21, 'x')}\n`, 'record-too-large', /line 2 is longer than/],
  ])('quarantines a file that is not an orders CSV: %s', async (_, key, body, reason, detail) => {
    const r = await validate(key, body);
    expect(r).toMatchObject({ status: 'rejected', reason, rowsRead: 0, valid: 0, rejected: 0, outputs: { silver: null, quarantine: null } });
    expect(r.detail).toMatch(detail);
    expect(r.outputs.manifests).toEqual([expect.stringMatching(/^quarantine\/bad\/.*\/_manifest\.json$/)]);
    const base = key.replace('bronze/', '').replace('.csv', '');
    expect(await keysUnder(`silver/${base}/`)).toEqual([]);
  });

  it.each([
    ['gzip bytes named .csv', 'bronze/poison/gzipped.csv', gzipSync(`${HEADER}\n${row(1)}\n`), 'binary', /signature of gzip/],
    ['PDF-ish junk with NUL bytes', 'bronze/poison/junk.csv', Buffer.concat([Buffer.from('%PDF-1.4\n\u0000\u0000'), Buffer.alloc(2048, 7)]), 'binary', /signature of PDF/],
    ['UTF-32', 'bronze/poison/utf32.csv', Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), Buffer.from(`${HEADER}\n`, 'utf16le')]), 'unsupported-encoding', /UTF-32/],
  ])('records a poison file in quarantine, then fails so that the event reaches the DLQ: %s', async (_, key, body, reason, detail) => {
    const ref = await put(key, body);
    const base = key.replace('bronze/', '').replace('.csv', '');
    const manifestKey = `quarantine/${base}/${ref.etag}/_manifest.json`;
    const attempt = async (requestId: string) => {
      const error = await processor()
        .process(ref, scope(requestId))
        .then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(PoisonFileError);
      expect(error).toMatchObject({ name: 'PoisonFileError', reason, manifest: manifestKey, message: expect.stringContaining(`s3://${BUCKET}/${key} (${reason})`) });
      expect((error as Error).message).toMatch(detail);
      return JSON.parse((await text(manifestKey)) as string) as Manifest;
    };
    const manifest = await attempt('req-poison-1');
    expect(manifest).toMatchObject({ status: 'rejected', reason, requestId: 'req-poison-1', rowsRead: 0, outputs: { silver: null, quarantine: null, manifests: [manifestKey] } });
    expect(manifest.detail).toMatch(detail);
    expect(await keysUnder(`silver/${base}/`)).toEqual([]);
    // Not stored as done: the retry (Lambda's, with a new request id) fails the same way instead of replaying.
    expect(await attempt('req-poison-2')).toMatchObject({ requestId: 'req-poison-2' });
  });

  it('reports a junk header of thousands of cells in a bounded manifest (and idempotency record)', async () => {
    const junk = Array.from({ length: 5000 }, (_, i) => `word${i}`).join(',');
    const r = await validate('bronze/bad/wide.csv', `${junk}\n1,2,3\n`);
    expect(r).toMatchObject({ status: 'rejected', reason: 'header', header: { columnCount: 5000 } });
    expect(r.header?.columns).toHaveLength(100);
    expect(r.detail).toMatch(/unknown column\(s\): "word0", .* and 4980 more$/);
    // The stored result comes back on a second delivery: it fitted in the item.
    expect(await processor().process({ bucket: BUCKET, key: 'bronze/bad/wide.csv', etag: r.source.etag as string, eventTime: '2026-11-25T12:00:00.000Z', eventName: 'ObjectCreated:Put', source: 's3-notification' }, scope())).toMatchObject({ replayed: true });
  });

  it('reports a header cell of megabytes (a quote never closed) in a bounded result that is stored and replayed', async () => {
    const long = 'x'.repeat(300_000);
    // A required column under a long cell: rejected, with the cell named in 40 characters.
    const rejected = await validate('bronze/bad/long-cell.csv', `order_id${long},${HEADER.split(',').slice(1).join(',')}\n${row(1)}\n`);
    expect(rejected).toMatchObject({ status: 'rejected', reason: 'header' });
    expect(rejected.detail).toMatch(/missing required column\(s\): order_id; "order_idx{32}…" looks like "order_id"/);
    // An optional one: the file is validated, and its header report is as small.
    const validated = await validate('bronze/bad/long-optional.csv', `${HEADER.replace(',email', '')},email${long}\n${row(1).replace(',zoe@example.com', ',x')}\n`);
    expect(validated).toMatchObject({ status: 'validated', valid: 1 });
    for (const r of [rejected, validated]) {
      expect(JSON.stringify(r).length).toBeLessThan(8_000);
      // Stored: a second delivery replays it instead of redoing the file and failing to store it again.
      const again = await processor().process({ bucket: BUCKET, key: r.source.key, etag: r.source.etag as string, eventTime: '2026-11-25T12:00:00.000Z', eventName: 'ObjectCreated:Put', source: 's3-notification' }, scope());
      expect(again).toMatchObject({ replayed: true });
    }
  });

  it('accepts extra columns (reported, not written) and a missing optional column', async () => {
    const header = `${HEADER.replace(',email', '')},note`;
    const body = `${header}\n${row(1).replace(',zoe@example.com', ',a note')}\n`;
    const r = await validate('bronze/orders/extra.csv', body);
    expect(r).toMatchObject({ valid: 1, header: { status: 'extra-columns', extra: ['note'], missing: ['email'] } });
    expect(await jsonLines(r.outputs.silver)).toEqual([expect.not.objectContaining({ note: expect.anything() })]);
  });
});

describe('events and idempotency', () => {
  it('validates each object version once: a second delivery replays the stored result', async () => {
    const sent: string[] = [];
    const counting = s3Client();
    counting.middlewareStack.add((next, context) => (args) => {
      sent.push(context.commandName as string);
      return next(args);
    }, { step: 'initialize', name: 'count' });
    const ref = await put('bronze/orders/twice.csv', [HEADER, row(1), row(2)].join('\n'));
    const p = processor(counting);
    const first = validated(await p.process(ref, scope('req-a')));
    const manifestKey = first.outputs.manifests[0] as string;
    const before = await text(manifestKey);
    sent.length = 0;
    const second = validated(await p.process({ ...ref, eventTime: new Date().toISOString(), source: 'eventbridge' }, scope('req-b')));
    expect(second).toEqual({ ...first, replayed: true });
    expect(sent).toEqual([]);
    expect(await text(manifestKey)).toBe(before);
    counting.destroy();
  });

  it('finishes the job on the retry after a failure halfway through the object', async () => {
    const stats: GeneratedStats = { rows: 0, bytes: 0, invalid: 0 };
    // ~9 MB: the silver output goes multipart before the failure.
    const body = Buffer.from([...generateOrders(9e6, stats, 3)].join(''));
    const ref = await put('bronze/orders/crash.csv', body);
    const flaky = s3Client();
    const sent: string[] = [];
    let partSent: () => void = () => undefined;
    const firstPart = new Promise<void>((resolve) => {
      partSent = resolve;
    });
    flaky.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push(context.commandName as string);
        if (context.commandName === 'UploadPartCommand') partSent();
        const out = await next(args);
        if (context.commandName !== 'GetObjectCommand') return out;
        const original = (out.output as { Body: Readable }).Body;
        let bytes = 0;
        // The connection dies after 80 % of the object — once a silver part is on its way.
        const dying = new Readable({ read() {} });
        original.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > body.length * 0.8) {
            original.pause();
            void firstPart.then(() => {
              original.destroy();
              dying.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
            });
          } else dying.push(chunk);
        });
        (out.output as { Body: Readable }).Body = dying;
        return out;
      },
      { step: 'initialize', name: 'dieHalfway' },
    );
    await expect(processor(flaky).process(ref, scope('req-crash'))).rejects.toThrow('socket hang up');
    expect(sent).toContain('UploadPartCommand');
    expect(sent).not.toContain('CompleteMultipartUploadCommand');
    expect(await keysUnder('silver/orders/crash/')).toEqual([]);
    expect(await keysUnder('quarantine/orders/crash/')).toEqual([]);
    flaky.destroy();

    const retry = validated(await processor().process(ref, scope('req-retry')));
    expect(retry).toMatchObject({ status: 'validated', rowsRead: stats.rows });
    // The generator's count is approximate (a repeated id may point at an id itself replaced).
    expect(retry.rejected).toBeGreaterThan(stats.invalid * 0.9);
    await expectReconciled(retry);
    // Exactly what a run that never failed writes: the same file under another key, validated once.
    const reference = validated(await processor().process(await put('bronze/orders/never-failed.csv', body), scope('req-reference')));
    expect({ rowsRead: retry.rowsRead, valid: retry.valid, rejected: retry.rejected }).toEqual({ rowsRead: reference.rowsRead, valid: reference.valid, rejected: reference.rejected });
    // The same lines; their order may differ where the duplicate check held rows back, which its
    // random seed chooses per run (duplicates.ts).
    const lines = async (key: string | null) => ((key ? await text(key) : '') ?? '').split('\n').sort();
    expect(await lines(retry.outputs.silver)).toEqual(await lines(reference.outputs.silver));
    expect(await lines(retry.outputs.quarantine)).toEqual(await lines(reference.outputs.quarantine));
  });

  it('takes over the claim of an invocation that died, and waits for one still running', async () => {
    const ref = await put('bronze/orders/claimed.csv', [HEADER, row(1)].join('\n'));
    // The record id Powertools derives for this object version, caught on its first PutItem.
    let id = '';
    const capture = createDynamoDBClient({ region: dynamo.region, endpoint: dynamo.endpoint, credentials: dynamo.credentials });
    capture.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'PutItemCommand') return next(args);
        id = (args.input as { Item: { id: { S: string } } }).Item.id.S;
        throw new Error('captured');
      },
      { step: 'initialize', name: 'capture' },
    );
    const c = createProcessor({ s3: client, dynamo: capture, config });
    c.registerLambdaContext({ getRemainingTimeInMillis: () => 60_000 } as never);
    await expect(c.process(ref, scope())).rejects.toThrow();
    capture.destroy();
    expect(id).toMatch(/^csv-validator#/);

    // What an invocation leaves when it is killed: an IN_PROGRESS claim until its own deadline.
    const claim = (until: number) =>
      db.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: {
            id: { S: id },
            status: { S: 'INPROGRESS' },
            expiration: { N: String(Math.floor(Date.now() / 1000) + 3600) },
            in_progress_expiration: { N: String(until) },
          },
        }),
      );
    await claim(Date.now() + 60_000);
    // It waits for the holder half of its remaining time (here 1 of 2 s), then leaves it to a retry.
    // A floor that holds on any machine: the 2 s are counted from after `asked` on the same clock,
    // and the wait ends only once that clock reaches half of what was left, so however slowly it
    // got there, about 1 s has passed (less any pause between the two clock reads that set the
    // wait's end: 100 ms of room). A wait it skipped fails here; no ceiling is checked.
    const asked = Date.now();
    await expect(processor(client, 2_000).process(ref, scope())).rejects.toThrow(ObjectInProgressError);
    expect(Date.now() - asked).toBeGreaterThanOrEqual(900);
    expect(await keysUnder('silver/orders/claimed/')).toEqual([]);

    await claim(Date.now() - 1_000);
    const taken = validated(await processor().process(ref, scope('req-takeover')));
    expect(taken).toMatchObject({ status: 'validated', valid: 1 });
    await expectReconciled(taken);
  });

  it('skips, with a manifest saying why, an object deleted before it could be read', async () => {
    const ref = await put('bronze/orders/deleted.csv', [HEADER, row(1)].join('\n'));
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: ref.key }));
    const r = validated(await processor().process(ref, scope()));
    expect(r).toMatchObject({ status: 'skipped', reason: 'source-missing', rowsRead: 0, outputs: { silver: null, manifests: [`quarantine/orders/deleted/${ref.etag}/_manifest.json`] } });
    await expectReconciled(r);
  });

  it('tells a deleted object or a replaced version from a real denial when S3 answers AccessDenied, as it does a role that may not list the bucket', async () => {
    const gone = await put('bronze/orders/gone-403.csv', [HEADER, row(1)].join('\n'));
    const kept = await put('bronze/orders/denied-403.csv', [HEADER, row(1)].join('\n'));
    const replaced = await put('bronze/orders/replaced-403.csv', [HEADER, row(1)].join('\n'));
    await put('bronze/orders/replaced-403.csv', [HEADER, row(2)].join('\n'));
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: gone.key }));
    const denying = s3Client();
    // S3's answer to a GET without s3:ListBucket, whether or not the key (or the version) exists.
    denying.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName !== 'GetObjectCommand') return next(args);
      throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    }, { step: 'initialize', name: 'deny' });
    expect(validated(await processor(denying).process(gone, scope()))).toMatchObject({ status: 'skipped', reason: 'source-missing', rowsRead: 0 });
    expect(validated(await processor(denying).process(replaced, scope('req-replaced')))).toMatchObject({ status: 'skipped', reason: 'source-changed', rowsRead: 0 });
    await expect(processor(denying).process(kept, scope('req-denied'))).rejects.toThrow(/AccessDenied reading s3:\/\/.*denied-403\.csv: the object exists, and the role may not read it/);
    denying.destroy();
  });

  it('tells a version deleted for good under a re-upload of the same bytes from a real denial by the current version id', async () => {
    const first = await put('bronze/orders/reuploaded-403.csv', [HEADER, row(1)].join('\n'));
    const again = await put('bronze/orders/reuploaded-403.csv', [HEADER, row(1)].join('\n'));
    expect(again.etag).toBe(first.etag);
    const denying = s3Client();
    // The embedded S3 keeps no versions: its HEAD answers as a versioned bucket's would, with the
    // current version's id, and the GET of any version as S3 answers a role without s3:ListBucket.
    denying.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'GetObjectCommand') throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      const out = await next(args);
      if (context.commandName === 'HeadObjectCommand') Object.assign(out.output as object, { VersionId: 'v-current' });
      return out;
    }, { step: 'initialize', name: 'deny-versioned' });
    const deleted = { ...first, versionId: 'v-deleted' };
    expect(validated(await processor(denying).process(deleted, scope('req-v-deleted')))).toMatchObject({ status: 'skipped', reason: 'source-changed', rowsRead: 0 });
    const current = { ...again, versionId: 'v-current' };
    await expect(processor(denying).process(current, scope('req-v-current'))).rejects.toThrow(/AccessDenied reading s3:\/\/.*reuploaded-403\.csv: the object exists, and the role may not read it/);
    denying.destroy();
  });

  it('says the deadline stopped it, not a denial, when the deadline comes while it looks into an AccessDenied', async () => {
    const ref = await put('bronze/orders/deadline-403.csv', [HEADER, row(1)].join('\n'));
    const stop = new AbortController();
    const denying = s3Client();
    denying.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'GetObjectCommand') throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      if (context.commandName !== 'ListObjectsV2Command') return next(args);
      stop.abort(new DeadlineExceededError('stopped before the function timeout; 900 ms left'));
      throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
    }, { step: 'initialize', name: 'deny-then-stop' });
    await expect(processor(denying).process(ref, { ...scope('req-deadline'), signal: stop.signal })).rejects.toThrow(DeadlineExceededError);
    denying.destroy();
  });

  it('skips an object replaced since its event (the GET is pinned to the event\'s ETag)', async () => {
    const ref = await put('bronze/orders/replaced.csv', [HEADER, row(1)].join('\n'));
    // Replaced before its event is handled: the embedded S3 answers the pinned GET 412, as S3 does.
    await put('bronze/orders/replaced.csv', [HEADER, row(1), row(2)].join('\n'));
    const ifMatch: (string | undefined)[] = [];
    const pinned = s3Client();
    pinned.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'GetObjectCommand') ifMatch.push((args.input as { IfMatch?: string }).IfMatch);
      return next(args);
    }, { step: 'initialize', name: 'record-if-match' });
    const r = validated(await processor(pinned).process(ref, scope()));
    expect(ifMatch).toEqual([`"${ref.etag}"`]);
    expect(r).toMatchObject({ status: 'skipped', reason: 'source-changed' });
    pinned.destroy();
    // The skip is not stored as this version's outcome: the same bytes uploaded again (in an
    // unversioned bucket, the same key and ETag) are validated, not answered with the skip.
    const again = await processor().process(await put('bronze/orders/replaced.csv', [HEADER, row(1)].join('\n')), scope('req-again'));
    expect(again).toMatchObject({ status: 'validated', valid: 1 });
    expect(again).not.toHaveProperty('replayed');
    // The skip's quarantine manifest (same folder: same ETag) is replaced, not left contradicting silver's.
    const manifests = validated(again).outputs.manifests;
    expect(manifests).toEqual([expect.stringMatching(/^silver\//), expect.stringMatching(/^quarantine\//)]);
    for (const key of manifests) {
      const text = await (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body?.transformToString();
      expect(JSON.parse(text as string)).toMatchObject({ status: 'validated', requestId: 'req-again' });
    }
    // The skip wrote no rows: no empty stand-in for them either.
    expect(await keysUnder('quarantine/orders/replaced/')).toEqual([manifests[1]]);
  });

  it('replaces what an earlier run of the same version wrote when this run ends otherwise: no stale rows, no contradicting manifest', async () => {
    // What a run before a validator fix left: outputs and manifests under this version's keys.
    const earlierRun = async (ref: S3ObjectRef, outputs: { silver: boolean; quarantine: boolean }) => {
      const keys = outputKeys(ref, { silver: 'silver/', quarantine: 'quarantine/' });
      const manifest = JSON.stringify({ manifestVersion: 1, status: 'validated', requestId: 'req-earlier', outputs: { silver: outputs.silver ? keys.silverPart : null, quarantine: outputs.quarantine ? keys.rejected : null } });
      if (outputs.silver) await put(keys.silverPart, '{"order_id":"ORD-stale"}\n');
      if (outputs.quarantine) await put(keys.rejected, '{"line":2}\n');
      await put(keys.silverManifest, manifest);
      await put(keys.quarantineManifest, manifest);
      return keys;
    };

    // Now quarantined whole (its header is no orders header): silver's manifest and rows go too.
    const rejectedWhole = await put('bronze/orders/rerun-rejected.csv', 'id,name\n1,x\n');
    const a = await earlierRun(rejectedWhole, { silver: true, quarantine: true });
    const r = validated(await processor().process(rejectedWhole, scope('req-rerun-rejected')));
    expect(r).toMatchObject({ status: 'rejected', reason: 'header', outputs: { silver: null, quarantine: null, manifests: [a.silverManifest, a.quarantineManifest] } });
    expect(await text(a.silverPart)).toBe('');
    expect(await text(a.rejected)).toBe('');
    for (const key of [a.silverManifest, a.quarantineManifest]) expect(JSON.parse((await text(key)) as string)).toMatchObject({ status: 'rejected', requestId: 'req-rerun-rejected' });

    // Now clean: the rows that run quarantined go, and its quarantine manifest says validated.
    const clean = await put('bronze/orders/rerun-clean.csv', [HEADER, row(1)].join('\n'));
    const b = await earlierRun(clean, { silver: true, quarantine: true });
    const c = validated(await processor().process(clean, scope('req-rerun-clean')));
    expect(c).toMatchObject({ status: 'validated', valid: 1, rejected: 0, outputs: { silver: b.silverPart, quarantine: null, manifests: [b.silverManifest, b.quarantineManifest] } });
    expect(await text(b.rejected)).toBe('');
    expect(JSON.parse((await text(b.quarantineManifest)) as string)).toMatchObject({ status: 'validated', requestId: 'req-rerun-clean' });

    // A first run writes no empty outputs: nothing was there to replace.
    const fresh = await put('bronze/orders/first-run-rejected.csv', 'id,name\n1,x\n');
    expect(validated(await processor().process(fresh, scope('req-first-run')))).toMatchObject({ status: 'rejected', outputs: { manifests: [expect.stringMatching(/^quarantine\//)] } });
    expect(await keysUnder('silver/orders/first-run-rejected/')).toEqual([]);
    expect(await keysUnder('quarantine/orders/first-run-rejected/')).toEqual([expect.stringMatching(/_manifest\.json$/)]);
  });

  it('leaves the manifest an earlier run of the same version wrote when a late redelivery finds the version gone', async () => {
    const ref = await put('bronze/orders/redelivered.csv', [HEADER, row(1), row(2, { quantity: '0' })].join('\n'));
    const first = validated(await processor().process(ref, scope('req-first')));
    expect(first).toMatchObject({ status: 'validated', valid: 1, rejected: 1 });
    const manifestKey = first.outputs.manifests.find((k) => k.startsWith('quarantine/')) as string;
    const before = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: manifestKey }));
    const text = await before.Body?.transformToString();
    // A day later (the idempotency record expired) the event comes again, and the version is gone.
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: ref.key }));
    const late = validated(await createProcessor({ s3: client, dynamo: db, config: { ...config, IDEMPOTENCY_TABLE: `${TABLE}-fresh` } }).process(ref, scope('req-late')));
    expect(late).toMatchObject({ status: 'skipped', reason: 'source-missing', outputs: { manifests: [] } });
    const after = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: manifestKey }));
    expect(await after.Body?.transformToString()).toBe(text);
    expect(JSON.parse(text as string)).toMatchObject({ status: 'validated', requestId: 'req-first' });

    // A clean file's run left only silver's manifest: the late skip writes none beside it.
    const clean = await put('bronze/orders/redelivered-clean.csv', [HEADER, row(1)].join('\n'));
    const validatedRun = validated(await processor().process(clean, scope('req-clean')));
    expect(validatedRun.outputs.manifests).toEqual([expect.stringMatching(/^silver\//)]);
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: clean.key }));
    const lateClean = validated(await createProcessor({ s3: client, dynamo: db, config: { ...config, IDEMPOTENCY_TABLE: `${TABLE}-fresh` } }).process(clean, scope('req-late-clean')));
    expect(lateClean).toMatchObject({ status: 'skipped', reason: 'source-missing', outputs: { manifests: [] } });
    expect(await keysUnder(`quarantine/orders/redelivered-clean/`)).toEqual([]);
  });

  it('claims an object again at once when the claim it was refused is released before it could be read (a skip is not stored)', async () => {
    const ref = await put('bronze/orders/released-claim.csv', [HEADER, row(1)].join('\n'));
    // As when another delivery held the claim and let it go (its skip is not stored) between this
    // one's refused PutItem and Powertools' read of the holder's record: the read finds nothing.
    const racing = createDynamoDBClient({ region: dynamo.region, endpoint: dynamo.endpoint, credentials: dynamo.credentials });
    const calls: string[] = [];
    racing.middlewareStack.add(
      (next, context) => async (args) => {
        calls.push(context.commandName as string);
        if (context.commandName === 'PutItemCommand' && calls.filter((c) => c === 'PutItemCommand').length === 1) {
          throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: { httpStatusCode: 400 } });
        }
        return next(args);
      },
      { step: 'initialize', name: 'holder-released' },
    );
    const p = createProcessor({ s3: client, dynamo: racing, config });
    p.registerLambdaContext({ getRemainingTimeInMillis: () => 60_000 } as never);
    const before = warnings.length;
    const outcome = validated(await p.process(ref, scope('req-released')));
    expect(outcome).toMatchObject({ status: 'validated', rowsRead: 1, valid: 1 });
    expect((outcome as { replayed?: boolean }).replayed).toBeUndefined();
    // Refused, read (nothing there), claimed: no wait for a holder that is gone.
    expect(calls.slice(0, 3)).toEqual(['PutItemCommand', 'GetItemCommand', 'PutItemCommand']);
    expect(warnings.slice(before)).not.toContainEqual(expect.stringMatching(/another invocation holds this object/));
    racing.destroy();
  });

  it('decodes keys with spaces, plus signs and unicode from classic notifications', async () => {
    const keys = ['bronze/exports/Q4 2026/orders été.csv', 'bronze/c++ team/orders+2026 (1).csv'];
    const refs = [];
    for (const key of keys) refs.push(await put(key, [HEADER, row(1)].join('\n')));
    const event = {
      Records: refs.map((r, i) => ({
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: '2026-11-25T12:00:00.000Z',
        eventName: 'ObjectCreated:Put',
        s3: { s3SchemaVersion: '1.0', bucket: { name: BUCKET }, object: { key: encodeS3EventKey(r.key), size: r.size, eTag: r.etag, sequencer: `0${i}` } },
      })),
    };
    expect(event.Records[1]?.s3.object.key).toBe('bronze/c%2B%2B+team/orders%2B2026+%281%29.csv');
    const p = processor();
    const outcomes = [];
    for (const ref of parseS3Event(event)) outcomes.push(validated(await p.process(ref, scope())));
    expect(outcomes.map((o) => o.outputs.silver)).toEqual([
      `silver/exports/Q4 2026/orders été/${refs[0]?.etag}/part-00000.jsonl`,
      `silver/c++ team/orders+2026 (1)/${refs[1]?.etag}/part-00000.jsonl`,
    ]);
    for (const o of outcomes) expect(await jsonLines(o.outputs.silver)).toHaveLength(1);
  });

  it("validates a source key of S3's full 1,024 bytes, its outputs under keys that S3 takes too", async () => {
    // Segments the embedded S3 can keep as file names; only the key's whole length is at issue.
    const folders = Array.from({ length: 4 }, (_, i) => `${i}${'é'.repeat(110)}`).join('/');
    const key = `bronze/${folders}/${'o'.repeat(1024 - 'bronze/'.length - Buffer.byteLength(folders) - 1 - 4)}.csv`;
    expect(Buffer.byteLength(key)).toBe(1024);
    const ref = await put(key, [HEADER, row(1), row(2, { quantity: '0' })].join('\n'));
    const outcome = validated(await processor().process(ref, scope()));
    expect(outcome).toMatchObject({ status: 'validated', rowsRead: 2, valid: 1, rejected: 1 });
    const written = [outcome.outputs.silver as string, outcome.outputs.quarantine as string, ...outcome.outputs.manifests];
    for (const k of written) expect(Buffer.byteLength(k), k).toBeLessThanOrEqual(1024);
    expect(outcome.outputs.silver).toMatch(/~[0-9a-f]{16}\//);
    expect(await jsonLines(outcome.outputs.silver)).toHaveLength(1);
    expect(await jsonLines(outcome.outputs.quarantine as string)).toHaveLength(1);
    // The manifest names the source in full.
    const manifest = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: outcome.outputs.manifests[0] }));
    expect(JSON.parse((await manifest.Body?.transformToString()) as string)).toMatchObject({ source: { key } });
  });

  it('validates a key ending in .CSV, as its trigger matches it', async () => {
    const p = processor();
    for (const key of ['bronze/exports/ORDERS.CSV']) {
      const ref = await put(key, [HEADER, row(1), row(2, { quantity: '0' })].join('\n'));
      const outcome = validated(await p.process(ref, scope()));
      expect(outcome).toMatchObject({ status: 'validated', rowsRead: 2, valid: 1, rejected: 1 });
      expect(await jsonLines(outcome.outputs.silver)).toHaveLength(1);
    }
  });

  it('ignores what is not a bronze CSV in the lake bucket', async () => {
    const base = { size: 1, etag: 'e', eventTime: '2026-11-25T12:00:00.000Z', source: 'eventbridge' as const };
    const p = processor();
    expect(await p.process({ ...base, bucket: BUCKET, key: 'silver/x.csv', eventName: 'Object Created:PutObject' }, scope())).toMatchObject({ status: 'ignored' });
    // Outside the trigger's suffix and the role's grant (a manual or redriven event).
    expect(await p.process({ ...base, bucket: BUCKET, key: 'bronze/x.txt', eventName: 'Object Created:PutObject' }, scope())).toMatchObject({ status: 'ignored' });
    expect(await p.process({ ...base, bucket: BUCKET, key: 'bronze/x.csv.gz', eventName: 'Object Created:PutObject' }, scope())).toMatchObject({ status: 'ignored' });
    // Mixed case: neither the rule nor the role's grant names it.
    expect(await p.process({ ...base, bucket: BUCKET, key: 'bronze/x.Csv', eventName: 'Object Created:PutObject' }, scope())).toMatchObject({ status: 'ignored' });
    expect(await p.process({ ...base, bucket: 'other', key: 'bronze/x.csv', eventName: 'Object Created:PutObject' }, scope())).toMatchObject({ status: 'ignored' });
    expect(await p.process({ ...base, bucket: BUCKET, key: 'bronze/x.csv', eventName: 'ObjectRemoved:Delete' }, scope())).toMatchObject({ status: 'ignored' });
  });

  it('ignores an event that named no version or ETag for an object already deleted, which S3 answers 403 to this role', async () => {
    const denying = s3Client();
    const heads: string[] = [];
    // As S3 answers a role whose s3:ListBucket is scoped by prefix: a HEAD of a missing key is 403.
    denying.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName !== 'HeadObjectCommand') return next(args);
      heads.push((args.input as { Key: string }).Key);
      throw Object.assign(new Error('Forbidden'), { name: '403', $metadata: { httpStatusCode: 403 } });
    }, { step: 'initialize', name: 'deny-head' });
    const gone = { bucket: BUCKET, key: 'bronze/orders/never-there.csv', eventName: 'Object Created:PutObject', eventTime: '2026-11-25T12:00:00.000Z', source: 'eventbridge' as const };
    expect(await processor(denying).process(gone, scope())).toMatchObject({ status: 'ignored', detail: expect.stringMatching(/gone before it could be read/) });
    expect(heads).toEqual([gone.key]);
    // A 403 for an object that is there is a denial, not a deletion: it fails, for the retries and the DLQ.
    const there = await put('bronze/orders/denied.csv', [HEADER, row(1)].join('\n'));
    await expect(processor(denying).process({ ...gone, key: there.key }, scope())).rejects.toThrow('Forbidden');
    denying.destroy();
  });

  it('stops at the deadline: uploads aborted, nothing visible, the claim released for the retry', async () => {
    const stats: GeneratedStats = { rows: 0, bytes: 0, invalid: 0 };
    const ref = await put('bronze/orders/deadline.csv', Buffer.from([...generateOrders(2e6, stats, 5)].join('')));
    let chunks = 0;
    const stopAfter = () => {
      if (++chunks > 10) throw new DeadlineExceededError('stopped reading the object: 900 ms left');
    };
    await expect(processor().process(ref, scope('req-late', stopAfter))).rejects.toThrow(DeadlineExceededError);
    expect(await keysUnder('silver/orders/deadline/')).toEqual([]);
    const retried = await processor().process(ref, scope('req-again'));
    const retry = validated(retried);
    expect(retry).toMatchObject({ status: 'validated', rowsRead: stats.rows });
    // Every row of the retry accounted for: read = valid + rejected, each in silver or quarantine.
    expect(retry.rejected).toBeGreaterThan(stats.invalid * 0.9);
    await expectReconciled(retried);
  });

  it('names the deadline, not the SDK\'s abort, when the stop comes during a request', async () => {
    const ref = await put('bronze/orders/stopped-mid-request.csv', Buffer.from('order_id\n'));
    // Every S3 request waits half a second before it goes: the stop comes while one is pending.
    const slow = s3Client();
    slow.middlewareStack.add((next) => async (args) => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      return next(args);
    }, { step: 'build', name: 'slowRequests' });
    const stop = new AbortController();
    setTimeout(() => stop.abort(new DeadlineExceededError('stopping: 900 ms left')), 50);
    const error = await processor(slow).process(ref, { ...scope('req-stopped-mid-request'), signal: stop.signal }).catch((e: unknown) => e);
    slow.destroy();
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(await keysUnder('silver/orders/stopped-mid-request/')).toEqual([]);
    expect(await keysUnder('quarantine/orders/stopped-mid-request/')).toEqual([]);
  });

  it('stops at the deadline while the download has stalled, even if the stalled stream ignores it', async () => {
    const stats: GeneratedStats = { rows: 0, bytes: 0, invalid: 0 };
    const ref = await put('bronze/orders/stalled.csv', Buffer.from([...generateOrders(2e6, stats, 6)].join('')));
    // A client whose downloads deliver 256 KiB and then nothing, never ending nor failing: the
    // worst a socket can do. Only the invocation's own stop can end the run.
    const stalling = s3Client();
    const send = stalling.send.bind(stalling) as (command: unknown, options?: unknown) => Promise<Record<string, unknown>>;
    stalling.send = (async (command: unknown, options?: unknown) => {
      const out = await send(command, options);
      if (!(command instanceof GetObjectCommand)) return out;
      const stalled = new Readable({ read: () => undefined });
      (async () => {
        let passed = 0;
        for await (const chunk of out.Body as Readable) {
          if (passed >= 256 * 1024) break;
          stalled.push(chunk);
          passed += (chunk as Buffer).length;
        }
      })().catch(() => {
        // On a loaded machine the deadline can come before 256 KiB have passed: the real download
        // is then still being read here when the test destroys the client, and fails with "aborted".
      });
      return { ...out, Body: stalled };
    }) as typeof stalling.send;
    const stop = new AbortController();
    setTimeout(() => stop.abort(new DeadlineExceededError('stopping: 900 ms left')), 300);
    await expect(processor(stalling).process(ref, { ...scope('req-stalled'), signal: stop.signal })).rejects.toThrow(DeadlineExceededError);
    stalling.destroy();
    expect(await keysUnder('silver/orders/stalled/')).toEqual([]);
    const retried = await processor().process(ref, scope('req-after-stall'));
    const retry = validated(retried);
    expect(retry).toMatchObject({ status: 'validated', rowsRead: stats.rows });
    // Every row of the retry accounted for: read = valid + rejected, each in silver or quarantine.
    expect(retry.rejected).toBeGreaterThan(stats.invalid * 0.9);
    await expectReconciled(retried);
  });
});
