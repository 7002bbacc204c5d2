import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client, MIN_PART_SIZE } from '@laminar/aws';
import { type S3Emulator, startS3 } from '@laminar/emulators';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DuplicateDetectorOptions } from '../../src/duplicates.ts';
import { COUNTRY_CODES, CURRENCY_CODES } from '../../src/iso-codes.ts';
import { ORDER_COLUMNS, ORDER_STATUSES, orderRowSchema } from '../../src/schema.ts';
import { type Manifest, type ValidationResult, validateObject } from '../../src/validate.ts';
import { Rng } from '../seeded-rng.ts';

/*
 * A seeded differential test of the whole pipeline (S3 → decoder → CSV reader → header → fast
 * validator → duplicate check → multipart uploads → manifests) against a reference that reads the
 * whole text at once and knows nothing of streaming, batches, Bloom filters or spill files.
 *
 * The reference parses with a small RFC 4180 splitter written here rather than papaparse: the
 * pipeline parses with papaparse, so a reference built on it would share its quirks and could not
 * catch them. The generator only writes well-formed CSV (no stray or unclosed quotes, no lone-CR
 * line endings), the part of the format where RFC 4180 and the README agree on every record, so
 * the splitter can stay simple and exact. Every verdict comes from zod's own
 * orderRowSchema.safeParse on the record mapped by header, never from the generator's intent.
 *
 * Every case is derived from its seed (mulberry32 from bench/generate.ts), so a failure replays
 * with `vitest run tests/integration/validate-fuzz.test.ts -t "seed 1007"`; a failing case also
 * writes its CSV to the OS temp folder and names it in the message.
 */

// validateObject has no knob for the duplicate check's filter size or settling budget, yet the
// paths they lead to (nearly every record held back; settling partitioned on disk) are where
// order and line bookkeeping are most likely to slip. The real detector already takes both
// options (its unit tests use them): this subclass only passes a case's choice through.
const tuning = vi.hoisted(() => ({
  options: {} as { expectedRows?: number; settleBudgetBytes?: number },
  deferred: 0,
}));
vi.mock('../../src/duplicates.ts', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/duplicates.ts')>();
  class TunedDetector extends actual.DuplicateDetector {
    constructor(options: DuplicateDetectorOptions) {
      super({ ...options, ...tuning.options });
    }
    override *resolve(): ReturnType<InstanceType<typeof actual.DuplicateDetector>['resolve']> {
      tuning.deferred += this.deferredCount;
      yield* super.resolve();
    }
  }
  return { ...actual, DuplicateDetector: TunedDetector };
});

const BUCKET = 'lake';
const COLUMNS: readonly string[] = ORDER_COLUMNS;
// The same rule validate.ts documents: a column whose value may be undefined may be left out.
const OPTIONAL = COLUMNS.filter((name) => orderRowSchema.shape[name as keyof typeof orderRowSchema.shape].safeParse(undefined).success);
const EXTRA_COLUMNS = ['note', 'source_system', 'batch_ref'];

let s3: S3Emulator;
let client: S3Client;
/** UploadPart requests per key: proof that a case really went through several parts. */
const partsSent = new Map<string, number>();

beforeAll(async () => {
  s3 = await startS3({ buckets: [BUCKET] });
  client = createS3Client({ region: s3.region, endpoint: s3.endpoint, credentials: s3.credentials, forcePathStyle: true });
  client.middlewareStack.add(
    (next, context) => (args) => {
      if (context.commandName === 'UploadPartCommand') {
        const key = (args.input as { Key: string }).Key;
        partsSent.set(key, (partsSent.get(key) ?? 0) + 1);
      }
      return next(args);
    },
    { step: 'initialize', name: 'countParts' },
  );
});
afterAll(async () => {
  client?.destroy();
  await s3?.stop();
});

// ---------------------------------------------------------------------------------------------
// The cases
// ---------------------------------------------------------------------------------------------

interface CaseSpec {
  seed: number;
  rows?: number;
  invalidRate?: number;
  /** The duplicate check's options for this case; drawn from the seed when not given. */
  detector?: { expectedRows?: number; settleBudgetBytes?: number };
  /** Outputs that must have gone up in more than one part (the point of the case). */
  multipart?: ('silver' | 'quarantine')[];
}

const CASES: CaseSpec[] = [
  { seed: 1, rows: 0 },
  { seed: 2, rows: 1 },
  { seed: 3, rows: 2, invalidRate: 1 },
  ...Array.from({ length: 30 }, (_, i) => ({ seed: 1000 + i })),
  // Multipart needs 5 MiB parts (S3's minimum, which the emulator enforces): silver is ~2.4× the
  // CSV, so ~45k rows make two or three parts; quarantine lines are ~350 bytes, so ~24k rejected
  // rows make two. The duplicate check keeps its natural size here to keep the runtime down.
  { seed: 9001, rows: 45_000, invalidRate: 0.03, detector: {}, multipart: ['silver'] },
  { seed: 9002, rows: 40_000, invalidRate: 0.6, detector: {}, multipart: ['quarantine'] },
];

type Eol = 'lf' | 'crlf' | 'mix';

interface Shape {
  seed: number;
  rows: number;
  columns: string[];
  absent: string[];
  extras: string[];
  eol: Eol;
  finalBreak: boolean;
  bom: boolean;
  leadingBlankLines: number;
  blankRate: number;
  quoteRate: number;
  quoteHeader: boolean;
  nonAsciiRate: number;
  awkwardRate: number;
  invalidRate: number;
  duplicateRate: number;
  idStyle: number;
  partSize: number;
  detector: { expectedRows?: number; settleBudgetBytes?: number };
  multipart: ('silver' | 'quarantine')[];
}

function shapeOf(spec: CaseSpec): Shape {
  const rng = new Rng(spec.seed);
  const rows = spec.rows ?? (rng.chance(0.15) ? rng.int(0, 40) : rng.int(40, 3000));
  const absent = OPTIONAL.filter(() => rng.chance(0.3));
  let columns = COLUMNS.filter((c) => !absent.includes(c));
  if (rng.chance(0.4)) columns = rng.shuffle(columns);
  const extras = rng.chance(0.3) ? rng.shuffle(EXTRA_COLUMNS).slice(0, rng.int(1, 2)) : [];
  for (const extra of extras) columns.splice(rng.int(0, columns.length), 0, extra);
  const quoteEverything = rng.chance(0.15);
  const tunings: Shape['detector'][] = [{}, {}, { expectedRows: 1 }, { settleBudgetBytes: rng.int(2048, 16384) }, { expectedRows: 1, settleBudgetBytes: rng.int(2048, 16384) }];
  return {
    seed: spec.seed,
    rows,
    columns,
    absent,
    extras,
    eol: rng.pick(['lf', 'crlf', 'mix'] as const),
    finalBreak: rng.chance(0.7),
    bom: rng.chance(0.25),
    leadingBlankLines: rng.chance(0.1) ? rng.int(1, 2) : 0,
    blankRate: rng.chance(0.3) ? 0.01 : 0,
    quoteRate: quoteEverything ? 0.9 : 0.02,
    quoteHeader: quoteEverything,
    nonAsciiRate: rng.chance(0.5) ? 0.2 : 0,
    awkwardRate: rng.pick([0, 0.02, 0.08]),
    invalidRate: spec.invalidRate ?? (rng.chance(0.1) ? 0 : rng.next() * 0.25),
    duplicateRate: rng.chance(0.2) ? 0 : rng.next() * 0.05,
    idStyle: rng.int(0, 3),
    partSize: rng.chance(0.5) ? MIN_PART_SIZE : MIN_PART_SIZE + rng.int(1, 1 << 20),
    detector: spec.detector ?? rng.pick(tunings),
    multipart: spec.multipart ?? [],
  };
}

// ---------------------------------------------------------------------------------------------
// Generator: rows mostly valid, some broken in every way the schema refuses
// ---------------------------------------------------------------------------------------------

const ASCII_NAMES = ['Ann Lee', 'Bob', "Sean O'Brien", 'Jean-Luc Picard', 'Mary Ann Smith Jr.', 'x'];
const NON_ASCII_NAMES = ['Zoë Müller', 'Łukasz Żółć', '山田 太郎', 'Ærøskøbing ApS', 'José Ñúñez', '😀 Emoji Person', 'Ελένη Παπαδοπούλου', 'Владимир', 'مريم', 'Café € 5'];
/** Values that must be quoted (commas, quotes, line breaks) or that test escaping in silver. */
const AWKWARD_TEXT = [
  'Müller, Zoë',
  'The "Boss"',
  'two\nlines',
  'two\r\nlines "quoted"',
  'three\n\nlines',
  'ends with CR\r',
  '\rstarts with CR',
  ' padded ',
  'tab\there',
  'ctrl \u0001\u001f\u007f',
  'line\u2028separator',
  'back\\slash',
  '"',
  ',',
  'a,"b",c',
];
const EXTRA_VALUES = ['', 'web', 'n/a', '12', 'see "notes"', 'x,y', 'multi\nline', 'ünïcödé', 'ends with CR\r'];
const DOMAINS = ['example.com', 'mail.example.org', 'shop.example.net', 'sub.example.co.uk'];

/** Kinds of breakage, tallied so that the last test can check each one was really produced. */
const MUTATIONS = [
  'order_id:bad',
  'order_id:missing',
  'customer_id:bad',
  'customer_name:long',
  'order_date:bad',
  'status:bad',
  'currency:bad',
  'quantity:bad',
  'unit_price:bad',
  'amount:mismatch',
  'amount:bad',
  'country:bad',
  'email:bad',
  'fields:short',
  'fields:long',
  'fields:middle',
] as const;
type Mutation = (typeof MUTATIONS)[number];

interface Written {
  fields: string[];
  line: number;
  blank: boolean;
  mutations: Mutation[];
}

interface GeneratedFile {
  text: string;
  /** What the generator meant to write, before the header's own line: checked against the splitter. */
  records: Written[];
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** A value in ten-thousandths as a decimal string with `decimals` places (0–4), exact or rounded half up. */
function decimalText(tenThousandths: number, decimals: number): string {
  const unit = 10 ** (4 - decimals);
  const rounded = Math.floor((tenThousandths + unit / 2) / unit);
  if (decimals === 0) return String(rounded);
  const digits = pad(rounded, decimals + 1);
  return `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
}

/** The fewest decimals (0–4) that write a value in ten-thousandths exactly. */
function exactDecimals(tenThousandths: number): number {
  let decimals = 4;
  while (decimals > 0 && tenThousandths % 10 ** (5 - decimals) === 0) decimals--;
  return decimals;
}

function validDate(rng: Rng): string {
  const year = rng.int(1999, 2030);
  const month = rng.int(1, 12);
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] as number;
  const day = `${year}-${pad(month, 2)}-${pad(rng.int(1, days), 2)}`;
  if (rng.chance(0.5)) return day;
  const time = `${pad(rng.int(0, 23), 2)}:${pad(rng.int(0, 59), 2)}:${pad(rng.int(0, 59), 2)}${rng.chance(0.2) ? `.${pad(rng.int(0, 999), 3)}` : ''}`;
  const zone = rng.chance(0.5) ? 'Z' : `${rng.pick(['+', '-'])}${pad(rng.int(0, 14), 2)}:${rng.pick(['00', '30', '45'])}`;
  return `${day}T${time}${zone}`;
}

function freshId(shape: Shape, rng: Rng, n: number): string {
  switch (shape.idStyle) {
    case 0:
      return `ORD-${pad(n, 8)}`;
    case 1:
      return `o.${n}_${rng.int(0, 9)}`;
    case 2:
      return `A:${n}-${rng.pick(['x', 'Y', 'z9'])}`;
    default: {
      // Up to the identifier's 64 characters, from its whole alphabet; the number keeps it unique.
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-';
      const tail = `-${n}`;
      let id = rng.pick(['Q', 'z', '7']);
      const length = rng.int(0, 64 - tail.length - 1);
      for (let i = 0; i < length; i++) id += rng.pick([...alphabet]);
      return id + tail;
    }
  }
}

function mutate(kind: Mutation, v: Record<string, string>, rng: Rng): void {
  switch (kind) {
    case 'order_id:bad':
      v.order_id = rng.pick([`${v.order_id} `, ` ${v.order_id}`, `ORD ${rng.int(0, 99)}`, '-ORD-1', 'ÖRD-1', 'x'.repeat(65), 'ORD/1', 'ORD,1', 'ORD"1']);
      break;
    case 'order_id:missing':
      v.order_id = '';
      break;
    case 'customer_id:bad':
      v.customer_id = rng.pick(['', 'CUST 1', '_C', 'C#1', 'Ç-1']);
      break;
    case 'customer_name:long':
      v.customer_name = rng.pick(['é'.repeat(201), 'a'.repeat(250), '😀'.repeat(101)]);
      break;
    case 'order_date:bad':
      v.order_date = rng.pick(['', '2023-02-29', '2026-13-01', '2026-11-31', '25/11/2026', '2026-11-25 10:22:33Z', '2026-11-25T10:22:33', '2026-11-25T25:00:00Z', 'yesterday', '20261125']);
      break;
    case 'status:bad':
      v.status = rng.pick(['', 'lost', 'Paid', 'PAID', ' paid', 'shipped!']);
      break;
    case 'currency:bad':
      v.currency = rng.pick(['', 'EURO', 'eur', 'E', '€', 'ABC']);
      break;
    case 'quantity:bad':
      v.quantity = rng.pick(['', '0', '-1', '-0', '1.5', ' 7', '7 ', '1e3', '0x10', '+3', '1000001', '9999999999', 'two']);
      break;
    case 'unit_price:bad':
      v.unit_price = rng.pick(['', '-1.00', '-0.01', '1.23456', 'abc', ' 1.00', '1e2', '+1.00', '.5', '5.', '1,5', '1 000', 'NaN', 'Infinity']);
      break;
    case 'amount:mismatch': {
      const amount = Number(v.amount);
      v.amount = rng.pick([(amount + 0.01).toFixed(2), (amount + rng.int(1, 10_000) / 100).toFixed(2), amount > 1 ? (amount - 1).toFixed(2) : '999.99']);
      break;
    }
    case 'amount:bad':
      v.amount = rng.pick(['', '-5.00', '12.345678', 'total', '0x1F', '1e1']);
      break;
    case 'country:bad':
      v.country = rng.pick(['', 'XX', 'de', 'DEU', 'D', 'ZZ']);
      break;
    case 'email:bad':
      v.email = rng.pick(['not-an-email', 'a@b', 'a b@example.com', '@example.com', 'x@', 'x@@example.com', 'x@localhost']);
      break;
    default:
      // Field-count changes are applied to the written record, not to the values.
      break;
  }
}

function generate(shape: Shape): GeneratedFile {
  const rng = new Rng(shape.seed ^ 0x9e3779b9);
  const breakAfter = () => (shape.eol === 'lf' ? '\n' : shape.eol === 'crlf' ? '\r\n' : rng.pick(['\n', '\r\n']));
  const cell = (value: string) => (/[",\r\n]/.test(value) || rng.chance(shape.quoteRate) ? `"${value.replaceAll('"', '""')}"` : value);

  const pieces: string[] = [];
  let newlines = 0;
  const emit = (piece: string) => {
    pieces.push(piece);
    for (let i = piece.indexOf('\n'); i !== -1; i = piece.indexOf('\n', i + 1)) newlines++;
  };

  for (let i = 0; i < shape.leadingBlankLines; i++) emit(breakAfter());
  emit(shape.columns.map((c) => (shape.quoteHeader ? `"${c}"` : c)).join(','));

  const records: Written[] = [];
  const ids: string[] = [];
  const invalidIds: string[] = [];
  const line = () => {
    emit(breakAfter());
    return newlines + 1;
  };

  for (let r = 0; r < shape.rows; r++) {
    if (rng.chance(shape.blankRate)) records.push({ fields: [''], line: line(), blank: true, mutations: [] });

    const quantity = rng.chance(0.05) ? rng.int(1, 1_000_000) : rng.int(1, 12);
    // Prices in ten-thousandths: mostly whole cents, sometimes all four decimals, sometimes zero.
    const price = rng.chance(0.05) ? 0 : rng.chance(0.2) ? rng.int(1, 999_999_999) : rng.int(1, 99_999) * 100;
    const amount = quantity * price;
    const priceText = rng.chance(0.03) ? `00${decimalText(price, 4)}` : decimalText(price, Math.max(exactDecimals(price), rng.int(0, 4)));
    const amountText = price === 0 && rng.chance(0.3) ? '-0.00' : decimalText(amount, rng.chance(0.3) ? 2 : Math.max(exactDecimals(amount), rng.int(2, 4)));
    const nameRoll = rng.next();
    const name =
      nameRoll < 0.2
        ? ''
        : rng.chance(shape.awkwardRate)
          ? rng.pick(AWKWARD_TEXT)
          : rng.chance(shape.nonAsciiRate)
            ? rng.pick(NON_ASCII_NAMES)
            : rng.chance(0.01)
              ? 'ü'.repeat(200)
              : rng.pick(ASCII_NAMES);
    const values: Record<string, string> = {
      order_id: freshId(shape, rng, r),
      customer_id: `CUST-${rng.int(0, 99_999)}`,
      customer_name: name,
      order_date: validDate(rng),
      status: rng.pick(ORDER_STATUSES),
      currency: rng.pick(CURRENCY_CODES),
      quantity: rng.chance(0.02) ? `00${quantity}` : String(quantity),
      unit_price: priceText,
      amount: amountText,
      country: rng.pick(COUNTRY_CODES),
      email: rng.chance(0.15) ? '' : `${rng.pick(['ann', 'bob.smith', 'x+tag', 'o_brien', 'z'])}${rng.int(0, 9999)}@${rng.pick(DOMAINS)}`,
    };
    for (const extra of shape.extras) values[extra] = rng.chance(shape.awkwardRate * 3) ? rng.pick(EXTRA_VALUES) : rng.pick(['', 'web', 'batch-7']);

    // Repeats: of any earlier id (far apart), of a recent one, or of an id whose row was broken.
    if (rng.chance(shape.duplicateRate) && ids.length > 0) {
      const roll = rng.next();
      if (roll < 0.5) values.order_id = rng.pick(ids);
      else if (roll < 0.75 || invalidIds.length === 0) values.order_id = ids[Math.max(0, ids.length - rng.int(1, 5))] as string;
      else values.order_id = rng.pick(invalidIds);
    }

    const mutations: Mutation[] = [];
    if (rng.chance(shape.invalidRate)) {
      const count = rng.chance(0.8) ? 1 : rng.int(2, 3);
      for (let k = 0; k < count; k++) mutations.push(rng.pick(MUTATIONS));
      for (const kind of mutations) mutate(kind, values, rng);
    }

    let fields = shape.columns.map((c) => values[c] ?? '');
    const width = fields.length;
    if (mutations.includes('fields:short')) fields = fields.slice(0, rng.int(2, width - 1));
    if (mutations.includes('fields:long')) fields = [...fields, ...Array.from({ length: rng.int(1, 2) }, () => rng.pick(EXTRA_VALUES))];
    if (mutations.includes('fields:middle')) fields.splice(rng.int(1, fields.length - 2), 1);

    const at = line();
    emit(fields.map(cell).join(','));
    records.push({ fields, line: at, blank: false, mutations });
    if (values.order_id) {
      ids.push(values.order_id);
      if (mutations.length > 0) invalidIds.push(values.order_id);
    }
  }
  // A blank line last only when a line break follows it: without one it would not be a line.
  if (shape.finalBreak && shape.rows > 0 && rng.chance(shape.blankRate * 20)) records.push({ fields: [''], line: line(), blank: true, mutations: [] });
  if (shape.finalBreak) emit(breakAfter());
  return { text: (shape.bom ? '\uFEFF' : '') + pieces.join(''), records };
}

// ---------------------------------------------------------------------------------------------
// Reference: the whole text at once
// ---------------------------------------------------------------------------------------------

interface ParsedRecord {
  fields: string[];
  /** 1-based line the record starts on, counted through quoted line breaks. */
  line: number;
  start: number;
  end: number;
}

/**
 * RFC 4180 records of well-formed text: fields split on commas, records on LF; a CR right before
 * the LF that ends a record is the CRLF's, not data (README: "a trailing CR dropped — not one
 * inside a last field's quotes"); quoted fields keep commas, line breaks and CRs, with "" for ".
 * Text after the last line break is a record; a line break at the very end starts none.
 */
function splitCsv(text: string): ParsedRecord[] {
  const records: ParsedRecord[] = [];
  let i = 0;
  let line = 1;
  while (i < text.length) {
    const start = i;
    const first = line;
    const fields: string[] = [];
    for (;;) {
      let value: string;
      if (text[i] === '"') {
        value = '';
        i++;
        for (;;) {
          const quote = text.indexOf('"', i);
          if (quote === -1) throw new Error(`reference: unclosed quote from offset ${start}`);
          value += text.slice(i, quote);
          i = quote + 1;
          if (text[i] !== '"') break;
          value += '"';
          i++;
        }
        for (let k = value.indexOf('\n'); k !== -1; k = value.indexOf('\n', k + 1)) line++;
        if (text.startsWith('\r\n', i)) i++;
      } else {
        let j = i;
        while (j < text.length && text[j] !== ',' && text[j] !== '\n') j++;
        value = text.slice(i, j);
        if (text[j] === '\n' && value.endsWith('\r')) value = value.slice(0, -1);
        i = j;
      }
      fields.push(value);
      if (i >= text.length) break;
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '\n') {
        i++;
        line++;
        break;
      }
      throw new Error(`reference: ${JSON.stringify(text[i])} after a quoted field at offset ${i}`);
    }
    records.push({ fields, line: first, start, end: i });
  }
  return records;
}

interface RefRecord {
  index: number;
  line: number;
  fields: string[];
  source: string;
  valid: boolean;
  /** JSON.stringify of zod's output: what the silver line must be, byte for byte. */
  silver?: string;
  orderId: string | undefined;
  fieldCountWrong: boolean;
  zodReasons: string[];
  duplicateOf: number | undefined;
}

interface Reference {
  headerColumns: string[];
  records: RefRecord[];
  blankLines: number;
  valid: number;
  rejected: number;
}

function reference(text: string): Reference {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const parsed = splitCsv(body);
  // README: blank lines are empty or only whitespace, before the header or after it.
  const isBlank = (r: ParsedRecord) => r.fields.length === 1 && (r.fields[0] as string).trim() === '';
  let h = 0;
  let blankLines = 0;
  for (; h < parsed.length && isBlank(parsed[h] as ParsedRecord); h++) blankLines++;
  const header = parsed[h];
  if (!header) throw new Error('reference: no header');
  const headerColumns = header.fields.map((c) => c.trim());
  const width = headerColumns.length;
  const columnOf = new Map(COLUMNS.map((name) => [name, headerColumns.indexOf(name)] as const));
  const idColumn = headerColumns.indexOf('order_id');
  // README: "The first occurrence wins"; a repeat names the line its id first appeared on. Every
  // record with a non-empty order_id cell counts as an occurrence, valid or not.
  const firstLineOf = new Map<string, number>();
  const records: RefRecord[] = [];
  for (const record of parsed.slice(h + 1)) {
    if (isBlank(record)) {
      blankLines++;
      continue;
    }
    const input: Record<string, string | undefined> = {};
    for (const [name, column] of columnOf) if (column >= 0) input[name] = record.fields[column];
    const result = orderRowSchema.safeParse(input);
    const orderId = record.fields[idColumn] || undefined;
    let duplicateOf: number | undefined;
    if (orderId !== undefined) {
      duplicateOf = firstLineOf.get(orderId);
      if (duplicateOf === undefined) firstLineOf.set(orderId, record.line);
    }
    const fieldCountWrong = record.fields.length !== width;
    const valid = result.success && !fieldCountWrong && duplicateOf === undefined;
    records.push({
      index: records.length,
      line: record.line,
      fields: record.fields,
      source: body.slice(record.start, record.end),
      valid,
      ...(valid && result.success ? { silver: JSON.stringify(result.data) } : {}),
      orderId,
      fieldCountWrong,
      zodReasons: result.success ? [] : result.error.issues.map((issue) => `${issue.path.map(String).join('.') || 'row'}: ${issue.message}`),
      duplicateOf,
    });
  }
  const valid = records.filter((r) => r.valid).length;
  return { headerColumns, records, blankLines, valid, rejected: records.length - valid };
}

// ---------------------------------------------------------------------------------------------
// Reading the outputs back
// ---------------------------------------------------------------------------------------------

async function text(key: string): Promise<string> {
  const out = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return await (out.Body as { transformToString(): Promise<string> }).transformToString();
}

/** Lines of a JSON Lines object: each ends in "\n", so the text ends in one (or is empty). */
function linesOf(body: string, what: string, problems: string[]): string[] {
  if (body === '') return [];
  if (!body.endsWith('\n')) problems.push(`${what} does not end with a line break`);
  return body.replace(/\n$/, '').split('\n');
}

/**
 * Where an output's records came from, as reference indexes, must be "the rest in file order, then
 * the held-back ones in file order" (README: held-back records are written after the others): two
 * increasing runs. Which records the filter holds back is random (its hash is seeded per run), so
 * the split cannot be predicted, only bounded: repeats (`mustBeHeldBack`) can only come out of the
 * settling, and no more records can follow the split than were held back. Returns the problem, or
 * the number of records after the split.
 */
function orderProblem(what: string, indexes: number[], mustBeHeldBack: (index: number) => boolean): string | number {
  let split = -1;
  for (let k = 1; k < indexes.length; k++) {
    if ((indexes[k] as number) > (indexes[k - 1] as number)) continue;
    if (split !== -1) return `${what}: neither file order nor file order then held-back records in file order (second step back at entry ${k})`;
    split = k;
  }
  if (split === -1) return 0;
  const early = indexes.slice(0, split).findIndex(mustBeHeldBack);
  return early === -1 ? indexes.length - split : `${what}: entry ${early} is a repeated order_id written before the held-back records`;
}

// ---------------------------------------------------------------------------------------------
// One case
// ---------------------------------------------------------------------------------------------

/** What the cases covered, checked by the last test. */
const coverage = {
  cases: 0,
  records: 0,
  features: new Map<string, number>(),
  mutationsRejected: new Map<Mutation, number>(),
};
const count = (feature: string, n = 1) => {
  if (n > 0) coverage.features.set(feature, (coverage.features.get(feature) ?? 0) + n);
};

function describeShape(s: Shape): string {
  const { seed: _seed, columns, ...rest } = s;
  return JSON.stringify({ ...rest, columns: columns.join(',') });
}

/** The reason a repeated order_id gets: the id shown as every reason shows a value (quoted, cut at 40). */
function repeatReason(id: string, firstLine: number): string {
  return `order_id: ${JSON.stringify(id.length > 40 ? `${id.slice(0, 40)}…` : id)} already appears on line ${firstLine}`;
}

async function runCase(spec: CaseSpec): Promise<void> {
  const shape = shapeOf(spec);
  const file = generate(shape);
  const ref = reference(file.text);
  const label = `seed ${shape.seed}`;
  const problems: string[] = [];

  // The reference checks itself first: its splitter must read back exactly what was written.
  const written = file.records.filter((r) => !r.blank);
  expect(
    ref.records.map((r) => [r.line, r.fields]),
    `${label}: the reference's splitter disagrees with the generator (a bug of this test)`,
  ).toEqual(written.map((r) => [r.line, r.fields]));
  expect(ref.blankLines, `${label}: reference blank lines`).toBe(shape.leadingBlankLines + file.records.length - written.length);

  const key = `bronze/fuzz/case-${shape.seed}.csv`;
  const put = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.from(file.text, 'utf8') }));
  const tmpRoot = mkdtempSync(join(tmpdir(), 'csv-validator-fuzz-'));
  const warnings: string[] = [];
  tuning.options = shape.detector;
  tuning.deferred = 0;
  let result: ValidationResult;
  try {
    result = await validateObject(
      { bucket: BUCKET, key, etag: (put.ETag ?? '').replaceAll('"', '') },
      {
        s3: client,
        bucket: BUCKET,
        silverPrefix: 'silver/',
        quarantinePrefix: 'quarantine/',
        requestId: `fuzz-${shape.seed}`,
        checkDeadline: () => undefined,
        warn: (message) => void warnings.push(message),
        tmpRoot,
        partSize: shape.partSize,
      },
    );
    // The duplicate check's spill files are removed whatever the path taken.
    expect(readdirSync(tmpRoot), `${label}: spill files left behind`).toEqual([]);
  } finally {
    tuning.options = {};
    rmSync(tmpRoot, { recursive: true, force: true });
  }

  // Counts: the result, both manifests and the reference agree, and reconcile.
  const counts = { status: 'validated', rowsRead: ref.records.length, valid: ref.valid, rejected: ref.rejected, blankLines: ref.blankLines };
  expect(result, `${label}: result counts`).toMatchObject(counts);
  expect(result.rowsRead, `${label}: rowsRead = valid + rejected`).toBe(result.valid + result.rejected);
  expect(warnings, `${label}: warnings`).toEqual([]);
  expect(result.outputs.quarantine === null, `${label}: a quarantine object exactly when rows are rejected`).toBe(ref.rejected === 0);
  expect(result.outputs.manifests, `${label}: manifests`).toHaveLength(ref.rejected > 0 ? 2 : 1);
  for (const manifestKey of result.outputs.manifests) {
    const manifest = JSON.parse(await text(manifestKey)) as Manifest;
    expect(manifest, `${label}: ${manifestKey}`).toMatchObject({ ...counts, manifestVersion: 1, outputs: result.outputs });
    expect(manifest.rowsRead, `${label}: ${manifestKey}: rowsRead = valid + rejected`).toBe(manifest.valid + manifest.rejected);
  }
  expect(result.encoding, `${label}: encoding`).toMatchObject({ encoding: 'utf-8', bom: shape.bom, invalidBytes: false });
  expect(result.header, `${label}: header`).toMatchObject({
    status: shape.extras.length > 0 ? 'extra-columns' : 'ok',
    columns: ref.headerColumns,
    extra: shape.columns.filter((c) => shape.extras.includes(c)),
  });
  expect([...(result.header?.missing ?? [])].sort(), `${label}: missing optional columns`).toEqual([...shape.absent].sort());

  // Silver: byte for byte JSON.stringify of zod's output, one line per valid record.
  const byId = new Map<string, RefRecord>();
  for (const r of ref.records) if (r.valid && r.orderId !== undefined) byId.set(r.orderId, r);
  const silverLines = linesOf(await text(result.outputs.silver as string), 'silver', problems);
  const delivered = new Map<number, string>();
  const silverOrder: number[] = [];
  for (const [k, line] of silverLines.entries()) {
    let id: unknown;
    try {
      id = (JSON.parse(line) as { order_id?: unknown }).order_id;
    } catch {
      problems.push(`silver line ${k + 1} is not JSON: ${line.slice(0, 200)}`);
      continue;
    }
    const r = typeof id === 'string' ? byId.get(id) : undefined;
    if (!r) {
      problems.push(`silver line ${k + 1} is no valid record of the reference: ${line.slice(0, 200)}`);
      continue;
    }
    if (line !== r.silver) problems.push(`silver line ${k + 1} (CSV line ${r.line}) is\n    ${line}\n  expected\n    ${r.silver}`);
    delivered.set(r.index, `silver line ${k + 1}`);
    silverOrder.push(r.index);
  }

  // Quarantine: each entry names the record's first line, its raw fields and every reason.
  const byLine = new Map(ref.records.map((r) => [r.line, r]));
  const quarantineLines = result.outputs.quarantine ? linesOf(await text(result.outputs.quarantine), 'quarantine', problems) : [];
  const quarantineOrder: number[] = [];
  for (const [k, line] of quarantineLines.entries()) {
    const entry = JSON.parse(line) as { row: number; raw: string[]; reasons: string[] };
    const r = byLine.get(entry.row);
    if (!r) {
      problems.push(`quarantine entry ${k + 1} names line ${entry.row}, where no record starts: ${line.slice(0, 300)}`);
      continue;
    }
    const where = `quarantine entry ${k + 1} (line ${r.line}, ${JSON.stringify(r.source.slice(0, 200))})`;
    const before = delivered.get(r.index);
    if (before) problems.push(`${where} was also delivered as ${before}`);
    delivered.set(r.index, `quarantine entry ${k + 1}`);
    quarantineOrder.push(r.index);
    if (r.valid) problems.push(`${where} is valid for zod and unique, yet rejected: ${JSON.stringify(entry.reasons)}`);
    if (JSON.stringify(entry.raw) !== JSON.stringify(r.fields)) problems.push(`${where}: raw ${JSON.stringify(entry.raw)}, expected ${JSON.stringify(r.fields)}`);
    if (entry.reasons.length === 0) problems.push(`${where}: no reason`);
    // Reasons whose content is settled: zod's messages (README: the quarantine's reasons are
    // zod's), and for a repeat one more reason, last, naming the id as every reason shows a value
    // (JSON-quoted, cut at 40 characters) and the line it first appeared on (README's example).
    // A field-count complaint must appear exactly when the count is wrong; its wording is the
    // code's, so only its numbers are checked.
    const csv = entry.reasons.filter((reason) => reason.startsWith('csv: '));
    const rest = entry.reasons.filter((reason) => !reason.startsWith('csv: '));
    const zodPart = r.duplicateOf === undefined ? rest : rest.slice(0, -1);
    if (r.duplicateOf !== undefined && rest.at(-1) !== repeatReason(r.orderId as string, r.duplicateOf)) {
      problems.push(`${where}: reasons ${JSON.stringify(entry.reasons)} do not end with the repeat of ${JSON.stringify(r.orderId)} first seen on line ${r.duplicateOf}`);
    }
    if (JSON.stringify(zodPart) !== JSON.stringify(r.zodReasons)) {
      problems.push(`${where}: reasons ${JSON.stringify(entry.reasons)}, expected zod's ${JSON.stringify(r.zodReasons)}${r.duplicateOf === undefined ? '' : ' and the repeat'}`);
    }
    const countReason = new RegExp(`^csv: .*\\b${r.fields.length}\\b.*\\b${ref.headerColumns.length}\\b`);
    if (r.fieldCountWrong ? !(csv.length === 1 && countReason.test(csv[0] as string)) : csv.length > 0) {
      problems.push(`${where}: csv reasons ${JSON.stringify(csv)} for ${r.fields.length} field(s) under a header of ${ref.headerColumns.length}`);
    }
  }

  // The project's hard rule: every record delivered or quarantined, exactly once.
  for (const r of ref.records) {
    const at = delivered.get(r.index);
    if (at === undefined) problems.push(`line ${r.line} (${JSON.stringify(r.source.slice(0, 200))}) is neither in silver nor in quarantine`);
    else if (r.valid !== at.startsWith('silver')) problems.push(`line ${r.line} went to ${at}, the reference says ${r.valid ? 'silver' : 'quarantine'}`);
  }
  let afterSplit = 0;
  for (const p of [
    orderProblem('silver', silverOrder, () => false),
    orderProblem('quarantine', quarantineOrder, (index) => ref.records[index]?.duplicateOf !== undefined),
  ]) {
    if (typeof p === 'string') problems.push(p);
    else afterSplit += p;
  }
  if (afterSplit > tuning.deferred) problems.push(`${afterSplit} records written out of file order, but only ${tuning.deferred} were held back`);
  if (silverLines.length !== ref.valid) problems.push(`silver has ${silverLines.length} lines, the reference ${ref.valid} valid records`);
  if (quarantineLines.length !== ref.rejected) problems.push(`quarantine has ${quarantineLines.length} entries, the reference ${ref.rejected} rejected records`);

  for (const output of shape.multipart) {
    const outputKey = output === 'silver' ? result.outputs.silver : result.outputs.quarantine;
    const parts = outputKey ? (partsSent.get(outputKey) ?? 0) : 0;
    if (parts < 2) problems.push(`${output} went up in ${parts} part(s): the case is meant to need several`);
    count(`multipart:${output}`, parts >= 2 ? 1 : 0);
  }

  if (problems.length > 0) {
    const saved = join(tmpdir(), `csv-validator-fuzz-${shape.seed}.csv`);
    writeFileSync(saved, file.text);
    const shown = problems.slice(0, 12).map((p) => `  - ${p}`);
    if (problems.length > 12) shown.push(`  … and ${problems.length - 12} more`);
    expect.fail(`${label} (${describeShape(shape)}): ${problems.length} discrepancy(ies); input saved as ${saved}\n${shown.join('\n')}`);
  }

  // What this case exercised, from the reference's view of the text (not the generator's intent).
  const repeatsOf = new Map<number, number>();
  for (const r of ref.records) if (r.duplicateOf !== undefined) repeatsOf.set(r.duplicateOf, (repeatsOf.get(r.duplicateOf) ?? 0) + 1);
  coverage.cases++;
  coverage.records += ref.records.length;
  const features: Record<string, boolean | number> = {
    [`eol:${shape.eol}`]: true,
    [`final-break:${shape.finalBreak}`]: true,
    bom: shape.bom,
    'header:reordered': shape.columns.filter((c) => COLUMNS.includes(c)).join() !== COLUMNS.filter((c) => shape.columns.includes(c)).join(),
    'header:optional-absent': shape.absent.length > 0,
    'header:extra-column': shape.extras.length > 0,
    'header:quoted': shape.quoteHeader,
    'lines:leading-blank': shape.leadingBlankLines > 0,
    'lines:blank': ref.blankLines,
    'rows:none': ref.records.length === 0,
    'field:quoted-line-break': ref.records.filter((r) => r.fields.some((f) => f.includes('\n'))).length,
    'field:quoted-comma': ref.records.filter((r) => r.fields.some((f) => f.includes(','))).length,
    'field:doubled-quote': ref.records.filter((r) => r.fields.some((f) => f.includes('"'))).length,
    'field:cr-in-quotes': ref.records.filter((r) => r.fields.some((f) => f.includes('\r'))).length,
    'field:non-ascii': ref.records.filter((r) => r.fields.some((f) => /[^\x00-\x7f]/.test(f))).length,
    'dup:any': ref.records.filter((r) => r.duplicateOf !== undefined).length,
    'dup:far-apart': ref.records.filter((r) => r.duplicateOf !== undefined && r.line - r.duplicateOf > 1000).length,
    'dup:of-invalid-row': ref.records.filter((r) => {
      const first = r.duplicateOf === undefined ? undefined : byLine.get(r.duplicateOf);
      return first !== undefined && (first.zodReasons.length > 0 || first.fieldCountWrong);
    }).length,
    'dup:of-a-repeat': [...repeatsOf.values()].filter((n) => n > 1).length,
    'detector:tiny-filter': shape.detector.expectedRows === 1 && tuning.deferred > 0,
    // Each held-back id counts at least 80 bytes against the settling budget (duplicates.ts): past
    // the budget, settling is partitioned on disk.
    'detector:small-settle-budget': shape.detector.settleBudgetBytes !== undefined && tuning.deferred * 80 > shape.detector.settleBudgetBytes,
    'detector:held-back': tuning.deferred,
    'part-size:odd': shape.partSize !== MIN_PART_SIZE,
  };
  for (const [feature, value] of Object.entries(features)) count(feature, value === true ? 1 : typeof value === 'number' ? value : 0);
  for (const [i, w] of written.entries()) {
    if (ref.records[i]?.valid) continue;
    for (const m of w.mutations) coverage.mutationsRejected.set(m, (coverage.mutationsRejected.get(m) ?? 0) + 1);
  }
}

// The last test checks what the cases before it covered (some of it only seen while they ran):
// the order is pinned, or a shuffled run (vitest --sequence.shuffle.tests) would skip the check.
describe('validateObject against a whole-text reference (seeded)', { shuffle: false }, () => {
  it.each(CASES.map((spec) => [spec.seed, spec] as const))('seed %i', async (_seed, spec) => {
    await runCase(spec);
  });

  it('covered what it claims to', (ctx) => {
    // Only meaningful after every case ran (not when -t picked one seed).
    if (coverage.cases !== CASES.length) ctx.skip();
    const wanted = [
      'eol:lf',
      'eol:crlf',
      'eol:mix',
      'final-break:true',
      'final-break:false',
      'bom',
      'header:reordered',
      'header:optional-absent',
      'header:extra-column',
      'header:quoted',
      'lines:leading-blank',
      'lines:blank',
      'rows:none',
      'field:quoted-line-break',
      'field:quoted-comma',
      'field:doubled-quote',
      'field:cr-in-quotes',
      'field:non-ascii',
      'dup:any',
      'dup:far-apart',
      'dup:of-invalid-row',
      'dup:of-a-repeat',
      'detector:tiny-filter',
      'detector:small-settle-budget',
      'detector:held-back',
      'multipart:silver',
      'multipart:quarantine',
      'part-size:odd',
    ];
    expect(wanted.filter((f) => !coverage.features.has(f))).toEqual([]);
    expect(MUTATIONS.filter((m) => !coverage.mutationsRejected.has(m))).toEqual([]);
  });
});
