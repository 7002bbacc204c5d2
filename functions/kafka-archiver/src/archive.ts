import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { envelopeSchema } from '@laminar/kafka/envelope';
import { mapLimit, stopReason } from '@laminar/runtime';
import type { KafkaEvent, KafkaEventRecord } from './event.ts';
import { duplicateKey } from './json.ts';
import { fileTime, isFileableTimestamp, type ObjectGroup, objectKey, partitionAt, recordTime } from './layout.ts';

export interface ArchiveDeps {
  s3: S3Client;
  bucket: string;
  archivePrefix: string;
  quarantinePrefix: string;
  concurrency: number;
  signal?: AbortSignal;
}

export interface WrittenObject {
  key: string;
  kind: ObjectGroup['kind'];
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
  records: number;
}

export interface ArchiveResult {
  /** records = archived + quarantined, always. */
  records: number;
  archived: number;
  quarantined: number;
  objects: WrittenObject[];
}

/**
 * A header value: UTF-8 text, null (a header with no value) or, for bytes that are not text, their
 * base64 — an object, so no header name or text value can be mistaken for it.
 */
export type HeaderValue = string | null | { base64: string };

/** One archived record: its coordinates, and the envelope as JSON (not base64) for queries. */
export interface ArchivedLine {
  topic: string;
  partition: number;
  offset: number;
  /** ISO 8601; null when the record has none (Kafka's -1, timestampType NO_TIMESTAMP_TYPE). */
  timestamp: string | null;
  timestampType: string | undefined;
  /** The key as UTF-8 text; null when absent or not text (then in `keyBase64`). */
  key: string | null;
  keyBase64?: string;
  /** The headers in order, each `{ name: value }` as the mapping delivers them. */
  headers: Record<string, HeaderValue>[];
  value: unknown;
}

/** One refused record: the same coordinates, the bytes as they came (base64) and every reason. */
export interface QuarantinedLine extends Omit<ArchivedLine, 'value'> {
  /** The timestamp, its type or the key as delivered, when it was what sent the record here. */
  timestampRaw?: unknown;
  timestampTypeRaw?: unknown;
  keyRaw?: unknown;
  /** The headers as delivered, when they could not be decoded (an `internal:` reason). */
  headersRaw?: unknown;
  reasons: string[];
  /** The value's bytes; null for a tombstone; absent when the value was not base64 (then `valueRaw`). */
  valueBase64?: string | null;
  valueRaw?: unknown;
}

// A key or header is kept as bytes: a leading BOM is part of them (the default decoder drops it).
const utf8Bytes = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
// A value is kept as JSON, which may start with a BOM (RFC 8259 lets parsers ignore it) and is
// archived as text without it.
const utf8Json = new TextDecoder('utf-8', { fatal: true });

// The standard alphabet, padded to a multiple of 4: then every decoder (a replay tool's) reads the
// same bytes from it as Node. Node's own decoder is no check: it skips characters outside the
// alphabet and takes base64url's too. Stray bits before the padding are allowed: AWS's own sample
// key has them, and decoders ignore them alike.
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const isBase64 = (text: string) => text.length % 4 === 0 && BASE64.test(text);

/** The bytes of base64 text, or undefined when it is not base64. */
function decodeBase64(text: string): Buffer | undefined {
  return isBase64(text) ? Buffer.from(text, 'base64') : undefined;
}

/**
 * A delivered value as quarantine keeps it: base64 that decodes to its bytes, or the text as it
 * came. `decoded`: whether the caller already found it to be base64 (it is not checked again).
 */
function valueAsDelivered(raw: unknown, decoded = typeof raw === 'string' && isBase64(raw)): Pick<QuarantinedLine, 'valueBase64' | 'valueRaw'> {
  if (raw === null || raw === undefined) return { valueBase64: null };
  return decoded && typeof raw === 'string' ? { valueBase64: raw } : { valueRaw: raw };
}

/**
 * Writes a batch to S3 as JSON Lines, one object per topic-partition and hour. A record that is not
 * an envelope goes to quarantine with its reasons; it never fails the batch. A failed write does:
 * the mapping retries the batch, which rewrites the same keys.
 */
export async function archiveBatch(event: KafkaEvent, deps: ArchiveDeps): Promise<ArchiveResult> {
  const records = Object.values(event.records).flat();
  const groups = new Map<string, ObjectGroup>();
  let archived = 0;
  let quarantined = 0;
  for (const record of records) {
    const { line, reasons, filedAt } = lineOrQuarantine(record);
    const kind = reasons.length === 0 ? 'archive' : 'quarantine';
    if (kind === 'archive') archived++;
    else quarantined++;
    const { dt, hour } = partitionAt(filedAt);
    const id = `${kind}\u0000${record.topic}\u0000${record.partition}\u0000${dt}\u0000${hour}`;
    let group = groups.get(id);
    if (!group) {
      group = { kind, topic: record.topic, partition: record.partition, dt, hour, firstOffset: record.offset, lastOffset: record.offset, lines: [] };
      groups.set(id, group);
    }
    group.firstOffset = Math.min(group.firstOffset, record.offset);
    group.lastOffset = Math.max(group.lastOffset, record.offset);
    group.lines.push(line);
  }

  const objects = [...groups.values()].map((g) => ({
    key: objectKey(g.kind === 'archive' ? deps.archivePrefix : deps.quarantinePrefix, g),
    group: g,
  }));
  await mapLimit(objects, deps.concurrency, async ({ key, group }) => {
    deps.signal?.throwIfAborted();
    try {
      return await deps.s3.send(
        new PutObjectCommand({ Bucket: deps.bucket, Key: key, Body: group.lines.join(''), ContentType: 'application/x-ndjson' }),
        { abortSignal: deps.signal },
      );
    } catch (error) {
      // A PUT the stop cut short fails with the SDK's AbortError: the batch failed for want of
      // time (the timeout, the concurrency or the batch size to look at), not because of S3.
      throw stopReason(deps.signal) ?? error;
    }
  });
  return {
    records: records.length,
    archived,
    quarantined,
    objects: objects.map(({ key, group: g }) => ({
      key,
      kind: g.kind,
      topic: g.topic,
      partition: g.partition,
      firstOffset: g.firstOffset,
      lastOffset: g.lastOffset,
      records: g.lines.length,
    })),
  };
}

/**
 * Decoded by hand rather than with Powertools' Kafka utility: its JSON deserializer falls back to
 * the raw string on bad JSON (logging the whole value) where this function must quarantine with a
 * reason, and its optional Avro/Protobuf deserializers become static imports in an ESM bundle.
 */
function decodeHeaders(headers: unknown, reasons: string[]): Record<string, HeaderValue>[] {
  if (headers === undefined || headers === null) return [];
  if (!isHeaderList(headers)) {
    reasons.push('headers: not a list of {name: bytes} as the event source mapping delivers them');
    return [];
  }
  // A header may carry no value (null): kept as null, as Kafka has it. Bytes that are not UTF-8
  // text (a signature, a trace id in binary) are kept as { base64 }: renaming the header instead
  // ("<name>:base64") would collide with a real header of that name. Object.fromEntries, because
  // it keeps a header named "__proto__" as an own property, as JSON.parse delivered it.
  return headers.map((h) =>
    Object.fromEntries(
      Object.entries(h).map(([k, bytes]) => {
        if (bytes === null) return [k, null];
        const buffer = Buffer.from(bytes);
        const text = textOf(buffer, utf8Bytes);
        return [k, text === undefined ? { base64: buffer.toString('base64') } : text];
      }),
    ),
  );
}

/**
 * `[{ name: bytes | null }]` with bytes signed (Java's) or not. Checked by hand: zod's record
 * rebuilds the object by assignment, which drops a header named "__proto__" without a word.
 */
function isHeaderList(headers: unknown): headers is Record<string, number[] | null>[] {
  const isByte = (b: unknown) => Number.isInteger(b) && (b as number) >= -128 && (b as number) <= 255;
  return (
    Array.isArray(headers) &&
    headers.every(
      (h) => typeof h === 'object' && h !== null && !Array.isArray(h) && Object.values(h).every((v) => v === null || (Array.isArray(v) && v.every(isByte))),
    )
  );
}

/**
 * The record key as text, or — bytes that are not UTF-8 (a Schema Registry frame, a binary id) —
 * null with the bytes as `keyBase64`. A key that is not base64 at all, or not even a string, is a
 * reason to quarantine, and kept as `keyRaw`: under `keyBase64` it would pass for bytes it is not.
 */
function keyOf(key: unknown, reasons: string[]): { key: string | null; keyBase64?: string; keyRaw?: unknown } {
  if (key === undefined || key === null) return { key: null };
  if (typeof key !== 'string') {
    reasons.push('key: not base64 text');
    return { key: null, keyRaw: key };
  }
  const bytes = decodeBase64(key);
  if (!bytes) {
    reasons.push('key: not base64, as the event source mapping delivers keys');
    return { key: null, keyRaw: key };
  }
  const text = textOf(bytes, utf8Bytes);
  return text === undefined ? { key: null, keyBase64: key } : { key: text };
}

/** The bytes as UTF-8 text, or undefined when they are not (replacement characters would lose them). */
function textOf(bytes: Uint8Array, decoder: typeof utf8Bytes): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * lineOf, or a quarantine line saying what failed: one record's surprise must not fail the batch.
 * Whatever failed may lie in the key or the headers, so they are kept as delivered (`keyRaw`,
 * `headersRaw`) beside the value's bytes: the line still holds all the record held.
 */
function lineOrQuarantine(record: KafkaEventRecord): { line: string; reasons: string[]; filedAt: string } {
  try {
    return lineOf(record);
  } catch (error) {
    const reasons = [`internal: could not file this record (${describe(error)})`];
    const line = {
      ...coordinatesOf(record),
      ...(isFileableTimestamp(record.timestamp) ? {} : { timestampRaw: record.timestamp }),
      ...timestampTypeAsDelivered(record.timestampType),
      key: null,
      headers: [],
      reasons,
      ...valueAsDelivered(record.value),
    } satisfies QuarantinedLine;
    const asDelivered = {
      ...(record.key === undefined ? {} : { keyRaw: record.key }),
      ...(record.headers === undefined ? {} : { headersRaw: record.headers }),
    } satisfies Pick<QuarantinedLine, 'keyRaw' | 'headersRaw'>;
    let text: string;
    try {
      text = JSON.stringify({ ...line, ...asDelivered });
    } catch (writeError) {
      // What the headers or key hold cannot even be written: the line says so, and keeps the rest.
      reasons.push(`internal: the key and headers as delivered could not be written either (${describe(writeError)})`);
      text = JSON.stringify(line);
    }
    return { line: `${oneLine(text)}\n`, reasons, filedAt: fileTime(record.timestamp) };
  }
}

/** Where the record sits in Kafka, and when: the first fields of every line, archived or not. */
function coordinatesOf(record: KafkaEventRecord): Pick<ArchivedLine, 'topic' | 'partition' | 'offset' | 'timestamp' | 'timestampType'> {
  const timestampType = typeof record.timestampType === 'string' ? record.timestampType : undefined;
  return { topic: record.topic, partition: record.partition, offset: record.offset, timestamp: recordTime(record.timestamp), timestampType };
}

/** A timestamp type that is not text, kept as delivered beside the line's (then absent) own. */
function timestampTypeAsDelivered(type: unknown): Pick<QuarantinedLine, 'timestampTypeRaw'> {
  return type === undefined || typeof type === 'string' ? {} : { timestampTypeRaw: type };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : `Error: ${String(error)}`;
}

/** The record's line, the reasons it is quarantined (none: archived) and the time it is filed at. */
function lineOf(record: KafkaEventRecord): { line: string; reasons: string[]; filedAt: string } {
  const reasons: string[] = [];
  const fileable = isFileableTimestamp(record.timestamp);
  if (!fileable) reasons.push(`timestamp: ${JSON.stringify(record.timestamp) ?? 'missing'} is not whole milliseconds from 1973 up to year 9999 (seconds, microseconds or nanoseconds?)`);
  const filedAt = fileTime(record.timestamp);
  const oddType = timestampTypeAsDelivered(record.timestampType);
  if ('timestampTypeRaw' in oddType) reasons.push(`timestampType: ${JSON.stringify(record.timestampType)} is not text (CREATE_TIME, LOG_APPEND_TIME…)`);
  const base = {
    ...coordinatesOf(record),
    ...keyOf(record.key, reasons),
    headers: decodeHeaders(record.headers, reasons),
  };
  const raw = record.value;
  let text: string | undefined;
  const bytes = typeof raw === 'string' ? decodeBase64(raw) : undefined;
  if (raw === null || raw === undefined) reasons.push('value: null (a tombstone); the archive keeps envelopes only');
  else if (typeof raw !== 'string') reasons.push('value: not base64 text, as the event source mapping delivers values');
  else if (!bytes) reasons.push('value: not base64, as the event source mapping delivers values');
  else {
    text = textOf(bytes, utf8Json);
    if (text === undefined) reasons.push('value: not valid UTF-8');
    else {
      let value: unknown;
      let parsed = false;
      try {
        value = JSON.parse(text);
        parsed = true;
      } catch (error) {
        reasons.push(`value: not JSON (${(error as Error).message})`);
      }
      // Checked whatever else is wrong with the record, so that its quarantine line says everything
      // its producer has to fix, not one thing per round.
      if (parsed) {
        const dup = duplicateKey(text);
        if (dup !== undefined) {
          const name = JSON.stringify(dup.length > 100 ? `${dup.slice(0, 100)}…` : dup);
          reasons.push(`value: the key ${name} appears twice in one object (JSON.parse keeps the last, a reader of the archived text may keep the first or refuse it)`);
        }
        const envelope = envelopeSchema.safeParse(value);
        if (!envelope.success) for (const i of envelope.error.issues) reasons.push(`value.${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
      }
    }
  }
  if (reasons.length > 0) {
    const line: QuarantinedLine = {
      ...base,
      ...(fileable ? {} : { timestampRaw: record.timestamp }),
      ...oddType,
      reasons,
      ...valueAsDelivered(raw, bytes !== undefined),
    };
    return { line: `${oneLine(JSON.stringify(line))}\n`, reasons, filedAt };
  }
  // The value's own JSON text goes into the line as it came (it parsed, so it is valid JSON).
  // Re-serializing the parsed value would cost as much as the parse, change numbers past 2^53
  // (a 77-digit token id became 7.13e+76) and overflow the stack on deep nesting. A raw CR or LF
  // in valid JSON can only be whitespace between tokens (never inside a string), so turning it
  // into a space keeps the value and makes it one line.
  const json = (text as string).replace(/[\r\n\u0085\u2028\u2029]/g, (c) => (c === '\r' || c === '\n' ? ' ' : escapedSeparator(c))).trim();
  const head = oneLine(JSON.stringify({ ...base, value: null } satisfies ArchivedLine));
  return { line: `${head.slice(0, -'null}'.length)}${json}}\n`, reasons, filedAt };
}

/**
 * JSON text with U+0085, U+2028 and U+2029 escaped. JSON.stringify leaves them raw (valid JSON),
 * but readers that split lines on every Unicode line break — Python's str.splitlines(), some
 * editors — would cut a line in two there. (The other breaks splitlines knows are control
 * characters, which JSON never has raw.) In JSON text they can only be inside strings, where the
 * escape means the same character.
 */
function oneLine(json: string): string {
  return json.replace(/[\u0085\u2028\u2029]/g, escapedSeparator);
}

const escapedSeparator = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
